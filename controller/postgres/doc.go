// Package postgres implements the controller's storage interfaces (declared
// in package billing) on PostgreSQL with pgx, and carries the embedded goose
// migrations that create the schema.
//
// Every desired-state change is written in the same transaction as the event
// that caused it, together with a row in the enforcement_changes outbox and a
// NOTIFY on [NotifyChannel] that wakes every controller replica's push hub
// when the transaction commits.
package postgres
