package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestStaffAndTokenCommands: staff add|list|disable|enable|unlock|reset-totp|password
// and token create|list|revoke against the API on PostgreSQL. The TOTP
// secret and the token's secret are printed once, and the token works as
// tollgatectl's own token until it is revoked or its user disabled; with
// it the user sets their own password; --expires-in-days 0 never expires.
func TestStaffAndTokenCommands(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Staff: db},
		[]api.Token{api.NewToken("root", api.RoleAdmin, "test-token")}, clock.NewFixed(ticketsNow), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c := cli{t, hs.URL}

	pw := filepath.Join(t.TempDir(), "jane.pw")
	if err := os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := c.ok("staff", "add", "jane", "--role", "Billing", "--name", "Jane Roe", "--password-file", pw, "--totp")
	secret := regexp.MustCompile(`Secret:\s+([A-Z2-7]+)`).FindStringSubmatch(out)
	if !strings.Contains(out, "shown only now") || secret == nil || !strings.Contains(out, "otpauth://") || !strings.Contains(out, "Password:  yes") {
		t.Fatalf("staff add printed:\n%s", out)
	}
	if out := c.ok("staff", "add", "rita", "--role", "reader"); strings.Contains(out, "TOTP second factor") || !strings.Contains(out, "Password:  no") {
		t.Errorf("staff add rita (no password, no TOTP) printed:\n%s", out)
	}
	c.fails("login", "staff", "add", "Bob", "--role", "reader")
	c.fails("password", "staff", "add", "bob", "--role", "reader", "--password-file", filepath.Join(t.TempDir(), "none"))
	if out := c.ok("staff", "list"); !regexp.MustCompile(`jane\s+Jane Roe\s+billing\s+yes\s+yes\s+no`).MatchString(out) || !strings.Contains(out, "rita") {
		t.Errorf("staff list:\n%s", out)
	}
	if out := c.ok("staff", "reset-totp", "jane"); !strings.Contains(out, "shown only now") || strings.Contains(out, secret[1]) {
		t.Errorf("staff reset-totp printed (the old secret was %s):\n%s", secret[1], out)
	}
	c.fails("404", "staff", "disable", "nobody")

	out = c.ok("token", "create", "jane", "--name", "laptop", "--expires-in-days", "30")
	tok := regexp.MustCompile(`tgp_\S+`).FindString(out)
	if tok == "" || !strings.Contains(out, "shown only now") || !strings.Contains(out, "2027-01-14") {
		t.Fatalf("token create printed:\n%s", out)
	}
	jane := func(args ...string) (string, error) {
		out, _, err := run(t, hs.URL, append([]string{"--token", tok}, args...)...)
		return out, err
	}
	if out, err := jane("token", "list", "jane"); err != nil || !strings.Contains(out, "laptop") || strings.Contains(out, tok) {
		t.Errorf("jane lists her tokens: %v\n%s", err, out)
	}
	if out := c.ok("token", "create", "jane", "--name", "forever", "--expires-in-days", "0"); !regexp.MustCompile(`forever\s+\S+\s+never`).MatchString(out) {
		t.Errorf("token create --expires-in-days 0 printed:\n%s", out)
	}
	newPW := filepath.Join(t.TempDir(), "new.pw")
	for _, set := range []func() (string, error){
		func() (string, error) {
			return jane("staff", "password", "jane", "--password-file", newPW, "--current-password-file", pw)
		},
		func() (string, error) { return c.ok("staff", "password", "jane", "--password-file", newPW), nil },
	} {
		if err := os.WriteFile(newPW, []byte("a longer passphrase, "+time.Now().String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := set(); err != nil || !regexp.MustCompile(`jane\s+Jane Roe\s+billing\s+yes`).MatchString(out) {
			t.Errorf("staff password: %v\n%s", err, out)
		}
	}
	if _, err := jane("staff", "password", "jane", "--password-file", pw); err == nil || !strings.Contains(err.Error(), "current_password") {
		t.Errorf("jane sets her own password without the current one: %v, want 403 naming current_password", err)
	}
	if _, err := jane("staff", "password", "rita", "--password-file", newPW); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("jane sets rita's password: %v, want 403", err)
	}
	if err := os.WriteFile(newPW, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails("at least 12", "staff", "password", "jane", "--password-file", newPW)
	if out := c.ok("staff", "disable", "jane"); !regexp.MustCompile(`jane\s+Jane Roe\s+billing\s+yes\s+yes\s+yes`).MatchString(out) {
		t.Errorf("staff disable jane:\n%s", out)
	}
	if _, err := jane("token", "list", "jane"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a disabled user's token: %v, want 401", err)
	}
	c.ok("staff", "enable", "jane")
	c.ok("staff", "unlock", "jane")
	if out := c.ok("token", "revoke", "jane", "1"); !strings.Contains(out, "laptop") || strings.Contains(out, tok) {
		t.Errorf("token revoke:\n%s", out)
	}
	if _, err := jane("token", "list", "jane"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a revoked token: %v, want 401", err)
	}
	if out := c.ok("token", "list", "jane"); !regexp.MustCompile(`(?m)laptop.*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s*$`).MatchString(out) {
		t.Errorf("token list shows no revocation time:\n%s", out)
	}
}

// TestSecretCommandsSendNoIdempotencyKey: staff add, staff reset-totp,
// staff password and token create carry secrets: they have no
// --idempotency-key and send no key; staff disable sends one.
func TestSecretCommandsSendNoIdempotencyKey(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"POST /api/v1/staff":                {`{"user":{"login":"ada","role":"admin","totp":true}}`},
		"POST /api/v1/staff/ada/reset-totp": {`{"user":{"login":"ada","role":"admin","totp":true}}`},
		"POST /api/v1/staff/ada/tokens":     {`{"token":{"id":1,"login":"ada","name":"x"},"secret":"tgp_x"}`},
		"POST /api/v1/staff/ada/disable":    {`{"login":"ada","role":"admin","disabled":true}`},
		"POST /api/v1/staff/ada/password":   {`{"login":"ada","role":"admin","password":true}`},
	})
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("a good long password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"staff", "add", "ada", "--role", "admin"}, {"staff", "reset-totp", "ada"}, {"token", "create", "ada", "--name", "x"}, {"staff", "disable", "ada"},
		{"staff", "password", "ada", "--password-file", pw}} {
		if _, _, err := run(t, url, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if _, _, err := run(t, url, append(args, "--idempotency-key", "k")...); (err == nil) != (args[1] == "disable") {
			t.Errorf("%v --idempotency-key: %v", args, err)
		}
	}
	calls := f.calls()
	for i, want := range []string{`{"login":"ada","role":"admin"}`, ``, `{"name":"x"}`, `{"password":"a good long password"}`} {
		if i == 3 {
			i = 5 // staff disable, which sends a key, is calls[3] and [4]
		}
		if calls[i].key != "" || strings.TrimSpace(string(calls[i].body)) != want {
			t.Errorf("%s %s sent key %q and %s, want no key and %s", calls[i].method, calls[i].path, calls[i].key, calls[i].body, want)
		}
	}
	if calls[3].key == "" {
		t.Errorf("staff disable sent no Idempotency-Key")
	}
}
