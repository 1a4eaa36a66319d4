// Package api is the controller's admin REST API for billing staff and
// tooling: JSON over HTTP, described by an OpenAPI 3.1 document at
// /api/v1/openapi.json, errors as RFC 9457 problem+json, bearer tokens with
// roles, and an Idempotency-Key on every mutating request.
//
// Domain errors (billing.Error codes) map to HTTP statuses in one place,
// [statusFor]. Edits take If-Match with the version a GET's ETag gave: a
// stale one is answered 412 with the current version, a missing one 428.
//
// Storage is reached through small ports declared beside the handlers that
// use them (AccountTypeStore, PlanStore, AccountStore, InvoiceStore,
// BillingRunStore in billing.go; PaymentStore, RefundStore, BatchStore in
// payments.go; CollectionStore, MethodStore, …), each method's doc stating
// the coded errors it returns. [Deps] takes the one store that implements a
// group of them ([BillingPorts], [PaymentPorts]) and [NewServer] hands each
// group of handlers only its own port.
package api
