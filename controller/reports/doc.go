// Package reports holds the arithmetic of billing staff's and the
// accountant's reports — accounts receivable aging, tax liability,
// payments and their reconciliation against deposit slips — and of the
// period close, as pure functions of plain inputs.
//
// The store (controller/postgres) reads the inputs in bulk, as of a date
// D: everything effective on or before D, from the journal
// (journal_transactions.effective_date) and the dated allocation history
// (allocation_events.effective_date). The functions here decide what is
// past due, which bucket it falls in, what is taxable, what reduces the
// tax owed and what is missing from a deposit; the store decides nothing.
// Like controller/billing, the package performs no I/O and depends only on
// the standard library and the domain core's vocabulary (billing.Date).
//
// # Closed periods never change
//
// Staff close a month ([CheckClose]). From then on nothing posts into it:
// every journal transaction and allocation event dated on or before the
// last closed day is moved, as it is inserted, to the first open day, its
// own date kept as original_date (a BEFORE INSERT trigger in migration
// 00042, the one place every writer — single posts, batch COPYs, sweeps —
// passes through, as the journal's balance trigger is). Every report here
// reads effective dates, so a report of a closed period (or as of a date in
// it) reads the same rows forever; a billing run for a closed date is
// refused (422). Because of that the store keeps, per close, every
// account's receivable balance at its last day (migration 00046), and
// reads aging's balances as of D from the latest such snapshot on or
// before D plus the journal after it.
//
// # Accounting exports map the journal at export
//
// The journal keeps seven fixed ledgers, the invariants the database
// checks. The accountant's chart of accounts is finer — revenue per plan or
// plan family, tax payable per jurisdiction, a bank per deposit account, a
// clearing account per gateway, fees, write-offs ([ChartOfAccounts], from
// the controller's accounting: configuration). [Postings] applies it when a
// period is exported, from the journal plus what each transaction points
// at (the invoice's lines and their plans, the account's jurisdiction, the
// payment's method, batch and gateway), rather than by extending the ledger
// set by migration: the journal stays immutable and small, a change of the
// chart applies to the next export without rewriting history, and one
// journal serves QuickBooks Online and Xero, whose charts differ. Each
// document's external id derives from its journal transaction's id
// ([ExternalID]), so an export repeated with --all carries the same ids;
// the store records which documents each export carried, and the default
// export carries only the ones not exported before ([Select]).
package reports
