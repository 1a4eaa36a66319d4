package billing

import "time"

// The figures the controller's Prometheus metrics read from the database at
// each scrape (controller/jobs' metrics): plain counts, no decisions.

// JobQueueCount is how many background jobs of one kind are in one queue
// and state (available, scheduled, retryable, running) now.
type JobQueueCount struct {
	Queue string `json:"queue"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	Count int64  `json:"count"`
	// OldestDue is how long the oldest of these jobs has been due (its
	// scheduled time passed) without being started; 0 for running jobs
	// and for jobs not due yet.
	OldestDue time.Duration `json:"oldest_due"`
}

// LastBillingRun is, for one account type, when its latest billing run
// finished (every batch done), if one ever did.
type LastBillingRun struct {
	AccountTypeID int64      `json:"account_type_id"`
	AccountType   string     `json:"account_type"`
	TimeZone      string     `json:"time_zone"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}
