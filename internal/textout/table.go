package textout

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table is rows of cells aligned in columns under a header, two spaces
// apart. Each cell is fmt.Sprint of its value with control characters
// escaped (EscapeControl) and tabs and line breaks shown as spaces, so a
// cell is one cell of one line whatever the data holds.
type Table struct{ tw *tabwriter.Writer }

// NewTable starts a table on w with these column headers (none: no header
// line).
func NewTable(w io.Writer, columns ...string) *Table {
	t := &Table{tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(columns) > 0 {
		fmt.Fprintln(t.tw, strings.Join(columns, "\t"))
	}
	return t
}

// Row adds a row of cells.
func (t *Table) Row(cells ...any) {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(cellFlattener.Replace(EscapeControl(fmt.Sprint(c))))
	}
	b.WriteByte('\n')
	_, _ = io.WriteString(t.tw, b.String())
}

var cellFlattener = strings.NewReplacer("\t", " ", "\n", " ")

// Flush writes the table out. Errors: the writer's.
func (t *Table) Flush() error { return t.tw.Flush() }

// Rows prints items as a table with these comma-separated headers and one
// row per item. Errors: the writer's.
func Rows[T any](w io.Writer, items []T, headers string, row func(T) []any) error {
	t := NewTable(w, strings.Split(headers, ",")...)
	for _, it := range items {
		t.Row(row(it)...)
	}
	return t.Flush()
}

// Skip, as a value of Fields, leaves its row out.
type Skip struct{}

// Fields prints label, value pairs as aligned "Label: value" rows, each
// value printed with fmt.Sprint; a value Skip{} leaves its row out (see
// Only). Unlike a Table's cells, values are written as they are: print
// data through an Escaper. Errors: the writer's.
func Fields(w io.Writer, pairs ...any) error {
	t := NewTable(w)
	for i := 0; i+1 < len(pairs); i += 2 {
		if _, ok := pairs[i+1].(Skip); !ok {
			fmt.Fprintf(t.tw, "%s:\t%v\n", pairs[i], pairs[i+1])
		}
	}
	return t.Flush()
}

// Only is v if cond, else Skip{} (Fields leaves the row out).
func Only(cond bool, v any) any {
	if cond {
		return v
	}
	return Skip{}
}

// OrSkip is *p, or Skip{} for nil.
func OrSkip[T any](p *T) any {
	if p == nil {
		return Skip{}
	}
	return *p
}

// Bullets prints "\nTitle:" and the items as a bulleted list (written as
// they are, like Fields' values); with no items, nothing unless always. It
// says whether it printed.
func Bullets(w io.Writer, title string, items []string, always bool) bool {
	if len(items) == 0 && !always {
		return false
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, it := range items {
		fmt.Fprintf(w, "  - %s\n", it)
	}
	return true
}
