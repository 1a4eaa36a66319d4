package staff

import (
	"crypto/subtle"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP settings: RFC 6238 defaults, which every authenticator app reads.
const (
	TOTPPeriod = 30 // seconds
	// TOTPSkew is how many steps either side of now a code may be from.
	TOTPSkew = 1
)

var totpOpts = totp.ValidateOpts{Period: TOTPPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewTOTPKey makes a new TOTP secret for a user, with its otpauth:// URL
// (for a QR code). rand is the source of the secret.
func NewTOTPKey(issuer, login string, rand io.Reader) (secret, url string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: login, Period: TOTPPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand})
	if err != nil {
		return "", "", err
	}
	return k.Secret(), k.URL(), nil
}

// TOTPStep is the time step now falls in.
func TOTPStep(now time.Time) int64 { return now.Unix() / TOTPPeriod }

// TOTPCode is the code for a step (for tests and enrolment checks).
func TOTPCode(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*TOTPPeriod, 0), totpOpts)
}

// VerifyTOTP checks a code against the steps now-1, now and now+1 and
// returns the step it matched. A step at or before lastUsedStep is refused
// even when its code matches, so an observed code cannot be replayed; the
// caller stores the returned step as the new last used one (atomically,
// only if it is greater). Spaces in the code are ignored.
func VerifyTOTP(secret, code string, now time.Time, lastUsedStep int64) (int64, bool) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != 6 {
		return 0, false
	}
	cur := TOTPStep(now)
	matched, ok := int64(0), false
	for step := cur - TOTPSkew; step <= cur+TOTPSkew; step++ {
		want, err := TOTPCode(secret, step)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > lastUsedStep && !ok {
			matched, ok = step, true
		}
	}
	return matched, ok
}
