// Package documents holds invoice, statement, remittance-slip and deposit-slip PDFs (issues 4, 9).
//
// It is part of the layout in DESIGN.md §4 and is empty until that work lands.
package documents
