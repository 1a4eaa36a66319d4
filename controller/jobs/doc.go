// Package jobs runs the controller's durable background work on River
// (PostgreSQL-native jobs, with leader election across controller replicas):
// the daily billing tick that opens a billing run per account type when its
// local date changes, the billing-run batches that invoice accounts, late
// fees, autopay charges (first on the due date, then on the account type's
// retry schedule), invoice delivery (a billing run's invoices queued as soon
// as it finishes, one job per delivery; [Runner.QueueDeliveries]), notices
// to subscribers (one job per notice, inserted by the store in the
// transaction that queues the notice; [Runner.InsertNoticeJobsTx]), the
// fan-out of a plan's profile change to its services (one job per change,
// inserted with the new profile version; [Runner.InsertProfileFanOutJobTx])
// and the purge of old Idempotency-Keys. Retries and backoff of notices and
// deliveries are River's; the notices and invoice_deliveries tables are the
// records staff see. [DevClock] drives the same work from a
// simulated clock in dev and demo mode.
//
// The package does not know the store: it declares what it needs from it
// as small interfaces ([BillingRuns], [Collections], [Deliveries],
// [RunnerUpkeep], [Housekeeping], [PendingGatewayWork], [DevClockStore],
// [ProfileFanOut];
// ports.go), each method saying which coded errors it returns, and [New]
// takes them as [Stores] with the pool River's driver runs on. Its own
// questions about jobs go to River's client (JobList, JobRetry), never to
// River's tables. controller/app wires the one store (controller/postgres)
// into every port and registers the [Runner] with the store as the
// inserter of notice, delivery and profile fan-out jobs (app.NewJobRunner).
//
// The runner observes its work in Prometheus metrics ([Metrics],
// [Runner.UseMetrics]): billing runs, scheduled sweeps, autopay attempts
// and every job's failed attempts (a River worker middleware), and, read
// from the store at each scrape through [MetricsSource], the job queue's
// depth and oldest due job, each account type's last finished run against
// its schedule, and the queued notices.
//
// Work is made idempotent in the database, not in memory: a billing run is
// unique per (account type, date), each batch records when it finished in the
// same transaction as its invoices, and invoices are unique per (account,
// period). A controller killed in the middle of a run leaves River jobs that
// the next controller rescues and finishes, creating nothing twice.
package jobs
