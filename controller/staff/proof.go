package staff

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// ProofLifetime is how long a password proof lasts: the time a user has
// to type the code after the password.
const ProofLifetime = 5 * time.Minute

// PasswordProof says that u's password was right, from remoteAddr, until
// expires: "<login>.<unix seconds>.<MAC>". The MAC is keyed by the user's
// password hash and TOTP secret, which never leave the server, so no
// configured secret is needed, and a proof dies with a new password or a
// TOTP reset.
func PasswordProof(u User, remoteAddr string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return u.Login + "." + exp + "." + proofMAC(u, remoteAddr, exp)
}

// CheckPasswordProof reports whether proof was made by [PasswordProof] for
// u from remoteAddr and has not expired at now.
func CheckPasswordProof(u User, remoteAddr, proof string, now time.Time) bool {
	login, rest, ok := strings.Cut(proof, ".")
	if !ok || login != u.Login {
		return false
	}
	exp, mac, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !now.Before(time.Unix(unix, 0)) {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(proofMAC(u, remoteAddr, exp)))
}

func proofMAC(u User, remoteAddr, exp string) string {
	m := hmac.New(sha256.New, []byte("tollgate staff password proof\x00"+u.PasswordHash+"\x00"+u.TOTPSecret))
	m.Write([]byte(u.Login + "\x00" + remoteAddr + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
