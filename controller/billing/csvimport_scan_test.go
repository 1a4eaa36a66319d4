package billing

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// An account whose rows are spread over the file comes in several runs;
// its later rows are compared with its first one, read again from the
// file, and the problems are those ParseAccountsCSV (which keeps every
// first row) finds.
func TestScanAccountsCSVSpreadAccount(t *testing.T) {
	const file = "external_id,name,account_type,currency,service_name,pop\n" +
		"c-1,Jane Doe,residential,USD,home,north-1\n" +
		"c-2,Acme,commercial,USD,,\n" +
		"c-1,Jane Roe,residential,USD,cabin,north-1\n" +
		"c-1,Jane Doe,residential,USD,home,north-1\n"
	var runs []ImportRun
	var got []ImportError
	sum, err := ScanAccountsCSV(strings.NewReader(file), strings.NewReader(file), func(r ImportRun) error {
		runs = append(runs, r)
		got = append(got, r.Errors...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 4 || sum.Accounts != 2 || len(runs) != 3 {
		t.Fatalf("scan: %+v, %d runs", sum, len(runs))
	}
	if r := runs[2]; r.Index != 0 || r.First || r.Parsed || r.AccountLine != 2 || r.Line != 4 || r.Rows != 2 || r.Account.ExternalID != "c-1" {
		t.Errorf("c-1's second run: %+v", r)
	}
	whole, err := ParseAccountsCSV(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	SortImportErrors(got)
	want := whole.Problems()
	if !slices.Equal(got, want) || len(want) != 2 {
		t.Fatalf("scan found %v; parse %v", got, want)
	}
	if !strings.Contains(want[0].Reason, `name "Jane Roe" differs from "Jane Doe" on line 2`) || want[0].Line != 4 ||
		!strings.Contains(want[1].Reason, `service_name "home" appears twice for external_id "c-1" (lines 2 and 5)`) {
		t.Errorf("problems: %v", want)
	}
	if a := whole.Accounts[0]; a.Rows != 3 || len(a.Services) != 3 || a.Account.Name != "Jane Doe" || a.Line != 2 {
		t.Errorf("c-1 parsed whole: %+v", a)
	}
}

// Scanning a file holds on to none of its text: the live heap while
// 100,000 accounts of about 400 bytes each are read (40 MB) grows by what
// the checks across rows keep (their external ids), not by the file.
func TestScanAccountsCSVHoldsNoFile(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("external_id,name,address_line1,account_type,currency\n")
	for i := range MaxImportRows {
		fmt.Fprintf(&b, "m-%06d,Name %s,%s,residential,USD\n", i, strings.Repeat("n", 190), strings.Repeat("1", 190))
	}
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var first, peak uint64
	_, err := ScanAccountsCSV(bytes.NewReader(b.Bytes()), bytes.NewReader(b.Bytes()), func(r ImportRun) error {
		if len(r.Errors) > 0 {
			t.Fatalf("line %d: %v", r.Line, r.Errors)
		}
		switch {
		case r.Index == 0:
			first = live()
		case r.Index%20_000 == 0 || r.Index == MaxImportRows-1:
			peak = max(peak, live())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("live heap: %d MiB after the first account, at most %d MiB later (the file is %d MiB)", first>>20, peak>>20, b.Len()>>20)
	if peak-first > 24<<20 {
		t.Errorf("the live heap grew by %d MiB while scanning a %d MiB file", (peak-first)>>20, b.Len()>>20)
	}
}

// ImportProblems lists the first MaxListedImportProblems problems in
// order, whatever order they come in, and counts them all and their lines.
func TestImportProblemsKeepsTheFirstInOrder(t *testing.T) {
	var p ImportProblems
	for line := 1500; line >= 1; line-- {
		p.Add(ImportError{Line: line + 1, Column: "name", Reason: "bad"})
	}
	p.Add(ImportError{Line: 2, Column: "email", Reason: "bad"}, ImportError{Line: 1, Column: "x", Reason: "unknown column"})
	if p.Count != 1502 || p.Lines != 1501 || len(p.Listed) != MaxListedImportProblems || p.Unlisted() != 502 {
		t.Fatalf("count %d, lines %d, listed %d, unlisted %d", p.Count, p.Lines, len(p.Listed), p.Unlisted())
	}
	if p.Listed[0].Line != 1 || p.Listed[1].Column != "email" || p.Listed[2].Column != "name" || p.Listed[2].Line != 2 ||
		p.Listed[MaxListedImportProblems-1].Line != MaxListedImportProblems-1 {
		t.Errorf("listed %v … %v", p.Listed[:3], p.Listed[MaxListedImportProblems-1])
	}
}
