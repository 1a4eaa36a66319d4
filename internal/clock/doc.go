// Package clock provides the time source that every Tollgate component takes
// by injection, so tests and the demo can run a month of billing in seconds.
package clock
