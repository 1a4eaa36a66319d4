// Package billing is Tollgate's domain core: the vocabulary of the controller
// (services and their desired enforcement state, and, as the product grows,
// money, account types, invoices and the ledger), the rules that operate on
// it, and the interfaces that storage adapters implement.
//
// It is pure Go: it performs no I/O and imports neither pgx nor gRPC. Errors
// it defines carry a [Code] that the API layer maps to HTTP and gRPC statuses
// in one place.
package billing
