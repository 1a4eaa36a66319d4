// Package payments holds the payment gateway interface, the built-in sandbox gateway and the Stripe adapter (issue 4).
//
// It is part of the layout in DESIGN.md §4 and is empty until that work lands.
package payments
