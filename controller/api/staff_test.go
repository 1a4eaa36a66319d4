package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/staff"
)

// staffEnv is editEnv (an account with id 1) with staff users alice
// (billing) and rita (reader), and a personal token for each.
func staffEnv(t *testing.T) (e *env, alice, rita string) {
	t.Helper()
	e = editEnv(t)
	token := func(login, role string) string {
		if r := e.do("POST", "/api/v1/staff", adminToken, "", `{"login":"`+login+`","role":"`+role+`","password":"correct horse battery"}`); r.status != 200 {
			t.Fatalf("add %s: %d %s", login, r.status, r.body)
		}
		r := e.do("POST", "/api/v1/staff/"+login+"/tokens", adminToken, "", `{"name":"laptop"}`)
		var out struct {
			Secret string
			Token  struct{ ID int64 }
		}
		if err := json.Unmarshal(r.body, &out); r.status != 200 || err != nil || !strings.HasPrefix(out.Secret, "tgp_") {
			t.Fatalf("token for %s: %d %v %s", login, r.status, err, r.body)
		}
		return out.Secret
	}
	return e, token("alice", "billing"), token("rita", "reader")
}

func TestStaffUsersAndPersonalTokens(t *testing.T) {
	t.Parallel()
	e, alice, rita := staffEnv(t)

	// Bad input names the field; an admin always gets TOTP, shown once.
	for body, field := range map[string]string{
		`{"login":"Bob","role":"reader"}`:                    "login",
		`{"login":"bob","role":"reader","password":"short"}`: "password",
		`{"login":"alice","role":"reader"}`:                  "alice",
		`{"login":"bob","role":"root"}`:                      "role",
	} {
		if r := e.do("POST", "/api/v1/staff", adminToken, "", body); r.status < 400 || !strings.Contains(string(r.body), field) {
			t.Errorf("%s: %d %s, want an error naming %s", body, r.status, r.body, field)
		}
	}
	r := e.do("POST", "/api/v1/staff", adminToken, "", `{"login":"ada","role":"admin"}`)
	var created struct {
		User struct{ TOTP bool }
		TOTP struct {
			Secret        string
			RecoveryCodes []string `json:"recovery_codes"`
		}
	}
	if err := json.Unmarshal(r.body, &created); r.status != 200 || err != nil || !created.User.TOTP || created.TOTP.Secret == "" || len(created.TOTP.RecoveryCodes) != 10 {
		t.Fatalf("add admin: %d %s", r.status, r.body)
	}
	if strings.Contains(string(e.do("GET", "/api/v1/staff", adminToken, "", "").body), "argon2id") {
		t.Error("the staff list shows a password hash")
	}

	for _, c := range []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"billing person reads", "GET", "/api/v1/accounts/1", alice, "", 200},
		{"reader person reads", "GET", "/api/v1/accounts/1", rita, "", 200},
		{"reader person cannot mutate", "POST", "/api/v1/accounts/1/credits", rita, `{"amount":100,"memo":"x"}`, 403},
		{"billing person cannot manage staff", "GET", "/api/v1/staff", alice, "", 403},
		{"own tokens", "GET", "/api/v1/staff/alice/tokens", alice, "", 200},
		{"someone else's tokens", "GET", "/api/v1/staff/alice/tokens", rita, "", 403},
		{"service token that is not admin", "GET", "/api/v1/staff/alice/tokens", billingToken, "", 403},
		{"unknown personal token", "GET", "/api/v1/accounts/1", "tgp_nope", "", 401},
	} {
		key := ""
		if c.method == "POST" {
			key = "k-" + c.name
		}
		if r := e.do(c.method, c.path, c.token, key, c.body); r.status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.want)
		}
	}

	// The edit made with alice's token is alice's in the audit log.
	h := map[string]string{"Authorization": "Bearer " + alice, "Idempotency-Key": "alice-edit", "If-Match": `"1"`}
	if r := e.doHeader("PATCH", "/api/v1/accounts/1", `{"phone":"555-0100","reason":"new number"}`, h); r.status != 200 {
		t.Fatalf("alice edits: %d %s", r.status, r.body)
	}
	var hist struct {
		Items []struct{ Kind, Actor string }
	}
	if err := json.Unmarshal(e.do("GET", "/api/v1/accounts/1/history", rita, "", "").body, &hist); err != nil ||
		len(hist.Items) != 1 || hist.Items[0].Actor != "user:alice" {
		t.Errorf("history %+v (%v), want the edit by user:alice", hist.Items, err)
	}

	// Revoked: 401 from then on. Disabled: every token of the user 401.
	if r := e.do("POST", "/api/v1/staff/alice/tokens/1/revoke", alice, "revoke-1", ""); r.status != 200 || !strings.Contains(string(r.body), "revoked_at") {
		t.Fatalf("alice revokes her token: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/accounts/1", alice, "", ""); r.status != 401 {
		t.Errorf("revoked token: %d %s, want 401", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/staff/rita/disable", adminToken, "disable-rita", ""); r.status != 200 {
		t.Fatalf("disable rita: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/accounts/1", rita, "", ""); r.status != 401 {
		t.Errorf("disabled user's token: %d %s, want 401", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/staff/rita/enable", adminToken, "enable-rita", ""); r.status != 200 {
		t.Fatalf("enable rita: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/accounts/1", rita, "", ""); r.status != 200 {
		t.Errorf("enabled again: %d %s, want 200", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/staff/nobody/unlock", adminToken, "unlock-nobody", ""); r.status != 404 {
		t.Errorf("unlock unknown: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/staff/ada/reset-totp", adminToken, "", ""); r.status != 200 || !strings.Contains(string(r.body), "otpauth://") {
		t.Errorf("reset-totp: %d %s", r.status, r.body)
	}
}

// TestStaffPassword: an admin, or the user with a personal token of their
// own, sets a password; the policy names the password; nothing else may;
// the change is audited without the password; the new one verifies.
func TestStaffPassword(t *testing.T) {
	t.Parallel()
	e, alice, rita := staffEnv(t)
	audited := func() int { return e.rows("audit_log WHERE entity = 'staff_user' AND reason LIKE 'password changed%'") }
	for _, c := range []struct {
		name, token, login, body string
		want                     int
		says                     string
	}{
		{"too short", adminToken, "alice", `{"password":"short"}`, 422, "password"},
		{"contains the login", alice, "alice", `{"password":"my name is alice, ok?"}`, 422, "login"},
		{"missing", adminToken, "alice", `{}`, 422, "password"},
		{"someone else's", rita, "alice", `{"password":"rita was here 2026"}`, 403, "admin"},
		{"a service token that is not admin", billingToken, "alice", `{"password":"billing was here 2026"}`, 403, "admin"},
		{"unknown login", adminToken, "nobody", `{"password":"an unknown user's password"}`, 404, "nobody"},
		{"her own without the current one", alice, "alice", `{"password":"a much better passphrase"}`, 403, "current_password"},
		{"her own with a wrong current one", alice, "alice", `{"password":"a much better passphrase","current_password":"guess guess guess"}`, 403, "current_password"},
	} {
		if r := e.do("POST", "/api/v1/staff/"+c.login+"/password", c.token, "", c.body); r.status != c.want || !strings.Contains(string(r.body), c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, r.status, r.body, c.want, c.says)
		}
	}
	if n := audited(); n != 0 {
		t.Fatalf("refused changes wrote %d audit entries", n)
	}
	verifies := func(login, password string) bool {
		u, err := e.db.StaffUser(context.Background(), login)
		if err != nil {
			t.Fatal(err)
		}
		ok, _, err := staff.VerifyPassword(u.PasswordHash, password, staff.DefaultArgon2Params)
		return err == nil && ok
	}
	for i, c := range []struct{ who, token, password, current string }{
		{"alice herself", alice, "a much better passphrase", "correct horse battery"},
		{"an admin", adminToken, "reset by the admin desk", ""},
	} {
		r := e.do("POST", "/api/v1/staff/alice/password", c.token, "", `{"password":"`+c.password+`","current_password":"`+c.current+`"}`)
		if r.status != 200 || !strings.Contains(string(r.body), `"password":true`) || strings.Contains(string(r.body), c.password) {
			t.Fatalf("%s sets the password: %d %s", c.who, r.status, r.body)
		}
		if !verifies("alice", c.password) || verifies("alice", "correct horse battery") {
			t.Errorf("after %s set it, the new password does not verify or the old one still does", c.who)
		}
		if n := audited(); n != i+1 {
			t.Errorf("after %s: %d audit entries, want %d", c.who, n, i+1)
		}
	}
	var leaked int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE after::text LIKE '%passphrase%' OR after::text LIKE '%admin desk%'`).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("the audit log holds the password (%d, %v)", leaked, err)
	}
}

// TestPersonalTokenExpiry: no expires_in_days is 90 days; an explicit 0
// never expires; a number is that many days.
func TestPersonalTokenExpiry(t *testing.T) {
	t.Parallel()
	e, _, _ := staffEnv(t)
	for body, wantDays := range map[string]int{`{"name":"default"}`: 90, `{"name":"forever","expires_in_days":0}`: 0, `{"name":"week","expires_in_days":7}`: 7} {
		r := e.do("POST", "/api/v1/staff/alice/tokens", adminToken, "", body)
		var out struct {
			Token struct {
				CreatedAt time.Time  `json:"created_at"`
				ExpiresAt *time.Time `json:"expires_at"`
			}
		}
		if err := json.Unmarshal(r.body, &out); r.status != 200 || err != nil {
			t.Fatalf("%s: %d %v %s", body, r.status, err, r.body)
		}
		switch exp := out.Token.ExpiresAt; {
		case wantDays == 0 && exp != nil:
			t.Errorf("%s: expires at %s, want never", body, exp)
		case wantDays > 0 && (exp == nil || !exp.Equal(out.Token.CreatedAt.AddDate(0, 0, wantDays))):
			t.Errorf("%s: expires at %v (created %s), want %d days later", body, exp, out.Token.CreatedAt, wantDays)
		}
	}
	if r := e.do("POST", "/api/v1/staff/alice/tokens", adminToken, "", `{"name":"x","expires_in_days":-1}`); r.status != 422 || !strings.Contains(string(r.body), "expires_in_days") {
		t.Errorf("negative days: %d %s, want 422 naming expires_in_days", r.status, r.body)
	}
}
