package textout

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Progress shows the progress of long work (on standard error, say): on a
// terminal a bar redrawn in place,
//
//	[=========>          ] 47%  4,700/10,000 accounts  3,100 invoices
//
// and elsewhere (a log file, CI) the same line printed every two seconds, so logs
// get a readable trail instead of carriage returns.
type Progress struct {
	w     io.Writer
	tty   bool
	unit  string        // what is counted: "accounts"
	width int           // of the bar, between the brackets
	every time.Duration // between lines when w is not a terminal
	now   func() time.Time

	last    time.Time
	printed string // the last line shown
	drawn   bool   // a bar is on the terminal's current line
}

// NewProgress returns a progress display on w counting unit.
func NewProgress(w io.Writer, unit string) *Progress {
	return &Progress{w: w, tty: isTerminal(w), unit: unit, width: 20, every: 2 * time.Second, now: time.Now}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Update shows done of total units, with detail ("3,100 invoices") after
// the counts.
func (p *Progress) Update(done, total int, detail string) {
	line := renderProgress(done, total, p.width, p.unit, detail)
	if p.tty {
		if line != p.printed {
			fmt.Fprintf(p.w, "\r%s\x1b[K", line)
			p.printed, p.drawn = line, true
		}
		return
	}
	now := p.now()
	if line == p.printed || (!p.last.IsZero() && now.Sub(p.last) < p.every && done < total) {
		return
	}
	fmt.Fprintln(p.w, line)
	p.printed, p.last = line, now
}

// Done ends the display (the bar's line stays on the terminal).
func (p *Progress) Done() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// renderProgress draws one progress line.
func renderProgress(done, total, width int, unit, detail string) string {
	done = max(done, 0)
	// Integer arithmetic: 57/100 must show 57%, not 56%.
	d, t := int64(min(done, total)), int64(total)
	if total <= 0 {
		d, t = 1, 1
	}
	filled := int(d * int64(width) / t)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	line := fmt.Sprintf("[%s] %d%%  %s/%s %s", bar, d*100/t, Commas(int64(done)), Commas(int64(total)), unit)
	if detail != "" {
		line += "  " + detail
	}
	return line
}

// Commas formats n with thousands separators: 10000 → "10,000".
func Commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign, digits := "", s
	if n < 0 {
		sign, digits = "-", s[1:]
	}
	for i := len(digits) - 3; i > 0; i -= 3 {
		digits = digits[:i] + "," + digits[i:]
	}
	return sign + digits
}
