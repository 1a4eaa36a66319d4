package captive

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Key is one POP's token-signing key.
type Key struct {
	// ID names the key in tokens (16 hex digits), so the portal can pick
	// the right one during a rotation.
	ID string
	// POP is the POP the key belongs to.
	POP string
	// Secret is the HMAC-SHA256 key (32 bytes).
	Secret []byte
}

// MinMasterLen is the shortest master secret accepted, in bytes.
const MinMasterLen = 32

// DeriveKey returns the POP's signing key from a master secret:
// HMAC-SHA256(master, "tollgate captive v1" NUL pop). The key id is the
// first 8 bytes of SHA-256 over the derived key, in hex.
func DeriveKey(master []byte, pop string) Key {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("tollgate captive v1\x00"))
	m.Write([]byte(pop))
	secret := m.Sum(nil)
	id := sha256.Sum256(secret)
	return Key{ID: hex.EncodeToString(id[:8]), POP: pop, Secret: secret}
}

// Claims is what a token says.
type Claims struct {
	KeyID     string
	POP       string
	ServiceID int64
	// Expires is when the token stops being accepted (whole seconds).
	Expires time.Time
	// ID names this one token (hex SHA-256 of its signed payload, which
	// holds a random nonce), so a verifier can accept it once.
	ID string
}

// MaxLifetime is the longest a token may live: [Verify] refuses a token
// whose expiry lies further than MaxLifetime + [ClockSkew] after the
// verifier's clock, whoever minted it and however it is signed, so a
// leaked POP key or a misconfigured agent cannot make long-lived links.
const MaxLifetime = 10 * time.Minute

// ClockSkew is how far ahead of the verifier's clock a minting agent's
// clock may run.
const ClockSkew = 60 * time.Second

// Errors of [Verify]. They are deliberately vague to the subscriber; the
// portal logs which one it was.
var (
	ErrMalformed  = errors.New("captive: malformed token")
	ErrUnknownKey = errors.New("captive: token signed with an unknown key")
	ErrSignature  = errors.New("captive: token signature does not match")
	ErrExpired    = errors.New("captive: token expired")
	ErrLifetime   = errors.New("captive: token expires further ahead than tokens may live")
)

// maxTokenLen bounds what Verify will look at (a real token is ~120
// characters).
const maxTokenLen = 512

var b64 = base64.RawURLEncoding

// Mint makes a token for serviceID that expires at expires, signed with
// key. It fails only when the system's random source does.
func Mint(key Key, serviceID int64, expires time.Time) (string, error) {
	var nonce [9]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", fmt.Errorf("captive: random nonce: %w", err)
	}
	payload := strings.Join([]string{"v1", key.ID, key.POP, strconv.FormatInt(serviceID, 10),
		strconv.FormatInt(expires.Unix(), 10), b64.EncodeToString(nonce[:])}, "|")
	p := b64.EncodeToString([]byte(payload))
	return p + "." + b64.EncodeToString(mac(key.Secret, p)), nil
}

func mac(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Parse reads a token's claims without checking its signature or expiry
// (to find the key to verify it with). Errors are [ErrMalformed].
func Parse(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, ErrMalformed
	}
	p, _, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, ErrMalformed
	}
	raw, err := b64.DecodeString(p)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	f := strings.Split(string(raw), "|")
	if len(f) != 6 || f[0] != "v1" || f[1] == "" || f[2] == "" {
		return Claims{}, ErrMalformed
	}
	svc, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || svc <= 0 {
		return Claims{}, ErrMalformed
	}
	exp, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	id := sha256.Sum256([]byte(p))
	return Claims{KeyID: f[1], POP: f[2], ServiceID: svc, Expires: time.Unix(exp, 0), ID: hex.EncodeToString(id[:])}, nil
}

// Verify checks token against keys (any of which may have signed it) at
// now and returns its claims. The key must belong to the POP the token
// names. Errors are one of ErrMalformed, ErrUnknownKey, ErrSignature,
// ErrExpired (now is at or after the expiry) and ErrLifetime (the expiry
// is more than MaxLifetime + ClockSkew after now). Verify does not know
// whether the token was used before: single use is the caller's (the
// portal keeps the IDs of used tokens until they expire).
func Verify(token string, now time.Time, keys ...Key) (Claims, error) {
	c, err := Parse(token)
	if err != nil {
		return c, err
	}
	p, sig, _ := strings.Cut(token, ".")
	got, err := b64.DecodeString(sig)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	for _, k := range keys {
		if k.ID != c.KeyID || k.POP != c.POP {
			continue
		}
		if !hmac.Equal(got, mac(k.Secret, p)) {
			return Claims{}, ErrSignature
		}
		if !now.Before(c.Expires) {
			return c, ErrExpired
		}
		if c.Expires.After(now.Add(MaxLifetime + ClockSkew)) {
			return c, ErrLifetime
		}
		return c, nil
	}
	return Claims{}, ErrUnknownKey
}
