package documents

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// TestRenderAgingPDF: the aging report computed by controller/reports
// prints its totals (overall, by type, by POP) and each account's buckets
// on one page; a report of more accounts than AgingPrintRows prints that
// many, says how many more the CSV has, and repeats the column titles on
// every page; an unknown currency is refused and nothing is written.
func TestRenderAgingPDF(t *testing.T) {
	asOf := billing.NewDate(2026, 12, 31)
	accounts := []reports.AgingAccount{
		{AccountID: 1, Number: "A-000001", Name: "Ana Muñoz", AccountType: "residential", POP: "north", Currency: "USD", Balance: 12000},
		{AccountID: 2, Number: "A-000002", Name: "Bo's Bakery", AccountType: "business", POP: "south", Currency: "USD", Balance: 250000},
		{AccountID: 3, Number: "A-000003", Name: "Cy", AccountType: "residential", POP: "north", Currency: "USD", Balance: -1500},
	}
	invoices := []reports.AgingInvoice{
		{AccountID: 1, DueDate: billing.NewDate(2026, 12, 20), Open: 5000}, // 11 days past due
		{AccountID: 1, DueDate: billing.NewDate(2027, 1, 10), Open: 7000},  // current
		{AccountID: 2, DueDate: billing.NewDate(2026, 9, 1), Open: 250000}, // 121 days
	}
	r := reports.Aging(asOf, accounts, invoices, true)
	var buf bytes.Buffer
	if err := RenderAgingPDF(&buf, Company{Name: "Prairie Fiber Co-op"}, r); err != nil {
		t.Fatal(err)
	}
	keepArtifact(t, "ar-aging.pdf", buf.Bytes())
	pages := pdfPages(t, buf.Bytes())
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	wantLines(t, pages[0], []string{"ACCOUNTS RECEIVABLE AGING"}, []string{"As of December 31, 2026"},
		[]string{"Current", "1-30", "31-60", "61-90", "Over 90", "Unapplied", "Total"},
		[]string{"All accounts", "3 accounts", "70.00", "50.00", "2,500.00", "-15.00", "2,605.00"},
		[]string{"Type: business", "1 account", "2,500.00"},
		[]string{"Type: residential", "2 accounts", "70.00", "50.00", "-15.00", "105.00"},
		[]string{"POP: north", "2 accounts"},
		[]string{"A-000001", "Ana Muñoz", "residential", "70.00", "50.00", "120.00"},
		[]string{"A-000002", "Bo's Bakery", "business", "2,500.00", "2,500.00"},
		[]string{"A-000003", "Cy", "-15.00", "-15.00"})

	var many []reports.AgingAccount
	for i := range AgingPrintRows + 7 {
		many = append(many, reports.AgingAccount{AccountID: int64(i + 1), Number: fmt.Sprintf("A-%06d", i+1), Name: "Subscriber",
			AccountType: "residential", Currency: "USD", Balance: 1000})
	}
	buf.Reset()
	if err := RenderAgingPDF(&buf, Company{Name: "Prairie Fiber Co-op"}, reports.Aging(asOf, many, nil, true)); err != nil {
		t.Fatal(err)
	}
	pages = pdfPages(t, buf.Bytes())
	if len(pages) < 50 {
		t.Fatalf("%d rows on %d pages", len(many), len(pages))
	}
	last := pages[len(pages)-1]
	wantLines(t, last, []string{"7 more accounts are not printed"}, []string{fmt.Sprintf("Page %d of %d", len(pages), len(pages))})
	for i, p := range pages[1:] {
		if !strings.Contains(p, "(continued)") || (i < len(pages)-2 && !strings.Contains(p, "Unapplied")) {
			t.Fatalf("page %d lacks the continued heading or the column titles:\n%s", i+2, p)
		}
	}
	all := strings.Join(pages, "\n")
	if !strings.Contains(all, fmt.Sprintf("A-%06d", AgingPrintRows)) || strings.Contains(all, fmt.Sprintf("A-%06d", AgingPrintRows+1)) {
		t.Fatalf("the printed rows are not the first %d", AgingPrintRows)
	}

	bad := r
	bad.Rows = append([]reports.AgingRow{}, r.Rows...)
	bad.Rows[0].Currency = "XXX"
	buf.Reset()
	if err := RenderAgingPDF(&buf, Company{}, bad); billing.ErrorCode(err) != billing.EINVALID || buf.Len() != 0 {
		t.Fatalf("unknown currency: %v, %d bytes written", err, buf.Len())
	}
}
