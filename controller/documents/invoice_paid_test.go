package documents

import (
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestRenderPaidInvoiceShowsPaid reprints a paid invoice: it is marked
// PAID, with nothing due (in the box and on the slip, whose scan line
// carries zero) and the amount paid; no "please pay". A partly paid one
// shows what was paid and what is still due on it.
func TestRenderPaidInvoiceShowsPaid(t *testing.T) {
	d := sampleInvoice()
	d.Invoice.Status, d.Invoice.Paid = billing.InvoicePaid, d.Invoice.Total
	pdf := renderInvoice(t, d)
	keepArtifact(t, "invoice-paid-reprint.pdf", pdf)
	pages := pdfPages(t, pdf)
	if len(pages) != 1 {
		t.Errorf("the paid reprint takes %d pages, want 1 (as the invoice did)", len(pages))
	}
	text := pdfText(t, pdf)
	wantLines(t, text,
		[]string{"Amount due: USD 0.00"},
		[]string{"PAID"},
		[]string{"Paid in full: USD 132.79 - thank you"},
		[]string{"Paid on this invoice since it was issued", "-132.79"},
		[]string{"Still due on this invoice", "0.00"},
		[]string{"Amount due", "USD 0.00"},
		[]string{"A-000042 INV-001001 000000000000"},
	)
	for _, bad := range []string{"Please pay by", "USD 132.79\n"} {
		if strings.Contains(text, bad) {
			t.Errorf("a paid invoice's reprint says %q:\n%s", bad, text)
		}
	}

	d = sampleInvoice()
	d.Invoice.Paid = 3279
	d.RemittanceSlip = false
	text = pdfText(t, renderInvoice(t, d))
	wantLines(t, text, []string{"Paid on this invoice since it was issued", "-32.79"}, []string{"Still due on this invoice", "100.00"})
	if strings.Contains(text, "PAID") {
		t.Errorf("a partly paid invoice is marked PAID:\n%s", text)
	}
}
