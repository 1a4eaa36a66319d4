// Package portal holds the customer portal and captive landing pages, server-rendered HTML (issue 8).
//
// It is part of the layout in DESIGN.md §4 and is empty until that work lands.
package portal
