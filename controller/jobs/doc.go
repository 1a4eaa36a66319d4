// Package jobs holds durable background work on River: billing runs, late fees, delinquency sweeps, autopay and delivery (issues 3-5, 9).
//
// It is part of the layout in DESIGN.md §4 and is empty until that work lands.
package jobs
