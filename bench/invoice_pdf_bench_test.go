package bench

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/documents"
)

// invoicesPerCore is how many invoices each of GOMAXPROCS goroutines renders.
const invoicesPerCore = 2000

// benchInvoice is a typical invoice: two services, a one-time charge, a
// credit and a tax line, two payments since the last invoice, a message and
// a remittance slip, from a company with a logo.
func benchInvoice(i int, logo []byte) documents.InvoiceDocument {
	d := billing.NewDate
	svc1, svc2, chg := int64(2*i+1), int64(2*i+2), int64(i+1)
	june := billing.Period{Start: d(2026, time.June, 1), End: d(2026, time.July, 1)}
	return documents.InvoiceDocument{
		Company: documents.Company{Name: "Prairie Fiber Co-op", Address: []string{"100 Main Street", "Springfield, IL 62701"}, Logo: logo},
		RemitTo: []string{"PO Box 4410", "Springfield, IL 62708-4410"},
		Account: billing.Account{ID: int64(i + 1), Number: fmt.Sprintf("A-%06d", i+1), Name: fmt.Sprintf("Subscriber Muñoz %d", i), Currency: "USD",
			Address: billing.Address{Line1: fmt.Sprintf("%d Elm Street", 10+i), City: "Peoria", Region: "IL", PostalCode: "61602"}},
		Invoice: billing.Invoice{ID: int64(i + 1), Number: fmt.Sprintf("INV-%07d", i+1), AccountID: int64(i + 1), Period: june,
			IssueDate: d(2026, time.May, 27), DueDate: d(2026, time.June, 10), DelinquencyDate: d(2026, time.June, 17),
			Currency: "USD", Status: billing.InvoiceOpen, Subtotal: 12498, Tax: 781, Total: 13279,
			Lines: []billing.InvoiceLine{
				{Kind: billing.LineRecurring, Description: "Fiber 100 (monthly), 2026-06-01 to 2026-06-30", ServiceID: &svc1, PeriodStart: june.Start, PeriodEnd: june.End, Amount: 4999, Taxable: true},
				{Kind: billing.LineRecurring, Description: "Static IP (monthly), 2026-06-01 to 2026-06-30", ServiceID: &svc2, PeriodStart: june.Start, PeriodEnd: june.End, Amount: 1000, Taxable: true},
				{Kind: billing.LineOneTime, Description: "Installation", ChargeID: &chg, Amount: 7500, Taxable: true},
				{Kind: billing.LineCredit, Description: "Outage credit May 14", Amount: -1001},
				{Kind: billing.LineTax, Description: "IL sales tax 6.25%", Amount: 781},
			}},
		PreviousBalance: 5999,
		Payments: []documents.StatementPayment{
			{Date: d(2026, time.May, 5), Memo: "check payment 1042", Amount: -4999},
			{Date: d(2026, time.May, 20), Memo: "card payment", Amount: -1000},
		},
		AmountDue:      13279,
		Message:        "Our office is closed on July 4th. Refer a neighbour and get a month free - ask us how!",
		RemittanceSlip: true,
	}
}

// benchLogo is a 300×100 PNG with an alpha channel, like a real logo.
func benchLogo(b *testing.B) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 300, 100))
	for y := range 100 {
		for x := range 300 {
			a := uint8(0)
			if (x/20+y/20)%2 == 0 {
				a = 255
			}
			img.Set(x, y, color.NRGBA{uint8(x), 40, uint8(y * 2), a})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkInvoicePDF renders typical invoices (five lines, a message, a
// remittance slip, a logo) on GOMAXPROCS goroutines at once, 2,000 per
// goroutine, and reports invoice_pdf_per_s_per_core: invoices per second
// divided by GOMAXPROCS. Run with -benchtime=1x; each iteration renders
// the whole fixed count.
func BenchmarkInvoicePDF(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	n := invoicesPerCore * procs
	logo := benchLogo(b)
	docs := make([]documents.InvoiceDocument, n)
	for i := range docs {
		docs[i] = benchInvoice(i, logo)
	}
	// One render outside the clock checks the document and warms up.
	var sample bytes.Buffer
	if err := documents.RenderInvoicePDF(&sample, docs[0]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var elapsed time.Duration
	var bytesOut atomic.Int64
	for range b.N {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, procs)
		start := time.Now()
		for range procs {
			wg.Go(func() {
				var cw countingWriter
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						break
					}
					if err := documents.RenderInvoicePDF(&cw, docs[i]); err != nil {
						errs <- err
						return
					}
				}
				bytesOut.Add(cw.n)
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perSec := float64(n*b.N) / elapsed.Seconds()
	b.ReportMetric(perSec/float64(procs), "invoice_pdf_per_s_per_core")
	b.Logf("%.0f invoices/s on %d cores, %.1f KiB each", perSec, procs, float64(bytesOut.Load())/float64(n*b.N)/1024)
	b.ReportMetric(0, "ns/op")
}

// countingWriter counts bytes and drops them: the figure is rendering, not
// disk speed.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
