package console

import (
	"github.com/tollgate-isp/tollgate/controller/payments"

	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/sso"
	"github.com/tollgate-isp/tollgate/internal/clientaddr"
)

// Config is the console's configuration (the controller's `console:`
// section). Zero values take the defaults named here.
type Config struct {
	// PublicURL is where staff reach the console, e.g.
	// https://billing.example.net/staff. Its path is where the controller
	// serves it (it must not be "/" or under /api); with https, cookies are
	// Secure. Required: the console is off until it is set.
	PublicURL string `yaml:"public_url"`
	// SessionIdle ends a session not used for this long. Default 30m.
	SessionIdle time.Duration `yaml:"session_idle"`
	// SessionAbsolute ends a session this long after sign-in, however much
	// it is used. Default 12h.
	SessionAbsolute time.Duration `yaml:"session_absolute"`
	// TrustedProxies are the addresses or CIDR prefixes of reverse proxies
	// whose X-Forwarded-For is believed when telling a sign-in's address
	// (for the backoff). Default none: the TCP peer is the address.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// SSO signs staff in through the ISP's OpenID Connect provider
	// (controller/sso/README.md); off without an issuer. Its redirect_url
	// must be public_url + "/sso/callback".
	SSO sso.Config `yaml:"sso"`
	// CompanyName heads every page. Default "Tollgate". The controller
	// sets it from company.name.
	CompanyName string `yaml:"-"`
	// Element is whose fields take a card or bank account typed by staff
	// (taken over the phone): Stripe's Payment Element or the sandbox's
	// iframe from its own origin; the number never reaches the console.
	// Set by the controller from its payments section.
	Element payments.Element `yaml:"-"`
}

func (c Config) withDefaults() Config {
	if c.SessionIdle <= 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionAbsolute <= 0 {
		c.SessionAbsolute = 12 * time.Hour
	}
	if c.CompanyName == "" {
		c.CompanyName = "Tollgate"
	}
	return c
}

// parsed is the checked form of a Config.
type parsed struct {
	origin  string // scheme://host
	path    string // the base path, without a trailing slash ("/staff")
	secure  bool
	proxies clientaddr.Proxies
}

func (c Config) parse() (parsed, error) {
	var p parsed
	var errs []error
	u, err := url.Parse(strings.TrimRight(c.PublicURL, "/"))
	switch {
	case c.PublicURL == "":
		errs = append(errs, errors.New("console.public_url is required"))
	case err != nil:
		errs = append(errs, fmt.Errorf("console.public_url: %w", err))
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		errs = append(errs, fmt.Errorf("console.public_url %q must be an absolute http(s) URL", c.PublicURL))
	case u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("console.public_url %q must not have a query or fragment", c.PublicURL))
	case u.Path == "" || u.Path == "/api" || strings.HasPrefix(u.Path, "/api/"):
		errs = append(errs, fmt.Errorf("console.public_url %q needs a path of its own (e.g. /staff): the admin API has the root and /api", c.PublicURL))
	default:
		p.origin, p.path, p.secure = u.Scheme+"://"+u.Host, u.Path, u.Scheme == "https"
	}
	if c.SSO.Enabled() && p.origin != "" && strings.TrimRight(c.SSO.RedirectURL, "/") != p.origin+p.path+"/sso/callback" {
		errs = append(errs, fmt.Errorf("console.sso.redirect_url %q must be the console's %s", c.SSO.RedirectURL, p.origin+p.path+"/sso/callback"))
	}
	if c.SessionIdle > c.SessionAbsolute {
		errs = append(errs, fmt.Errorf("console.session_idle (%s) is longer than console.session_absolute (%s)", c.SessionIdle, c.SessionAbsolute))
	}
	var perrs []error
	p.proxies, perrs = clientaddr.ParseProxies("console.trusted_proxies", c.TrustedProxies)
	errs = append(errs, perrs...)
	return p, errors.Join(errs...)
}
