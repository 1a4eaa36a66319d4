// Package billing is Tollgate's domain core: the vocabulary of the controller
// (services and their desired enforcement state, money, account types,
// invoices and the ledger), the rules that operate on it, and the interfaces
// that storage adapters implement.
//
// It is pure Go: it performs no I/O and imports only the standard library,
// decimal and the holiday calendars (neither pgx nor gRPC). Errors it
// defines carry a [Code] that the API layer maps to HTTP and gRPC statuses in
// one place.
//
// # Decisions are plans
//
// Every business decision is a function of plain inputs that returns what to
// do; the store (controller/postgres) reads the inputs in bulk, calls the
// function and applies its result as it is, in one transaction, deciding
// nothing itself:
//
//   - the delinquency sweep ([SweepVerdict], [PlanSweep]), the settlement
//     after money moved ([PlanSettlement]) and the approval of held
//     suspensions ([PlanApproval], [ChooseHeldAccounts]) say which statuses
//     change and why ([Reason], rendered for staff by [StaffWhy] and for the
//     subscriber by [SubscriberWhy]), which services to suspend or restore
//     (never one a lifecycle hold keeps: an account whose only services a
//     pause keeps on stays delinquent, [SweepInput].KeptOn, and its
//     standing says so, [StandingAssessment]), what the guard holds, which
//     fees to charge and which notices to queue;
//   - a payment reversal ([PlanReversal]) says what it journals, which
//     allocations go, that the account's other credit (open credit notes
//     first) pays what it reopened at once, and the settlement that follows
//     (which never suspends: the next sweep does); whether a payment settles at once is
//     [SettlesOnPayment];
//   - allocation ([PlanAllocations]; staff's chosen invoices first,
//     [PlanChosenAllocations], a payment split over the invoices staff
//     ticked, [SplitOverChosen]; a posted payment's allocation moved between
//     open invoices, [PlanReallocation] — every change an append-only
//     [AllocationEvent]), late fees ([LateFeeCutoff], [PlanLateFees]) and
//     refunds ([CheckRefundable]);
//   - deposit batches: validation ([ValidateBatch], [PaymentBatch.CheckLookups],
//     [PaymentBatch.CheckPostable], [PaymentBatch.CheckChangeable]), its
//     control figures ([NewBatch.Validate], [PaymentBatch.Control],
//     [PaymentBatch.CheckControl]), the
//     lockbox or check-scanner file's parsing ([ParseBatchCSV], fuzzed: it
//     comes off the wire) and its import ([PlanBatchImport]).
//   - service lifecycle changes: plan and quantity changes, cancel, pause,
//     suspended days, billing-day and price changes ([LifecyclePlan],
//     lifecycle.go), and account edits ([PlanAccountEdit]: the new record,
//     the audit entry of the changed fields, the consequences to tell the
//     editor; checked against the version the editor read, If-Match);
//     closing and reopening an account ([PlanAccountClose]: every billed
//     service's [PlanCancel] from the close day, the final invoice of the
//     days no invoice charged and the credits of those after, the credit
//     left kept or refunded out of the payments' unapplied credit, then
//     out of what payments paid for the credited days, which the final
//     credit note takes over ([PlanCreditNoteTakeover]);
//     [PlanAccountReopen]; [PaymentOnAccount]: a closed account's payment
//     stays credit, with a warning; accountclose.go).
//   - per-account overrides of the type's billing settings
//     ([AccountOverrides], inherit-or-override per setting): every decision
//     above uses [EffectiveType] of the account's type and overrides, and
//     a reason resting on an overridden setting says so ([Reason.Override]);
//     [PlanTypeChangeImpact] previews how many accounts a type change
//     reaches.
//   - staff search ([PlanSearch], search.go): what a query is looked for
//     as, from its shape (an IP or prefix, digits, a number, a phone, an
//     e-mail, text), and a hit's past-due amount ([SearchPastDue]).
//   - a service's move to another POP or binding and its edits in place
//     ([PlanServiceMove], [PlanServiceEdit], servicemove.go) say which POP's
//     agent removes the service and which applies it;
//   - IP address management (addresspool.go): a pool's space
//     ([AddressPool.Space]: prefix, delegation length, gateway and
//     excluded ranges), the next free address or delegated IPv6 prefix
//     given the blocks taken ([PoolSpace.NextFree]) and a pool's usage
//     ([PoolSpace.Usage]).
//
// A plan's speed is a [ServiceProfile] (rates, bursts, priority, vendor
// overrides; checked by [ServiceProfile.Validate]): the radius package
// renders it into each vendor's attributes. (Plans do not carry one yet,
// and agents enforce access only.)
//
// Credit on an account ([Standing.Credit]: credits, write-offs, the
// unallocated parts of payments, what open credit notes have left — a
// credit note is applied to the open invoices as they come,
// [PlanCreditNoteAllocations], creditnote.go) pays its oldest invoices first, before any
// fee: fees no invoice carries are owed but never past due, so the
// reconnection fee a restore charges cannot make the invoice a credit paid
// overdue again.
//
// # Deterministic simulation
//
// sim_test.go drives 1,000 seeded random sequences of business events
// (billing runs, manual, card and batch payments — some applied to invoices
// staff chose —, reversals, refunds, credits, late and reconnection fees,
// promises, exemptions, sweeps on random days; half the accounts with random
// overrides of the type's settings, changed mid-run) and, in
// sim_lifecycle_test.go, the service lifecycle (plan and quantity changes up
// and down, today, later or at the next period; cancels; pauses, with and
// without a hold fee and suspension; reallocations of posted payments)
// through these plans and an in-memory apply, and checks the money
// invariants after every step: journal transactions sum to zero, balances
// equal their entries, nothing is allocated beyond a payment's amount or an
// invoice's total, allocation events sum to the allocations, every status
// agrees with the effective type's rules (a sweep and a settlement are fixed
// points), every suspension has its cause, every restore meets the
// reactivation rule, the sweep and settlements leave a held (paused or
// cancelled) service alone, nothing is invoiced twice. Per service, day by
// day, against every line ever charged or credited: no day invoiced twice,
// none after a cancel's end, none at the plan while paused, the coverage at
// the terms in force each day and worth exactly what the lines net to. A
// failing seed is printed with its event log; replay it exactly with
//
//	TOLLGATE_SIM_SEED=<seed> go test -run '^TestSimulation$' ./controller/billing/
//
// TOLLGATE_SIM_BREAK=double-allocate, double-invoice, restore-early,
// cancel-credit, pause-charge or sweep-held breaks one rule in the
// simulator's apply on purpose, to watch the invariants catch it
// (TestSimulationCatchesBrokenRules does so for each, and checks the seed it
// names replays the same failure). The store's half, on PostgreSQL with
// transactions killed at random statements and lifecycle changes through the
// store, is controller/postgres's TestStoreSimulation, replayed the same way.
package billing
