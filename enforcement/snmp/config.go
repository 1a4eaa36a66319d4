package snmp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Defaults of [DeviceConfig].
const (
	DefaultPort         = 161
	DefaultTimeout      = 2 * time.Second
	DefaultRetries      = 2
	DefaultConcurrency  = 4
	DefaultAuthProtocol = "SHA-256"
	DefaultPrivProtocol = "AES"

	// MaxConcurrency bounds DeviceConfig.Concurrency.
	MaxConcurrency = 64
	// minUSMPassword is the shortest USM password RFC 3414 allows (and
	// net-snmp accepts).
	minUSMPassword = 8
)

// Config is the snmp driver's part of the agent config:
//
//	snmp:
//	  devices:
//	    - name: olt-1
//	      address: 10.0.0.5
//	      version: v3
//	      user: tollgate
//	      auth_password_file: /etc/tollgate/snmp/olt-1.auth
//	      priv_password_file: /etc/tollgate/snmp/olt-1.priv
type Config struct {
	// Devices are the SNMP agents (switches, OLTs, DSLAMs) of this POP.
	// A service's Binding.Device names one of them.
	Devices []DeviceConfig `yaml:"devices"`
}

// DeviceConfig is one SNMP device. Secrets (community, USM passwords) are
// never written in the config itself: each comes from a file (the whole
// file, trailing newlines removed) or from an environment variable, named by
// the *_file or *_env field; setting both is an error. Secrets are never
// logged or put into errors.
type DeviceConfig struct {
	// Name is how services' bindings (Binding.Device) refer to the device.
	// Required, unique.
	Name string `yaml:"name"`
	// Address is host or host:port ([v6]:port) of the device's SNMP agent,
	// over UDP. Default port: 161. Required.
	Address string `yaml:"address"`
	// Version is "v2c" or "v3". Required.
	Version string `yaml:"version"`

	// CommunityFile / CommunityEnv: the v2c community (read-write). One is
	// required for v2c.
	CommunityFile string `yaml:"community_file"`
	CommunityEnv  string `yaml:"community_env"`

	// User is the v3 USM user name. Required for v3. v3 always uses
	// authPriv (authentication and privacy).
	User string `yaml:"user"`
	// AuthProtocol is the v3 authentication protocol: "SHA-256" (default),
	// "SHA" (SHA-1) or "SHA-512".
	AuthProtocol string `yaml:"auth_protocol"`
	// AuthPasswordFile / AuthPasswordEnv: the v3 authentication password
	// (at least 8 characters). One is required for v3.
	AuthPasswordFile string `yaml:"auth_password_file"`
	AuthPasswordEnv  string `yaml:"auth_password_env"`
	// PrivProtocol is the v3 privacy protocol: "AES" (AES-128, default),
	// "AES-256" (draft-blumenthal-aes-usm, as net-snmp and most vendors
	// implement it) or "AES-256-C" (the Reeder key extension that Cisco
	// uses).
	PrivProtocol string `yaml:"priv_protocol"`
	// PrivPasswordFile / PrivPasswordEnv: the v3 privacy password (at least
	// 8 characters). One is required for v3.
	PrivPasswordFile string `yaml:"priv_password_file"`
	PrivPasswordEnv  string `yaml:"priv_password_env"`

	// Timeout is how long to wait for each response. Default 2s.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how often a request that got no response is sent again.
	// Default 2 (nil); 0 sends each request once.
	Retries *int `yaml:"retries"`
	// Concurrency bounds the requests in flight to this device at once
	// (each on its own UDP socket). Default 4, at most 64.
	Concurrency int `yaml:"concurrency"`
}

// device is a validated DeviceConfig with its secrets loaded.
type device struct {
	name        string
	host        string
	port        uint16
	version     gosnmp.SnmpVersion
	community   string
	user        string
	auth        gosnmp.SnmpV3AuthProtocol
	authPass    string
	priv        gosnmp.SnmpV3PrivProtocol
	privPass    string
	timeout     time.Duration
	retries     int
	concurrency int
}

// resolve validates c, applies the defaults and loads the secrets. lookupEnv
// is os.LookupEnv outside tests. Errors never contain a secret.
func (c DeviceConfig) resolve(lookupEnv func(string) (string, bool)) (*device, error) {
	d := &device{name: c.Name}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Name == "" {
		bad("name is required")
	}
	if c.Address == "" {
		bad("address is required")
	} else if host, port, err := splitAddress(c.Address); err != nil {
		bad("address: %v", err)
	} else {
		d.host, d.port = host, port
	}

	switch strings.ToLower(c.Version) {
	case "v2c", "2c":
		d.version = gosnmp.Version2c
		s, err := secret("community", c.CommunityFile, c.CommunityEnv, lookupEnv)
		if err != nil {
			errs = append(errs, err)
		}
		d.community = s
		if c.User != "" || c.AuthPasswordFile != "" || c.AuthPasswordEnv != "" || c.PrivPasswordFile != "" || c.PrivPasswordEnv != "" {
			bad("user, auth_password_* and priv_password_* are for version v3, not v2c")
		}
	case "v3", "3":
		d.version = gosnmp.Version3
		if c.CommunityFile != "" || c.CommunityEnv != "" {
			bad("community_file and community_env are for version v2c, not v3")
		}
		if c.User == "" {
			bad("user is required for v3")
		}
		d.user = c.User
		var err error
		if d.auth, err = parseAuthProtocol(c.AuthProtocol); err != nil {
			errs = append(errs, err)
		}
		if d.priv, err = parsePrivProtocol(c.PrivProtocol); err != nil {
			errs = append(errs, err)
		}
		if d.authPass, err = secret("auth_password", c.AuthPasswordFile, c.AuthPasswordEnv, lookupEnv); err != nil {
			errs = append(errs, err)
		} else if len(d.authPass) < minUSMPassword {
			bad("auth_password: shorter than %d characters, which SNMPv3 (RFC 3414) does not allow", minUSMPassword)
		}
		if d.privPass, err = secret("priv_password", c.PrivPasswordFile, c.PrivPasswordEnv, lookupEnv); err != nil {
			errs = append(errs, err)
		} else if len(d.privPass) < minUSMPassword {
			bad("priv_password: shorter than %d characters, which SNMPv3 (RFC 3414) does not allow", minUSMPassword)
		}
	case "":
		bad("version is required (v2c or v3)")
	default:
		bad("version %q: want v2c or v3", c.Version)
	}

	switch {
	case c.Timeout == 0:
		d.timeout = DefaultTimeout
	case c.Timeout < 0:
		bad("timeout %s is negative", c.Timeout)
	default:
		d.timeout = c.Timeout
	}
	switch {
	case c.Retries == nil:
		d.retries = DefaultRetries
	case *c.Retries < 0:
		bad("retries %d is negative", *c.Retries)
	default:
		d.retries = *c.Retries
	}
	switch {
	case c.Concurrency == 0:
		d.concurrency = DefaultConcurrency
	case c.Concurrency < 0 || c.Concurrency > MaxConcurrency:
		bad("concurrency %d: want 1 to %d", c.Concurrency, MaxConcurrency)
	default:
		d.concurrency = c.Concurrency
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

// secret loads one secret from its file or environment variable.
func secret(what, file, env string, lookupEnv func(string) (string, bool)) (string, error) {
	var s string
	switch {
	case file != "" && env != "":
		return "", fmt.Errorf("%s_file and %s_env are both set; use one", what, what)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			// The error names the file, never its content.
			return "", fmt.Errorf("%s_file: %w", what, err)
		}
		s = strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", fmt.Errorf("%s_file %s is empty", what, file)
		}
	case env != "":
		v, ok := lookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is not set or empty", what, env)
		}
		s = v
	default:
		return "", fmt.Errorf("%s_file or %s_env is required", what, what)
	}
	return s, nil
}

// splitAddress parses a device address: "host", "host:port", "[v6]:port"
// or a bare IPv6 address. The port defaults to 161.
func splitAddress(addr string) (host string, port uint16, err error) {
	if addr == "" {
		return "", 0, errors.New("empty address")
	}
	if ip := net.ParseIP(addr); ip != nil { // also a bare IPv6 address
		return addr, DefaultPort, nil
	}
	if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
		inner := addr[1 : len(addr)-1]
		if net.ParseIP(inner) == nil {
			return "", 0, fmt.Errorf("%q: %q is not an IPv6 address", addr, inner)
		}
		return inner, DefaultPort, nil
	}
	if !strings.Contains(addr, ":") {
		host = addr
		port = DefaultPort
	} else {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return "", 0, fmt.Errorf("%q: want host, host:port or [ipv6]:port", addr)
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return "", 0, fmt.Errorf("%q: port %q is not a number from 1 to 65535", addr, p)
		}
		host, port = h, uint16(n)
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q: empty host", addr)
	}
	if strings.ContainsAny(host, " \t\r\n/[]") {
		return "", 0, fmt.Errorf("%q: %q is not a host name or IP address", addr, host)
	}
	return host, port, nil
}

// parseAuthProtocol maps a config spelling of a v3 authentication protocol
// to gosnmp's; "" is the default, SHA-256.
func parseAuthProtocol(s string) (gosnmp.SnmpV3AuthProtocol, error) {
	switch strings.ToUpper(strings.ReplaceAll(s, "_", "-")) {
	case "", "SHA-256", "SHA256":
		return gosnmp.SHA256, nil
	case "SHA", "SHA-1", "SHA1":
		return gosnmp.SHA, nil
	case "SHA-512", "SHA512":
		return gosnmp.SHA512, nil
	}
	return 0, fmt.Errorf("auth_protocol %q: want SHA-256 (default), SHA or SHA-512", s)
}

// parsePrivProtocol maps a config spelling of a v3 privacy protocol to
// gosnmp's; "" is the default, AES (AES-128).
func parsePrivProtocol(s string) (gosnmp.SnmpV3PrivProtocol, error) {
	switch strings.ToUpper(strings.ReplaceAll(s, "_", "-")) {
	case "", "AES", "AES-128", "AES128":
		return gosnmp.AES, nil
	case "AES-256", "AES256":
		return gosnmp.AES256, nil
	case "AES-256-C", "AES256C", "AES-256C":
		return gosnmp.AES256C, nil
	}
	return 0, fmt.Errorf("priv_protocol %q: want AES (default), AES-256 or AES-256-C", s)
}
