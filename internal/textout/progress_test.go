package textout

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRenderProgress(t *testing.T) {
	for _, tc := range []struct {
		done, total int
		detail      string
		want        string
	}{
		{4700, 10000, "3,100 invoices", "[=========>          ] 47%  4,700/10,000 accounts  3,100 invoices"},
		{0, 10, "", "[>                   ] 0%  0/10 accounts"},
		{10, 10, "", "[====================] 100%  10/10 accounts"},
		{0, 0, "", "[====================] 100%  0/0 accounts"},
		{12, 10, "", "[====================] 100%  12/10 accounts"},
		{1, 3, "", "[======>             ] 33%  1/3 accounts"},
		{57, 100, "", "[===========>        ] 57%  57/100 accounts"},
	} {
		if got := renderProgress(tc.done, tc.total, 20, "accounts", tc.detail); got != tc.want {
			t.Errorf("renderProgress(%d, %d) =\n%q, want\n%q", tc.done, tc.total, got, tc.want)
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4700: "-4,700"} {
		if got := Commas(n); got != want {
			t.Errorf("Commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProgressOnTerminalRedraws(t *testing.T) {
	var b bytes.Buffer
	p := &Progress{w: &b, tty: true, unit: "accounts", width: 10, every: 2 * time.Second, now: time.Now}
	p.Update(1, 4, "")
	p.Update(1, 4, "") // unchanged: not redrawn
	p.Update(4, 4, "")
	p.Done()
	want := "\r[==>       ] 25%  1/4 accounts\x1b[K\r[==========] 100%  4/4 accounts\x1b[K\n"
	if b.String() != want {
		t.Errorf("terminal output %q, want %q", b.String(), want)
	}
}

func TestProgressElsewherePrintsLinesEveryInterval(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &Progress{w: &b, unit: "accounts", width: 10, every: 2 * time.Second, now: func() time.Time { return now }}
	p.Update(1, 10, "") // first: printed
	now = now.Add(time.Second)
	p.Update(2, 10, "") // too soon
	now = now.Add(1500 * time.Millisecond)
	p.Update(3, 10, "") // 2.5 s later: printed
	now = now.Add(100 * time.Millisecond)
	p.Update(10, 10, "") // the end is always printed
	p.Done()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "1/10") || !strings.Contains(lines[1], "3/10") || !strings.Contains(lines[2], "10/10") {
		t.Errorf("lines %q, want 1/10, 3/10 and 10/10", lines)
	}
	if strings.Contains(b.String(), "\r") {
		t.Error("carriage return written to a non-terminal")
	}
}
