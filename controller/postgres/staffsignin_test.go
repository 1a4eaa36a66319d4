package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestStaffSignIn drives staff.SignIn against the real store: password and
// TOTP, replay refused, backoff per user and address, unlock, recovery code.
func TestStaffSignIn(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	cheap := staff.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}
	hash := staff.HashPassword("correct horse battery", bytes.Repeat([]byte{3}, staff.SaltLen), cheap)
	const secret = "JBSWY3DPEHPK3PXP"
	if _, err := db.CreateStaffUser(ctx, staff.User{Login: "ada", Role: staff.RoleAdmin, PasswordHash: hash, TOTPSecret: secret}, "host", staffT0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResetStaffTOTP(ctx, "ada", secret, [][]byte{staff.HashSecret("k7rqm-2xw9p")}, "host", staffT0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateStaffUser(ctx, staff.User{Login: "root", Role: staff.RoleAdmin, PasswordHash: hash}, "host", staffT0); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFixed(staffT0.Add(15 * time.Second))
	s := &staff.SignIn{Store: db, Rules: staff.DefaultSessionRules, Params: cheap, Clock: clk, Rand: rand.Reader}
	code := func() string {
		c, err := staff.TOTPCode(secret, staff.TOTPStep(clk.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	refusal := func(err error) staff.Refusal {
		t.Helper()
		var r *staff.Refusal
		if !errors.As(err, &r) {
			t.Fatalf("want a refusal, got %v", err)
		}
		return *r
	}
	const addr, other = "192.0.2.1", "198.51.100.7"
	signInErr := func(s *staff.SignIn, login, password, code, remoteAddr string) error {
		_, _, _, err := s.SignIn(ctx, login, password, code, remoteAddr)
		return err
	}

	if r := refusal(signInErr(s, "nobody", "correct horse battery", "", addr)); r.Reason != staff.RefusedCredentials {
		t.Errorf("unknown login: %+v", r)
	}
	r := refusal(signInErr(s, "ada", "correct horse battery", "", addr))
	if r.Reason != staff.RefusedCodeNeeded || r.Proof == "" {
		t.Fatalf("no code: %+v", r)
	}
	// The second step: the proof of the password, then the code.
	if _, _, _, err := s.CompleteSecondFactor(ctx, "ada", r.Proof, code(), other); refusal(err).Reason != staff.RefusedCredentials {
		t.Errorf("a proof used from another address: %v", err)
	}
	if _, _, _, err := s.CompleteSecondFactor(ctx, "ada", r.Proof+"x", code(), addr); refusal(err).Reason != staff.RefusedCredentials {
		t.Errorf("a forged proof: %v", err)
	}
	if secretOut, _, u, err := s.CompleteSecondFactor(ctx, "ada", r.Proof, code(), addr); err != nil || u.Login != "ada" || secretOut == "" {
		t.Fatalf("second step: %v", err)
	}
	clk.Add(30 * time.Second) // the step's code is used: the next one
	if r := refusal(signInErr(s, "root", "correct horse battery", "", addr)); r.Reason != staff.RefusedNoSecondFactor {
		t.Errorf("admin without TOTP: %+v", r)
	}
	secretOut, sess, u, err := s.SignIn(ctx, "ada", "correct horse battery", code(), addr)
	if err != nil || u.Login != "ada" || secretOut == "" {
		t.Fatalf("sign in: %v", err)
	}
	if _, got, err := db.StaffSession(ctx, staff.HashSecret(secretOut), staff.DefaultSessionRules, clk.Now()); err != nil || got.Login != "ada" || !bytes.Equal(sess.IDHash, staff.HashSecret(secretOut)) {
		t.Errorf("the session is not stored by its hash: %v", err)
	}
	if r := refusal(signInErr(s, "ada", "correct horse battery", code(), addr)); r.Reason != staff.RefusedBadCode {
		t.Errorf("the same code again (replay): %+v", r)
	}

	// Wrong passwords: three free, then the wait doubles; another address
	// is not slowed; unlock clears it.
	for i := 2; i <= 3; i++ { // the replay above was failure 1
		if r := refusal(signInErr(s, "ada", "wrong password!!", "", addr)); r.Reason != staff.RefusedCredentials || r.RetryAfter != 0 {
			t.Fatalf("failure %d: %+v", i, r)
		}
	}
	if r := refusal(signInErr(s, "ada", "wrong password!!", "", addr)); r.Reason != staff.RefusedCredentials || r.RetryAfter != time.Second {
		t.Fatalf("failure 4: %+v, want a 1s wait", r)
	}
	if r := refusal(signInErr(s, "ada", "correct horse battery", code(), addr)); r.Reason != staff.RefusedBackoff || r.RetryAfter != time.Second {
		t.Errorf("during the backoff even the right password waits: %+v", r)
	}
	clk.Add(30 * time.Second) // a new TOTP step, and past the wait
	if _, _, _, err := s.SignIn(ctx, "ada", "correct horse battery", code(), other); err != nil {
		t.Errorf("another address is not slowed: %v", err)
	}
	if r := refusal(signInErr(s, "ada", "still wrong!!!!", "", addr)); r.RetryAfter != 2*time.Second {
		t.Errorf("failure 5: %+v, want a 2s wait", r)
	}
	if _, err := db.UnlockStaffUser(ctx, "ada", "user:root", clk.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.SignIn(ctx, "ada", "correct horse battery", "K7RQM 2XW9P", addr); err != nil {
		t.Errorf("after unlock, with a recovery code: %v", err)
	}
	clk.Add(30 * time.Second)
	if r := refusal(signInErr(s, "ada", "correct horse battery", "k7rqm-2xw9p", addr)); r.Reason != staff.RefusedBadCode {
		t.Errorf("a recovery code twice: %+v", r)
	}
	if _, err := db.SetStaffUserDisabled(ctx, "ada", true, "user:root", clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Second)
	if r := refusal(signInErr(s, "ada", "correct horse battery", code(), other)); r.Reason != staff.RefusedCredentials {
		t.Errorf("disabled: %+v", r)
	}
}
