package routeros

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Defaults for the fields of RouterConfig left empty.
const (
	DefaultAddressList      = "tollgate-suspended"
	DefaultThrottleList     = "tollgate-throttled"
	DefaultQueuePrefix      = "tollgate-svc-"
	DefaultCommentPrefix    = "tollgate:"
	DefaultTimeout          = 10 * time.Second
	DefaultRateLimit        = 50 // commands per second
	DefaultPipeline         = 64 // commands in flight
	DefaultWalledGardenList = "tollgate-walled-garden"
	DefaultAPIPort          = "8728"
	DefaultAPISSLPort       = "8729"
)

// Config is the routeros driver's configuration: the routers of the POP.
type Config struct {
	Routers []RouterConfig `yaml:"routers"`
}

// RouterConfig is one router. A binding's Device names it; a binding with
// no Device goes to the only router when exactly one is configured.
type RouterConfig struct {
	// Name identifies the router in bindings (Device), logs and reports.
	// Required, unique.
	Name string `yaml:"name"`
	// Address is host:port of the router's API service. The port defaults
	// to 8728, or 8729 (api-ssl) with TLS. Required.
	Address string `yaml:"address"`
	// TLS selects API-SSL.
	TLS TLSConfig `yaml:"tls"`
	// Username of the router's API user (a group with read, write and api
	// policies is enough). Required.
	Username string `yaml:"username"`
	// PasswordFile holds the password (trailing newlines ignored).
	// PasswordEnv names an environment variable holding it instead. With
	// neither, the password is empty. Never logged.
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
	// Password is set by programs (tests); config files use PasswordFile
	// or PasswordEnv. It takes precedence over both.
	Password string `yaml:"-"`
	// AddressList is the firewall address list of suspended subscribers.
	// Default "tollgate-suspended".
	AddressList string `yaml:"address_list"`
	// ThrottleList is the firewall address list of throttled
	// subscribers: they keep their connection at the throttle profile's
	// speed (their simple queue), and the router's rules send their plain
	// HTTP (TCP 80) to the redirect responder but drop nothing
	// (deploy/routeros/walled-garden.rsc). Default "tollgate-throttled".
	ThrottleList string `yaml:"throttle_list"`
	// QueuePrefix begins the name of the simple queue (/queue/simple) the
	// driver keeps for each service with a profile: "<prefix><service id>".
	// Default "tollgate-svc-".
	QueuePrefix string `yaml:"queue_prefix"`
	// CommentPrefix marks the entries and queues the driver owns: it
	// writes comments "<prefix>svc=<service id>[ reason=<reason>]" on
	// address-list entries and "<prefix>svc=<service id> profile=<profile>"
	// on queues, and never changes or removes an entry or queue whose
	// comment does not start with the prefix. Default "tollgate:".
	CommentPrefix string `yaml:"comment_prefix"`
	// Timeout bounds connecting and logging in, and how long the router
	// may leave commands unanswered before the connection is given up and
	// made again. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// RateLimit is the most commands per second sent to the router (a
	// burst of one second's worth). Default 50; negative: no limit.
	RateLimit float64 `yaml:"rate_limit"`
	// Pipeline is how many commands may wait for their answers at once on
	// the router's connection. Default 64.
	Pipeline int `yaml:"pipeline"`
	// WalledGarden optionally installs the walled-garden rules.
	WalledGarden WalledGardenConfig `yaml:"walled_garden"`
}

// TLSConfig selects and configures API-SSL.
type TLSConfig struct {
	// Enabled connects with TLS (RouterOS's api-ssl service). Default
	// false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of certificates to trust for the router (its
	// self-signed certificate, or the CA that signed it). Default: the
	// system's roots.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name to verify in the router's certificate.
	// Default: the host part of Address.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any certificate (encryption without
	// authentication). Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// WalledGardenConfig describes the walled-garden rules the driver can put
// on the router (deploy/routeros/walled-garden.rsc is the same as a
// script): suspended subscribers' HTTP (TCP 80) is sent by dst-nat to the
// redirect responder; DNS, the responder and the walled-garden list are
// reachable; everything else they send is dropped.
type WalledGardenConfig struct {
	// Bootstrap installs the rules that are missing (recognised by their
	// comments) each time the driver connects. It never changes or removes
	// rules. Default false.
	Bootstrap bool `yaml:"bootstrap"`
	// Redirect is ip:port of the agent's redirect responder. Required with
	// Bootstrap.
	Redirect string `yaml:"redirect"`
	// List is the address list of destinations suspended subscribers may
	// still reach (portal, payment processor). Default
	// "tollgate-walled-garden".
	List string `yaml:"list"`
	// Allow are addresses, prefixes or fully qualified host names
	// (portal.isp.example) the driver puts into List, as
	// deploy/routeros/walled-garden.rsc does. RouterOS resolves a name
	// itself and keeps the list's dynamic entries for its addresses up to
	// date as the name's DNS records change (re-resolved at their TTL), so
	// a portal or payment processor behind a CDN stays reachable.
	Allow []string `yaml:"allow"`
}

// LogValue leaves secrets out of logs.
func (c RouterConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("address", c.Address),
		slog.Bool("tls", c.TLS.Enabled), slog.String("username", c.Username), slog.String("address_list", c.AddressList))
}

// String leaves secrets out too.
func (c RouterConfig) String() string {
	return fmt.Sprintf("routeros router %s (%s, user %s)", c.Name, c.Address, c.Username)
}

// settings is a validated router config with its defaults, password and
// TLS configuration resolved.
type settings struct {
	RouterConfig
	password string
	tls      *tls.Config
	redirect netip.AddrPort
	allow    []address
}

func (c RouterConfig) resolve() (*settings, error) {
	s := &settings{RouterConfig: c}
	if c.Name == "" {
		return nil, errors.New("a router has no name")
	}
	if c.Username == "" {
		return nil, fmt.Errorf("router %s: username is required", c.Name)
	}
	if c.Address == "" {
		return nil, fmt.Errorf("router %s: address is required", c.Name)
	}
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		port := DefaultAPIPort
		if c.TLS.Enabled {
			port = DefaultAPISSLPort
		}
		s.Address = net.JoinHostPort(strings.Trim(c.Address, "[]"), port)
	}
	if s.AddressList == "" {
		s.AddressList = DefaultAddressList
	}
	if s.CommentPrefix == "" {
		s.CommentPrefix = DefaultCommentPrefix
	}
	if s.ThrottleList == "" {
		s.ThrottleList = DefaultThrottleList
	}
	if s.ThrottleList == s.AddressList {
		return nil, fmt.Errorf("router %s: throttle_list and address_list are both %q; throttled subscribers must not be dropped", c.Name, s.AddressList)
	}
	if s.QueuePrefix == "" {
		s.QueuePrefix = DefaultQueuePrefix
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Timeout < 0 {
		return nil, fmt.Errorf("router %s: negative timeout", c.Name)
	}
	if s.RateLimit == 0 {
		s.RateLimit = DefaultRateLimit
	}
	if s.Pipeline == 0 {
		s.Pipeline = DefaultPipeline
	}
	if s.Pipeline < 0 {
		return nil, fmt.Errorf("router %s: negative pipeline", c.Name)
	}
	switch {
	case c.Password != "":
		s.password = c.Password
	case c.PasswordFile != "":
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("router %s: password_file: %w", c.Name, err)
		}
		s.password = strings.TrimRight(string(b), "\r\n")
	case c.PasswordEnv != "":
		v, ok := os.LookupEnv(c.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("router %s: password_env: $%s is not set", c.Name, c.PasswordEnv)
		}
		s.password = v
	}
	if c.TLS.Enabled {
		host, _, _ := net.SplitHostPort(s.Address)
		s.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLS.InsecureSkipVerify} //nolint:gosec // opt-in
		if c.TLS.ServerName != "" {
			s.tls.ServerName = c.TLS.ServerName
		}
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("router %s: tls.ca_file: %w", c.Name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("router %s: tls.ca_file %s holds no PEM certificate", c.Name, c.TLS.CAFile)
			}
			s.tls.RootCAs = pool
		}
	} else if c.TLS.CAFile != "" || c.TLS.InsecureSkipVerify || c.TLS.ServerName != "" {
		return nil, fmt.Errorf("router %s: tls settings given but tls.enabled is false", c.Name)
	}
	wg := &s.WalledGarden
	if wg.List == "" {
		wg.List = DefaultWalledGardenList
	}
	if wg.Bootstrap {
		ap, err := netip.ParseAddrPort(wg.Redirect)
		if err != nil || !ap.Addr().Is4() {
			return nil, fmt.Errorf("router %s: walled_garden.redirect %q: want IPv4:port of the redirect responder", c.Name, wg.Redirect)
		}
		s.redirect = ap
	}
	for _, a := range wg.Allow {
		addr, err := parseAllow(a)
		if err != nil {
			return nil, fmt.Errorf("router %s: walled_garden.allow: %w", c.Name, err)
		}
		s.allow = append(s.allow, addr)
	}
	return s, nil
}
