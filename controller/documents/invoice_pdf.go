package documents

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Invoice page geometry, in inches, on US Letter (8.5" × 11"), origin at the
// top left of the page.
//
// The invoice is folded in three (letter fold) and mailed in a #10 window
// envelope (4.125" × 9.5", window 1.125" × 4.5" at 0.875" from the left and
// 0.5" from the bottom). The folded sheet rests on the envelope's bottom
// fold, so the window shows the page from 2.04" to 3.17" from the top and
// from 0.875" (the sheet can slide up to 1" sideways): the account's name
// and address are printed at 1.0" from the left, 2.15" to at most 3.0" from
// the top.
//
// The remittance slip is the bottom third of the page (below 7.333"), cut
// along a dashed line and returned in a #9 window envelope. A #9 envelope
// is 8.875" × 3.875" (98.4 × 225.4 mm); its window, as on the #10, is
// 4.5" wide and 1.125" tall, 0.875" from the left and 0.5" from the bottom
// edge (window specs give the left offset first, then the bottom one). The
// 3.667"-tall slip rests on the envelope's bottom, so the window shows the
// slip from 0.5" to 1.625" above its bottom edge, i.e. 9.375" to 10.5" from
// the top of the page, and 0.875" to 5.375" from the left. The slip is
// 0.375" narrower than the envelope and 0.21" shorter, so it can shift that
// much right or up; the remit-to address is kept inside the part of the
// window it shows in every position (slipSafeWindow).
const (
	pageW    = 8.5
	pageH    = 11.0
	marginX  = 0.5
	contentW = pageW - 2*marginX

	// The account's address, for a #10 window envelope.
	addrX, addrY, addrW, addrLineH = 1.0, 2.15, 3.6, 0.17
	addrMaxLines                   = 5

	// The remittance slip: the bottom third of the page.
	slipTop = pageH - pageH/3

	// The #9 return envelope and its window (inches).
	env9W, env9H                       = 8.875, 3.875
	win9Left, win9Bottom, win9W, win9H = 0.875, 0.5, 4.5, 1.125

	// The remit-to address block on the slip: at most five lines, centred
	// vertically in slipSafeWindow.
	remitX, remitW, remitLineH = 1.25, 3.6, 0.17
	remitMaxLines              = 5

	// Continuation pages and the first page without a slip end here.
	pageBottom = 10.5
)

// rect is a rectangle in inches from the top left of the page.
type rect struct{ X0, Y0, X1, Y1 float64 }

// Contains reports whether r lies wholly inside q.
func (q rect) Contains(r rect) bool {
	return r.X0 >= q.X0 && r.Y0 >= q.Y0 && r.X1 <= q.X1 && r.Y1 <= q.Y1
}

// Overlaps reports whether r and q share any area.
func (q rect) Overlaps(r rect) bool { return r.X0 < q.X1 && q.X0 < r.X1 && r.Y0 < q.Y1 && q.Y0 < r.Y1 }

// slipWindow is the #9 envelope's window on the page when the slip rests
// in the envelope's bottom left corner.
var slipWindow = rect{win9Left, pageH - win9Bottom - win9H, win9Left + win9W, pageH - win9Bottom}

// slipSafeWindow is the part of the page that shows through the window
// however the slip sits in the envelope (shifted up to the envelope's
// spare width and height).
var slipSafeWindow = rect{slipWindow.X0, slipWindow.Y0 + (env9H - (pageH - slipTop)), slipWindow.X1 - (env9W - pageW), slipWindow.Y1}

// RenderInvoicePDF writes one invoice as a US Letter PDF: the company's
// name, address and logo; the invoice number, dates and account number;
// the account's name and address placed for a #10 window envelope; the
// amount due and due date; an account summary (previous balance, payments
// and credits since, new charges, amount due) and the payments themselves;
// the service lines with their periods, subtotal, taxes and total; the
// message in a box; and, when d.RemittanceSlip is set, a tear-off
// remittance slip whose remit-to address shows through a #9 return
// envelope's window. Long invoices continue on further pages, numbered
// "Page N of M".
//
// Only fpdf's core fonts are used (text in Windows-1252: "Muñoz" prints
// whole), so the text can be extracted. The same document always renders to
// the same bytes. EINVALID if the currency is unsupported or a date is
// missing; nothing is written then.
func RenderInvoicePDF(w io.Writer, d InvoiceDocument) error {
	return RenderInvoicesPDF(w, []InvoiceDocument{d})
}

// RenderInvoicesPDF writes several invoices as one PDF, in the given order
// (the mailing order of a printed batch), each starting on a new page and
// numbered on its own ("Page 1 of 2" restarts with every invoice). Every
// document is validated first; nothing is written if any is invalid or
// there are none.
func RenderInvoicesPDF(w io.Writer, docs []InvoiceDocument) error {
	if len(docs) == 0 {
		return billing.Errorf(billing.EINVALID, "no invoices to render")
	}
	checked := make([]InvoiceDocument, len(docs))
	for i, d := range docs {
		c, err := d.checked()
		if err != nil {
			return err
		}
		checked[i] = c
	}
	first := checked[0].Invoice
	created := first.IssueDate.StartIn(time.UTC)
	doc := newPDFDoc(created)
	if len(checked) == 1 {
		title := "Invoice " + first.Number
		if name := oneLine(checked[0].Company.Name); name != "" {
			title += " - " + name
		}
		doc.pdf.SetTitle(title, true)
		doc.pdf.SetSubject("Invoice for account "+checked[0].Account.Number, true)
	} else {
		doc.pdf.SetTitle(fmt.Sprintf("%d invoices", len(checked)), true)
	}
	if name := oneLine(checked[0].Company.Name); name != "" {
		doc.pdf.SetAuthor(name, true)
	}
	for _, d := range checked {
		l := invoiceLayout{doc: doc, d: d, cur: d.Invoice.Currency}
		l.render()
	}
	if err := doc.pdf.Output(w); err != nil {
		return fmt.Errorf("invoice PDF: %w", err)
	}
	return nil
}

// invoiceLayout lays out one invoice from a new page on.
type invoiceLayout struct {
	doc       *pdfDoc
	d         InvoiceDocument
	cur       billing.Currency
	firstPage int
	y, bottom float64 // the flow's position and the current page's limit
}

func (l *invoiceLayout) amount(v int64) string { return formatAmountGrouped(v, l.cur) }

func (l *invoiceLayout) render() {
	pdf := l.doc.pdf
	pdf.AddPage()
	l.firstPage = pdf.PageNo()
	l.header()
	l.recipient()
	l.amountDueBox()
	l.bottom = pageBottom
	if l.d.RemittanceSlip {
		l.slip()
		l.bottom = slipTop - 0.2
	}
	l.y = 3.25
	l.summary()
	l.charges()
	l.message()
	if !l.d.RemittanceSlip {
		l.howToPay()
	}
	// Number the pages once their count is known.
	last := pdf.PageNo()
	if n := last - l.firstPage + 1; n > 1 {
		for p := l.firstPage; p <= last; p++ {
			pdf.SetPage(p)
			l.doc.font("", 8)
			pdf.SetTextColor(90, 90, 90)
			l.doc.text(marginX, 0.2, contentW, 0.2, fmt.Sprintf("Page %d of %d", p-l.firstPage+1, n), "R", false)
			pdf.SetTextColor(0, 0, 0)
		}
		pdf.SetPage(last)
	}
}

// ensure starts a continuation page unless h inches fit on this one.
func (l *invoiceLayout) ensure(h float64) {
	if l.y+h > l.bottom {
		l.newPage()
	}
}

// newPage starts a continuation page with a one-line header.
func (l *invoiceLayout) newPage() {
	pdf := l.doc.pdf
	pdf.AddPage()
	inv := l.d.Invoice
	l.doc.font("B", 10)
	l.doc.text(marginX, 0.45, contentW*0.6, 0.22, l.d.Company.Name, "L", true)
	l.doc.font("", 9)
	l.doc.text(marginX, 0.67, contentW, 0.18, fmt.Sprintf("Invoice %s (continued) - account %s, %s", inv.Number, l.d.Account.Number, l.d.Account.Name), "L", true)
	l.doc.hline(marginX, pageW-marginX, 0.9, 0.01, 150)
	l.y, l.bottom = 1.05, pageBottom
}

func (l *invoiceLayout) header() {
	d, doc := l.d, l.doc
	pdf := doc.pdf
	inv := d.Invoice
	y := 0.5
	if h := doc.logo(d.Company.Logo, marginX, 0.45, 1.8, 0.55); h > 0 {
		y = 0.45 + h + 0.08
	}
	doc.font("B", 13)
	doc.text(marginX, y, 4.0, 0.22, d.Company.Name, "L", true)
	y += 0.24
	doc.font("", 9)
	for _, line := range d.Company.Address {
		if line = oneLine(line); line == "" {
			continue
		}
		if y+0.16 > addrY-0.1 {
			break
		}
		doc.text(marginX, y, 4.0, 0.16, line, "L", true)
		y += 0.16
	}

	title := "INVOICE"
	if inv.Status == billing.InvoiceVoid {
		title = "INVOICE - VOID"
	}
	doc.font("B", 20)
	doc.text(4.5, 0.45, pageW-marginX-4.5, 0.35, title, "R", false)
	rows := [][2]string{
		{"Invoice number", inv.Number},
		{"Invoice date", shortDate(inv.IssueDate)},
		{"Billing period", periodLabel(inv.Period)},
		{"Account number", d.Account.Number},
		{"Due date", shortDate(inv.DueDate)},
	}
	y = 0.92
	for i, r := range rows {
		doc.font("", 9)
		pdf.SetTextColor(90, 90, 90)
		doc.text(5.0, y, 1.2, 0.18, r[0], "L", true)
		pdf.SetTextColor(0, 0, 0)
		if i == len(rows)-1 {
			doc.font("B", 9)
		}
		doc.text(6.2, y, pageW-marginX-6.2, 0.18, r[1], "R", false)
		y += 0.18
	}
}

// periodLabel prints a billing period by its first and last days.
func periodLabel(p billing.Period) string {
	if p.IsZero() {
		return ""
	}
	return shortDate(p.Start) + " - " + shortDate(p.Last())
}

// recipient prints the account's name and address where a #10 window
// envelope shows them.
func (l *invoiceLayout) recipient() {
	doc := l.doc
	lines := append([]string{l.d.Account.Name}, addressLines(l.d.Account.Address)...)
	if len(lines) > addrMaxLines {
		lines = lines[:addrMaxLines]
	}
	y := addrY
	for i, line := range lines {
		if i == 0 {
			doc.font("B", 10)
		} else {
			doc.font("", 10)
		}
		doc.text(addrX, y, addrW, addrLineH, line, "L", true)
		y += addrLineH
	}
}

func (l *invoiceLayout) amountDueBox() {
	doc, d := l.doc, l.d
	pdf := doc.pdf
	x, y, w, h := 5.0, 2.1, pageW-marginX-5.0, 1.0
	pdf.SetFillColor(238, 241, 245)
	pdf.SetDrawColor(120, 130, 145)
	pdf.SetLineWidth(0.015)
	pdf.Rect(x, y, w, h, "FD")
	if d.paidInFull() {
		// A reprint of a paid invoice: marked PAID, nothing due.
		doc.font("", 10)
		doc.text(x, y+0.08, w, 0.2, "Amount due: "+string(l.cur)+" "+l.amount(0), "C", false)
		doc.font("B", 22)
		pdf.SetTextColor(180, 20, 20)
		doc.text(x, y+0.3, w, 0.38, "PAID", "C", false)
		pdf.SetTextColor(0, 0, 0)
		doc.font("B", 10)
		doc.text(x, y+0.7, w, 0.2, "Paid in full: "+string(l.cur)+" "+l.amount(d.Invoice.Paid)+" - thank you", "C", false)
		return
	}
	doc.font("", 10)
	doc.text(x, y+0.08, w, 0.2, "Amount due", "C", false)
	due := d.dueNow()
	doc.font("B", 20)
	doc.text(x, y+0.3, w, 0.36, string(l.cur)+" "+l.amount(due), "C", false)
	doc.font("B", 10)
	var note string
	switch {
	case d.Invoice.Status == billing.InvoiceVoid:
		note = "This invoice is void"
	case d.AmountDue < 0:
		note = "Credit balance " + l.amount(-d.AmountDue) + " - nothing to pay"
	case d.AmountDue == 0:
		note = "Nothing to pay"
	default:
		note = "Please pay by " + longDate(d.Invoice.DueDate)
	}
	doc.text(x, y+0.7, w, 0.2, note, "C", false)
}

// summary prints the account summary and, beside it, the payments and
// credits since the previous invoice.
func (l *invoiceLayout) summary() {
	doc, d := l.doc, l.d
	pdf := doc.pdf
	const rowH = 0.18
	var paid int64
	adjustments := false
	for _, p := range d.Payments {
		paid += p.Amount
		if p.Amount > 0 {
			adjustments = true
		}
	}
	payLabel := "Payments and credits"
	if adjustments {
		payLabel = "Payments, credits and adjustments"
	}
	const maxPayments = 6
	shown := d.Payments
	more := 0
	if len(shown) > maxPayments {
		shown, more = shown[:maxPayments-1], len(shown)-(maxPayments-1)
	}
	right := 1 + max(1, len(shown))
	if more > 0 {
		right++
	}
	if d.Invoice.Paid > 0 {
		right += 2
	}
	l.ensure(0.3 + float64(max(5, right))*rowH)
	y0 := l.y

	// Left: the account summary.
	lx, lw := marginX, 3.5
	doc.font("B", 10.5)
	doc.text(lx, y0, lw, 0.24, "Account summary", "L", false)
	doc.hline(lx, lx+lw, y0+0.26, 0.01, 150)
	y := y0 + 0.3
	rows := [][2]string{
		{"Previous balance", l.amount(d.PreviousBalance)},
		{payLabel, l.amount(paid)},
		{"New charges (this invoice)", l.amount(d.Invoice.Total)},
	}
	doc.font("", 9.5)
	for _, r := range rows {
		doc.text(lx, y, lw-1.2, rowH, r[0], "L", true)
		doc.text(lx+lw-1.2, y, 1.2, rowH, r[1], "R", false)
		y += rowH
	}
	doc.hline(lx, lx+lw, y+0.02, 0.015, 60)
	y += 0.05
	doc.font("B", 10)
	doc.text(lx, y, lw-1.2, rowH+0.02, "Amount due ("+string(l.cur)+")", "L", false)
	doc.text(lx+lw-1.2, y, 1.2, rowH+0.02, l.amount(d.AmountDue), "R", false)
	yl := y + rowH + 0.05

	// Right: what was paid or credited since the previous invoice.
	rx, rw := 4.3, pageW-marginX-4.3
	doc.font("B", 10.5)
	doc.text(rx, y0, rw, 0.24, "Payments and credits since your last invoice", "L", true)
	doc.hline(rx, rx+rw, y0+0.26, 0.01, 150)
	y = y0 + 0.3
	doc.font("", 9)
	if len(d.Payments) == 0 {
		pdf.SetTextColor(90, 90, 90)
		doc.text(rx, y, rw, rowH, "None received since your last invoice.", "L", true)
		pdf.SetTextColor(0, 0, 0)
		y += rowH
	}
	for _, p := range shown {
		doc.text(rx, y, 0.95, rowH, shortDate(p.Date), "L", false)
		doc.text(rx+0.95, y, rw-0.95-1.0, rowH, p.Memo, "L", true)
		doc.text(rx+rw-1.0, y, 1.0, rowH, l.amount(p.Amount), "R", false)
		y += rowH
	}
	if more > 0 {
		var rest int64
		for _, p := range d.Payments[len(shown):] {
			rest += p.Amount
		}
		doc.text(rx, y, rw-1.0, rowH, fmt.Sprintf("and %d more", more), "L", false)
		doc.text(rx+rw-1.0, y, 1.0, rowH, l.amount(rest), "R", false)
		y += rowH
	}
	if d.Invoice.Paid > 0 {
		// A reprint: what has been paid on this invoice since it was
		// issued, and what is still due on it.
		doc.hline(rx, rx+rw, y+0.02, 0.01, 150)
		y += 0.05
		doc.text(rx, y, rw-1.0, rowH, "Paid on this invoice since it was issued", "L", true)
		doc.text(rx+rw-1.0, y, 1.0, rowH, l.amount(-d.Invoice.Paid), "R", false)
		y += rowH
		doc.font("B", 9)
		doc.text(rx, y, rw-1.0, rowH, "Still due on this invoice", "L", true)
		doc.text(rx+rw-1.0, y, 1.0, rowH, l.amount(d.Invoice.Unpaid()), "R", false)
		y += rowH
	}
	l.y = max(yl, y) + 0.18
}

// invoiceColumns: Description | Service period | Days | Amount — 7.5".
var invoiceColumns = []pdfColumn{
	{"Description", 4.0, "L"},
	{"Service period", 1.9, "L"},
	{"Days", 0.5, "R"},
	{"Amount", 1.1, "R"},
}

func (l *invoiceLayout) chargesHeader(title string) {
	doc := l.doc
	pdf := doc.pdf
	doc.font("B", 10.5)
	doc.text(marginX, l.y, contentW, 0.24, title, "L", true)
	l.y += 0.27
	pdf.SetFillColor(228, 232, 238)
	pdf.Rect(marginX, l.y, contentW, 0.22, "F")
	doc.font("B", 9)
	x := marginX
	for _, c := range invoiceColumns {
		t := c.title
		if t == "Amount" {
			t += " (" + string(l.cur) + ")"
		}
		doc.text(x, l.y+0.01, c.w, 0.2, t, c.align, false)
		x += c.w
	}
	l.y += 0.24
}

func (l *invoiceLayout) charges() {
	doc, inv := l.doc, l.d.Invoice
	const rowH = 0.18
	title := "Charges"
	if !inv.Period.IsZero() {
		title = "Charges for " + periodLabel(inv.Period)
	}
	l.ensure(0.27 + 0.24 + 2*rowH)
	l.chargesHeader(title)
	row := func(cells [4]string, bold bool) {
		if l.y+rowH > l.bottom {
			l.newPage()
			l.chargesHeader(title + " (continued)")
		}
		style := ""
		if bold {
			style = "B"
		}
		doc.font(style, 9)
		x := marginX
		for i, c := range invoiceColumns {
			doc.text(x, l.y, c.w, rowH, cells[i], c.align, i < 2)
			x += c.w
		}
		l.y += rowH
	}
	var taxes []billing.InvoiceLine
	for _, ln := range inv.Lines {
		if ln.Kind == billing.LineTax {
			taxes = append(taxes, ln)
			continue
		}
		var period, days string
		if !ln.PeriodStart.IsZero() && !ln.PeriodEnd.IsZero() {
			p := billing.Period{Start: ln.PeriodStart, End: ln.PeriodEnd}
			period, days = periodLabel(p), strconv.Itoa(p.Days())
		}
		row([4]string{ln.Description, period, days, l.amount(ln.Amount)}, false)
	}
	if len(inv.Lines) == 0 {
		row([4]string{"No charges this period", "", "", l.amount(0)}, false)
	}
	// The totals stay together, under the column titles.
	if totalsH := float64(2+len(taxes))*rowH + 0.06; l.y+totalsH > l.bottom {
		l.newPage()
		l.chargesHeader(title + " (continued)")
	}
	doc.hline(marginX+invoiceColumns[0].w, marginX+contentW, l.y+0.01, 0.01, 150)
	l.y += 0.03
	row([4]string{"", "Subtotal", "", l.amount(inv.Subtotal)}, false)
	for _, t := range taxes {
		row([4]string{"", t.Description, "", l.amount(t.Amount)}, false)
	}
	if len(taxes) == 0 && inv.Tax != 0 {
		row([4]string{"", "Tax", "", l.amount(inv.Tax)}, false)
	}
	doc.hline(marginX+invoiceColumns[0].w, marginX+contentW, l.y+0.01, 0.015, 60)
	l.y += 0.03
	row([4]string{"", "Total new charges", "", l.amount(inv.Total)}, true)
	l.y += 0.12
}

// message prints the invoice message in a box.
func (l *invoiceLayout) message() {
	msg := strings.TrimSpace(l.d.Message)
	if msg == "" {
		return
	}
	doc := l.doc
	pdf := doc.pdf
	const lineH, pad = 0.17, 0.08
	doc.font("", 9.5)
	lines := doc.wrap(msg, contentW-2*pad)
	avail := pageBottom - 1.05 - 2*pad
	maxLines := int(avail / lineH) // what fits on a page
	if len(lines) > maxLines {
		lines = lines[:maxLines]
	}
	h := float64(len(lines))*lineH + 2*pad
	l.ensure(h)
	pdf.SetFillColor(255, 250, 230)
	pdf.SetDrawColor(200, 170, 80)
	pdf.SetLineWidth(0.015)
	pdf.Rect(marginX, l.y, contentW, h, "FD")
	doc.font("", 9.5)
	y := l.y + pad
	for _, ln := range lines {
		doc.rawCell(marginX+pad, y, contentW-2*pad, lineH, ln, "L")
		y += lineH
	}
	l.y += h + 0.2
}

// howToPay tells an invoice without a slip where payments go.
func (l *invoiceLayout) howToPay() {
	d, doc := l.d, l.doc
	if d.dueNow() <= 0 {
		return
	}
	parts := []string{"Please pay " + string(l.cur) + " " + l.amount(d.AmountDue) + " by " + longDate(d.Invoice.DueDate) + "."}
	if name := oneLine(d.Company.Name); name != "" {
		s := "Make checks payable to " + name
		if remit := d.remitTo(); len(remit) > 0 {
			s += " and mail them to " + strings.Join(remit, ", ")
		}
		parts = append(parts, s+".")
	}
	parts = append(parts, "Write your account number "+d.Account.Number+" on your check.")
	doc.font("", 9)
	lines := doc.wrap(strings.Join(parts, " "), contentW)
	l.ensure(float64(len(lines)) * 0.16)
	for _, ln := range lines {
		doc.rawCell(marginX, l.y, contentW, 0.16, ln, "L")
		l.y += 0.16
	}
}

// slip draws the remittance slip on the bottom third of the first page.
func (l *invoiceLayout) slip() {
	d, doc := l.d, l.doc
	pdf := doc.pdf
	inv := d.Invoice

	// The cut line.
	pdf.SetDrawColor(110, 110, 110)
	pdf.SetLineWidth(0.01)
	pdf.SetDashPattern([]float64{0.08, 0.05}, 0)
	pdf.Line(0.25, slipTop, pageW-0.25, slipTop)
	pdf.SetDashPattern([]float64{}, 0)
	doc.font("", 7)
	pdf.SetTextColor(110, 110, 110)
	doc.text(marginX, slipTop-0.16, contentW, 0.14, "Detach here and return the lower portion with your payment", "C", false)
	pdf.SetTextColor(0, 0, 0)

	// Left: what to do, who pays.
	y := slipTop + 0.18
	doc.font("B", 11)
	doc.text(marginX, y, 4.2, 0.22, "Please return this portion with your payment", "L", true)
	y += 0.3
	doc.font("", 9)
	if name := oneLine(d.Company.Name); name != "" {
		doc.text(marginX, y, 4.2, 0.17, "Make checks payable to "+name, "L", true)
		y += 0.17
	}
	doc.text(marginX, y, 4.2, 0.17, "Write your account number on your check.", "L", true)
	y += 0.3
	doc.font("B", 9.5)
	doc.text(marginX, y, 4.2, 0.18, d.Account.Name, "L", true)
	y += 0.18
	doc.font("", 9)
	doc.text(marginX, y, 4.2, 0.17, "Account "+d.Account.Number+" - invoice "+inv.Number, "L", true)

	// Right: the fields a payment clerk keys in.
	x, w, lw, rowH := 4.9, pageW-marginX-4.9, 1.35, 0.3
	y = slipTop + 0.18
	due := d.dueNow()
	fields := [][2]string{
		{"Account number", d.Account.Number},
		{"Invoice number", inv.Number},
		{"Due date", shortDate(inv.DueDate)},
		{"Amount due", string(l.cur) + " " + l.amount(due)},
		{"Amount enclosed", ""},
	}
	pdf.SetDrawColor(60, 60, 60)
	pdf.SetLineWidth(0.012)
	for i, f := range fields {
		pdf.SetFillColor(235, 238, 242)
		pdf.Rect(x, y, lw, rowH, "FD")
		pdf.Rect(x+lw, y, w-lw, rowH, "D")
		doc.font("", 8.5)
		doc.text(x, y, lw, rowH, f[0], "L", true)
		switch {
		case i == 3:
			doc.font("B", 11)
			doc.text(x+lw, y, w-lw, rowH, f[1], "R", false)
		case i == len(fields)-1:
			doc.font("", 11)
			doc.text(x+lw, y, 0.45, rowH, string(l.cur), "L", false)
		default:
			doc.font("", 10)
			doc.text(x+lw, y, w-lw, rowH, f[1], "R", false)
		}
		y += rowH
	}

	// The scan line a lockbox reads: account, invoice, amount due in minor
	// units, away from the window.
	doc.font("", 9)
	doc.text(5.6, 10.55, pageW-marginX-5.6, 0.18, fmt.Sprintf("%s %s %012d", d.Account.Number, inv.Number, due), "R", false)

	// The remit-to address, where the #9 envelope's window shows it.
	lines := append([]string{d.Company.Name}, d.remitTo()...)
	if oneLine(d.Company.Name) == "" {
		lines = lines[1:]
	}
	if len(lines) > remitMaxLines {
		lines = lines[:remitMaxLines]
	}
	y = slipSafeWindow.Y0 + (slipSafeWindow.Y1-slipSafeWindow.Y0-float64(len(lines))*remitLineH)/2
	for i, ln := range lines {
		if i == 0 {
			doc.font("B", 10)
		} else {
			doc.font("", 10)
		}
		doc.text(remitX, y, remitW, remitLineH, ln, "L", true)
		y += remitLineH
	}
}
