package portal

import (
	"context"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The portal's ports: small interfaces, one per concern, each held by the
// handlers that use it. Every method's error is a coded billing error
// (billing.ErrorCode) where the doc says so and a store failure (EINTERNAL)
// otherwise. *postgres.DB implements them all; [Ports] wires it.

// SessionStore keeps signed-in sessions (session.go).
type SessionStore interface {
	// CreatePortalSession stores a new session; no coded errors.
	CreatePortalSession(ctx context.Context, s billing.PortalSession) error
	// PortalSession reads the live session (not ended, not expired, seen
	// within idle) with the id hash and notes now as last seen:
	// EUNAUTHORIZED when there is none.
	PortalSession(ctx context.Context, idHash []byte, now time.Time, idle time.Duration) (billing.PortalSession, error)
	// EndPortalSession signs a session out (an unknown or ended one is a
	// no-op); no coded errors.
	EndPortalSession(ctx context.Context, idHash []byte, now time.Time) error
}

// SignInStore issues and redeems emailed sign-in codes (signin.go).
type SignInStore interface {
	// AccountByNumber finds an account by its number (ignoring case and
	// surrounding spaces): ENOTFOUND when there is none.
	AccountByNumber(ctx context.Context, number string) (billing.Account, error)
	// CreatePortalCode stores a new code's hash unless the account had max
	// codes created within window, then it returns false; no coded errors.
	CreatePortalCode(ctx context.Context, accountID int64, codeHash []byte, ip string, now, expires time.Time, window time.Duration, max int) (bool, error)
	// RedeemPortalCode checks a code against the account's live codes:
	// true uses them up, false counts a wrong try; no coded errors.
	RedeemPortalCode(ctx context.Context, accountID int64, codeHash []byte, now time.Time, maxAttempts int) (bool, error)
}

// CaptiveStore serves captive redirects: the service an address or a
// token names, and single use of the tokens (signin.go, captiveapi.go).
type CaptiveStore interface {
	// Service reads one service: ENOTFOUND if it does not exist.
	Service(ctx context.Context, id int64) (billing.Service, error)
	// ServiceByAddress finds the service bound to an IP address:
	// ENOTFOUND when none is.
	ServiceByAddress(ctx context.Context, addr string) (billing.Service, error)
	// UseCaptiveToken records a captive token's use, false when it was
	// used before (on any replica); no coded errors.
	UseCaptiveToken(ctx context.Context, tokenID string, serviceID int64, now, expires time.Time, skew time.Duration) (bool, error)
}

// AccountViewStore reads what the subscriber sees of the account: its
// standing, invoices, payments and gateway attempts (account.go, pay.go,
// methods.go).
type AccountViewStore interface {
	// Account reads one account: ENOTFOUND if it does not exist.
	Account(ctx context.Context, id int64) (billing.Account, error)
	// AccountStanding is the account's collection status with its why at
	// now: ENOTFOUND for an unknown account.
	AccountStanding(ctx context.Context, accountID int64, now time.Time) (billing.AccountStanding, error)
	// Invoices lists the invoices matching f (without lines) in id order;
	// no coded errors.
	Invoices(ctx context.Context, f billing.InvoiceFilter) ([]billing.Invoice, error)
	// Invoice reads an invoice with its lines: ENOTFOUND if it does not
	// exist (the caller checks it is the subscriber's).
	Invoice(ctx context.Context, id int64) (billing.Invoice, error)
	// InvoiceRecord reads everything an invoice prints: ENOTFOUND if it
	// does not exist.
	InvoiceRecord(ctx context.Context, invoiceID int64) (billing.InvoiceRecord, error)
	// Payments lists at most limit payments in id order after afterID, of
	// one account and one batch when those are not 0; no coded errors.
	Payments(ctx context.Context, accountID, batchID, afterID int64, limit int) ([]billing.Payment, error)
	// PaymentAttempts lists an account's gateway attempts, newest first;
	// no coded errors.
	PaymentAttempts(ctx context.Context, accountID int64) ([]billing.PaymentAttempt, error)
}

// MethodStore keeps the subscriber's payment methods on file and autopay
// (methods.go, pay.go).
type MethodStore interface {
	// PaymentMethods lists the account's methods on file, default first;
	// no coded errors.
	PaymentMethods(ctx context.Context, accountID int64) ([]billing.StoredMethod, error)
	// RemovePaymentMethod removes a method (removing the default turns
	// autopay off): ENOTFOUND if it is not the account's.
	RemovePaymentMethod(ctx context.Context, accountID, id int64, at time.Time) error
	// SetDefaultPaymentMethod makes a method the account's default:
	// ENOTFOUND if it is not the account's.
	SetDefaultPaymentMethod(ctx context.Context, accountID, id int64) error
	// SetAutopay turns autopay on or off: EINVALID to turn it on without a
	// default method, ENOTFOUND for an unknown account.
	SetAutopay(ctx context.Context, accountID int64, on bool, at time.Time) error
	// Autopay reports whether autopay is on: ENOTFOUND for an unknown
	// account.
	Autopay(ctx context.Context, accountID int64) (bool, error)
}

// PayKeyStore holds the pay form's Idempotency-Keys: the form claims its
// key before anything is charged (pay.go).
type PayKeyStore interface {
	billing.IdempotencyStore
	// IdempotentResponse reads a key's state without claiming it: claimed
	// false when nobody holds or held it, resp nil while the first
	// execution runs; no coded errors.
	IdempotentResponse(ctx context.Context, principal, key string) (resp *billing.StoredResponse, claimed bool, err error)
}

// Ports is every port of the portal in one, for wiring the one store that
// implements them all ([Deps].Store). It is not a port itself: [New] hands
// each to the handlers that use it.
type Ports interface {
	SessionStore
	SignInStore
	CaptiveStore
	AccountViewStore
	MethodStore
	PayKeyStore
	billing.TicketStore
	ReceiptStore
}
