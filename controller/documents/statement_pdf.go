package documents

import (
	"fmt"
	"io"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// statementColumns: Date | Description | Invoice | Amount | Balance — 7.5".
var statementColumns = []pdfColumn{
	{"Date", 1.0, "L"},
	{"Description", 3.3, "L"},
	{"Invoice", 1.0, "L"},
	{"Amount", 1.1, "R"},
	{"Balance", 1.1, "R"},
}

// txKindLabel names a journal transaction kind for a subscriber.
func txKindLabel(k billing.TxKind) string {
	switch k {
	case billing.TxInvoiceIssued:
		return "Invoice"
	case billing.TxInvoiceVoided:
		return "Invoice voided"
	case billing.TxPaymentPosted:
		return "Payment"
	case billing.TxPaymentReversed:
		return "Payment reversed"
	case billing.TxRefund:
		return "Refund"
	case billing.TxCredit:
		return "Credit"
	case billing.TxFee:
		return "Fee"
	case billing.TxWriteOff:
		return "Write-off"
	}
	return string(k)
}

// RenderStatementPDF writes an account statement as a US Letter PDF: the
// company and the account (name and address placed for a #10 window
// envelope), the period, the opening balance, one row per transaction
// (date, description, invoice, amount, running balance) and the closing
// balance. Long statements continue on further pages, each repeating the
// column titles and numbered "Page N of M".
//
// EINVALID if the currency is unsupported, the period is missing or
// reversed, or the lines do not lead from the opening to the closing
// balance; nothing is written then.
func RenderStatementPDF(w io.Writer, d StatementDocument) error {
	d, err := d.checked()
	if err != nil {
		return err
	}
	doc := newPDFDoc(d.To.StartIn(time.UTC))
	doc.pdf.SetTitle(fmt.Sprintf("Statement %s to %s - account %s", d.From, d.To, d.Account.Number), true)
	if name := oneLine(d.Company.Name); name != "" {
		doc.pdf.SetAuthor(name, true)
	}
	doc.pdf.AliasNbPages("{nb}")
	s := statementLayout{doc: doc, d: d, cur: d.Account.Currency}
	s.render()
	if err := doc.pdf.Output(w); err != nil {
		return fmt.Errorf("statement PDF: %w", err)
	}
	return nil
}

type statementLayout struct {
	doc *pdfDoc
	d   StatementDocument
	cur billing.Currency
	y   float64
}

func (s *statementLayout) amount(v int64) string { return formatAmountGrouped(v, s.cur) }

func (s *statementLayout) render() {
	doc, d := s.doc, s.d
	pdf := doc.pdf
	y := doc.firstPage(d.Company) + 0.24
	doc.font("", 9)
	for _, line := range d.Company.Address {
		if line = oneLine(line); line == "" || y+0.16 > addrY-0.1 {
			continue
		}
		doc.text(marginX, y, 4.0, 0.16, line, "L", true)
		y += 0.16
	}
	doc.font("B", 20)
	doc.text(4.5, 0.45, pageW-marginX-4.5, 0.35, "STATEMENT", "R", false)
	rows := [][2]string{
		{"Account number", d.Account.Number},
		{"Period", shortDate(d.From) + " - " + shortDate(d.To)},
		{"Opening balance", s.amount(d.OpeningBalance)},
		{"Closing balance", s.amount(d.ClosingBalance)},
		{"Currency", string(s.cur)},
	}
	y = 0.92
	for i, r := range rows {
		doc.font("", 9)
		pdf.SetTextColor(90, 90, 90)
		doc.text(5.0, y, 1.2, 0.18, r[0], "L", true)
		pdf.SetTextColor(0, 0, 0)
		if i == 3 {
			doc.font("B", 9)
		}
		doc.text(6.2, y, pageW-marginX-6.2, 0.18, r[1], "R", false)
		y += 0.18
	}
	lines := append([]string{d.Account.Name}, addressLines(d.Account.Address)...)
	if len(lines) > addrMaxLines {
		lines = lines[:addrMaxLines]
	}
	y = addrY
	for i, line := range lines {
		style := ""
		if i == 0 {
			style = "B"
		}
		doc.font(style, 10)
		doc.text(addrX, y, addrW, addrLineH, line, "L", true)
		y += addrLineH
	}

	s.y = 3.35
	doc.font("B", 10.5)
	doc.text(marginX, s.y, contentW, 0.24, "Account activity "+longDate(d.From)+" to "+longDate(d.To), "L", true)
	s.y += 0.27
	s.tableHeader()
	const rowH = 0.2
	row := func(cells [5]string, bold bool) {
		if s.y+rowH > pageBottom {
			s.newPage()
		}
		style := ""
		if bold {
			style = "B"
		}
		doc.font(style, 9)
		x := marginX
		for i, c := range statementColumns {
			doc.text(x, s.y, c.w, rowH, cells[i], c.align, i == 1 || i == 2)
			x += c.w
		}
		s.y += rowH
	}
	row([5]string{shortDate(d.From), "Opening balance", "", "", s.amount(d.OpeningBalance)}, true)
	bal := d.OpeningBalance
	for _, l := range d.Lines {
		bal += l.Amount
		desc := txKindLabel(l.Kind)
		if memo := oneLine(l.Memo); memo != "" {
			desc += ": " + memo
		}
		row([5]string{shortDate(l.EffectiveDate), desc, l.InvoiceNumber, s.amount(l.Amount), s.amount(bal)}, false)
	}
	if len(d.Lines) == 0 {
		row([5]string{"", "No activity in this period", "", "", ""}, false)
	}
	doc.hline(marginX, marginX+contentW, s.y+0.01, 0.015, 60)
	s.y += 0.03
	row([5]string{shortDate(d.To), "Closing balance", "", "", s.amount(d.ClosingBalance)}, true)
	s.y += 0.15
	doc.font("", 8.5)
	pdf.SetTextColor(90, 90, 90)
	note := "Positive amounts increase what you owe; payments and credits are negative. A negative balance is a credit."
	for _, ln := range doc.wrap(note, contentW) {
		if s.y+0.15 > pageBottom {
			s.newPage()
		}
		doc.rawCell(marginX, s.y, contentW, 0.15, ln, "L")
		s.y += 0.15
	}
	pdf.SetTextColor(0, 0, 0)
}

func (s *statementLayout) tableHeader() {
	doc := s.doc
	pdf := doc.pdf
	pdf.SetFillColor(228, 232, 238)
	pdf.Rect(marginX, s.y, contentW, 0.22, "F")
	doc.font("B", 9)
	x := marginX
	for _, c := range statementColumns {
		t := c.title
		if c.align == "R" {
			t += " (" + string(s.cur) + ")"
		}
		doc.text(x, s.y+0.01, c.w, 0.2, t, c.align, false)
		x += c.w
	}
	s.y += 0.24
}

func (s *statementLayout) newPage() {
	d := s.d
	s.y = s.doc.continuedPage(d.Company.Name, fmt.Sprintf("Statement %s to %s (continued) - account %s, %s", shortDate(d.From), shortDate(d.To), d.Account.Number, d.Account.Name))
	s.tableHeader()
}
