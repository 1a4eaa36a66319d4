package sso

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

func TestConfigDefaultsAndSecretFile(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	err := yaml.Unmarshal([]byte(`
issuer: https://accounts.google.com
client_id: 1234.apps.googleusercontent.com
client_secret_file: `+secret+`
redirect_url: https://billing.example.net/staff/sso/callback
rules:
  - hosted_domain: example.net
    role: reader
  - emails: [boss@example.net]
    role: admin
`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientSecret != "s3cret" || got.Name != DefaultName || got.FlowTimeout != DefaultFlowTimeout ||
		!slices.Equal(got.Scopes, []string{"openid", "email", "profile"}) || len(got.Rules) != 2 || got.Rules[1].Role != staff.RoleAdmin {
		t.Errorf("withDefaults = %+v", got)
	}
	cfg.Scopes, cfg.FlowTimeout = []string{"email", "groups"}, time.Minute
	if got, _ := cfg.withDefaults(); !slices.Equal(got.Scopes, []string{"openid", "email", "groups"}) || got.FlowTimeout != time.Minute {
		t.Errorf("scopes without openid: %v, timeout %v", got.Scopes, got.FlowTimeout)
	}
	if !cfg.Enabled() || (Config{}).Enabled() {
		t.Error("Enabled is whether an issuer is set")
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	good := Config{Issuer: "https://idp.example/realms/isp", ClientID: "tollgate", ClientSecret: "x",
		RedirectURL: "https://billing.example.net/staff/sso/callback", Rules: []staff.SSORule{{Claim: "groups", Value: "a", Role: staff.RoleReader}}}
	if _, err := good.withDefaults(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		change func(*Config)
		says   string
	}{
		{func(c *Config) { c.Issuer = "" }, "sso.issuer: required"},
		{func(c *Config) { c.Issuer = "idp.example" }, "sso.issuer"},
		{func(c *Config) { c.ClientID = "" }, "sso.client_id"},
		{func(c *Config) { c.ClientSecret = "" }, "sso.client_secret: required"},
		{func(c *Config) { c.ClientSecretFile = "/nonexistent/secret" }, "sso.client_secret_file"},
		{func(c *Config) { c.ClientSecret, c.ClientSecretFile = "", "/nonexistent/secret" }, "sso.client_secret_file: open /nonexistent/secret"},
		{func(c *Config) { c.RedirectURL = "/staff/sso/callback" }, "sso.redirect_url"},
		{func(c *Config) { c.FlowTimeout = -time.Second }, "sso.flow_timeout"},
		{func(c *Config) { c.Rules = nil }, "sso.rules: at least one"},
		{func(c *Config) { c.Rules[0].Role = "root" }, "sso.rules[0].role"},
	} {
		cfg := good
		cfg.Rules = slices.Clone(good.Rules)
		c.change(&cfg)
		_, err := New(cfg, Options{Key: make([]byte, 32)})
		if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: %v, want invalid naming %q", cfg, err, c.says)
		}
	}
	if _, err := New(good, Options{Key: make([]byte, 31)}); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Errorf("short key: %v", err)
	}
}

func TestLocalPath(t *testing.T) {
	for s, want := range map[string]string{
		"/staff/accounts/7?tab=invoices": "/staff/accounts/7?tab=invoices",
		"/staff/":                        "/staff/",
		"":                               "",
		"staff/":                         "",
		"//evil.example/x":               "",
		"/\\evil.example":                "",
		"https://evil.example/":          "",
		"/staff/\r\nSet-Cookie: x":       "",
	} {
		if got := localPath(s); got != want {
			t.Errorf("localPath(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestFlowStateSealing(t *testing.T) {
	s, err := newSealer([]byte(strings.Repeat("k", 32)), "https://idp.example", "tollgate", "https://b.example/cb")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	fd := flowData{State: "st", Nonce: "no", Verifier: "ve", ReturnTo: "/staff/", Expires: now.Add(time.Minute).Unix()}
	sealed, err := s.seal(fd, strings.NewReader(strings.Repeat("n", 12)))
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(sealed); bytes.Contains(raw, []byte(`"v":"ve"`)) {
		t.Error("the PKCE verifier is readable in the sealed flow state")
	}
	if got, err := s.open(sealed, now); err != nil || got != fd {
		t.Errorf("open = %+v, %v", got, err)
	}
	if _, err := s.open(sealed, now.Add(time.Minute)); err != errFlowStateExpired {
		t.Errorf("at expiry: %v", err)
	}
	otherKey, _ := newSealer([]byte(strings.Repeat("j", 32)), "https://idp.example", "tollgate", "https://b.example/cb")
	otherRedirect, _ := newSealer([]byte(strings.Repeat("k", 32)), "https://idp.example", "tollgate", "https://c.example/cb")
	for name, o := range map[string]sealer{"another key": otherKey, "another redirect URL": otherRedirect} {
		if _, err := o.open(sealed, now); err != errFlowStateInvalid {
			t.Errorf("%s opened it: %v", name, err)
		}
	}
	for _, bad := range []string{"", "!!!", "c2hvcnQ"} {
		if _, err := s.open(bad, now); err == nil {
			t.Errorf("open(%q) succeeded", bad)
		}
	}
}

// TestREADMEExamplesAreValid decodes every YAML example of README.md as
// the controller's config loader does (unknown keys refused) and checks
// it (the secret files do not exist here: a secret stands in).
func TestREADMEExamplesAreValid(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) != 4 {
		t.Fatalf("README.md has %d YAML examples, want 4 (the commented one, Google, Entra ID, Keycloak)", len(blocks))
	}
	for i, b := range blocks {
		var doc struct {
			SSO Config `yaml:"sso"`
		}
		dec := yaml.NewDecoder(bytes.NewReader(b[1]))
		dec.KnownFields(true)
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("example %d: %v", i, err)
			continue
		}
		cfg := doc.SSO
		if cfg.ClientSecretFile == "" {
			t.Errorf("example %d gives the secret in the file, not client_secret_file", i)
		}
		cfg.ClientSecretFile, cfg.ClientSecret = "", "x"
		if _, err := cfg.withDefaults(); err != nil {
			t.Errorf("example %d: %v", i, err)
		}
	}
}
