// Package billing is Tollgate's domain core: the vocabulary of the controller
// (services and their desired enforcement state, and, as the product grows,
// money, account types, invoices and the ledger), the rules that operate on
// it, and the interfaces that storage adapters implement.
//
// It is pure Go: it performs no I/O and imports neither pgx nor gRPC. Errors
// it defines carry a [Code] that the API layer maps to HTTP and gRPC statuses
// in one place.
//
// Collection decisions are plans computed from plain inputs: the sweep's
// ([SweepVerdict], [PlanSweep]), the settlement after money moved
// ([PlanSettlement]) and the approval of held suspensions ([PlanApproval])
// say which statuses change and why ([Reason]), which services to suspend
// or restore, what the guard holds, which fees to charge and which notices
// to queue. The store reads their inputs in bulk and applies a plan as it
// is, in one transaction. Service lifecycle changes (plan and quantity
// changes, cancel, pause, suspended days, billing-day and price changes)
// are plans too ([LifecyclePlan], lifecycle.go), and so are a service's move
// to another POP or binding and its edits in place ([PlanServiceMove],
// [PlanServiceEdit], servicemove.go), which say which POP's agent removes
// the service and which applies it.
package billing
