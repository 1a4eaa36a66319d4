package staff

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// SignInStore is what signing in needs from storage (controller/postgres
// implements it).
type SignInStore interface {
	// StaffUser returns the user with a login. Errors: ENOTFOUND.
	StaffUser(ctx context.Context, login string) (User, error)
	// StaffLoginFailures returns the failures in a row of a user from an
	// address and when the last was (0 when none).
	StaffLoginFailures(ctx context.Context, userID int64, remoteAddr string) (int, time.Time, error)
	// RecordStaffLoginFailure counts one more failure and returns the
	// failures in a row.
	RecordStaffLoginFailure(ctx context.Context, userID int64, remoteAddr string, now time.Time) (int, error)
	// ClearStaffLoginFailures forgets the user's failures from an address.
	ClearStaffLoginFailures(ctx context.Context, userID int64, remoteAddr string) error
	// UseStaffTOTPStep records a TOTP step as used if it is later than the
	// last used one, and reports whether it was.
	UseStaffTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	// UseStaffRecoveryCode uses up an unused recovery code by its hash and
	// reports whether there was one.
	UseStaffRecoveryCode(ctx context.Context, userID int64, codeHash []byte, now time.Time) (bool, error)
	// CreateStaffSession stores a new session.
	CreateStaffSession(ctx context.Context, s Session) error
}

// SignIn signs staff users in with a password and, when they have one, a
// TOTP code or a recovery code.
type SignIn struct {
	Store  SignInStore
	Rules  SessionRules
	Params Argon2Params // the hashing cost wanted (for the rehash advice)
	Clock  clock.Clock
	Rand   io.Reader // for session secrets
}

// RefusalReason says why a sign-in was refused.
type RefusalReason string

// Refusal reasons. A wrong login, a wrong password and a disabled user are
// one reason, so the answer does not say which logins exist.
const (
	RefusedBackoff        RefusalReason = "backoff"          // too many failures from this address: wait RetryAfter
	RefusedCredentials    RefusalReason = "credentials"      // unknown login, wrong password or disabled user
	RefusedCodeNeeded     RefusalReason = "code_needed"      // password right; now the TOTP (or recovery) code
	RefusedBadCode        RefusalReason = "bad_code"         // wrong, reused or expired TOTP or recovery code
	RefusedNoSecondFactor RefusalReason = "no_second_factor" // an admin without TOTP: an admin must reset it
)

// Refusal is a refused sign-in; its Error is the sentence to show. An
// unknown login is not counted (there is no user to count against) but
// costs the same hashing time. RetryAfter is set for RefusedBackoff, and
// for other refusals when the failure just counted makes the next attempt
// wait.
type Refusal struct {
	Reason     RefusalReason
	RetryAfter time.Duration
	// Proof is set with RefusedCodeNeeded: the proof that the password was
	// right, for [SignIn.CompleteSecondFactor] (the console keeps it in a
	// cookie between the password page and the code page, so the password
	// is never sent twice).
	Proof string
}

func (r *Refusal) Error() string {
	msg := map[RefusalReason]string{
		RefusedBackoff:        "too many failed sign-ins from this address",
		RefusedCredentials:    "login or password is wrong",
		RefusedCodeNeeded:     "enter the code from your authenticator app (or a recovery code)",
		RefusedBadCode:        "the code is wrong or was already used",
		RefusedNoSecondFactor: "an admin needs a second factor: ask another admin to run `tollgatectl staff reset-totp`",
	}[r.Reason]
	if r.RetryAfter > 0 {
		msg += fmt.Sprintf("; try again in %s", r.RetryAfter.Round(time.Second))
	}
	return msg
}

// dummyHash is verified against when the login is unknown, so that an
// unknown login takes as long as a wrong password.
// Computed on first use, not when the package loads.
var dummyHash = sync.OnceValue(func() string {
	return HashPassword("no such user", make([]byte, SaltLen), DefaultArgon2Params)
})

// SignIn checks a login, password and code from remoteAddr and on success
// starts a session, returning its secret (for the cookie; only its hash
// is stored), the session and the user. Refusals are *Refusal errors;
// other errors are the store's. code may be empty when the user has no
// TOTP; it is a 6-digit TOTP code or a recovery code.
//
// Order: the backoff is checked first (without looking at the password),
// then the password, then the code; a wrong password or code counts a
// failure for the user and address, a success clears them. A right
// password without the code a user needs is not a failure (the console
// then asks for the code).
func (s *SignIn) SignIn(ctx context.Context, login, password, code, remoteAddr string) (string, Session, User, error) {
	now := s.Clock.Now()
	u, err := s.Store.StaffUser(ctx, strings.TrimSpace(login))
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		_, _, _ = VerifyPassword(dummyHash(), password, s.Params)
		return "", Session{}, User{}, &Refusal{Reason: RefusedCredentials}
	}
	if err != nil {
		return "", Session{}, User{}, err
	}
	failures, last, err := s.Store.StaffLoginFailures(ctx, u.ID, remoteAddr)
	if err != nil {
		return "", Session{}, User{}, err
	}
	if wait := RetryAfter(failures, last, now); wait > 0 {
		return "", Session{}, User{}, &Refusal{Reason: RefusedBackoff, RetryAfter: wait}
	}
	fail := func(reason RefusalReason) (string, Session, User, error) {
		n, err := s.Store.RecordStaffLoginFailure(ctx, u.ID, remoteAddr, now)
		if err != nil {
			return "", Session{}, User{}, err
		}
		return "", Session{}, User{}, &Refusal{Reason: reason, RetryAfter: Backoff(n)}
	}
	ok := false
	if u.PasswordHash != "" {
		ok, _, err = VerifyPassword(u.PasswordHash, password, s.Params)
		if err != nil {
			return "", Session{}, User{}, err
		}
	} else {
		_, _, _ = VerifyPassword(dummyHash(), password, s.Params)
	}
	if !ok || u.Disabled {
		return fail(RefusedCredentials)
	}
	switch {
	case u.TOTPSecret == "" && u.Role.TOTPRequired():
		return "", Session{}, User{}, &Refusal{Reason: RefusedNoSecondFactor}
	case u.TOTPSecret != "" && strings.TrimSpace(code) == "":
		return "", Session{}, User{}, &Refusal{Reason: RefusedCodeNeeded, Proof: PasswordProof(u, remoteAddr, now.Add(ProofLifetime))}
	case u.TOTPSecret != "":
		if ok, err := s.checkCode(ctx, u, code, now); err != nil {
			return "", Session{}, User{}, err
		} else if !ok {
			return fail(RefusedBadCode)
		}
	}
	return s.start(ctx, u, remoteAddr, now)
}

// CompleteSecondFactor finishes a sign-in whose password step returned
// RefusedCodeNeeded with proof: it checks the backoff, the proof (made for
// this user, from this address, not expired, and void once the password
// or TOTP secret changes) and the code, then starts a session. A bad or
// expired proof is RefusedCredentials (sign in again), a wrong code
// RefusedBadCode (counted as a failure).
func (s *SignIn) CompleteSecondFactor(ctx context.Context, login, proof, code, remoteAddr string) (string, Session, User, error) {
	now := s.Clock.Now()
	u, err := s.Store.StaffUser(ctx, strings.TrimSpace(login))
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return "", Session{}, User{}, &Refusal{Reason: RefusedCredentials}
	}
	if err != nil {
		return "", Session{}, User{}, err
	}
	failures, last, err := s.Store.StaffLoginFailures(ctx, u.ID, remoteAddr)
	if err != nil {
		return "", Session{}, User{}, err
	}
	if wait := RetryAfter(failures, last, now); wait > 0 {
		return "", Session{}, User{}, &Refusal{Reason: RefusedBackoff, RetryAfter: wait}
	}
	if u.Disabled || u.TOTPSecret == "" || !CheckPasswordProof(u, remoteAddr, proof, now) {
		return "", Session{}, User{}, &Refusal{Reason: RefusedCredentials}
	}
	if ok, err := s.checkCode(ctx, u, code, now); err != nil {
		return "", Session{}, User{}, err
	} else if !ok {
		n, err := s.Store.RecordStaffLoginFailure(ctx, u.ID, remoteAddr, now)
		if err != nil {
			return "", Session{}, User{}, err
		}
		return "", Session{}, User{}, &Refusal{Reason: RefusedBadCode, RetryAfter: Backoff(n)}
	}
	return s.start(ctx, u, remoteAddr, now)
}

// start clears the user's failures from the address and starts a session.
func (s *SignIn) start(ctx context.Context, u User, remoteAddr string, now time.Time) (string, Session, User, error) {
	if err := s.Store.ClearStaffLoginFailures(ctx, u.ID, remoteAddr); err != nil {
		return "", Session{}, User{}, err
	}
	secret, sess, err := s.startSession(ctx, u, now)
	if err != nil {
		return "", Session{}, User{}, err
	}
	return secret, sess, u, nil
}

// StartSession starts a session for a user signed in some other way —
// single sign-on (controller/sso, then the store's SignInStaffSSO) — and
// returns its secret (for the cookie; only its hash is stored). A
// disabled user gets none (EUNAUTHORIZED).
func (s *SignIn) StartSession(ctx context.Context, u User) (string, Session, error) {
	if u.Disabled {
		return "", Session{}, billing.Errorf(billing.EUNAUTHORIZED, "staff user %q is disabled", u.Login)
	}
	return s.startSession(ctx, u, s.Clock.Now())
}

func (s *SignIn) startSession(ctx context.Context, u User, now time.Time) (string, Session, error) {
	secret, err := NewSessionSecret(s.Rand)
	if err != nil {
		return "", Session{}, err
	}
	sess := s.Rules.NewSession(HashSecret(secret), u.ID, now)
	if err := s.Store.CreateStaffSession(ctx, sess); err != nil {
		return "", Session{}, err
	}
	return secret, sess, nil
}

// checkCode checks a TOTP code (recording its step, so it is not
// accepted twice) or uses up a recovery code.
func (s *SignIn) checkCode(ctx context.Context, u User, code string, now time.Time) (bool, error) {
	if rc, err := NormalizeRecoveryCode(code); err == nil {
		return s.Store.UseStaffRecoveryCode(ctx, u.ID, HashSecret(rc), now)
	}
	step, ok := VerifyTOTP(u.TOTPSecret, code, now, u.TOTPLastStep)
	if !ok {
		return false, nil
	}
	return s.Store.UseStaffTOTPStep(ctx, u.ID, step)
}
