package staff

import "time"

// User is a staff user as the store keeps it.
type User struct {
	ID    int64
	Login string
	Name  string // display name, may be empty
	Role  Role
	// PasswordHash is a PHC argon2id string; empty for a user who signs in
	// only through SSO (or not at all, with tokens only).
	PasswordHash string
	// TOTPSecret is the base32 TOTP secret; empty when not enrolled.
	TOTPSecret string
	// TOTPLastStep is the last TOTP step accepted (replay refusal).
	TOTPLastStep int64
	Disabled     bool
	CreatedAt    time.Time
}

// PersonalToken is a staff user's API token: only the hash of its secret
// is stored.
type PersonalToken struct {
	ID         int64
	UserID     int64
	Login      string
	Name       string
	Hash       []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: not revoked
}

// TokenRefusal says why a personal token does not authenticate ("" when it
// does).
type TokenRefusal string

// Reasons a personal token is refused.
const (
	TokenAccepted     TokenRefusal = ""
	TokenRevoked      TokenRefusal = "revoked"
	TokenExpired      TokenRefusal = "expired"
	TokenUserDisabled TokenRefusal = "user_disabled"
)

// CheckToken says whether a personal token of a (possibly disabled) user
// authenticates at now. Expiry is exclusive: at ExpiresAt it is over.
func CheckToken(t PersonalToken, userDisabled bool, now time.Time) TokenRefusal {
	switch {
	case !t.RevokedAt.IsZero() && !now.Before(t.RevokedAt):
		return TokenRevoked
	case userDisabled:
		return TokenUserDisabled
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return TokenExpired
	}
	return TokenAccepted
}
