package documents

import (
	"bytes"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestRenderReceiptPDF: a receipt renders as one PDF page titled with its
// payment and account; one without a payment id or with an unknown
// currency is refused (EINVALID) and nothing is written.
func TestRenderReceiptPDF(t *testing.T) {
	r := billing.Receipt{PaymentID: 12, AccountID: 1, AccountNumber: "A-000001", AccountName: "Rhea", Amount: 6000, Currency: "USD",
		Method: billing.PayCard, Brand: "visa", Last4: "4242", Invoices: []billing.Allocation{{InvoiceID: 3, InvoiceNumber: "INV-3", Amount: 5000}},
		ReceivedDate: billing.NewDate(2026, 12, 15), PostedAt: time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC), Status: billing.PaymentPosted, Balance: -1000}
	var buf bytes.Buffer
	if err := RenderReceiptPDF(&buf, r, Company{Name: "Prairie Fiber", Address: []string{"1 Main St"}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF (%d bytes)", buf.Len())
	}
	pages := pdfPages(t, buf.Bytes())
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	wantLines(t, pages[0], []string{"RECEIPT"}, []string{"Payment", "12"}, []string{"Amount", "USD 60.00"}, []string{"Paid with", "Visa ending 4242"},
		[]string{"Invoice INV-3", "USD 50.00"}, []string{"Credit on the account", "USD 10.00"}, []string{"Credit after this payment", "USD 10.00"})
	for _, bad := range []billing.Receipt{{Currency: "USD"}, {PaymentID: 1, Currency: "XXX"}} {
		var out bytes.Buffer
		if err := RenderReceiptPDF(&out, bad, Company{}); billing.ErrorCode(err) != billing.EINVALID || out.Len() != 0 {
			t.Errorf("%+v: %v, %d bytes written", bad, err, out.Len())
		}
	}
}
