package textout

import (
	"bytes"
	"testing"
)

func TestEscapeControl(t *testing.T) {
	if got := EscapeControl("a\tb\nc\x00d\x7fe\xffé\r\u009b"); got != "a\tb\nc\\x00d\\x7fe\\xffé\\r\\u009b" {
		t.Errorf("EscapeControl = %q", got)
	}
	var b bytes.Buffer
	e := Escaper{W: &b}
	if n, err := e.Write([]byte("x\x1b[2Jy")); err != nil || n != 6 || b.String() != `x\x1b[2Jy` {
		t.Errorf("Escaper wrote %q (%d, %v)", b.String(), n, err)
	}
	if Raw(e) != &b || Raw(&b) != &b {
		t.Error("Raw is not the writer under the escaping")
	}
}

// TestTableCellsStayOnOneLine: a cell holding a tab, a line break or an
// escape sequence stays one cell of one line, aligned with the others.
func TestTableCellsStayOnOneLine(t *testing.T) {
	var b bytes.Buffer
	err := Rows(&b, []string{"Jane\tDoe\nJr", "\x1b[2Jx"}, "NAME,LEN", func(s string) []any { return []any{s, len(s)} })
	want := "NAME         LEN\nJane Doe Jr  11\n\\x1b[2Jx     5\n"
	if err != nil || b.String() != want {
		t.Errorf("table:\n%q, want\n%q (%v)", b.String(), want, err)
	}
}

func TestFieldsSkipsRows(t *testing.T) {
	var b bytes.Buffer
	var none *int
	one := 1
	err := Fields(&b, "Name", "Jane", "Gone", Only(false, "x"), "Nil", OrSkip(none), "One", OrSkip(&one))
	if want := "Name:  Jane\nOne:   1\n"; err != nil || b.String() != want {
		t.Errorf("fields:\n%q, want\n%q (%v)", b.String(), want, err)
	}
	b.Reset()
	if Bullets(&b, "Why", nil, false) || b.Len() > 0 || !Bullets(&b, "Why", []string{"late"}, false) || b.String() != "\nWhy:\n  - late\n" {
		t.Errorf("bullets: %q", b.String())
	}
}
