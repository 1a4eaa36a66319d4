package billing

// NextAutopayAttempt decides whether autopay should charge an open invoice
// today. The first attempt is on the due date (or the first day after it
// that autopay runs); after failed attempts, attempt n+1 happens on due date
// + retryDays[n-1]. It returns the attempt number to make, or ok=false when
// none is due (not yet, or the retry schedule is used up).
func NextAutopayAttempt(due Date, retryDays []int, failedAttempts int, today Date) (attemptNo int, ok bool) {
	switch {
	case today.Before(due):
		return 0, false
	case failedAttempts == 0:
		return 1, true
	case failedAttempts > len(retryDays):
		return 0, false
	case today.Before(due.AddDays(retryDays[failedAttempts-1])):
		return 0, false
	}
	return failedAttempts + 1, true
}

// AutopayCovers reports whether autopay charges an invoice due on due, for
// an account that turned autopay on on since (its local date; zero when
// autopay has been on since before that date was recorded).
//
// Autopay charges an invoice on its due date, so it covers the invoices
// due on or after the day it was turned on. An invoice already past due
// then is not charged by autopay (not at once, nor later): turning autopay
// on never takes money the subscriber did not see coming, and the portal
// says so and offers to pay the past-due balance now.
func AutopayCovers(due, since Date) bool { return since.IsZero() || !due.Before(since) }

// AutopayCandidate is an open invoice of an autopay account, with what the
// autopay job needs to decide and charge.
type AutopayCandidate struct {
	InvoiceID      int64
	InvoiceNumber  string
	AccountID      int64
	DueDate        Date
	Open           int64
	Method         StoredMethod
	FailedAttempts int
	// AutopaySince is the local date the account turned autopay on (zero:
	// before that was recorded); see [AutopayCovers].
	AutopaySince Date
}
