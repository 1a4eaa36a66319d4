// Package textout prints text for people at a terminal: tables aligned in
// columns, "Label: value" views and bulleted lists whose cells cannot break
// the layout, numbers with thousands separators, and a progress bar that
// redraws in place on a terminal and prints a line now and then elsewhere.
// Text that came from data (names, memos, errors a bank file carried) is
// shown with its control characters escaped, so it cannot move the cursor,
// recolour or clear the screen.
//
// tollgatectl prints every table, view and progress bar through it, and
// the benchmark report (internal/tools/benchreport) its table of figures.
// It imports only the standard library.
package textout
