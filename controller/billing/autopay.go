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
}
