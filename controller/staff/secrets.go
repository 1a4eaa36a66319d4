package staff

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// HashSecret is how sessions, recovery codes and personal tokens are kept:
// their SHA-256. The secrets are 120+ random bits, so a fast hash is
// enough (unlike passwords).
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// recoveryAlphabet has no 0/o, 1/l/i, so a code read off paper is typed
// right.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

// NewRecoveryCodes makes n recovery codes, each two groups of five
// characters ("k7rqm-2xw9p", about 49 bits). Each works once instead of a
// TOTP code.
func NewRecoveryCodes(rand io.Reader, n int) ([]string, error) {
	codes := make([]string, n)
	buf := make([]byte, 10)
	for i := range codes {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, err
		}
		var b strings.Builder
		for j, c := range buf {
			if j == 5 {
				b.WriteByte('-')
			}
			// 256 % 31 != 0: a slight bias, harmless at this length.
			b.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)])
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// NormalizeRecoveryCode turns what a user typed into the stored form:
// lower case, no spaces, a dash after five characters. It is an error when
// it cannot be a recovery code.
func NormalizeRecoveryCode(typed string) (string, error) {
	s := strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(typed)))
	if len(s) != 10 || strings.Trim(s, recoveryAlphabet) != "" {
		return "", billing.Errorf(billing.EINVALID, "recovery code: must be ten letters and digits like k7rqm-2xw9p")
	}
	return s[:5] + "-" + s[5:], nil
}

// PersonalTokenPrefix starts every personal API token, so a leaked one is
// recognisable (secret scanners) and told apart from service tokens.
const PersonalTokenPrefix = "tgp_"

// NewPersonalToken makes the secret of a personal API token: the prefix
// and 32 random bytes, base64url.
func NewPersonalToken(rand io.Reader) (string, error) {
	buf := make([]byte, 32)
	if _, err := io.ReadFull(rand, buf); err != nil {
		return "", err
	}
	return PersonalTokenPrefix + base64.RawURLEncoding.EncodeToString(buf), nil
}

// NewSessionSecret makes the random secret of a console session (the
// cookie's value); only HashSecret of it is stored.
func NewSessionSecret(rand io.Reader) (string, error) {
	buf := make([]byte, 32)
	if _, err := io.ReadFull(rand, buf); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}
