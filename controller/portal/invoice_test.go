package portal_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// The invoice page shows the billing period with its inclusive last day,
// as the PDF does: December 2027 is 2027-12-01 – 2027-12-31, not "–
// 2028-01-01" (the next period's start, which the period stores as its
// exclusive end).
func TestInvoicePageShowsThePeriodsLastDay(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Mia", "p1", "10.1.0.60", due(20), 5000)
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE invoices SET period_start = '2027-12-01', period_end = '2028-01-01' WHERE id = $1`,
		s.invoice); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signInWithCode(s.account)
	p := b.get(fmt.Sprintf("/invoices/%d", s.invoice)).must(t, 200, "Period 2027-12-01 – 2027-12-31")
	if strings.Contains(p.text(), "2028-01-01") {
		t.Fatalf("the invoice page shows the next period's start as this period's end:\n%s", p.text())
	}
}
