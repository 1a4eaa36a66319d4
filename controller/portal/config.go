package portal

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/internal/clientaddr"
)

// Config configures the portal. Zero values take the documented defaults.
type Config struct {
	// PublicURL is the portal's address as subscribers' browsers see it,
	// e.g. "https://pay.example.net/portal". Required. Its path is where
	// the portal is served; an https URL makes the cookies Secure (plain
	// http is for development and tests on a private network only).
	PublicURL string `yaml:"public_url"`
	// Company is the ISP's name (shown on every page) and address (printed
	// on invoice PDFs). Set by the controller from its company section.
	Company documents.Company `yaml:"-"`
	// Locale is the company's locale, for accounts whose own and whose
	// type's are not set (set by the controller from company.locale).
	// Default en-US.
	Locale billing.Locale `yaml:"-"`
	// Support is how to reach a person ("call 555-0100, Mon–Fri 8–6"),
	// shown on the sign-in and error pages. Default: none.
	Support string `yaml:"support"`
	// VenueInfoURL is the ISP's web site, announced by the captive-portal
	// API. Default: none.
	VenueInfoURL string `yaml:"venue_info_url"`
	// SessionTTL is the longest a signed-in session lasts. Default 12h.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// IdleTimeout ends a session nobody used for this long. Default 30m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// CaptiveSessionTTL is the life of a session started from a captive
	// redirect. Default 1h.
	CaptiveSessionTTL time.Duration `yaml:"captive_session_ttl"`
	// CodeTTL is how long an emailed sign-in code is good. Default 10m.
	CodeTTL time.Duration `yaml:"code_ttl"`
	// CodeAttempts is how many wrong tries kill a code. Default 5.
	CodeAttempts int `yaml:"code_attempts"`
	// CodesPerWindow codes at most are sent to one account per CodeWindow.
	// Defaults 3 per 15m.
	CodesPerWindow int           `yaml:"codes_per_window"`
	CodeWindow     time.Duration `yaml:"code_window"`
	// SignInsPerMinute limits sign-in attempts (code requests, code
	// entries, captive tokens) per client address, per controller replica.
	// Default 10.
	SignInsPerMinute int `yaml:"sign_ins_per_minute"`
	// TrustedProxies are the reverse proxies (CIDR prefixes) whose
	// X-Forwarded-For header names the client. Default none: the client is
	// the TCP peer.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// RestoreWait is how long the payment page follows a restore before it
	// says it is taking longer than usual. Default 2m.
	RestoreWait time.Duration `yaml:"restore_wait"`

	// Element is whose fields take a new card or bank account in the
	// browser (Stripe's Payment Element, or the sandbox's iframe from its
	// own origin); the card never reaches the portal. Set by the
	// controller from its payments section.
	Element payments.Element `yaml:"-"`

	// Secrets are the master secrets (the first is current) from which the
	// captive tokens' per-POP keys and the CSRF and code-hashing keys are
	// derived. At least one, of at least 32 bytes. Set by the controller
	// from portal.secrets_file.
	Secrets [][]byte `yaml:"-"`
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.SessionTTL, 12*time.Hour)
	def(&c.IdleTimeout, 30*time.Minute)
	def(&c.CaptiveSessionTTL, time.Hour)
	def(&c.CodeTTL, 10*time.Minute)
	def(&c.CodeWindow, 15*time.Minute)
	def(&c.RestoreWait, 2*time.Minute)
	if c.CodeAttempts <= 0 {
		c.CodeAttempts = 5
	}
	if c.CodesPerWindow <= 0 {
		c.CodesPerWindow = 3
	}
	if c.SignInsPerMinute <= 0 {
		c.SignInsPerMinute = 10
	}
	if c.Company.Name == "" {
		c.Company.Name = "Your Internet provider"
	}
	return c
}

// parsed is the checked form of a Config.
type parsed struct {
	base    *url.URL // PublicURL without a trailing slash
	path    string   // base.Path without a trailing slash ("" for the root)
	secure  bool
	proxies clientaddr.Proxies
}

func (c Config) parse() (parsed, error) {
	var p parsed
	var errs []error
	u, err := url.Parse(strings.TrimRight(c.PublicURL, "/"))
	switch {
	case c.PublicURL == "":
		errs = append(errs, errors.New("portal.public_url is required"))
	case err != nil:
		errs = append(errs, fmt.Errorf("portal.public_url: %w", err))
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		errs = append(errs, fmt.Errorf("portal.public_url %q must be an absolute http(s) URL", c.PublicURL))
	case u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("portal.public_url %q must not have a query or fragment", c.PublicURL))
	default:
		p.base, p.path, p.secure = u, u.Path, u.Scheme == "https"
	}
	if len(c.Secrets) == 0 {
		errs = append(errs, errors.New("portal: no secret (portal.secrets_file)"))
	}
	for i, s := range c.Secrets {
		if len(s) < 32 {
			errs = append(errs, fmt.Errorf("portal secret %d is %d bytes; at least 32 are needed", i+1, len(s)))
		}
	}
	var perrs []error
	p.proxies, perrs = clientaddr.ParseProxies("portal.trusted_proxies", c.TrustedProxies)
	errs = append(errs, perrs...)
	return p, errors.Join(errs...)
}
