package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

var staffT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestStaffUsers(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	u, err := db.CreateStaffUser(ctx, staff.User{Login: "alice", Name: "Alice", Role: staff.RoleBilling,
		PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5"}, "user:root", staffT0)
	if err != nil || u.ID == 0 || u.Role != staff.RoleBilling || u.Disabled {
		t.Fatalf("CreateStaffUser = %+v, %v", u, err)
	}
	if _, err := db.CreateStaffUser(ctx, staff.User{Login: "alice", Role: staff.RoleReader}, "user:root", staffT0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Errorf("second alice: %v, want conflict", err)
	}
	for _, bad := range []staff.User{{Login: "Alice", Role: staff.RoleReader}, {Login: "bob", Role: "root"},
		{Login: "bob", Role: staff.RoleReader, PasswordHash: "plaintext"}} {
		if _, err := db.CreateStaffUser(ctx, bad, "user:root", staffT0); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("CreateStaffUser(%+v) = %v, want invalid", bad, err)
		}
	}
	if _, err := db.CreateStaffUser(ctx, staff.User{Login: "bob", Role: staff.RoleAdmin}, "user:root", staffT0); err != nil {
		t.Fatal(err)
	}
	us, err := db.StaffUsers(ctx)
	if err != nil || len(us) != 2 || us[0].Login != "alice" || us[1].Login != "bob" {
		t.Fatalf("StaffUsers = %+v, %v", us, err)
	}
	d, err := db.SetStaffUserDisabled(ctx, "alice", true, "user:bob", staffT0.Add(time.Hour))
	if err != nil || !d.Disabled {
		t.Fatalf("disable: %+v, %v", d, err)
	}
	if _, err := db.SetStaffUserDisabled(ctx, "nobody", true, "user:bob", staffT0); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("disable nobody: %v", err)
	}
	log, err := db.AuditLog(ctx, "staff_user", u.ID)
	if err != nil || len(log) != 2 || log[0].Actor != "user:root" || log[1].Actor != "user:bob" || log[1].After["disabled"] != true {
		t.Errorf("audit log = %+v, %v", log, err)
	}
}

func TestStaffLoginFailuresAndUnlock(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	u, err := db.CreateStaffUser(ctx, staff.User{Login: "alice", Role: staff.RoleBilling}, "user:root", staffT0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		n, err := db.RecordStaffLoginFailure(ctx, u.ID, "192.0.2.1", staffT0.Add(time.Duration(i)*time.Second))
		if err != nil || n != i {
			t.Fatalf("failure %d counted as %d, %v", i, n, err)
		}
	}
	if _, err := db.RecordStaffLoginFailure(ctx, u.ID, "198.51.100.7", staffT0); err != nil {
		t.Fatal(err)
	}
	n, last, err := db.StaffLoginFailures(ctx, u.ID, "192.0.2.1")
	if err != nil || n != 5 || !last.Equal(staffT0.Add(5*time.Second)) || staff.RetryAfter(n, last, last) != 2*time.Second {
		t.Fatalf("failures = %d at %v, %v", n, last, err)
	}
	if n, _, _ := db.StaffLoginFailures(ctx, u.ID, "203.0.113.9"); n != 0 {
		t.Errorf("another address has %d failures; backoff is per user and address", n)
	}
	if err := db.ClearStaffLoginFailures(ctx, u.ID, "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := db.StaffLoginFailures(ctx, u.ID, "198.51.100.7"); n != 0 {
		t.Errorf("cleared address still has %d failures", n)
	}
	if _, err := db.UnlockStaffUser(ctx, "alice", "user:root", staffT0); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := db.StaffLoginFailures(ctx, u.ID, "192.0.2.1"); n != 0 {
		t.Errorf("unlocked user still has %d failures", n)
	}
}

func TestStaffTOTPAndRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	u, err := db.CreateStaffUser(ctx, staff.User{Login: "root", Role: staff.RoleAdmin}, "host", staffT0)
	if err != nil {
		t.Fatal(err)
	}
	codes := [][]byte{staff.HashSecret("aaaaa-bbbbb"), staff.HashSecret("ccccc-ddddd")}
	if u, err = db.ResetStaffTOTP(ctx, "root", "JBSWY3DPEHPK3PXP", codes, "host", staffT0); err != nil || u.TOTPSecret != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("ResetStaffTOTP = %+v, %v", u, err)
	}
	if ok, err := db.UseStaffTOTPStep(ctx, u.ID, 100); !ok || err != nil {
		t.Errorf("first use of step 100: %v, %v", ok, err)
	}
	if ok, _ := db.UseStaffTOTPStep(ctx, u.ID, 100); ok {
		t.Error("step 100 replayed")
	}
	if ok, _ := db.UseStaffTOTPStep(ctx, u.ID, 99); ok {
		t.Error("older step 99 accepted")
	}
	if ok, err := db.UseStaffRecoveryCode(ctx, u.ID, staff.HashSecret("aaaaa-bbbbb"), staffT0); !ok || err != nil {
		t.Errorf("recovery code: %v, %v", ok, err)
	}
	if ok, _ := db.UseStaffRecoveryCode(ctx, u.ID, staff.HashSecret("aaaaa-bbbbb"), staffT0); ok {
		t.Error("recovery code used twice")
	}
	if u, err = db.ResetStaffTOTP(ctx, "root", "", nil, "host", staffT0); err != nil || u.TOTPSecret != "" || u.TOTPLastStep != 0 {
		t.Fatalf("reset to none = %+v, %v", u, err)
	}
	if ok, _ := db.UseStaffRecoveryCode(ctx, u.ID, staff.HashSecret("ccccc-ddddd"), staffT0); ok {
		t.Error("recovery code survived a TOTP reset")
	}
}

func TestStaffSessions(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	u, err := db.CreateStaffUser(ctx, staff.User{Login: "alice", Role: staff.RoleReader}, "host", staffT0)
	if err != nil {
		t.Fatal(err)
	}
	rules := staff.SessionRules{Idle: 30 * time.Minute, Absolute: 2 * time.Hour}
	s := rules.NewSession(staff.HashSecret("secret"), u.ID, staffT0)
	if err := db.CreateStaffSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	// Used every 20 minutes, it lives until the absolute timeout.
	for m := 20; m < 120; m += 20 {
		got, gu, err := db.StaffSession(ctx, s.IDHash, rules, staffT0.Add(time.Duration(m)*time.Minute))
		if err != nil || gu.Login != "alice" || !got.LastSeenAt.Equal(staffT0.Add(time.Duration(m)*time.Minute)) {
			t.Fatalf("at +%dm: %+v, %v", m, got, err)
		}
	}
	if _, _, err := db.StaffSession(ctx, s.IDHash, rules, staffT0.Add(2*time.Hour)); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("past absolute timeout: %v", err)
	}
	s2 := rules.NewSession(staff.HashSecret("other"), u.ID, staffT0)
	if err := db.CreateStaffSession(ctx, s2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.StaffSession(ctx, s2.IDHash, rules, staffT0.Add(30*time.Minute)); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("idle session: %v", err)
	}
	s3 := rules.NewSession(staff.HashSecret("third"), u.ID, staffT0)
	if err := db.CreateStaffSession(ctx, s3); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetStaffUserDisabled(ctx, "alice", true, "host", staffT0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.StaffSession(ctx, s3.IDHash, rules, staffT0.Add(time.Minute)); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("disabled user's session: %v", err)
	}
	if _, err := db.SetStaffUserDisabled(ctx, "alice", false, "host", staffT0); err != nil {
		t.Fatal(err)
	}
	if err := db.EndStaffSession(ctx, s3.IDHash, staffT0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.StaffSession(ctx, s3.IDHash, rules, staffT0.Add(3*time.Minute)); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("signed-out session: %v", err)
	}
	if _, _, err := db.StaffSession(ctx, staff.HashSecret("never"), rules, staffT0); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("unknown session: %v", err)
	}
}

func TestPersonalTokens(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	if _, err := db.CreateStaffUser(ctx, staff.User{Login: "alice", Role: staff.RoleBilling}, "host", staffT0); err != nil {
		t.Fatal(err)
	}
	laptop, err := db.CreatePersonalToken(ctx, "alice", "laptop", staff.HashSecret("tgp_a"), staffT0.Add(24*time.Hour), "user:alice", staffT0)
	if err != nil || laptop.ID == 0 || laptop.Login != "alice" || !laptop.ExpiresAt.Equal(staffT0.Add(24*time.Hour)) {
		t.Fatalf("CreatePersonalToken = %+v, %v", laptop, err)
	}
	if _, err := db.CreatePersonalToken(ctx, "alice", "script", staff.HashSecret("tgp_b"), time.Time{}, "user:alice", staffT0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		login, name string
		exp         time.Time
		code        billing.Code
	}{
		{"alice", "", time.Time{}, billing.EINVALID},
		{"alice", "old", staffT0, billing.EINVALID},
		{"nobody", "x", time.Time{}, billing.ENOTFOUND},
	} {
		if _, err := db.CreatePersonalToken(ctx, c.login, c.name, staff.HashSecret("tgp_c"), c.exp, "host", staffT0); billing.ErrorCode(err) != c.code {
			t.Errorf("CreatePersonalToken(%q, %q) = %v, want %s", c.login, c.name, err, c.code)
		}
	}
	tok, u, err := db.PersonalTokenUser(ctx, staff.HashSecret("tgp_a"), staffT0.Add(time.Hour))
	if err != nil || u.Login != "alice" || u.Role != staff.RoleBilling || tok.ID != laptop.ID || !tok.LastUsedAt.Equal(staffT0.Add(time.Hour)) {
		t.Fatalf("PersonalTokenUser = %+v, %+v, %v", tok, u, err)
	}
	if _, _, err := db.PersonalTokenUser(ctx, staff.HashSecret("tgp_a"), staffT0.Add(24*time.Hour)); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("expired token: %v", err)
	}
	if _, _, err := db.PersonalTokenUser(ctx, staff.HashSecret("tgp_zzz"), staffT0); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("unknown token: %v", err)
	}
	if r, err := db.RevokePersonalToken(ctx, "alice", laptop.ID, "user:alice", staffT0.Add(2*time.Hour)); err != nil || r.RevokedAt.IsZero() {
		t.Fatalf("revoke: %+v, %v", r, err)
	}
	if _, _, err := db.PersonalTokenUser(ctx, staff.HashSecret("tgp_a"), staffT0.Add(3*time.Hour)); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := db.RevokePersonalToken(ctx, "alice", 99999, "user:alice", staffT0); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("revoke unknown: %v", err)
	}
	if _, err := db.SetStaffUserDisabled(ctx, "alice", true, "host", staffT0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PersonalTokenUser(ctx, staff.HashSecret("tgp_b"), staffT0.Add(time.Hour)); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
		t.Errorf("disabled user's token: %v", err)
	}
	ts, err := db.PersonalTokens(ctx, "alice")
	if err != nil || len(ts) != 2 || ts[0].Name != "laptop" || ts[0].RevokedAt.IsZero() || ts[1].Name != "script" || !ts[1].ExpiresAt.IsZero() {
		t.Errorf("PersonalTokens = %+v, %v", ts, err)
	}
}

// TestJournalRecordsActor: every journal transaction says who posted it:
// the billing run, the person who posted a payment, a credit or a reversal.
func TestJournalRecordsActor(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	at, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	a := accounts[0]
	run := runBilling(t, db, at.ID, billing.NewDate(2026, 12, 1), 10)
	if _, err := db.PostCredit(ctx, a.ID, 500, "goodwill", billing.NewDate(2026, 12, 2), "user:alice", t0); err != nil {
		t.Fatal(err)
	}
	p, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 1000}, "user:bob", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReversePayment(ctx, p.ID, billing.Reversal{Reason: billing.ReverseNSF}, "user:carol", t0); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT kind || ' ' || actor FROM journal_transactions WHERE account_id = $1 ORDER BY id`, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	want := []string{fmt.Sprintf("invoice_issued billing-run:%d", run.ID), "credit user:alice", "payment_posted user:bob", "payment_reversed user:carol"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("journal actors %q (%v), want %q", got, err, want)
	}
}
