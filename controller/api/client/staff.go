package client

import "time"

// Staff users and their personal API tokens: the answers of
// /api/v1/staff. A password, a token's secret or a TOTP secret is in an
// answer only once, when it is made.

// StaffUser is a staff user as the API shows it (never a hash).
type StaffUser struct {
	Login     string    `json:"login"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role"`
	Password  bool      `json:"password"` // whether the user has a console password
	TOTP      bool      `json:"totp"`     // whether the user has a TOTP second factor
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// TOTPEnrolment is a new TOTP secret with its recovery codes.
type TOTPEnrolment struct {
	Secret        string   `json:"secret"` // base32, SHA-1, 6 digits, 30 s
	URL           string   `json:"url"`    // otpauth://, for a QR code
	RecoveryCodes []string `json:"recovery_codes"`
}

// StaffUserResult is the answer to adding a user or resetting their TOTP:
// the user, and the new second factor if one was made.
type StaffUserResult struct {
	User StaffUser      `json:"user"`
	TOTP *TOTPEnrolment `json:"totp,omitempty"`
}

// PersonalToken is a staff user's personal API token (never its secret).
type PersonalToken struct {
	ID         int64      `json:"id"`
	Login      string     `json:"login"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"` // nil: never
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewPersonalToken is the answer to creating a token: it and its bearer
// secret (tgp_…).
type NewPersonalToken struct {
	Token  PersonalToken `json:"token"`
	Secret string        `json:"secret"`
}
