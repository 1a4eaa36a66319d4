package sso

import (
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// Config is the controller's single sign-on section (README.md in this
// directory has examples for Google Workspace, Entra ID and Keycloak).
// SSO is off while Issuer is empty.
type Config struct {
	// Name is what the console's sign-in button says: "Sign in with
	// <Name>". Default "single sign-on".
	Name string `yaml:"name"`
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document (<issuer>/.well-known/openid-configuration) states it,
	// e.g. https://accounts.google.com. Default: none (SSO off).
	Issuer string `yaml:"issuer"`
	// ClientID is the client (application) id registered at the
	// provider. Required with Issuer.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the client secret. Prefer ClientSecretFile, which
	// keeps it out of the config file. Default: none.
	ClientSecret string `yaml:"client_secret"`
	// ClientSecretFile is a file holding the client secret (trailing
	// newlines ignored); it is read when the flow is made. One of
	// ClientSecret and ClientSecretFile is required. Default: none.
	ClientSecretFile string `yaml:"client_secret_file"`
	// RedirectURL is the console's callback as registered at the
	// provider: https://<controller>/staff/sso/callback. Required with
	// Issuer.
	RedirectURL string `yaml:"redirect_url"`
	// Scopes asked for. Default [openid, email, profile]; openid is added
	// when missing. Keycloak needs no extra scope for groups once its
	// group mapper is on; Google and Entra ID need none.
	Scopes []string `yaml:"scopes"`
	// FlowTimeout is how long a sign-in may take from the console's
	// redirect to the provider to its callback. Default 10m.
	FlowTimeout time.Duration `yaml:"flow_timeout"`
	// Rules map a person to a role (staff.SSORule): by claim value, Google
	// Workspace hosted domain, verified e-mail domain or address. The
	// highest role of the matching rules wins; a person matching no rule
	// is refused. At least one rule is required with Issuer.
	Rules []staff.SSORule `yaml:"rules"`
}

// DefaultScopes are asked for when Config.Scopes is empty.
var DefaultScopes = []string{"openid", "email", "profile"}

// Default values of Config.
const (
	DefaultName        = "single sign-on"
	DefaultFlowTimeout = 10 * time.Minute
)

// Enabled reports whether SSO is configured (Issuer set).
func (c Config) Enabled() bool { return c.Issuer != "" }

// withDefaults fills in defaults, reads the client secret file and checks
// everything; errors name the field.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.FlowTimeout == 0 {
		c.FlowTimeout = DefaultFlowTimeout
	}
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(DefaultScopes)
	} else if !slices.Contains(c.Scopes, "openid") {
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	}
	issuer, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		return c, billing.Errorf(billing.EINVALID, "sso.issuer: required (the provider's issuer URL)")
	case err != nil || issuer.Host == "" || issuer.Scheme != "https" && issuer.Scheme != "http":
		return c, billing.Errorf(billing.EINVALID, "sso.issuer: %q is not an http(s) URL", c.Issuer)
	case c.ClientID == "":
		return c, billing.Errorf(billing.EINVALID, "sso.client_id: required (the client id registered at the provider)")
	case c.ClientSecret != "" && c.ClientSecretFile != "":
		return c, billing.Errorf(billing.EINVALID, "sso.client_secret_file: give the secret or a file holding it, not both")
	case c.FlowTimeout < 0:
		return c, billing.Errorf(billing.EINVALID, "sso.flow_timeout: must be positive")
	}
	redirect, err := url.Parse(c.RedirectURL)
	if c.RedirectURL == "" || err != nil || redirect.Host == "" || redirect.Scheme != "https" && redirect.Scheme != "http" || redirect.Fragment != "" {
		return c, billing.Errorf(billing.EINVALID, "sso.redirect_url: %q must be the console's absolute http(s) callback URL, like https://billing.example.net/staff/sso/callback", c.RedirectURL)
	}
	if c.ClientSecretFile != "" {
		b, err := os.ReadFile(c.ClientSecretFile)
		if err != nil {
			return c, billing.Errorf(billing.EINVALID, "sso.client_secret_file: %v", err)
		}
		c.ClientSecret = strings.TrimRight(string(b), "\r\n")
	}
	if c.ClientSecret == "" {
		return c, billing.Errorf(billing.EINVALID, "sso.client_secret: required, or client_secret_file (a confidential client's secret)")
	}
	if err := staff.CheckSSORules(c.Rules); err != nil {
		return c, billing.Errorf(billing.EINVALID, "sso.%s", billing.ErrorMessage(err))
	}
	return c, nil
}
