// Package postgres implements the controller's storage interfaces (declared
// in package billing) on PostgreSQL with pgx, and carries the embedded goose
// migrations that create the schema.
//
// Every desired-state change is written in the same transaction as the event
// that caused it, together with a row in the enforcement_changes outbox and a
// NOTIFY on [NotifyChannel] that wakes every controller replica's push hub
// when the transaction commits. One writer does it for every kind of change
// (outbox.go): the transaction collects its changes and writes them, with
// the POP's next revisions, in one pipelined batch with its COMMIT. A
// service moved to another POP gets two changes there: a "removed" one at
// the POP it left (with the binding that POP's agent is to release) and its
// desired state at the POP it moved to (servicemove.go). Each outbox row
// carries the service's speed profile for its state (the plan's current
// profile version when active, the account type's throttle profile when
// throttled, none when suspended); a plan's profile change fans out
// through the same writer in batches (planprofiles.go).
//
// Service lifecycle changes (servicelifecycle.go, planprices.go; an
// account's close applies each service's cancel the same way and writes
// its final invoice and refunds in the same transaction, accountclose.go)
// follow the same shape: the service, its account and its invoiced coverage
// (service_billed_spans, written by the billing run with its invoices)
// are read under row locks, the domain core decides a LifecyclePlan, and
// the plan is applied as it is in one transaction — its lines as one-time
// charges the next billing run takes exactly once (or an adjustment
// invoice, or a credit), the new coverage and terms history, the audit_log
// row, and enforcement through the one outbox writer (or, dated in the
// future, into scheduled_enforcement for ApplyDueEnforcement; a plan
// change's new speed is one such change, so a change dated later keeps the
// old profile on the edge until its day).
//
// Staff identity (staff.go, package staff's decisions): staff users,
// their sign-in failures per address, sessions and personal tokens, with
// secrets kept only as hashes; every change to a user is an audit_log row
// (entity staff_user). Every journal transaction records its actor
// (journal_transactions.actor): the person or service token, or a system
// actor (billing-run:<id>, sweep:<id>, late-fees, gateway:<name>).
// Single sign-on (staffsso.go): a provider's issuer and subject are linked
// to a staff user (staff_sso_identities), made just in time at the first
// sign-in; the role the rules give is set at each sign-in, audited with
// actor "sso".
//
// How a payment posts to an account (allocated, or kept as credit with a
// warning for a closed account) is billing.PaymentOnAccount's decision on
// every path — staff entry, batch lines, gateway charges — and its
// warnings are kept with the payment (payments.warnings).
//
// What a payment paid is kept as append-only allocation events
// (allocation_events: applied, reallocated, reversed; dated and signed; the
// database refuses to update or delete one), written in the same statement
// as payment_allocations, their running total per payment and invoice, and
// the payments' and invoices' own totals (allocated, paid); allocations.go
// moves a payment between invoices and lists its events. A credit note's
// (an invoice with a negative total) applications to invoices are events
// with no payment (credit_note_id instead), their running totals in
// credit_note_allocations, the note's paid total going below zero by what
// it gave (creditnotes.go; kind taken_over when a close's credit note
// takes over what a payment paid, to refund it).
//
// IP address management (addresspools.go): every write of a service's
// binding binds and releases its pool addresses in the same transaction
// (address_assignments, whose exclusion constraint refuses an address bound
// twice); an allocation locks the POP's pools and takes
// billing.PoolSpace.NextFree. Addresses agents learned (learned.go,
// written with a report) reach a service's binding through the feed's
// reads (bindingAddressesSQL: of an address family the service has no
// address of, not held by another service in a pool; ended leases are
// dropped at each report by the controller's clock) and a new revision
// from the one writer. A plan's profile change commits with the River job
// that fans it out (ProfileFanOutJobs; FanOutPlanProfile does the work,
// resumably).
//
// Staff search (search.go): billing.PlanSearch decides the probes from
// the query's shape; SearchAccounts runs them as one UNION ALL, each probe
// read through its index (pg_trgm GIN indexes for substrings of names,
// companies, e-mail and billing and service addresses, and of phone
// numbers' digits, on account_search and service_search, which triggers
// keep — migration 00045: status and desired-state writes touch no
// search index; btree for RADIUS user names and
// payment references; the unique indexes for account and invoice numbers
// and external ids; GIN and GiST for service addresses; tested by
// EXPLAIN), at most 500 rows a probe, and keeps each account's best match,
// exact first, then by trigram similarity.
//
// The store returns plain data (billing types); invoice and statement
// documents are assembled from it in package documents, which this package
// does not import.
package postgres
