// Package delivery holds invoice delivery by email and print-to-mail vendors through an outbox (issue 9).
//
// It is part of the layout in DESIGN.md §4 and is empty until that work lands.
package delivery
