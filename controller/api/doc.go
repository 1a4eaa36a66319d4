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
//
// Callers: service tokens (for integrations) come from the config and are
// compared by SHA-256 in constant time; with [Deps].Staff, staff users'
// personal tokens (tgp_…, package staff) are looked up by their hash and
// act with their user's role — refused with 401 once revoked or expired or
// while the user is disabled. Audit entries, status history and journal
// transactions record the caller as user:<name> (for a service token, its
// configured name). Operations whose request or response carries a secret
// (adding a staff user with a password, creating a token, resetting TOTP)
// take no Idempotency-Key, so the secret is never hashed or stored for
// replay.
package api
