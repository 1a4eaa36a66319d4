package postgres_test

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

const testIssuer = "https://idp.example/realms/isp"

func TestSignInStaffSSOCreatesThenFollowsTheRules(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	// A password user already has the login "alice": the SSO person with
	// alice@ gets another, never this user.
	pw, err := db.CreateStaffUser(ctx, staff.User{Login: "alice", Role: staff.RoleAdmin}, "user:root", staffT0)
	if err != nil {
		t.Fatal(err)
	}
	id := staff.SSOIdentity{Issuer: testIssuer, Subject: "f81d4fae", Email: "Alice@example.net", EmailVerified: true,
		Name: "Alice Smith", Role: staff.RoleReader, Rule: `rule 1 (verified e-mail in example.net)`}
	u, err := db.SignInStaffSSO(ctx, id, staffT0)
	if err != nil || u.ID == pw.ID || u.Login != "alice-2" || u.Role != staff.RoleReader || u.Name != "Alice Smith" || u.PasswordHash != "" || u.Disabled {
		t.Fatalf("first sign-in = %+v, %v; want a new reader alice-2", u, err)
	}
	// The same person again: the same user; the rules now give billing.
	id.Role, id.Rule = staff.RoleBilling, `rule 0 (groups contains "tollgate-billing")`
	again, err := db.SignInStaffSSO(ctx, id, staffT0.Add(time.Hour))
	if err != nil || again.ID != u.ID || again.Role != staff.RoleBilling {
		t.Fatalf("second sign-in = %+v, %v; want alice-2 as billing", again, err)
	}
	// Unchanged: no audit entry.
	if _, err := db.SignInStaffSSO(ctx, id, staffT0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	log, err := db.AuditLog(ctx, "staff_user", u.ID)
	if err != nil || len(log) != 2 {
		t.Fatalf("audit log = %+v, %v; want the creation and the role change", log, err)
	}
	if c := log[0]; c.Actor != postgres.SSOActor || c.After["login"] != "alice-2" || c.After["role"] != "reader" ||
		c.After["sso_subject"] != "f81d4fae" || !strings.Contains(c.Reason, "first single sign-on through "+testIssuer) ||
		!strings.Contains(c.Reason, "verified e-mail in example.net") {
		t.Errorf("creation audit = %+v", c)
	}
	if c := log[1]; c.Actor != postgres.SSOActor || c.Before["role"] != "reader" || c.After["role"] != "billing" ||
		!strings.Contains(c.Reason, `groups contains "tollgate-billing"`) {
		t.Errorf("role change audit = %+v", c)
	}
	if pw, _ := db.StaffUser(ctx, "alice"); pw.Role != staff.RoleAdmin {
		t.Errorf("the password user alice changed: %+v", pw)
	}

	// The same subject at another issuer is another person.
	other, err := db.SignInStaffSSO(ctx, staff.SSOIdentity{Issuer: "https://accounts.google.com", Subject: "f81d4fae",
		Email: "alice@example.net", Role: staff.RoleReader}, staffT0)
	if err != nil || other.ID == u.ID || other.Login != "alice-3" {
		t.Errorf("same subject, other issuer = %+v, %v; want a new alice-3", other, err)
	}

	// The login follows the user, not the e-mail: a new address changes
	// nothing but the name given.
	id.Email, id.Name = "asmith@example.net", "Alice Smith-Jones"
	if moved, err := db.SignInStaffSSO(ctx, id, staffT0.Add(3*time.Hour)); err != nil || moved.ID != u.ID || moved.Login != "alice-2" || moved.Name != "Alice Smith-Jones" {
		t.Errorf("after an e-mail change = %+v, %v", moved, err)
	}

	// Disabled: refused, and the role is not touched.
	if _, err := db.SetStaffUserDisabled(ctx, "alice-2", true, "user:root", staffT0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	id.Role = staff.RoleAdmin
	if _, err := db.SignInStaffSSO(ctx, id, staffT0.Add(5*time.Hour)); billing.ErrorCode(err) != billing.EUNAUTHORIZED || !strings.Contains(err.Error(), `"alice-2" is disabled`) {
		t.Errorf("disabled user: %v", err)
	}
	if d, _ := db.StaffUser(ctx, "alice-2"); d.Role != staff.RoleBilling || !d.Disabled {
		t.Errorf("disabled user changed: %+v", d)
	}
}

func TestSignInStaffSSOLoginsAndBadIdentities(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	for _, c := range []struct {
		email, want string
	}{
		{"", "sso-user"},
		{"", "sso-user-2"},
		{"bob.o'neil+tollgate@example.net", "bob.o-neil-tollgate"},
		{"9@example.net", "sso-user-3"},
	} {
		u, err := db.SignInStaffSSO(ctx, staff.SSOIdentity{Issuer: testIssuer, Subject: "sub-" + c.want, Email: c.email, Role: staff.RoleReader}, staffT0)
		if err != nil || u.Login != c.want {
			t.Errorf("first sign-in of %q = %+v, %v; want login %q", c.email, u, err, c.want)
		}
	}
	for _, bad := range []staff.SSOIdentity{
		{Subject: "s", Role: staff.RoleReader},
		{Issuer: testIssuer, Role: staff.RoleReader},
		{Issuer: testIssuer, Subject: "s", Role: "root"},
	} {
		if _, err := db.SignInStaffSSO(ctx, bad, staffT0); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("SignInStaffSSO(%+v) = %v, want invalid", bad, err)
		}
	}
	if us, _ := db.StaffUsers(ctx); len(us) != 4 {
		t.Errorf("%d staff users, want the 4 signed in", len(us))
	}
}

// Two first sign-ins of the same person at once make one user.
func TestSignInStaffSSOConcurrentFirstSignIn(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	id := staff.SSOIdentity{Issuer: testIssuer, Subject: "carol", Email: "carol@example.net", Role: staff.RoleReader}
	var wg sync.WaitGroup
	users := make([]staff.User, 4)
	errs := make([]error, len(users))
	for i := range users {
		wg.Go(func() { users[i], errs[i] = db.SignInStaffSSO(ctx, id, staffT0) })
	}
	wg.Wait()
	for i := range users {
		if errs[i] != nil || users[i].ID != users[0].ID || users[i].Login != "carol" {
			t.Errorf("sign-in %d = %+v, %v; want the one user carol", i, users[i], errs[i])
		}
	}
	if us, _ := db.StaffUsers(ctx); len(us) != 1 {
		t.Errorf("%d staff users, want 1", len(us))
	}
}

// The console's path after the provider: the linked user, then a
// session like a password sign-in's.
func TestSignInStaffSSOThenSession(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	clk := clock.NewFixed(staffT0)
	s := &staff.SignIn{Store: db, Rules: staff.DefaultSessionRules, Clock: clk, Rand: rand.Reader}
	u, err := db.SignInStaffSSO(ctx, staff.SSOIdentity{Issuer: testIssuer, Subject: "dan", Email: "dan@example.net", Role: staff.RoleAdmin}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	secret, sess, err := s.StartSession(ctx, u)
	if err != nil || sess.UserID != u.ID {
		t.Fatalf("StartSession = %+v, %v", sess, err)
	}
	got, gu, err := db.StaffSession(ctx, staff.HashSecret(secret), staff.DefaultSessionRules, staffT0.Add(time.Minute))
	if err != nil || got.UserID != u.ID || gu.Login != "dan" || gu.Role != staff.RoleAdmin {
		t.Errorf("StaffSession = %+v, %+v, %v", got, gu, err)
	}
	u.Disabled = true
	if _, _, err := s.StartSession(ctx, u); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("session for a disabled user: %v", err)
	}
}
