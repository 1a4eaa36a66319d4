package radius

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// Config is the agent's `radius:` section: the NASes it sends CoA and
// Disconnect requests to, the accounting listener that tells it which
// sessions exist, and the authorize endpoint the ISP's FreeRADIUS calls.
type Config struct {
	// NAS lists the NASes of the POP. A session is handled by the NAS whose
	// nas_ip (or name, for sessions known by NAS-Identifier) it came from.
	NAS        []NASConfig                  `yaml:"nas"`
	Accounting radiusproto.AccountingConfig `yaml:"accounting"`
	Sessions   radiusproto.SessionsConfig   `yaml:"sessions"`
	Authorize  AuthorizeConfig              `yaml:"authorize"`
}

// NASConfig is one NAS: where its dynamic-authorization (RFC 5176) port
// is, its shared secret, and its vendor profile with the profile's
// parameters.
type NASConfig struct {
	// Name names the NAS in logs and errors; a binding's Device may name it
	// to restrict a service to this NAS. Required.
	Name string `yaml:"name"`
	// Address is host:port of the NAS's CoA port. Without a port, the
	// profile's usual one: 1700 for cisco-avpair (IOS XE `aaa server radius
	// dynamic-author` listens there unless told otherwise), 3799 (RFC 5176)
	// for the others.
	Address string `yaml:"address"`
	// NASIP lists the NAS-IP-Address values (or NAS-Identifier values) its
	// sessions carry in accounting. Default: the host of Address.
	NASIP              []string `yaml:"nas_ip"`
	radiusproto.Secret `yaml:",inline"`
	// Profile is one of mikrotik-address-list, mikrotik-rate-limit,
	// cisco-avpair, juniper-erx, filter-id, disconnect: how the NAS is
	// told to suspend and restore access.
	Profile string `yaml:"profile"`
	// Vendor is one of mikrotik, cisco, juniper, generic: which attributes
	// carry a service profile's speed and a throttled session's redirect
	// (see [VendorMikrotik] and the others). Default: the make of Profile
	// ([DefaultVendor]: mikrotik for the mikrotik-* profiles, cisco for
	// cisco-avpair, juniper for juniper-erx, generic otherwise).
	Vendor string `yaml:"vendor"`
	// ThrottleRedirect names what sends a throttled session's plain HTTP
	// to the portal while it keeps the throttle profile's speed: the
	// address list (mikrotik), the ISG service (cisco), the service
	// (juniper) or the filter (generic) configured on the NAS. Default
	// tollgate-throttled.
	ThrottleRedirect string `yaml:"throttle_redirect"`
	// RateService (juniper): the service a profile without a
	// juniper_service is activated as, with its upload and download rates
	// as parameters. Default tollgate-rate.
	RateService string `yaml:"rate_service"`

	// AddressList (mikrotik-address-list): the list a suspended session's
	// address is put on. Default tollgate-suspended. ActiveAddressList is
	// sent on restore; empty, restore disconnects the session instead so
	// that it comes back without the list.
	AddressList       string `yaml:"address_list"`
	ActiveAddressList string `yaml:"active_address_list"`
	// RateLimit (mikrotik-rate-limit): Mikrotik-Rate-Limit of a suspended
	// session, default "64k/64k". ActiveRateLimit is sent on restore;
	// empty, restore disconnects the session so that it re-authenticates
	// with its plan's rate.
	RateLimit       string `yaml:"rate_limit"`
	ActiveRateLimit string `yaml:"active_rate_limit"`
	// SuspendedService (cisco-avpair, juniper-erx): the service activated
	// on suspend and deactivated on restore; default tollgate-suspended.
	// ActiveService, if set, is deactivated on suspend and activated on
	// restore.
	SuspendedService string `yaml:"suspended_service"`
	ActiveService    string `yaml:"active_service"`
	// SuspendedFilter (filter-id, disconnect): Filter-Id of a suspended
	// session; default tollgate-suspended. ActiveFilter (filter-id) is sent
	// on restore; empty, restore disconnects the session.
	SuspendedFilter string `yaml:"suspended_filter"`
	ActiveFilter    string `yaml:"active_filter"`
	// AuthorizeReply overrides what the authorize endpoint answers for a
	// suspended user of this NAS (by default the profile's suspended
	// attribute). With the disconnect profile it is also what shows a
	// suspended session in accounting.
	AuthorizeReply []ReplyAttr `yaml:"authorize_reply"`
	// IgnoreErrorCauses lists NAK Error-Cause values that count as success
	// for this NAS (say, a NAS that NAKs deactivating an inactive service
	// with 405). 503 (session gone) always does.
	IgnoreErrorCauses []uint32 `yaml:"ignore_error_causes"`

	// Timeout is how long to wait for an answer before resending. Default 3s.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many times an unanswered request is resent. Default 2;
	// -1 for none.
	Retries int `yaml:"retries"`
	// Concurrency bounds the requests in flight to this NAS. Default 64.
	Concurrency int `yaml:"concurrency"`
}

// AuthorizeConfig is the HTTP listener of the authorize endpoint.
type AuthorizeConfig struct {
	// Listen is the HTTP address rlm_rest calls, serving
	// /radius/authorize. Default "off": the agent mounts
	// [Driver.AuthorizeHandler] on its own server instead.
	Listen string `yaml:"listen"`
	// DefaultNAS names the NAS whose suspended reply is used when the
	// Access-Request's NAS-IP-Address and NAS-Identifier match none.
	// Default: the first NAS.
	DefaultNAS string `yaml:"default_nas"`
	// MatchCallingStationID also matches an Access-Request's
	// Calling-Station-Id against the User-Names of suspended services that
	// are MAC addresses (IPoE subscribers bound by MAC, whose Access-Request
	// carries it as Calling-Station-Id). Default false.
	MatchCallingStationID bool `yaml:"match_calling_station_id"`
}

// maxNameLen bounds the names in a NAS's config that go into attributes
// (a Cisco-AVPair "subscriber:service-name=<name>" must fit in one VSA).
const maxNameLen = 200

const (
	defaultCoAPort     = "3799"
	ciscoCoAPort       = "1700"
	defaultTimeout     = 3 * time.Second
	defaultRetries     = 2
	defaultConcurrency = 64
)

// DefaultCoAPort is the dynamic-authorization port a NAS of profile
// listens on by default: 1700 for Cisco (cisco-avpair), 3799 for the
// others (MikroTik, Juniper and RFC 5176).
func DefaultCoAPort(profile string) string {
	if profile == ProfileCiscoAVPair {
		return ciscoCoAPort
	}
	return defaultCoAPort
}

// withDefaults returns c with defaults filled in, or the first problem.
func (c NASConfig) withDefaults() (NASConfig, error) {
	if c.Name == "" {
		return c, errors.New("nas: name is required")
	}
	if c.Address == "" {
		return c, fmt.Errorf("nas %s: address is required", c.Name)
	}
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		c.Address = net.JoinHostPort(strings.Trim(c.Address, "[]"), DefaultCoAPort(c.Profile))
	}
	if len(c.NASIP) == 0 {
		host, _, _ := net.SplitHostPort(c.Address)
		c.NASIP = []string{host}
	}
	for i, ip := range c.NASIP {
		if a, err := netip.ParseAddr(ip); err == nil {
			c.NASIP[i] = a.Unmap().String()
		}
	}
	if c.Vendor == "" {
		c.Vendor = DefaultVendor(c.Profile)
	}
	if !slices.Contains(Vendors, c.Vendor) {
		return c, fmt.Errorf("nas %s: vendor %q is not one of %s", c.Name, c.Vendor, strings.Join(Vendors, ", "))
	}
	if c.ThrottleRedirect == "" {
		c.ThrottleRedirect = DefaultThrottleRedirect
	}
	if c.RateService == "" {
		c.RateService = DefaultRateService
	}
	for what, v := range map[string]string{"throttle_redirect": c.ThrottleRedirect, "rate_service": c.RateService} {
		if len(v) > maxNameLen {
			return c, fmt.Errorf("nas %s: %s %q is longer than %d characters", c.Name, what, v, maxNameLen)
		}
		if strings.ContainsAny(v, " \t=,();\"") {
			return c, fmt.Errorf("nas %s: %s %q: spaces and =,();\" are not allowed in the name", c.Name, what, v)
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	switch {
	case c.Retries == 0:
		c.Retries = defaultRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.Concurrency <= 0 {
		c.Concurrency = defaultConcurrency
	}
	return c, nil
}
