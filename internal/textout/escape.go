package textout

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// EscapeControl makes text that came from data safe to print on a
// terminal: every control character except newline and tab (C0, DEL and
// C1) and every byte that is not UTF-8 is shown as an escape (\x1b, \r,
// \u009b), so a name or memo cannot move the cursor, recolour or clear the
// screen, or hide what precedes it.
func EscapeControl(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Escaper is a writer that escapes control characters (EscapeControl) in
// what it writes to W. Binary output (a PDF to standard output) goes to
// Raw of it instead.
type Escaper struct{ W io.Writer }

func (e Escaper) Write(p []byte) (int, error) {
	if _, err := io.WriteString(e.W, EscapeControl(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Raw is the writer under w's escaping if w is an Escaper, else w: for
// binary output.
func Raw(w io.Writer) io.Writer {
	if e, ok := w.(Escaper); ok {
		return e.W
	}
	return w
}
