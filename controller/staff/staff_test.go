package staff

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func isInvalid(err error) bool {
	var e *billing.Error
	return errors.As(err, &e) && e.Code == billing.EINVALID
}

func TestCheckPassword(t *testing.T) {
	for _, c := range []struct {
		login, pw string
		ok        bool
		says      string
	}{
		{"alice", "correct horse battery", true, ""},
		{"alice", "short", false, "at least 12"},
		{"alice", "elevenchars", false, "at least 12"},
		{"alice", "twelve chars", true, ""},
		{"alice", "xxALICExx-secret", false, "login"},
		{"alice", "aaaaaaaaaaaaaaaa", false, "repeated"},
		{"alice", strings.Repeat("ab", 129), false, "at most"},
		{"alice", "ünïcødé pässwörd", true, ""},
		{"alice", "bad\xffutf8-long-enough", false, "UTF-8"},
	} {
		err := CheckPassword(c.login, c.pw)
		if (err == nil) != c.ok || (err != nil && (!isInvalid(err) || !strings.Contains(err.Error(), c.says))) {
			t.Errorf("CheckPassword(%q, %q) = %v, want ok=%v mentioning %q", c.login, c.pw, err, c.ok, c.says)
		}
	}
}

func TestCheckLoginAndRole(t *testing.T) {
	for login, ok := range map[string]bool{"alice": true, "a.b-c_d9": true, "Alice": false, "9lives": false,
		"a": false, "": false, "al ice": false, "user:x": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false} {
		if err := CheckLogin(login); (err == nil) != ok {
			t.Errorf("CheckLogin(%q) = %v, want ok=%v", login, err, ok)
		}
	}
	for s, ok := range map[string]bool{"reader": true, "billing": true, "admin": true, "root": false, "Admin": false} {
		if _, err := ParseRole(s); (err == nil) != ok {
			t.Errorf("ParseRole(%q) = %v, want ok=%v", s, err, ok)
		}
	}
	if !RoleAdmin.TOTPRequired() || RoleBilling.TOTPRequired() || RoleReader.TOTPRequired() {
		t.Error("TOTP is required for admin only")
	}
}

// cheap parameters keep the test fast; the encoding is what is tested.
var testParams = Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}

func TestHashPasswordPHC(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, SaltLen)
	h := HashPassword("correct horse battery", salt, testParams)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id with its parameters", h)
	}
	if h != HashPassword("correct horse battery", salt, testParams) {
		t.Error("same password and salt hash differently")
	}
	if h == HashPassword("correct horse battery", bytes.Repeat([]byte{8}, SaltLen), testParams) {
		t.Error("different salts hash the same")
	}
	for _, c := range []struct {
		pw         string
		want       Argon2Params
		ok, rehash bool
	}{
		{"correct horse battery", testParams, true, false},
		{"correct horse batterY", testParams, false, false},
		{"correct horse battery", DefaultArgon2Params, true, true},
	} {
		ok, rehash, err := VerifyPassword(h, c.pw, c.want)
		if err != nil || ok != c.ok || rehash != c.rehash {
			t.Errorf("VerifyPassword(%q) = %v, %v, %v; want %v, %v", c.pw, ok, rehash, err, c.ok, c.rehash)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=16$m=64,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$"} {
		if ok, _, err := VerifyPassword(bad, "x", testParams); err == nil || ok {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {3, 0}, {4, time.Second}, {5, 2 * time.Second}, {6, 4 * time.Second},
		{13, 512 * time.Second}, {14, BackoffCap}, {1000, BackoffCap},
	} {
		if got := Backoff(c.failures); got != c.want {
			t.Errorf("Backoff(%d) = %v, want %v", c.failures, got, c.want)
		}
	}
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		failures int
		now      time.Time
		want     time.Duration
	}{
		{3, last, 0},
		{5, last, 2 * time.Second},
		{5, last.Add(1500 * time.Millisecond), 500 * time.Millisecond},
		{5, last.Add(2 * time.Second), 0},
		{5, last.Add(time.Hour), 0},
	} {
		if got := RetryAfter(c.failures, last, c.now); got != c.want {
			t.Errorf("RetryAfter(%d, +%v) = %v, want %v", c.failures, c.now.Sub(last), got, c.want)
		}
	}
}

const testSecret = "JBSWY3DPEHPK3PXP"

func TestVerifyTOTP(t *testing.T) {
	now := time.Unix(1_700_000_015, 0) // mid-step
	cur := TOTPStep(now)
	code := func(step int64) string {
		c, err := TOTPCode(testSecret, step)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, c := range []struct {
		name     string
		code     string
		lastUsed int64
		step     int64
		ok       bool
	}{
		{"current step", code(cur), 0, cur, true},
		{"previous step (clock skew)", code(cur - 1), 0, cur - 1, true},
		{"next step (clock skew)", code(cur + 1), 0, cur + 1, true},
		{"two steps back", code(cur - 2), 0, 0, false},
		{"two steps ahead", code(cur + 2), 0, 0, false},
		{"replay of the last used step", code(cur), cur, 0, false},
		{"older than the last used step", code(cur - 1), cur, 0, false},
		{"after the last used step", code(cur + 1), cur, cur + 1, true},
		{"spaces ignored", code(cur)[:3] + " " + code(cur)[3:], 0, cur, true},
		{"wrong code", "000000", 0, 0, code(cur) == "000000"},
		{"too short", "12345", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		step, ok := VerifyTOTP(testSecret, c.code, now, c.lastUsed)
		if ok != c.ok || step != c.step {
			t.Errorf("%s: VerifyTOTP = %d, %v; want %d, %v", c.name, step, ok, c.step, c.ok)
		}
	}
}

func TestNewTOTPKey(t *testing.T) {
	secret, url, err := NewTOTPKey("Tollgate", "alice", bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
	if err != nil || secret == "" || !strings.HasPrefix(url, "otpauth://totp/Tollgate:alice?") || !strings.Contains(url, secret) {
		t.Fatalf("NewTOTPKey = %q, %q, %v", secret, url, err)
	}
	now := time.Unix(1_700_000_000, 0)
	c, _ := TOTPCode(secret, TOTPStep(now))
	if _, ok := VerifyTOTP(secret, c, now, 0); !ok {
		t.Error("a fresh key's own code is refused")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := NewRecoveryCodes(bytes.NewReader(bytes.Repeat([]byte{0, 30, 31, 255, 100}, 40)), RecoveryCodeCount)
	if err != nil || len(codes) != RecoveryCodeCount {
		t.Fatalf("NewRecoveryCodes = %v, %v", codes, err)
	}
	for _, c := range codes {
		n, err := NormalizeRecoveryCode(c)
		if err != nil || n != c || len(c) != 11 || c[5] != '-' {
			t.Errorf("code %q normalises to %q, %v", c, n, err)
		}
	}
	if _, err := NewRecoveryCodes(bytes.NewReader(nil), 1); err == nil {
		t.Error("no randomness: want an error")
	}
	for typed, want := range map[string]string{
		"k7rqm-2xw9p": "k7rqm-2xw9p", " K7RQM 2XW9P ": "k7rqm-2xw9p", "k7rqm2xw9p": "k7rqm-2xw9p",
		"k7rqm-2xw9": "", "k7rqm-2xw9pp": "", "k0rqm-2xw9p": "", "l7rqm-2xw9p": "", "": "",
	} {
		got, err := NormalizeRecoveryCode(typed)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("NormalizeRecoveryCode(%q) = %q, %v; want %q", typed, got, err, want)
		}
	}
}

func TestSecrets(t *testing.T) {
	tok, err := NewPersonalToken(bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	if err != nil || !strings.HasPrefix(tok, PersonalTokenPrefix) || len(tok) != len(PersonalTokenPrefix)+43 {
		t.Errorf("NewPersonalToken = %q, %v", tok, err)
	}
	if _, err := NewPersonalToken(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("short randomness: want an error")
	}
	s, err := NewSessionSecret(bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	if err != nil || len(s) != 43 {
		t.Errorf("NewSessionSecret = %q, %v", s, err)
	}
	if bytes.Equal(HashSecret("a"), HashSecret("b")) || len(HashSecret("a")) != 32 {
		t.Error("HashSecret is not SHA-256")
	}
}

func TestSessionCheck(t *testing.T) {
	r := SessionRules{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	s := r.NewSession([]byte{1}, 7, t0)
	if !s.ExpiresAt.Equal(t0.Add(12 * time.Hour)) {
		t.Fatalf("ExpiresAt = %v", s.ExpiresAt)
	}
	used := s
	used.LastSeenAt = t0.Add(11*time.Hour + 50*time.Minute)
	ended := s
	ended.EndedAt = t0.Add(time.Minute)
	for _, c := range []struct {
		name     string
		s        Session
		now      time.Time
		disabled bool
		want     SessionEnd
	}{
		{"fresh", s, t0, false, SessionLive},
		{"just inside idle", s, t0.Add(30*time.Minute - time.Second), false, SessionLive},
		{"idle exactly", s, t0.Add(30 * time.Minute), false, SessionIdle},
		{"kept alive, before absolute", used, t0.Add(12*time.Hour - time.Second), false, SessionLive},
		{"kept alive, at absolute", used, t0.Add(12 * time.Hour), false, SessionExpired},
		{"signed out", ended, t0.Add(2 * time.Minute), false, SessionSignedOut},
		{"user disabled", s, t0.Add(time.Minute), true, SessionUserGone},
	} {
		if got := r.Check(c.s, c.now, c.disabled); got != c.want {
			t.Errorf("%s: Check = %q, want %q", c.name, got, c.want)
		}
	}
	if TouchDue(s, t0.Add(59*time.Second)) || !TouchDue(s, t0.Add(time.Minute)) {
		t.Error("TouchDue should be true from a minute after last seen")
	}
}

func TestCheckToken(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	live := PersonalToken{CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	forever := PersonalToken{CreatedAt: t0}
	revoked := live
	revoked.RevokedAt = t0.Add(time.Hour)
	for _, c := range []struct {
		name     string
		tok      PersonalToken
		disabled bool
		now      time.Time
		want     TokenRefusal
	}{
		{"live", live, false, t0.Add(time.Hour), TokenAccepted},
		{"no expiry", forever, false, t0.AddDate(5, 0, 0), TokenAccepted},
		{"at expiry", live, false, t0.Add(24 * time.Hour), TokenExpired},
		{"revoked", revoked, false, t0.Add(2 * time.Hour), TokenRevoked},
		{"user disabled", live, true, t0.Add(time.Hour), TokenUserDisabled},
	} {
		if got := CheckToken(c.tok, c.disabled, c.now); got != c.want {
			t.Errorf("%s: CheckToken = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestPasswordProof(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	u := User{Login: "ada", PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", TOTPSecret: "JBSWY3DPEHPK3PXP"}
	proof := PasswordProof(u, "192.0.2.1", t0.Add(ProofLifetime))
	for _, c := range []struct {
		name  string
		u     User
		addr  string
		proof string
		at    time.Time
		want  bool
	}{
		{"fresh", u, "192.0.2.1", proof, t0, true},
		{"at expiry", u, "192.0.2.1", proof, t0.Add(ProofLifetime), false},
		{"other address", u, "192.0.2.2", proof, t0, false},
		{"new password", User{Login: "ada", PasswordHash: u.PasswordHash + "x", TOTPSecret: u.TOTPSecret}, "192.0.2.1", proof, t0, false},
		{"TOTP reset", User{Login: "ada", PasswordHash: u.PasswordHash, TOTPSecret: "KRSXG5CTMVRXEZLU"}, "192.0.2.1", proof, t0, false},
		{"other user", User{Login: "bob", PasswordHash: u.PasswordHash, TOTPSecret: u.TOTPSecret}, "192.0.2.1", proof, t0, false},
		{"tampered expiry", u, "192.0.2.1", strings.Replace(proof, ".", ".9", 1), t0, false},
		{"garbage", u, "192.0.2.1", "ada", t0, false},
	} {
		if got := CheckPasswordProof(c.u, c.addr, c.proof, c.at); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
