package billing

import "time"

// RunTrigger says what opened a billing run.
type RunTrigger string

// Run triggers.
const (
	TriggerSchedule RunTrigger = "schedule"
	TriggerOnDemand RunTrigger = "on_demand"
	TriggerClock    RunTrigger = "clock"
)

// RunStatus is a billing run's state.
type RunStatus string

// Run statuses.
const (
	RunRunning   RunStatus = "running"
	RunCompleted RunStatus = "completed"
	RunFailed    RunStatus = "failed"
)

// BillingRun invoices every account of one account type whose issue date is
// Date. Its progress counters are updated in the same transactions as the
// invoices they count.
type BillingRun struct {
	ID              int64      `json:"id"`
	AccountTypeID   int64      `json:"account_type_id"`
	Date            Date       `json:"date"`
	Trigger         RunTrigger `json:"trigger"`
	RequestedBy     string     `json:"requested_by,omitempty"`
	Status          RunStatus  `json:"status"`
	TotalAccounts   int        `json:"total_accounts"`
	DoneAccounts    int        `json:"done_accounts"`
	TotalBatches    int        `json:"total_batches"`
	DoneBatches     int        `json:"done_batches"`
	InvoicesCreated int        `json:"invoices_created"`
	AmountInvoiced  int64      `json:"amount_invoiced"`
	// FailedAccounts could not be invoiced; Errors says why. The rest of
	// the run is not held up by them.
	FailedAccounts int            `json:"failed_accounts"`
	Errors         []AccountError `json:"errors,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	FinishedAt     *time.Time     `json:"finished_at,omitempty"`
	// AlreadyExisted, in the answer to a request to start runs, says the
	// run for this account type and date existed before the request: the
	// request started nothing, and this is that run as it is now.
	AlreadyExisted bool `json:"already_existed,omitempty"`
}

// AccountError is why one account could not be billed.
type AccountError struct {
	AccountID int64  `json:"account_id"`
	Error     string `json:"error"`
}

// BatchResult is what one billing batch did.
type BatchResult struct {
	Accounts     int
	Invoices     int
	Failed       int
	RunCompleted bool
}

// PreviewItem is one invoice a billing run would create, and why.
type PreviewItem struct {
	AccountID     int64    `json:"account_id"`
	AccountNumber string   `json:"account_number"`
	AccountName   string   `json:"account_name"`
	Period        Period   `json:"period"`
	IssueDate     Date     `json:"issue_date"`
	DueDate       Date     `json:"due_date"`
	Total         int64    `json:"total"`
	Currency      Currency `json:"currency"`
	Lines         int      `json:"lines"`
	Why           []string `json:"why"`
	// Error says why the account cannot be billed (its amounts overflow, a
	// tax rate is broken, …); the run reports it and bills the others.
	// Empty for an invoice.
	Error string `json:"error,omitempty"`
}
