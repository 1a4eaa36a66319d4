package routeros_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tollgate-isp/tollgate/enforcement/routeros"
)

const exampleConfig = `
routers:
  - name: core-1
    address: 192.0.2.1
    username: tollgate
    password_file: %PWFILE%
  - name: core-2
    address: "[2001:db8::1]:8729"
    tls:
      enabled: true
      insecure_skip_verify: true
    username: tollgate
    password_env: TOLLGATE_TEST_ROUTEROS_PW
    address_list: blocked
    comment_prefix: "billing:"
    timeout: 3s
    rate_limit: -1
    pipeline: 8
    walled_garden:
      bootstrap: true
      redirect: 192.0.2.10:8080
      allow: [198.51.100.20]
`

func TestConfigFromYAML(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOLLGATE_TEST_ROUTEROS_PW", "from-env")
	var cfg routeros.Config
	dec := yaml.NewDecoder(strings.NewReader(strings.ReplaceAll(exampleConfig, "%PWFILE%", pwFile)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Routers) != 2 || cfg.Routers[1].Timeout != 3*time.Second || cfg.Routers[1].RateLimit != -1 || !cfg.Routers[1].TLS.InsecureSkipVerify {
		t.Fatalf("decoded %+v", cfg)
	}
	var logs bytes.Buffer
	d, err := routeros.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := strings.Join(d.Routers(), ","); got != "core-1,core-2" {
		t.Fatalf("routers %s", got)
	}
	// Secrets stay out of logs.
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "router", cfg.Routers[0], "other", cfg.Routers[1])
	if s := logs.String() + cfg.Routers[0].String(); strings.Contains(s, "from-file") || strings.Contains(s, "from-env") || strings.Contains(s, pwFile) {
		t.Fatalf("a secret was logged: %s", s)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := routeros.RouterConfig{Name: "r", Address: "192.0.2.1", Username: "u"}
	for name, tc := range map[string]struct {
		mod  func(*routeros.RouterConfig)
		want string
	}{
		"no name":         {func(c *routeros.RouterConfig) { c.Name = "" }, "no name"},
		"no address":      {func(c *routeros.RouterConfig) { c.Address = "" }, "address is required"},
		"no username":     {func(c *routeros.RouterConfig) { c.Username = "" }, "username is required"},
		"missing file":    {func(c *routeros.RouterConfig) { c.PasswordFile = "/nonexistent/pw" }, "password_file"},
		"unset env":       {func(c *routeros.RouterConfig) { c.PasswordEnv = "TOLLGATE_TEST_UNSET_VARIABLE" }, "is not set"},
		"tls off":         {func(c *routeros.RouterConfig) { c.TLS.CAFile = "/etc/ca.pem" }, "tls.enabled is false"},
		"bad ca":          {func(c *routeros.RouterConfig) { c.TLS.Enabled, c.TLS.CAFile = true, "/nonexistent/ca.pem" }, "ca_file"},
		"no redirect":     {func(c *routeros.RouterConfig) { c.WalledGarden.Bootstrap = true }, "walled_garden.redirect"},
		"bad allow":       {func(c *routeros.RouterConfig) { c.WalledGarden.Allow = []string{"portal"} }, "walled_garden.allow"},
		"bad allow name":  {func(c *routeros.RouterConfig) { c.WalledGarden.Allow = []string{"pay_me.example"} }, "fully qualified host name"},
		"bad allow ip":    {func(c *routeros.RouterConfig) { c.WalledGarden.Allow = []string{"10.0.0.300"} }, "walled_garden.allow"},
		"negative window": {func(c *routeros.RouterConfig) { c.Pipeline = -1 }, "pipeline"},
	} {
		c := ok
		tc.mod(&c)
		_, err := routeros.New(routeros.Config{Routers: []routeros.RouterConfig{c}}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, tc.want)
		}
	}
	if _, err := routeros.New(routeros.Config{Routers: []routeros.RouterConfig{ok, ok}}, nil); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate router: %v", err)
	}
	if _, err := routeros.New(routeros.Config{}, nil); err == nil {
		t.Error("no routers accepted")
	}
}
