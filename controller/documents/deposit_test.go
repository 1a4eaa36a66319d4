package documents

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// These tests read rendered PDFs back with pdftotext (Debian's poppler-utils,
// installed by scripts/setup.sh). Without it they fail; they never skip.
//
// Rendered samples: set TOLLGATE_ARTIFACTS_DIR to a directory and the tests
// write the PDFs and CSV they render there (deposit-slip-sample.pdf,
// deposit-slip-300-checks.pdf, deposit-slip-sample.csv), for a person to look
// at, e.g.
//
//	TOLLGATE_ARTIFACTS_DIR=/tmp/slips go test ./controller/documents/

func sampleSlip() DepositSlip {
	return DepositSlip{
		Company:        Company{Name: "Prairie Fiber Co-op", Address: []string{"100 Main Street", "Springfield, IL 62701"}},
		BankName:       "First Prairie Bank",
		DepositAccount: "0012-3456-789",
		DepositDate:    billing.NewDate(2025, time.June, 2),
		Currency:       "USD",
		BatchIDs:       []int64{41, 42},
		PreparedBy:     "Jane Clerk",
		Items: []DepositItem{
			{Kind: KindCheck, CheckNumber: "1001", Payer: "Ada Lovelace", AccountNumber: "A-000042", Amount: 123456},
			{Kind: KindCash, Payer: "Bob Cash", AccountNumber: "A-000007", Amount: 2000},
			{Kind: KindCheck, CheckNumber: "1002", Payer: "Grace Hopper", AccountNumber: "A-000043", Amount: 5000},
			{Kind: KindMoneyOrder, CheckNumber: "MO-7788", Payer: "Carl Order", AccountNumber: "A-000050", Amount: 15000},
			{Kind: KindCheck, CheckNumber: "20077", Payer: "Zoë Ångström", AccountNumber: "A-000044", Amount: 1250075},
			{Kind: KindCash, Payer: "Dee Cash", AccountNumber: "A-000008", Amount: 1550},
		},
	}
}

// Sample totals: checks 1,234.56 + 50.00 + 12,500.75; cash 20.00 + 15.50;
// money order 150.00.
const (
	sampleChecks = 1378531
	sampleCash   = 3550
	sampleOther  = 15000
	sampleGrand  = 1397081
)

func TestTotals(t *testing.T) {
	checks, cash, other, grand, n := sampleSlip().Totals()
	if checks != sampleChecks || cash != sampleCash || other != sampleOther || grand != sampleGrand || n != 3 {
		t.Fatalf("Totals() = %d, %d, %d, %d, %d; want %d, %d, %d, %d, 3",
			checks, cash, other, grand, n, sampleChecks, sampleCash, sampleOther, sampleGrand)
	}
	var empty DepositSlip
	if c, k, o, g, n := empty.Totals(); c != 0 || k != 0 || o != 0 || g != 0 || n != 0 {
		t.Fatalf("empty Totals() = %d, %d, %d, %d, %d; want zeros", c, k, o, g, n)
	}
	wire := DepositSlip{Items: []DepositItem{{Kind: KindWire, Amount: 7}, {Kind: KindOther, Amount: 5}}}
	if _, _, o, g, _ := wire.Totals(); o != 12 || g != 12 {
		t.Fatalf("wire+other Totals() other=%d grand=%d; want 12, 12", o, g)
	}
}

func TestRenderDepositSlipPDF(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderDepositSlipPDF(&buf, sampleSlip()); err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "deposit-slip-sample.pdf", buf.Bytes())
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("output does not start with %%PDF-: %q", buf.Bytes()[:min(16, buf.Len())])
	}
	text := pdfText(t, buf.Bytes())
	lines := strings.Split(text, "\n")

	for _, want := range []string{
		"DEPOSIT SLIP", "Prairie Fiber Co-op", "100 Main Street", "Springfield, IL 62701",
		"First Prairie Bank", "****6789", "2025-06-02", "41, 42", "Jane Clerk",
		"Checks (3)", "Money orders and other items (1)", "page 1 of 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if strings.Contains(text, "0012-3456-789") || strings.Contains(text, "3456") {
		t.Errorf("PDF shows the deposit account unmasked:\n%s", text)
	}
	// Each check is one table row: number, payer, account and amount together.
	for _, row := range [][]string{
		{"1001", "Ada Lovelace", "A-000042", "1,234.56"},
		{"1002", "Grace Hopper", "A-000043", "50.00"},
		{"20077", "Zoë Ångström", "A-000044", "12,500.75"},
		{"Money order", "MO-7788", "Carl Order", "A-000050", "150.00"},
	} {
		if line := lineWith(lines, row...); line == "" {
			t.Errorf("no line of the PDF text has all of %q", row)
		}
	}
	// The summary, label and value on one line.
	for _, row := range [][]string{
		{"Number of checks", "3"},
		{"Check total", "13,785.31"},
		{"Cash total (2 payments)", "35.50"},
		{"Other total", "150.00"},
		{"Grand total (USD)", "13,970.81"},
		{"Total of 3 checks", "13,785.31"},
	} {
		if line := lineWith(lines, row...); line == "" {
			t.Errorf("no line of the PDF text has all of %q", row)
		}
	}
	// Cash is summed, not listed.
	if strings.Contains(text, "Bob Cash") {
		t.Errorf("cash payer listed in the PDF; cash belongs in the summary only")
	}
}

func TestRenderDepositSlipPDFPaginates(t *testing.T) {
	s := sampleSlip()
	s.Items = nil
	for i := 1; i <= 300; i++ {
		s.Items = append(s.Items, DepositItem{
			Kind: KindCheck, CheckNumber: fmt.Sprintf("CHK-%04d", i),
			Payer: fmt.Sprintf("Subscriber %03d", i), AccountNumber: fmt.Sprintf("A-%06d", i),
			Amount: int64(i) * 10001, // 100.01 × i
		})
	}
	s.Items = append(s.Items, DepositItem{Kind: KindCash, Amount: 100000}, DepositItem{Kind: KindWire, CheckNumber: "W-1", Payer: "Big Business LLC", Amount: 99999999})
	var buf bytes.Buffer
	if err := RenderDepositSlipPDF(&buf, s); err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "deposit-slip-300-checks.pdf", buf.Bytes())
	pages := strings.Split(strings.TrimSuffix(pdfText(t, buf.Bytes()), "\f"), "\f")
	n := len(pages)
	if n < 5 {
		t.Fatalf("300 checks rendered on %d pages; want several", n)
	}
	for i, p := range pages {
		if want := fmt.Sprintf("page %d of %d", i+1, n); !strings.Contains(p, want) {
			t.Errorf("page %d lacks %q", i+1, want)
		}
		if i > 0 && !strings.Contains(p, "(continued)") {
			t.Errorf("page %d lacks the continuation header", i+1)
		}
	}
	// Every page that holds checks repeats the column titles.
	seen := 0
	for i, p := range pages {
		count := strings.Count(p, "CHK-")
		if count > 0 && !strings.Contains(p, "Check no.") {
			t.Errorf("page %d lists %d checks without the table header", i+1, count)
		}
		seen += count
	}
	if seen != 300 {
		t.Errorf("the PDF lists %d checks; want 300", seen)
	}
	all := strings.Join(pages, "\n")
	lines := strings.Split(all, "\n")
	if lineWith(lines, "300", "CHK-0300", "Subscriber 300", "A-000300", "30,003.00") == "" {
		t.Errorf("the last check is not in the PDF text")
	}
	checks, cash, other, grand, _ := s.Totals()
	last := strings.Split(pages[n-1], "\n")
	for _, row := range [][]string{
		{"Number of checks", "300"},
		{"Check total", formatAmountGrouped(checks, "USD")},
		{"Cash total", formatAmountGrouped(cash, "USD")},
		{"Other total", formatAmountGrouped(other, "USD")},
		{"Grand total (USD)", formatAmountGrouped(grand, "USD")},
	} {
		if lineWith(last, row...) == "" {
			t.Errorf("the last page has no line with all of %q", row)
		}
	}
	if formatAmountGrouped(checks, "USD") != "4,515,451.50" {
		t.Errorf("check total %s; want 4,515,451.50", formatAmountGrouped(checks, "USD"))
	}
}

func TestRenderDepositSlipCSV(t *testing.T) {
	s := sampleSlip()
	var buf bytes.Buffer
	if err := RenderDepositSlipCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "deposit-slip-sample.csv", buf.Bytes())
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse back: %v\n%s", err, buf.String())
	}
	if got, want := strings.Join(recs[0], ","), "kind,check_number,payer,account_number,amount"; got != want {
		t.Fatalf("header %q; want %q", got, want)
	}
	items, summary := recs[1:1+len(s.Items)], recs[1+len(s.Items):]
	var sum int64
	for i, rec := range items {
		it := s.Items[i]
		want := []string{it.Kind, it.CheckNumber, it.Payer, it.AccountNumber, billing.FormatAmount(it.Amount, s.Currency)}
		if strings.Join(rec, "|") != strings.Join(want, "|") {
			t.Errorf("row %d = %q; want %q", i+1, rec, want)
		}
		sum += parseMinor(t, rec[4])
	}
	checks, cash, other, grand, n := s.Totals()
	want := map[string]int64{"check_count": int64(n), "check_total": checks, "cash_total": cash, "other_total": other, "grand_total": grand}
	if len(summary) != len(want) {
		t.Fatalf("%d summary rows; want %d: %q", len(summary), len(want), summary)
	}
	for _, rec := range summary {
		w, ok := want[rec[0]]
		if !ok {
			t.Errorf("unexpected summary row %q", rec)
			continue
		}
		var got int64
		if rec[0] == "check_count" {
			got, _ = strconv.ParseInt(rec[4], 10, 64)
		} else {
			got = parseMinor(t, rec[4])
		}
		if got != w {
			t.Errorf("%s = %s; want %d (minor units)", rec[0], rec[4], w)
		}
		delete(want, rec[0])
	}
	if sum != grand {
		t.Errorf("item amounts sum to %d; grand_total is %d", sum, grand)
	}
}

func TestCSVFormulaInjection(t *testing.T) {
	cases := map[string]string{
		"=HYPERLINK(\"http://x\",\"y\")": "'=HYPERLINK(\"http://x\",\"y\")",
		"+1+1":                           "'+1+1",
		"-2+3":                           "'-2+3",
		"@SUM(A1:A2)":                    "'@SUM(A1:A2)",
		"\t=1+1":                         "'=1+1", // a leading tab is no hiding place
		"  =1+1":                         "'=1+1",
		"Ada Lovelace":                   "Ada Lovelace",
		"O'Brien-Smith":                  "O'Brien-Smith",
		"line\nbreak":                    "line break",
	}
	s := sampleSlip()
	s.Items = nil
	for payer := range cases {
		s.Items = append(s.Items, DepositItem{Kind: KindCheck, CheckNumber: "=cmd", Payer: payer, AccountNumber: "@A1", Amount: 100})
	}
	var buf bytes.Buffer
	if err := RenderDepositSlipCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range s.Items {
		rec := recs[i+1]
		if want := cases[it.Payer]; rec[2] != want {
			t.Errorf("payer %q written as %q; want %q", it.Payer, rec[2], want)
		}
		if rec[1] != "'=cmd" || rec[3] != "'@A1" {
			t.Errorf("check number / account written as %q / %q; want guarded", rec[1], rec[3])
		}
	}
}

func TestDepositSlipErrors(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*DepositSlip)
		wants []string
	}{
		{"unknown kind", func(s *DepositSlip) { s.Items[2].Kind = "bitcoin" }, []string{"item 3", "1002", "Grace Hopper", `unknown kind "bitcoin"`}},
		{"negative amount", func(s *DepositSlip) { s.Items[0].Amount = -5 }, []string{"item 1", "1001", "amount -5 is negative"}},
		{"missing currency", func(s *DepositSlip) { s.Currency = "" }, []string{"currency is missing"}},
		{"unsupported currency", func(s *DepositSlip) { s.Currency = "XYZ" }, []string{`currency "XYZ"`}},
		{"missing date", func(s *DepositSlip) { s.DepositDate = billing.Date{} }, []string{"deposit date is missing"}},
		{"no items", func(s *DepositSlip) { s.Items = nil }, []string{"no items"}},
		{"overflow", func(s *DepositSlip) { s.Items[0].Amount, s.Items[1].Amount = 1<<62, 1<<62 }, []string{"grand total"}},
		{"several", func(s *DepositSlip) { s.Currency = ""; s.Items[4].Kind = "" }, []string{"currency is missing", "item 5", `unknown kind ""`}},
	}
	render := map[string]func(io.Writer, DepositSlip) error{"PDF": RenderDepositSlipPDF, "CSV": RenderDepositSlipCSV}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sampleSlip()
			c.edit(&s)
			for kind, fn := range render {
				var buf bytes.Buffer
				err := fn(&buf, s)
				var e *billing.Error
				if !errors.As(err, &e) || e.Code != billing.EINVALID {
					t.Fatalf("%s: got %v; want an EINVALID *billing.Error", kind, err)
				}
				for _, w := range c.wants {
					if !strings.Contains(e.Message, w) {
						t.Errorf("%s: error %q does not mention %q", kind, e.Message, w)
					}
				}
				if buf.Len() != 0 {
					t.Errorf("%s: wrote %d bytes for an invalid slip", kind, buf.Len())
				}
			}
			if err := s.Validate(); err == nil {
				t.Errorf("Validate() = nil")
			}
		})
	}
	if err := sampleSlip().Validate(); err != nil {
		t.Fatalf("sample slip: %v", err)
	}
}

func TestLowercaseCurrencyAndZeroDecimals(t *testing.T) {
	s := sampleSlip()
	s.Currency = "usd"
	var buf bytes.Buffer
	if err := RenderDepositSlipCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ",1234.56\n") {
		t.Errorf("lower-case usd not formatted with 2 decimals:\n%s", buf.String())
	}
	s.Currency = "JPY"
	buf.Reset()
	if err := RenderDepositSlipPDF(&buf, s); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(pdfText(t, buf.Bytes()), "\n")
	if lineWith(lines, "1001", "Ada Lovelace", "123,456") == "" || lineWith(lines, "Grand total (JPY)", "1,397,081") == "" {
		t.Errorf("JPY amounts not shown as whole yen with separators")
	}
}

func TestFormatAmountGrouped(t *testing.T) {
	cases := []struct {
		amount int64
		cur    billing.Currency
		want   string
	}{
		{0, "USD", "0.00"}, {5, "USD", "0.05"}, {99999, "USD", "999.99"}, {100000, "USD", "1,000.00"},
		{123456, "USD", "1,234.56"}, {123456789012, "USD", "1,234,567,890.12"}, {-123456, "USD", "-1,234.56"},
		{1234567, "JPY", "1,234,567"}, {123, "JPY", "123"}, {1234567, "KWD", "1,234.567"},
		{-9223372036854775808, "USD", "-92,233,720,368,547,758.08"},
	}
	for _, c := range cases {
		if got := formatAmountGrouped(c.amount, c.cur); got != c.want {
			t.Errorf("formatAmountGrouped(%d, %s) = %q; want %q", c.amount, c.cur, got, c.want)
		}
	}
}

func TestMaskAccount(t *testing.T) {
	for in, want := range map[string]string{
		"0012-3456-789": "****6789", "  --  ": "", "123456789": "****6789", " 12345 ": "****2345",
		"1234": "****", "12": "****", "": "",
	} {
		if got := maskAccount(in); got != want {
			t.Errorf("maskAccount(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestLongTextIsCutNotSpilled(t *testing.T) {
	s := sampleSlip()
	s.Items[0].Payer = strings.Repeat("Very Long Payer Name ", 10) + "END"
	s.Items[0].Amount = 999999999999999 // 9,999,999,999,999.99 still shows whole
	var buf bytes.Buffer
	if err := RenderDepositSlipPDF(&buf, s); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	if strings.Contains(text, "END") {
		t.Errorf("an overlong payer name was printed whole, past its column")
	}
	if line := lineWith(strings.Split(text, "\n"), "1001", "Very Long Payer Name", "...", "A-000042"); line == "" {
		t.Errorf("an overlong payer name was not cut with ... inside its column:\n%s", text)
	}
	if !strings.Contains(text, "9,999,999,999,999.99") {
		t.Errorf("a large amount was not printed whole")
	}
}

// lineWith returns the first line containing every fragment, or "".
func lineWith(lines []string, fragments ...string) string {
next:
	for _, l := range lines {
		for _, f := range fragments {
			if !strings.Contains(l, f) {
				continue next
			}
		}
		return l
	}
	return ""
}

var decimalRE = regexp.MustCompile(`^(\d+)\.(\d\d)$`)

// parseMinor parses a USD decimal string ("1234.56") into minor units.
func parseMinor(t *testing.T, s string) int64 {
	t.Helper()
	m := decimalRE.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("amount %q is not a plain decimal with 2 places", s)
	}
	units, _ := strconv.ParseInt(m[1], 10, 64)
	cents, _ := strconv.ParseInt(m[2], 10, 64)
	return units*100 + cents
}

// pdfText extracts a PDF's text with pdftotext -layout (pages end in \f).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext is not installed; run `bash scripts/setup.sh` (it installs Debian's poppler-utils), then rerun the tests: %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "slip.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-layout", "-enc", "UTF-8", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// saveArtifact writes a rendered document to $TOLLGATE_ARTIFACTS_DIR, if set.
func saveArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := os.Getenv("TOLLGATE_ARTIFACTS_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("TOLLGATE_ARTIFACTS_DIR: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatalf("TOLLGATE_ARTIFACTS_DIR: %v", err)
	}
	t.Logf("wrote %s", path)
}

func TestCashOnlySlip(t *testing.T) {
	s := sampleSlip()
	s.Items = []DepositItem{{Kind: KindCash, Payer: "Bob", Amount: 2000}, {Kind: KindCash, Amount: 123400}}
	s.BatchIDs, s.PreparedBy, s.Company.Address = nil, "", nil
	var buf bytes.Buffer
	if err := RenderDepositSlipPDF(&buf, s); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	lines := strings.Split(text, "\n")
	if strings.Contains(text, "Checks (") || strings.Contains(text, "Money orders and other items") {
		t.Errorf("a cash-only slip shows item tables:\n%s", text)
	}
	for _, row := range [][]string{{"Number of checks", "0"}, {"Cash total (2 payments)", "1,254.00"}, {"Grand total (USD)", "1,254.00"}} {
		if lineWith(lines, row...) == "" {
			t.Errorf("no line of the PDF text has all of %q:\n%s", row, text)
		}
	}
}

func TestSplitDepositAccount(t *testing.T) {
	for _, tc := range []struct{ in, bank, account string }{
		{"First Prairie Bank 0012-3456-789", "First Prairie Bank", "0012-3456-789"},
		{"First Bank ****1234", "First Bank", "****1234"},
		{"Bank 1 of Texas - 123 456", "Bank 1 of Texas", "123 456"},
		{"  0012-3456-789 ", "", "0012-3456-789"},
		{"Credit Union", "Credit Union", ""},
		{"", "", ""},
	} {
		if bank, account := SplitDepositAccount(tc.in); bank != tc.bank || account != tc.account {
			t.Errorf("SplitDepositAccount(%q) = %q, %q; want %q, %q", tc.in, bank, account, tc.bank, tc.account)
		}
	}
}
