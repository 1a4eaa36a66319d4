package billing

// PendingPaymentsMode is an account type's pending_payments setting: what
// a gateway payment that is still settling (an ACH debit the bank has not
// confirmed; its charge attempt is "processing") counts for in the
// delinquency sweep ([Assess]). Such a payment is never journaled nor
// allocated before it is posted.
type PendingPaymentsMode string

// Pending payment modes.
const (
	// PendingIgnore: a pending payment counts for nothing until it is
	// posted (the default).
	PendingIgnore PendingPaymentsMode = "ignore"
	// PendingHold: an account whose pending payments cover what is past
	// due is neither made delinquent nor suspended; a suspended one stays
	// suspended until the payment is posted.
	PendingHold PendingPaymentsMode = "hold"
	// PendingRestore: as hold, and a suspended account whose pending
	// payments cover what it must pay to be restored is restored at once
	// (no reconnection fee: nothing was paid yet). Should the payment fail
	// or be returned, the next sweep suspends it again.
	PendingRestore PendingPaymentsMode = "restore"
)

// Valid reports whether m is a known mode ("" is not: Validate fills in
// ignore).
func (m PendingPaymentsMode) Valid() bool {
	return m == PendingIgnore || m == PendingHold || m == PendingRestore
}

// counts reports whether pending payments count at all under m.
func (m PendingPaymentsMode) counts() bool { return m == PendingHold || m == PendingRestore }
