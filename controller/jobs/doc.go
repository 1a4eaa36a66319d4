// Package jobs runs the controller's durable background work on River
// (PostgreSQL-native jobs, with leader election across controller replicas):
// the daily billing tick that opens a billing run per account type when its
// local date changes, the billing-run batches that invoice accounts, late
// fees, autopay charges (first on the due date, then on the account type's
// retry schedule), invoice delivery (a billing run's invoices queued as soon
// as it finishes, one job per delivery; [Runner.QueueDeliveries]), notices
// to subscribers (one job per notice, inserted by the store in the
// transaction that queues the notice; [Runner.InsertNoticeJobsTx]) and the
// purge of old Idempotency-Keys. Retries and backoff of notices and
// deliveries are River's; the notices and invoice_deliveries tables are the
// records staff see. [DevClock] drives the same work from a
// simulated clock in dev and demo mode.
//
// Work is made idempotent in the database, not in memory: a billing run is
// unique per (account type, date), each batch records when it finished in the
// same transaction as its invoices, and invoices are unique per (account,
// period). A controller killed in the middle of a run leaves River jobs that
// the next controller rescues and finishes, creating nothing twice.
package jobs
