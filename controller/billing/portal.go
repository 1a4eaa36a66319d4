package billing

import "time"

// How a subscriber signed in to the customer portal.
const (
	// SignInCode: account number and a one-time code sent by email.
	SignInCode = "code"
	// SignInCaptive: the signed token of the redirect that took a suspended
	// subscriber's browser to the portal.
	SignInCaptive = "captive"
)

// PortalSession is a subscriber's signed-in session in the customer portal.
// The cookie carries a random secret; stores keep only its SHA-256 (IDHash).
type PortalSession struct {
	IDHash    []byte
	AccountID int64
	// Via is SignInCode or SignInCaptive.
	Via string
	// ServiceID is the service a captive token named (0 otherwise).
	ServiceID  int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session.
	ExpiresAt time.Time
}
