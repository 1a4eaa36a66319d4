package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestPaidInvoiceIsMarkedPaid: once an invoice is paid, its web page and
// its PDF (a reprint) say PAID, with nothing due and the amount paid; an
// unpaid one says what is due.
func TestPaidInvoiceIsMarkedPaid(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Pat", "p1", "10.1.0.9", due(10), 5000)
	b := e.browser()
	b.signInWithCode(s.account)
	page := b.get(fmt.Sprintf("/invoices/%d", s.invoice)).must(t, 200, "Paid $0.00", "Amount due $50.00")
	if strings.Contains(page.text(), "PAID") {
		t.Fatalf("an unpaid invoice is marked PAID:\n%s", page.text())
	}

	if _, err := e.db.PostPayment(context.Background(), billing.NewPayment{AccountID: s.account.ID, Method: billing.PaymentMethod("cash"),
		Amount: 5000}, "test", testNow); err != nil {
		t.Fatal(err)
	}
	b.get(fmt.Sprintf("/invoices/%d", s.invoice)).must(t, 200, "PAID — paid in full ($50.00)", "Paid $50.00", "Amount due $0.00")

	pdf := b.get(fmt.Sprintf("/invoices/%d/pdf", s.invoice))
	if pdf.status != 200 || !strings.HasPrefix(pdf.body, "%PDF") {
		t.Fatalf("invoice PDF: %d", pdf.status)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is not installed; run `bash scripts/setup.sh` (it installs poppler-utils)")
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader([]byte(pdf.body))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"PAID", "Amount due: USD 0.00", "Paid in full: USD 50.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("the paid invoice's PDF lacks %q:\n%s", want, text)
		}
	}
}
