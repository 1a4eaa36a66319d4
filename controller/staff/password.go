package staff

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Password length limits, in characters. The upper bound keeps hashing a
// submitted password cheap to bound.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// CheckPassword is the password policy: 12 to 256 characters, not the
// login, not one character repeated. Length over composition rules
// (NIST SP 800-63B).
func CheckPassword(login, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return billing.Errorf(billing.EINVALID, "password: must be valid UTF-8")
	case n < MinPasswordLength:
		return billing.Errorf(billing.EINVALID, "password: must be at least %d characters (got %d)", MinPasswordLength, n)
	case n > MaxPasswordLength:
		return billing.Errorf(billing.EINVALID, "password: must be at most %d characters", MaxPasswordLength)
	case login != "" && strings.Contains(strings.ToLower(password), strings.ToLower(login)):
		return billing.Errorf(billing.EINVALID, "password: must not contain the login")
	case strings.Count(password, string([]rune(password)[:1])) == n:
		return billing.Errorf(billing.EINVALID, "password: must not be one character repeated")
	}
	return nil
}

// Argon2Params are the argon2id cost parameters; they are stored with
// each hash, so raising them later leaves old hashes verifiable.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32
}

// DefaultArgon2Params follow RFC 9106's second recommended option
// (64 MiB, 3 passes) with 2 lanes.
var DefaultArgon2Params = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2, KeyLen: 32}

// SaltLen is the salt length HashPassword expects, in bytes.
const SaltLen = 16

var b64 = base64.RawStdEncoding

// HashPassword hashes a password with argon2id and returns it in PHC
// string format: $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>. The salt
// comes from the caller (random, SaltLen bytes).
func HashPassword(password string, salt []byte, p Argon2Params) string {
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ParsePHC reads the parameters, salt and key of a PHC argon2id string.
func ParsePHC(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("password hash is not a PHC argon2id string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("password hash has argon2 version %q, want v=%d", parts[2], argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return p, nil, nil, fmt.Errorf("password hash has bad parameters %q", parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return p, nil, nil, fmt.Errorf("password hash has a bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return p, nil, nil, fmt.Errorf("password hash has a bad key")
	}
	p.KeyLen = uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches the PHC hash, and
// whether the hash should be replaced because its parameters are weaker
// than want. A malformed hash is an error (and no match).
func VerifyPassword(phc, password string, want Argon2Params) (ok, rehash bool, err error) {
	p, salt, key, err := ParsePHC(phc)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	rehash = p.Memory < want.Memory || p.Time < want.Time || p.KeyLen < want.KeyLen
	return ok, rehash, nil
}
