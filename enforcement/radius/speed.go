package radius

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// Vendors: which attributes carry a service profile's speed (and a
// throttled session's redirect) to a NAS. A NAS's vendor is independent of
// its access profile (what suspends and restores), but must be the NAS's
// make for the attributes to mean anything to it.
const (
	// VendorMikrotik: Mikrotik-Rate-Limit (the profile's rates and bursts,
	// RouterOS's rx/tx order); the throttle redirect is the address list
	// throttle_redirect (Mikrotik-Address-List), which the router's
	// firewall redirects plain HTTP from.
	VendorMikrotik = "mikrotik"
	// VendorCisco: Cisco ISG. The profile's cisco_service is activated
	// (subscriber:command=activate-service in a CoA-Request,
	// Cisco-Account-Info "A<service>" at login), the previous one
	// deactivated; a profile naming QoS policies instead gets
	// ip:sub-qos-policy-in/out AVPairs. The throttle redirect is the ISG
	// service throttle_redirect (an L4 redirect of HTTP to the portal).
	VendorCisco = "cisco"
	// VendorJuniper: ERX-Service-Activate of the profile's juniper_service
	// (default: the NAS's rate_service) with the rates as parameters,
	// "<service>(<upload>,<download>)", tag 1, after ERX-Service-Deactivate
	// of the previous one; the throttle redirect is the service
	// throttle_redirect, tag 2.
	VendorJuniper = "juniper"
	// VendorGeneric: Filter-Id naming the profile's filter_id, a filter or
	// profile configured on the NAS. A throttled session gets the filter
	// throttle_redirect instead, which must both shape and redirect.
	VendorGeneric = "generic"
)

// Vendors lists the vendors.
var Vendors = []string{VendorMikrotik, VendorCisco, VendorJuniper, VendorGeneric}

// DefaultThrottleRedirect is the default address list, service or filter
// that redirects a throttled session's plain HTTP to the portal.
const DefaultThrottleRedirect = "tollgate-throttled"

// DefaultRateService is the Juniper service a profile without a
// juniper_service is activated as, with its rates as parameters.
const DefaultRateService = "tollgate-rate"

// redirectTag is the tag of the throttle redirect's ERX-Service-Activate,
// so that it and the rate service's (tag 1) travel in one packet.
const redirectTag = 2

// DefaultVendor is a NAS's vendor when its config names none: the make its
// access profile is for (mikrotik-address-list and mikrotik-rate-limit:
// mikrotik; cisco-avpair: cisco; juniper-erx: juniper), generic for
// filter-id and disconnect.
func DefaultVendor(profile string) string {
	switch profile {
	case ProfileMikrotikAddressList, ProfileMikrotikRateLimit:
		return VendorMikrotik
	case ProfileCiscoAVPair:
		return VendorCisco
	case ProfileJuniperERX:
		return VendorJuniper
	}
	return VendorGeneric
}

// step is one request to a session: a CoA-Request with attrs, or a
// Disconnect-Request (after which nothing more is sent: the session
// re-authenticates, and the authorize endpoint answers its new state).
type step struct {
	disconnect bool
	attrs      []radiusproto.Attr
}

// speedNone is a session's speed record when it is known to hold no speed
// Tollgate set; "" is unknown.
const speedNone = "none"

// encodeSpeed is p as a session's speed record ([radiusproto.Session.Speed]).
func encodeSpeed(p *enforcement.Profile) string {
	if p == nil {
		return speedNone
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// decodeSpeed reads a session's speed record: known is false when the
// session's speed is unknown (it restarted with nothing telling it).
func decodeSpeed(s string) (p *enforcement.Profile, known bool) {
	switch s {
	case "":
		return nil, false
	case speedNone:
		return nil, true
	}
	var v enforcement.Profile
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, false
	}
	return &v, true
}

// rateProfile copies p's rates for the renderers.
func rateProfile(p *enforcement.Profile) radiusproto.RateProfile {
	return radiusproto.RateProfile{
		DownloadRate: p.DownloadRate, UploadRate: p.UploadRate,
		DownloadBurstRate: p.DownloadBurstRate, UploadBurstRate: p.UploadBurstRate,
		DownloadBurstThreshold: p.DownloadBurstThreshold, UploadBurstThreshold: p.UploadBurstThreshold,
		BurstTime: p.BurstTime, Priority: p.Priority,
	}
}

// checkSizes refuses attributes whose values a packet cannot carry.
func checkSizes(attrs []radiusproto.Attr) error {
	for _, a := range attrs {
		if len(a.Value) == 0 || len(a.Value) > radiusproto.MaxVSAValue-1 {
			return fmt.Errorf("%s value %q must be 1 to %d characters", radiusproto.AttrName(a), a.Value, radiusproto.MaxVSAValue-1)
		}
	}
	return nil
}

// speedError names the profile field a vendor needs.
func (n *nas) speedError(p *enforcement.Profile, need string) error {
	return fmt.Errorf("profile %q names no %s, which NAS %s (vendor %s) needs to enforce a speed", p.Name, need, n.cfg.Name, n.cfg.Vendor)
}

// juniperService is the service p is activated as on a Juniper NAS.
func (n *nas) juniperService(p *enforcement.Profile) string {
	if p.JuniperService != "" {
		return p.JuniperService
	}
	return n.cfg.RateService
}

// speedAttrs are the attributes that give a session p's speed, for an
// Access-Accept (login) or, for mikrotik and generic, a CoA-Request.
func (n *nas) speedAttrs(p *enforcement.Profile) ([]radiusproto.Attr, error) {
	var out []radiusproto.Attr
	switch n.cfg.Vendor {
	case VendorMikrotik:
		out = []radiusproto.Attr{radiusproto.MikrotikRateLimitAttr(rateProfile(p))}
	case VendorCisco:
		switch {
		case p.CiscoService != "":
			if _, err := radiusproto.CiscoServiceCommand(true, p.CiscoService); err != nil {
				return nil, err
			}
			// An ISG activates the services an Access-Accept names in
			// Cisco-Account-Info "A<service>" (auto-service).
			out = []radiusproto.Attr{radiusproto.Named("Cisco-Account-Info", "A"+p.CiscoService)}
		case p.CiscoPolicyIn != "" || p.CiscoPolicyOut != "":
			attrs, err := radiusproto.CiscoQoSPolicies(p.CiscoPolicyIn, p.CiscoPolicyOut)
			if err != nil {
				return nil, err
			}
			out = attrs
		default:
			return nil, n.speedError(p, "cisco_service or cisco_policy_in/out")
		}
	case VendorJuniper:
		a, err := radiusproto.JuniperServiceActivate(n.juniperService(p), rateProfile(p))
		if err != nil {
			return nil, err
		}
		out = []radiusproto.Attr{a}
	default:
		if p.FilterID == "" {
			return nil, n.speedError(p, "filter_id")
		}
		a, err := radiusproto.FilterIDAttr(p.FilterID)
		if err != nil {
			return nil, err
		}
		out = []radiusproto.Attr{a}
	}
	return out, checkSizes(out)
}

// sameOnNAS says whether old and p render to the same attributes on n:
// nothing to send (a new profile version with the same speed changes
// nothing on the NAS).
func (n *nas) sameOnNAS(old, p *enforcement.Profile) bool {
	if old == nil || p == nil {
		return old == p
	}
	a, err1 := n.speedAttrs(old)
	b, err2 := n.speedAttrs(p)
	if err1 != nil || err2 != nil || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// speedSteps are the requests that take a session from the speed old (if
// known) to p (nil: none Tollgate set). Nothing when they are the same;
// nothing for p nil when old is unknown (no reason to cut a subscriber
// whose speed Tollgate never set).
func (n *nas) speedSteps(old *enforcement.Profile, known bool, p *enforcement.Profile) ([]step, error) {
	if known && n.sameOnNAS(old, p) {
		return nil, nil
	}
	if p == nil {
		if !known {
			return nil, nil
		}
		return n.removeSpeed(old)
	}
	switch n.cfg.Vendor {
	case VendorCisco:
		var steps []step
		if p.CiscoService != "" {
			if known && old != nil && old.CiscoService != "" && old.CiscoService != p.CiscoService {
				off, err := radiusproto.CiscoServiceCommand(false, old.CiscoService)
				if err != nil {
					return nil, err
				}
				steps = append(steps, step{attrs: off})
			}
			on, err := radiusproto.CiscoServiceCommand(true, p.CiscoService)
			if err != nil {
				return nil, err
			}
			return append(steps, step{attrs: on}), nil
		}
		attrs, err := n.speedAttrs(p)
		if err != nil {
			return nil, err
		}
		return []step{{attrs: attrs}}, nil
	case VendorJuniper:
		attrs, err := n.speedAttrs(p)
		if err != nil {
			return nil, err
		}
		if known && old != nil {
			off, err := radiusproto.JuniperServiceDeactivate(n.juniperService(old))
			if err != nil {
				return nil, err
			}
			attrs = append([]radiusproto.Attr{off}, attrs...)
		}
		return []step{{attrs: attrs}}, nil
	}
	attrs, err := n.speedAttrs(p)
	if err != nil {
		return nil, err
	}
	return []step{{attrs: attrs}}, nil
}

// removeSpeed takes the speed old off a session: deactivating its service
// where the NAS has one (Cisco, Juniper); sending the NAS's configured
// active rate limit or filter where set; otherwise disconnecting the
// session, which re-authenticates with no speed from Tollgate (the NAS's
// own default applies).
func (n *nas) removeSpeed(old *enforcement.Profile) ([]step, error) {
	switch n.cfg.Vendor {
	case VendorCisco:
		if old.CiscoService != "" {
			off, err := radiusproto.CiscoServiceCommand(false, old.CiscoService)
			if err != nil {
				return nil, err
			}
			return []step{{attrs: off}}, nil
		}
	case VendorJuniper:
		off, err := radiusproto.JuniperServiceDeactivate(n.juniperService(old))
		if err != nil {
			return nil, err
		}
		return []step{{attrs: []radiusproto.Attr{off}}}, nil
	case VendorMikrotik:
		if n.cfg.ActiveRateLimit != "" {
			return []step{{attrs: []radiusproto.Attr{radiusproto.Named("Mikrotik-Rate-Limit", n.cfg.ActiveRateLimit)}}}, nil
		}
	case VendorGeneric:
		if n.cfg.ActiveFilter != "" {
			return []step{{attrs: []radiusproto.Attr{radiusproto.Named("Filter-Id", n.cfg.ActiveFilter)}}}, nil
		}
	}
	return []step{{disconnect: true}}, nil
}

// redirectOn is the attribute that puts a session behind the throttle
// redirect.
func (n *nas) redirectOn() radiusproto.Attr {
	r := n.cfg.ThrottleRedirect
	switch n.cfg.Vendor {
	case VendorMikrotik:
		return radiusproto.Named("Mikrotik-Address-List", r)
	case VendorCisco:
		return radiusproto.Named("Cisco-Account-Info", "A"+r)
	case VendorJuniper:
		a := radiusproto.Named("ERX-Service-Activate", r)
		a.Tag = redirectTag
		return a
	}
	return radiusproto.Named("Filter-Id", r)
}

// redirectOff are the requests that take a throttled session out of the
// redirect, on its way to p (nil: no speed). A MikroTik session leaves
// the address list with the NAS's active_address_list, else by being
// disconnected; a generic session's filter is replaced by the speed step
// (or the active filter, or a disconnect, when p is nil).
func (n *nas) redirectOff(p *enforcement.Profile) []step {
	r := n.cfg.ThrottleRedirect
	switch n.cfg.Vendor {
	case VendorMikrotik:
		if n.cfg.ActiveAddressList != "" {
			return []step{{attrs: []radiusproto.Attr{radiusproto.Named("Mikrotik-Address-List", n.cfg.ActiveAddressList)}}}
		}
		return []step{{disconnect: true}}
	case VendorCisco:
		off, _ := radiusproto.CiscoServiceCommand(false, r) // checked in newNAS
		return []step{{attrs: off}}
	case VendorJuniper:
		off, _ := radiusproto.JuniperServiceDeactivate(r) // checked in newNAS
		return []step{{attrs: []radiusproto.Attr{off}}}
	}
	if p != nil {
		return nil
	}
	if n.cfg.ActiveFilter != "" {
		return []step{{attrs: []radiusproto.Attr{radiusproto.Named("Filter-Id", n.cfg.ActiveFilter)}}}
	}
	return []step{{disconnect: true}}
}

// throttleSteps are the requests that throttle a session now in state
// from, with speed old (if known), at p: the speed, and the redirect
// unless the session is behind it already. Cisco and generic NASes need
// no vendor names in a throttle profile: the redirect service or filter
// then shapes as well.
func (n *nas) throttleSteps(from enforcement.State, old *enforcement.Profile, known bool, p *enforcement.Profile) ([]step, error) {
	if n.cfg.Vendor == VendorGeneric {
		if from == enforcement.Throttled && known && old.Equal(p) {
			return nil, nil
		}
		attrs := []radiusproto.Attr{n.redirectOn()}
		if p.FilterID != "" {
			a, err := radiusproto.FilterIDAttr(p.FilterID)
			if err != nil {
				return nil, err
			}
			attrs = []radiusproto.Attr{a}
		}
		return []step{{attrs: attrs}}, nil
	}
	var steps []step
	switch {
	case n.cfg.Vendor != VendorCisco || p.CiscoService != "" || p.CiscoPolicyIn != "" || p.CiscoPolicyOut != "":
		var err error
		if steps, err = n.speedSteps(old, known, p); err != nil {
			return nil, err
		}
	case known && old != nil && old.CiscoService != "":
		// The redirect service shapes: the plan's service goes, so that
		// it does not police at the plan's rate alongside.
		off, err := radiusproto.CiscoServiceCommand(false, old.CiscoService)
		if err != nil {
			return nil, err
		}
		steps = []step{{attrs: off}}
	}
	if from == enforcement.Throttled {
		return steps, nil
	}
	switch n.cfg.Vendor {
	case VendorMikrotik:
		// One CoA: the rate and the address list.
		if len(steps) == 1 && !steps[0].disconnect {
			steps[0].attrs = append(steps[0].attrs, n.redirectOn())
			return steps, nil
		}
		return append(steps, step{attrs: []radiusproto.Attr{n.redirectOn()}}), nil
	case VendorCisco:
		on, _ := radiusproto.CiscoServiceCommand(true, n.cfg.ThrottleRedirect) // checked in newNAS
		return append(steps, step{attrs: on}), nil
	}
	return append(steps, step{attrs: []radiusproto.Attr{n.redirectOn()}}), nil
}

// throttleReply is the Access-Accept of a throttled subscriber: the
// throttle profile's speed (when the vendor can render it) and the
// redirect.
func (n *nas) throttleReply(p *enforcement.Profile) ([]radiusproto.Attr, error) {
	if n.cfg.Vendor == VendorGeneric && p != nil && p.FilterID != "" {
		return n.speedAttrs(p)
	}
	var out []radiusproto.Attr
	if p != nil && n.cfg.Vendor != VendorGeneric &&
		(n.cfg.Vendor != VendorCisco || p.CiscoService != "" || p.CiscoPolicyIn != "" || p.CiscoPolicyOut != "") {
		attrs, err := n.speedAttrs(p)
		if err != nil {
			return nil, err
		}
		out = attrs
	}
	return append(out, n.redirectOn()), nil
}

// speedFromAccounting reads a MikroTik session's rates from a
// Mikrotik-Rate-Limit in its accounting (a NAS that reports it): the
// speed in place, with no name. The suspended rate of the
// mikrotik-rate-limit access profile is a state, not a speed.
func (n *nas) speedFromAccounting(attrs []radiusproto.Attr) (string, bool) {
	if n.cfg.Vendor != VendorMikrotik {
		return "", false
	}
	for _, a := range attrs {
		if radiusproto.AttrName(a) != "Mikrotik-Rate-Limit" {
			continue
		}
		if n.prof.name == ProfileMikrotikRateLimit && len(n.prof.marker) > 0 && a.Value == n.prof.marker[0].Value {
			return "", false
		}
		r, err := radiusproto.ParseMikrotikRateLimit(strings.TrimSpace(a.Value))
		if err != nil {
			return "", false
		}
		return encodeSpeed(&enforcement.Profile{
			DownloadRate: r.DownloadRate, UploadRate: r.UploadRate,
			DownloadBurstRate: r.DownloadBurstRate, UploadBurstRate: r.UploadBurstRate,
			DownloadBurstThreshold: r.DownloadBurstThreshold, UploadBurstThreshold: r.UploadBurstThreshold,
			BurstTime: r.BurstTime, Priority: r.Priority,
		}), true
	}
	return "", false
}
