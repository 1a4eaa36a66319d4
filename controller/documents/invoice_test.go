package documents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The invoice tests read the rendered PDFs back with poppler-utils
// (pdftotext, pdftoppm; installed by scripts/setup.sh): the text, the
// position of words (pdftotext -bbox) and a raster render (pdftoppm).
//
// Rendered samples are kept as test artifacts in $TOLLGATE_TEST_ARTIFACTS,
// by default controller/documents/testdata/.artifacts (git-ignored; a dot
// directory, so the repository's fixture scans — no card numbers in
// testdata — skip the PDFs, whose xref tables are long digit runs); the
// tests log the paths.

func renderInvoice(t *testing.T, d InvoiceDocument) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderInvoicePDF(&buf, d); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("output is not a PDF: %q", buf.Bytes()[:min(16, buf.Len())])
	}
	return buf.Bytes()
}

// pdfPages is the PDF's text (pdftotext -layout), page by page.
func pdfPages(t *testing.T, pdf []byte) []string {
	t.Helper()
	return strings.Split(strings.TrimSuffix(pdfText(t, pdf), "\f"), "\f")
}

// wantLines fails t for every row of fragments that no line of text holds
// together.
func wantLines(t *testing.T, text string, rows ...[]string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	for _, row := range rows {
		if lineWith(lines, row...) == "" {
			t.Errorf("no line of the PDF text has all of %q", row)
		}
	}
}

func TestRenderInvoicePDFWithSlip(t *testing.T) {
	d := sampleInvoice()
	pdf := renderInvoice(t, d)
	keepArtifact(t, "invoice-with-slip.pdf", pdf)
	pages := pdfPages(t, pdf)
	if len(pages) != 1 {
		t.Fatalf("a 5-line invoice with a message and a slip takes %d pages; want 1", len(pages))
	}
	text := pages[0]
	for _, want := range []string{
		"Prairie Fiber Co-op", "100 Main Street", "Springfield, IL 62701", "INVOICE",
		"Ana Muñoz", "12 Ñandú Lane", "Apt 3", "Peoria, IL", "61602", "USA",
		"Our office is closed on July 4th. Refer a neighbour and get a month free — ask us how!",
		"Please pay by June 10, 2025",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	wantLines(t, text,
		[]string{"Invoice number", "INV-001001"},
		[]string{"Invoice date", "May 27, 2025"},
		[]string{"Billing period", "Jun 1, 2025 - Jun 30, 2025"},
		[]string{"Account number", "A-000042"},
		[]string{"Due date", "Jun 10, 2025"},
		[]string{"USD 132.79"},
		// The account summary, beside the payments since the last invoice.
		[]string{"Previous balance", "59.99", "May 5, 2025", "Check 1042", "-49.99"},
		[]string{"Payments and credits", "-59.99", "May 20, 2025", "Card ending 4242", "-10.00"},
		[]string{"New charges (this invoice)", "132.79"},
		[]string{"Amount due (USD)", "132.79"},
		// The lines: description, period, days, amount.
		[]string{"Fiber 100 (monthly)", "Jun 1, 2025 - Jun 30, 2025", "30", "49.99"},
		[]string{"Static IP (monthly)", "30", "10.00"},
		[]string{"Installation", "75.00"},
		[]string{"Outage credit May 14", "-10.01"},
		[]string{"Subtotal", "124.98"},
		[]string{"IL sales tax 6.25%", "7.81"},
		[]string{"Total new charges", "132.79"},
		// The slip.
		[]string{"Please return this portion with your payment", "Account number", "A-000042"},
		[]string{"Invoice number", "INV-001001"},
		[]string{"Amount due", "USD 132.79"},
		[]string{"Amount enclosed", "USD"},
		[]string{"Make checks payable to Prairie Fiber Co-op"},
		[]string{"Prairie Fiber Co-op"},
		[]string{"PO Box 4410"},
		[]string{"Springfield, IL 62708-4410"},
		[]string{"A-000042 INV-001001 000000013279"},
	)
	// The slip is below the cut line, in the bottom third.
	if i, j := strings.Index(text, "Detach here"), strings.Index(text, "Please return this portion"); i < 0 || j < i {
		t.Errorf("the cut line's hint is not above the slip")
	}
	if strings.Contains(text, "Page 1 of") {
		t.Errorf("a one-page invoice is numbered")
	}
}

func TestRenderInvoicePDFWithoutSlip(t *testing.T) {
	d := sampleInvoice()
	d.RemittanceSlip = false
	d.Message = "Holiday hours: closed Dec 24–26.\nPay online at https://pay.example.net."
	pdf := renderInvoice(t, d)
	keepArtifact(t, "invoice-without-slip.pdf", pdf)
	pages := pdfPages(t, pdf)
	if len(pages) != 1 {
		t.Fatalf("%d pages; want 1", len(pages))
	}
	text := pages[0]
	for _, gone := range []string{"Please return this portion", "Amount enclosed", "Detach here", "000000013279"} {
		if strings.Contains(text, gone) {
			t.Errorf("an invoice without a slip shows %q", gone)
		}
	}
	wantLines(t, text,
		[]string{"Holiday hours: closed Dec 24–26."},
		[]string{"Pay online at https://pay.example.net."},
		[]string{"Amount due (USD)", "132.79"},
		[]string{"Total new charges", "132.79"},
	)
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{
		"Please pay USD 132.79 by June 10, 2025.",
		"Make checks payable to Prairie Fiber Co-op and mail them to PO Box 4410, Springfield, IL 62708-4410.",
		"Write your account number A-000042 on your check.",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
}

// TestRemittanceSlipWindow checks where things land on the page: the
// remit-to address inside the #9 return envelope's window in every position
// the slip can take in it, nothing else in that window, and the account's
// address inside the #10 envelope's window — from the words' positions
// (pdftotext -bbox) and on a 100 dpi raster (pdftoppm), which is kept as
// an artifact.
func TestRemittanceSlipWindow(t *testing.T) {
	d := sampleInvoice()
	d.Company.Logo = testLogo(t)
	pdf := renderInvoice(t, d)
	keepArtifact(t, "invoice-sample.pdf", pdf)
	words := pdfWords(t, pdf)[0]

	remit := []string{"Prairie", "Fiber", "Co-op", "PO", "Box", "4410", "Springfield,", "IL", "62708-4410"}
	var remitBoxes []rect
	for _, w := range words {
		if w.Y0 > slipTop+1.5 && slipWindow.Overlaps(w.rect) { // the slip's lower part: the remit-to block
			remitBoxes = append(remitBoxes, w.rect)
			if !slipSafeWindow.Contains(w.rect) {
				t.Errorf("remit-to word %q at %+v is outside the #9 window's always-visible part %+v", w.Text, w.rect, slipSafeWindow)
			}
		}
	}
	if got := wordsIn(words, slipWindow); strings.Join(got, " ") != strings.Join(remit, " ") {
		t.Errorf("the #9 window shows %q; want exactly the remit-to address %q", got, remit)
	}
	// The account's name and address show through the #10 window: the
	// folded sheet's top panel, resting on the fold, shows 2.04"-3.17"
	// from the top of the page, from 0.875" to 5.375" from the left.
	win10 := rect{0.875, pageH/3 - 0.5 - 1.125, 0.875 + 4.5, pageH/3 - 0.5}
	if got, want := strings.Join(wordsIn(words, win10), " "), "Ana Muñoz 12 Ñandú Lane Apt 3 Peoria, IL 61602 USA"; got != want {
		t.Errorf("the #10 window shows %q; want %q", got, want)
	}

	img := renderPNG(t, pdf, 100)
	const dpi = 100.0
	px := func(r rect) image.Rectangle {
		return image.Rect(int(r.X0*dpi), int(r.Y0*dpi), int(r.X1*dpi+0.999), int(r.Y1*dpi+0.999))
	}
	if b := img.Bounds(); b.Dx() != int(pageW*dpi) || b.Dy() != int(pageH*dpi) {
		t.Fatalf("page rendered %dx%d px; want Letter at 100 dpi, 850x1100", b.Dx(), b.Dy())
	}
	// Ink in the window: the address shows.
	if ink := inkPixels(img, px(slipSafeWindow), nil); ink < 300 {
		t.Errorf("only %d dark pixels where the #9 window shows the slip; the remit-to address should be there", ink)
	}
	// And nothing but the address: no rule, box or shading reaches into
	// the window.
	var textPx []image.Rectangle
	for _, b := range remitBoxes {
		textPx = append(textPx, px(rect{b.X0 - 0.02, b.Y0 - 0.02, b.X1 + 0.02, b.Y1 + 0.02}))
	}
	if stray := inkPixels(img, px(slipWindow), textPx); stray > 0 {
		t.Errorf("%d marked pixels in the #9 window outside the remit-to words", stray)
	}
	// The logo is drawn (it is the only red on the page).
	if red := countPixels(img, image.Rect(45, 40, 230, 110), func(r, g, b uint32) bool { return r > 0xc000 && g < 0x6000 && b < 0x6000 }); red < 100 {
		t.Errorf("the logo is not on the page (%d red pixels at the top left)", red)
	}
	path := keepArtifact(t, "invoice-sample.png", encodePNG(t, img))
	t.Logf("rendered invoice page: %s", path)

	// The longest remit-to block, five lines, fits the window too; a
	// sixth line is left out.
	d.RemitTo = []string{"Payment Processing Center", "Attn: Remittances", "PO Box 4410", "Springfield, IL 62708-4410", "Sixth Line"}
	words = pdfWords(t, renderInvoice(t, d))[0]
	got := wordsIn(words, slipWindow)
	if want := "Prairie Fiber Co-op Payment Processing Center Attn: Remittances PO Box 4410 Springfield, IL 62708-4410"; strings.Join(got, " ") != want {
		t.Errorf("the #9 window shows %q; want %q", got, want)
	}
	for _, w := range words {
		if slipWindow.Overlaps(w.rect) && !slipSafeWindow.Contains(w.rect) {
			t.Errorf("remit-to word %q at %+v is outside %+v", w.Text, w.rect, slipSafeWindow)
		}
	}
}

func TestRenderInvoicePDFLongInvoiceContinues(t *testing.T) {
	d := sampleInvoice()
	var lines []billing.InvoiceLine
	var total int64
	for i := 1; i <= 60; i++ {
		amt := int64(i * 100)
		lines = append(lines, billing.InvoiceLine{Kind: billing.LineOneTime, Description: fmt.Sprintf("Charge number %02d", i), Amount: amt})
		total += amt
	}
	d.Invoice.Lines, d.Invoice.Subtotal, d.Invoice.Tax, d.Invoice.Total = lines, total, 0, total
	d.AmountDue = d.PreviousBalance - 5999 + total
	pdf := renderInvoice(t, d)
	keepArtifact(t, "invoice-60-lines.pdf", pdf)
	pages := pdfPages(t, pdf)
	if len(pages) < 2 {
		t.Fatalf("60 lines on %d page", len(pages))
	}
	seen := 0
	for i, p := range pages {
		if want := fmt.Sprintf("Page %d of %d", i+1, len(pages)); !strings.Contains(p, want) {
			t.Errorf("page %d lacks %q", i+1, want)
		}
		if i > 0 && !strings.Contains(p, "Invoice INV-001001 (continued)") {
			t.Errorf("page %d lacks the continuation header", i+1)
		}
		if n := strings.Count(p, "Charge number"); n > 0 && i > 0 && !strings.Contains(p, "Description") {
			t.Errorf("page %d lists %d lines without the column titles", i+1, n)
		}
		seen += strings.Count(p, "Charge number")
		if (i == 0) != strings.Contains(p, "Please return this portion") {
			t.Errorf("page %d: slip present = %v; the slip belongs on the first page only", i+1, !(i == 0))
		}
	}
	if seen != 60 {
		t.Errorf("%d of 60 lines printed", seen)
	}
	last := pages[len(pages)-1]
	wantLines(t, last, []string{"Total new charges", formatAmountGrouped(total, "USD")})
	for i, p := range pages {
		if strings.Contains(p, "Subtotal") && (!strings.Contains(p, "Total new charges") || !strings.Contains(p, "Amount (USD)")) {
			t.Errorf("page %d: the totals are split or without the column titles", i+1)
		}
	}
	if !strings.Contains(last, "Our office is closed") {
		t.Errorf("the message is not after the lines")
	}
	// Nothing on the first page runs into the slip: the last line above
	// the cut is a charge or the table, and the slip is whole.
	wantLines(t, pages[0], []string{"Amount enclosed", "USD"}, []string{"PO Box 4410"})
}

func TestRenderInvoicesPDFMerged(t *testing.T) {
	var docs []InvoiceDocument
	for i, name := range []string{"Zoë Adams", "Bob Brown", "Cy Chen", "Di Diaz"} {
		d := sampleInvoice()
		d.Account.Number = fmt.Sprintf("A-%06d", 100+i)
		d.Account.Name = name
		d.Invoice.Number = fmt.Sprintf("INV-%06d", 900-i) // mailing order is not number order
		d.RemittanceSlip = i%2 == 0
		if i == 2 { // a long one in the middle
			for j := range 50 {
				d.Invoice.Lines = append(d.Invoice.Lines, billing.InvoiceLine{Kind: billing.LineOneTime, Description: fmt.Sprintf("Extra %d", j), Amount: 100})
			}
		}
		docs = append(docs, d)
	}
	var buf bytes.Buffer
	if err := RenderInvoicesPDF(&buf, docs); err != nil {
		t.Fatal(err)
	}
	keepArtifact(t, "invoice-batch.pdf", buf.Bytes())
	pages := pdfPages(t, buf.Bytes())
	// Each invoice starts on a new page, in the given order; the long one
	// takes several and is numbered on its own.
	var order []string
	for i, p := range pages {
		first := lineWith(strings.Split(p, "\n"), "Invoice number")
		cont := strings.Contains(p, "(continued)")
		switch {
		case first != "" && !cont:
			order = append(order, strings.Fields(first)[len(strings.Fields(first))-1])
		case cont:
		default:
			t.Errorf("page %d is neither an invoice's first page nor a continuation", i+1)
		}
	}
	if got, want := strings.Join(order, " "), "INV-000900 INV-000899 INV-000898 INV-000897"; got != want {
		t.Fatalf("invoices in the merged PDF: %s; want %s", got, want)
	}
	long := 0
	for _, p := range pages {
		if strings.Contains(p, "INV-000898") {
			long++
		}
	}
	if long < 2 || len(pages) != 3+long {
		t.Fatalf("%d pages, %d of the long invoice; want 3 + its pages", len(pages), long)
	}
	if !strings.Contains(pages[2], fmt.Sprintf("Page 1 of %d", long)) || !strings.Contains(pages[2+long-1], fmt.Sprintf("Page %d of %d", long, long)) {
		t.Errorf("the long invoice is not numbered 1..%d on its own", long)
	}
	for _, i := range []int{0, 1, 2 + long} {
		if strings.Contains(pages[i], "Page ") {
			t.Errorf("page %d, a one-page invoice, is numbered", i+1)
		}
	}
	if !strings.Contains(pages[0], "Zoë Adams") || !strings.Contains(pages[len(pages)-1], "Di Diaz") {
		t.Errorf("account names not on their invoices")
	}
	if strings.Contains(pages[1], "Amount enclosed") || !strings.Contains(pages[0], "Amount enclosed") {
		t.Errorf("the slip does not follow each document's setting")
	}

	if err := RenderInvoicesPDF(&bytes.Buffer{}, nil); !isCode(err, billing.EINVALID) {
		t.Errorf("no documents: %v; want EINVALID", err)
	}
}

func TestRenderInvoicePDFBalances(t *testing.T) {
	t.Run("credit", func(t *testing.T) {
		d := sampleInvoice()
		d.AmountDue = -1234
		text := pdfText(t, renderInvoice(t, d))
		wantLines(t, text, []string{"Credit balance 12.34 - nothing to pay"}, []string{"Amount due (USD)", "-12.34"}, []string{"Amount due", "USD 0.00"})
	})
	t.Run("first invoice, nothing paid", func(t *testing.T) {
		d := sampleInvoice()
		d.PreviousBalance, d.Payments, d.AmountDue = 0, nil, d.Invoice.Total
		text := pdfText(t, renderInvoice(t, d))
		wantLines(t, text, []string{"Previous balance", "0.00", "None received since your last invoice."}, []string{"Payments and credits", "0.00"})
	})
	t.Run("many payments and a fee", func(t *testing.T) {
		d := sampleInvoice()
		d.Payments = nil
		for i := range 9 {
			d.Payments = append(d.Payments, StatementPayment{Date: billing.NewDate(2025, time.May, i+1), Memo: fmt.Sprintf("payment %d", i), Amount: -100})
		}
		d.Payments = append(d.Payments, StatementPayment{Date: billing.NewDate(2025, time.May, 20), Memo: "late fee", Amount: 500})
		text := pdfText(t, renderInvoice(t, d))
		wantLines(t, text, []string{"Payments, credits and adjustments", "-4.00"}, []string{"and 5 more", "1.00"}, []string{"payment 4", "-1.00"})
		if strings.Contains(text, "payment 5") {
			t.Errorf("more payments listed than fit")
		}
	})
	t.Run("void", func(t *testing.T) {
		d := sampleInvoice()
		d.Invoice.Status = billing.InvoiceVoid
		text := pdfText(t, renderInvoice(t, d))
		wantLines(t, text, []string{"INVOICE - VOID"}, []string{"This invoice is void"})
	})
	t.Run("yen", func(t *testing.T) {
		d := sampleInvoice()
		d.Invoice.Currency, d.AmountDue = "jpy", 1234567
		text := pdfText(t, renderInvoice(t, d))
		wantLines(t, text, []string{"JPY 1,234,567"}, []string{"Amount due (JPY)", "1,234,567"})
	})
}

func TestRenderInvoicePDFErrorsAndEdges(t *testing.T) {
	d := sampleInvoice()
	d.Invoice.Currency = "XYZ"
	d.Invoice.DueDate = billing.Date{}
	var buf bytes.Buffer
	err := RenderInvoicePDF(&buf, d)
	if !isCode(err, billing.EINVALID) || !strings.Contains(err.Error(), `"XYZ"`) || !strings.Contains(err.Error(), "due date") {
		t.Fatalf("bad invoice: %v; want EINVALID naming the currency and the due date", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes written for an invalid invoice", buf.Len())
	}

	// A broken logo, a very long message, a long name and no address still
	// render; text outside Windows-1252 prints as dots.
	d = sampleInvoice()
	d.Company.Logo = []byte("not a png")
	d.Account.Name = strings.Repeat("Very Long Subscriber Name ", 8) + "END"
	d.Account.Address = billing.Address{}
	d.Message = strings.Repeat("A long message about our new plans and holiday hours. ", 18) + "Ω"
	text := pdfText(t, renderInvoice(t, d))
	if strings.Contains(text, "END") || !strings.Contains(text, "Very Long Subscriber Name") {
		t.Errorf("an overlong name is not cut")
	}
	if !strings.Contains(text, "holiday hours. .") {
		t.Errorf("a character outside Windows-1252 does not print as a dot")
	}

	// The same document renders to the same bytes.
	a, b := renderInvoice(t, sampleInvoice()), renderInvoice(t, sampleInvoice())
	if !bytes.Equal(a, b) {
		t.Errorf("rendering the same invoice twice gives different bytes")
	}
}

// TestRenderInvoicePDFConcurrent renders from many goroutines at once (run
// with -race): nothing is shared but read-only tables.
func TestRenderInvoicePDFConcurrent(t *testing.T) {
	logo := testLogo(t)
	withLogo := sampleInvoice()
	withLogo.Company.Logo = logo
	want := renderInvoice(t, withLogo)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				var buf bytes.Buffer
				d := sampleInvoice()
				d.Company.Logo = logo
				if err := RenderInvoicePDF(&buf, d); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(buf.Bytes(), want) {
					errs <- errors.New("concurrent render differs")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRenderStatementPDF(t *testing.T) {
	d := sampleStatement()
	var buf bytes.Buffer
	if err := RenderStatementPDF(&buf, d); err != nil {
		t.Fatal(err)
	}
	keepArtifact(t, "statement-sample.pdf", buf.Bytes())
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"STATEMENT", "Prairie Fiber Co-op", "Ana Muñoz", "12 Ñandú Lane", "Account activity May 1, 2025 to June 30, 2025", "Page 1 of 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("statement lacks %q", want)
		}
	}
	wantLines(t, text,
		[]string{"Account number", "A-000042"},
		[]string{"Period", "May 1, 2025 - Jun 30, 2025"},
		[]string{"May 1, 2025", "Opening balance", "59.99"},
		[]string{"May 5, 2025", "Payment: check payment 1042", "-49.99", "10.00"},
		[]string{"May 20, 2025", "Credit: outage May 14", "-10.00", "0.00"},
		[]string{"May 27, 2025", "Invoice: invoice INV-001001", "INV-001001", "132.79", "132.79"},
		[]string{"Jun 12, 2025", "Fee: late fee", "5.00", "137.79"},
		[]string{"Jun 30, 2025", "Closing balance", "137.79"},
		[]string{"Closing balance", "137.79"},
	)

	// Long statements continue with the column titles.
	d.Lines = nil
	bal := d.OpeningBalance
	for i := range 80 {
		d.Lines = append(d.Lines, billing.StatementLine{Kind: billing.TxCredit, EffectiveDate: billing.NewDate(2025, time.May, 1+i%30), Memo: fmt.Sprintf("credit %02d", i), Amount: -1})
		bal--
	}
	d.ClosingBalance = bal
	buf.Reset()
	if err := RenderStatementPDF(&buf, d); err != nil {
		t.Fatal(err)
	}
	pages := pdfPages(t, buf.Bytes())
	if len(pages) < 2 {
		t.Fatalf("80 lines on %d page", len(pages))
	}
	for i, p := range pages {
		if !strings.Contains(p, fmt.Sprintf("Page %d of %d", i+1, len(pages))) || !strings.Contains(p, "Balance (USD)") {
			t.Errorf("page %d lacks its number or the column titles", i+1)
		}
	}
	wantLines(t, pages[len(pages)-1], []string{"credit 79", "-0.01", formatAmountGrouped(bal, "USD")})

	// Errors: the lines must lead from the opening to the closing balance.
	d = sampleStatement()
	d.ClosingBalance++
	buf.Reset()
	if err := RenderStatementPDF(&buf, d); !isCode(err, billing.EINVALID) || buf.Len() != 0 {
		t.Errorf("inconsistent statement: %v (%d bytes); want EINVALID and nothing written", err, buf.Len())
	}
	d = sampleStatement()
	d.From, d.To = d.To, d.From
	if err := RenderStatementPDF(&buf, d); !isCode(err, billing.EINVALID) {
		t.Errorf("reversed period: %v; want EINVALID", err)
	}
}

func sampleStatement() StatementDocument {
	d := billing.NewDate
	inv := int64(1001)
	s := sampleInvoice()
	return StatementDocument{
		Company: s.Company, Account: s.Account,
		From: d(2025, time.May, 1), To: d(2025, time.June, 30),
		OpeningBalance: 5999,
		Lines: []billing.StatementLine{
			{Kind: billing.TxPaymentPosted, EffectiveDate: d(2025, time.May, 5), Memo: "check payment 1042", Amount: -4999},
			{Kind: billing.TxCredit, EffectiveDate: d(2025, time.May, 20), Memo: "outage May 14", Amount: -1000},
			{Kind: billing.TxInvoiceIssued, EffectiveDate: d(2025, time.May, 27), Memo: "invoice INV-001001", InvoiceID: &inv, InvoiceNumber: "INV-001001", Amount: 13279},
			{Kind: billing.TxFee, EffectiveDate: d(2025, time.June, 12), Memo: "late fee", Amount: 500},
		},
		ClosingBalance: 13779,
	}
}

func isCode(err error, code billing.Code) bool {
	var e *billing.Error
	return errors.As(err, &e) && e.Code == code
}

// artifactDir is where rendered samples are kept: $TOLLGATE_TEST_ARTIFACTS,
// else testdata/.artifacts (git-ignored).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOLLGATE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", ".artifacts")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	return abs
}

// keepArtifact writes a rendered document to the artifacts directory and
// returns its path.
func keepArtifact(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatalf("artifact: %v", err)
	}
	t.Logf("kept %s", path)
	return path
}

// word is one word of a PDF page and its box in inches from the page's top
// left.
type word struct {
	Text string
	rect
}

var bboxWordRE = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)

// pdfWords reads every word's position with pdftotext -bbox, page by page.
func pdfWords(t *testing.T, pdf []byte) [][]word {
	t.Helper()
	out := poppler(t, "pdftotext", pdf, "-bbox", "-enc", "UTF-8", "{in}", "-")
	var pages [][]word
	for _, page := range strings.Split(string(out), "<page ")[1:] {
		var ws []word
		for _, m := range bboxWordRE.FindAllStringSubmatch(page, -1) {
			var v [4]float64
			for i := range v {
				v[i], _ = strconv.ParseFloat(m[i+1], 64)
				v[i] /= 72 // points to inches
			}
			ws = append(ws, word{html.UnescapeString(m[5]), rect{v[0], v[1], v[2], v[3]}})
		}
		pages = append(pages, ws)
	}
	if len(pages) == 0 {
		t.Fatalf("pdftotext -bbox found no pages:\n%s", out)
	}
	return pages
}

// wordsIn lists, in reading order, the words that overlap r.
func wordsIn(words []word, r rect) []string {
	var out []string
	for _, w := range words {
		if r.Overlaps(w.rect) {
			out = append(out, w.Text)
		}
	}
	return out
}

// renderPNG rasterizes the PDF's first page with pdftoppm.
func renderPNG(t *testing.T, pdf []byte, dpi int) image.Image {
	t.Helper()
	out := poppler(t, "pdftoppm", pdf, "-png", "-r", strconv.Itoa(dpi), "-f", "1", "-l", "1", "-singlefile", "{in}")
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("pdftoppm output: %v", err)
	}
	return img
}

// poppler runs a poppler-utils tool on the PDF ({in} in args is its path)
// and returns its standard output.
func poppler(t *testing.T, tool string, pdf []byte, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s is not installed; run `bash scripts/setup.sh` (it installs Debian's poppler-utils): %v", tool, err)
	}
	in := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		if a == "{in}" {
			args[i] = in
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, stderr.String())
	}
	return out
}

// inkPixels counts the pixels of r that are not near-white, leaving out
// those inside any of except.
func inkPixels(img image.Image, r image.Rectangle, except []image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
	pixel:
		for x := r.Min.X; x < r.Max.X; x++ {
			for _, e := range except {
				if (image.Point{x, y}).In(e) {
					continue pixel
				}
			}
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr < 0xe000 || cg < 0xe000 || cb < 0xe000 {
				n++
			}
		}
	}
	return n
}

func countPixels(img image.Image, r image.Rectangle, match func(r, g, b uint32) bool) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if match(cr, cg, cb) {
				n++
			}
		}
	}
	return n
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testLogo is a 240×80 PNG: a red bar on white.
func testLogo(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 80))
	for y := range 80 {
		for x := range 240 {
			c := color.RGBA{255, 255, 255, 255}
			if y > 10 && y < 70 && x > 10 && x < 230 {
				c = color.RGBA{220, 30, 30, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
