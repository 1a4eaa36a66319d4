package documents

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"
)

// Page geometry of a deposit slip, in millimetres (US Letter is 215.9 × 279.4).
const (
	slipMarginLeft   = 15.0
	slipMarginRight  = 15.0
	slipMarginTop    = 15.0
	slipMarginBottom = 20.0 // room for the footer
	slipRowH         = 5.5
	slipBodyFont     = 9.0
)

// slipColumn is one column of a table on the slip.
type slipColumn struct {
	title    string
	width    float64
	align    string // "L" or "R"
	truncate bool   // cut overlong text with "..." (free text); otherwise shrink it (amounts)
}

// slipTable is a table whose header is repeated on every page it spans.
type slipTable struct {
	caption string
	columns []slipColumn
}

// Checks: # | Check no. | Payer | Account no. | Amount — 185.9 mm, the text width.
var checkColumns = []slipColumn{
	{"#", 10, "R", false},
	{"Check no.", 30, "L", true},
	{"Payer", 80, "L", true},
	{"Account no.", 34, "L", true},
	{"Amount", 31.9, "R", false},
}

// Money orders, wires and other: # | Type | Number | Payer | Account no. | Amount.
var otherColumns = []slipColumn{
	{"#", 10, "R", false},
	{"Type", 26, "L", true},
	{"Number", 28, "L", true},
	{"Payer", 62, "L", true},
	{"Account no.", 28, "L", true},
	{"Amount", 31.9, "R", false},
}

// RenderDepositSlipPDF writes the slip as a US Letter PDF: a header with the
// company, bank, masked deposit account, deposit date, batch ids and who
// prepared it; a table of the checks; a table of the money orders, wires and
// other items; and a summary with the number of checks and the check, cash,
// other and grand totals. Cash is counted in the summary, not listed. Long
// deposits run over several pages, each repeating the table header and
// numbered "page N of M". Only fpdf's core fonts are used, so the text can be
// extracted.
//
// The slip is validated first ([DepositSlip.Validate]); nothing is written if
// it is invalid.
func RenderDepositSlipPDF(w io.Writer, s DepositSlip) error {
	s, err := s.checked()
	if err != nil {
		return err
	}
	pdf := fpdf.New("P", "mm", "Letter", "")
	r := &slipPDF{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor(""), s: s}
	r.render()
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("deposit slip PDF: %w", err)
	}
	return nil
}

// slipPDF lays out one deposit slip.
type slipPDF struct {
	pdf   *fpdf.Fpdf
	tr    func(string) string // UTF-8 to the core fonts' Windows-1252
	s     DepositSlip
	table *slipTable // the table being drawn, if any: its header repeats on a new page
}

func (r *slipPDF) render() {
	pdf, s := r.pdf, r.s
	title := "Deposit slip " + s.DepositDate.String()
	if name := oneLine(s.Company.Name); name != "" {
		title += " - " + name
	}
	pdf.SetTitle(title, true)
	pdf.SetSubject("Bank deposit", true)
	pdf.SetCreator("Tollgate", true)
	if p := oneLine(s.PreparedBy); p != "" {
		pdf.SetAuthor(p, true)
	}
	pdf.SetMargins(slipMarginLeft, slipMarginTop, slipMarginRight)
	pdf.SetAutoPageBreak(true, slipMarginBottom) // a safety net: rows break pages themselves
	pdf.AliasNbPages("{nb}")
	pdf.SetHeaderFunc(r.header)
	pdf.SetFooterFunc(r.footer)
	pdf.AddPage()

	var checks, others []DepositItem
	cashCount := 0
	for _, it := range s.Items {
		switch it.Kind {
		case KindCheck:
			checks = append(checks, it)
		case KindCash:
			cashCount++
		default:
			others = append(others, it)
		}
	}
	checkTotal, cashTotal, otherTotal, grand, checkCount := s.Totals()

	if len(checks) > 0 {
		r.startTable(&slipTable{caption: fmt.Sprintf("Checks (%d)", len(checks)), columns: checkColumns})
		for i, it := range checks {
			r.row(i%2 == 1, strconv.Itoa(i+1), it.CheckNumber, it.Payer, it.AccountNumber, r.amount(it.Amount))
		}
		r.totalRow(fmt.Sprintf("Total of %d %s", len(checks), plural(len(checks), "check", "checks")), r.amount(checkTotal))
		r.endTable()
	}
	if len(others) > 0 {
		r.startTable(&slipTable{caption: fmt.Sprintf("Money orders and other items (%d)", len(others)), columns: otherColumns})
		for i, it := range others {
			r.row(i%2 == 1, strconv.Itoa(i+1), kindLabel(it.Kind), it.CheckNumber, it.Payer, it.AccountNumber, r.amount(it.Amount))
		}
		r.totalRow(fmt.Sprintf("Total of %d other %s", len(others), plural(len(others), "item", "items")), r.amount(otherTotal))
		r.endTable()
	}
	r.summary(checkCount, cashCount, checkTotal, cashTotal, otherTotal, grand)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (r *slipPDF) amount(v int64) string { return formatAmountGrouped(v, r.s.Currency) }

func (r *slipPDF) textWidth() float64 {
	w, _ := r.pdf.GetPageSize()
	return w - slipMarginLeft - slipMarginRight
}

// header draws the page header: in full on the first page, as one line on
// the others; then, mid-table, the table's caption and column titles again.
func (r *slipPDF) header() {
	pdf, s := r.pdf, r.s
	tw := r.textWidth()
	if pdf.PageNo() == 1 {
		top := pdf.GetY()
		pdf.SetFont("Helvetica", "B", 16)
		pdf.SetXY(slipMarginLeft+tw-70, top)
		pdf.CellFormat(70, 8, "DEPOSIT SLIP", "", 0, "R", false, 0, "")
		pdf.SetXY(slipMarginLeft, top)
		pdf.SetFont("Helvetica", "B", 13)
		r.cell(tw-72, 7, oneLine(s.Company.Name), "L", "", false, true)
		pdf.Ln(7)
		pdf.SetFont("Helvetica", "", slipBodyFont)
		for _, line := range s.Company.Address {
			if line = oneLine(line); line != "" {
				r.cell(tw-72, 4.2, line, "L", "", false, true)
				pdf.Ln(4.2)
			}
		}
		pdf.Ln(3)
		pdf.SetDrawColor(120, 120, 120)
		pdf.Line(slipMarginLeft, pdf.GetY(), slipMarginLeft+tw, pdf.GetY())
		pdf.Ln(2)

		batches := make([]string, len(s.BatchIDs))
		for i, id := range s.BatchIDs {
			batches[i] = strconv.FormatInt(id, 10)
		}
		left := [][2]string{
			{"Bank", oneLine(s.BankName)},
			{"Deposit account", maskAccount(s.DepositAccount)},
			{"Deposit date", s.DepositDate.String()},
		}
		right := [][2]string{
			{"Currency", string(s.Currency)},
			{"Prepared by", oneLine(s.PreparedBy)},
		}
		y := pdf.GetY()
		half := tw / 2
		r.fields(slipMarginLeft, y, half, left)
		yl := pdf.GetY()
		r.fields(slipMarginLeft+half, y, half, right)
		// Batch ids can be many: they wrap within the right half.
		pdf.SetX(slipMarginLeft + half)
		pdf.SetFont("Helvetica", "B", slipBodyFont)
		pdf.CellFormat(30, 5, r.tr("Batches"), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", slipBodyFont)
		pdf.MultiCell(half-30, 5, r.tr(strings.Join(batches, ", ")), "", "L", false)
		if yl > pdf.GetY() {
			pdf.SetY(yl)
		}
		pdf.Ln(2)
		pdf.Line(slipMarginLeft, pdf.GetY(), slipMarginLeft+tw, pdf.GetY())
		pdf.Ln(4)
	} else {
		pdf.SetFont("Helvetica", "", 8)
		line := "Deposit slip " + s.DepositDate.String()
		if name := oneLine(s.Company.Name); name != "" {
			line += " - " + name
		}
		if acct := strings.TrimSpace(oneLine(s.BankName) + " " + maskAccount(s.DepositAccount)); acct != "" {
			line += " - " + acct
		}
		r.cell(tw-30, 5, line, "L", "", false, true)
		pdf.CellFormat(30, 5, "(continued)", "", 1, "R", false, 0, "")
		pdf.SetDrawColor(120, 120, 120)
		pdf.Line(slipMarginLeft, pdf.GetY(), slipMarginLeft+tw, pdf.GetY())
		pdf.Ln(3)
	}
	if r.table != nil {
		r.caption(r.table.caption + " (continued)")
		r.tableHeader()
	}
}

// fields draws label/value lines in a column starting at x, y.
func (r *slipPDF) fields(x, y, w float64, kv [][2]string) {
	pdf := r.pdf
	pdf.SetXY(x, y)
	for _, f := range kv {
		pdf.SetX(x)
		pdf.SetFont("Helvetica", "B", slipBodyFont)
		pdf.CellFormat(30, 5, r.tr(f[0]), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", slipBodyFont)
		r.cell(w-30, 5, f[1], "L", "", false, true)
		pdf.Ln(5)
	}
}

func (r *slipPDF) footer() {
	pdf, s := r.pdf, r.s
	tw := r.textWidth()
	pdf.SetY(-14)
	pdf.SetDrawColor(120, 120, 120)
	pdf.Line(slipMarginLeft, pdf.GetY(), slipMarginLeft+tw, pdf.GetY())
	pdf.Ln(1.5)
	pdf.SetFont("Helvetica", "", 8)
	left := "Deposit " + s.DepositDate.String()
	if acct := strings.TrimSpace(oneLine(s.BankName) + " " + maskAccount(s.DepositAccount)); acct != "" {
		left += " - " + acct
	}
	r.cell(tw-40, 5, left, "L", "", false, true)
	pdf.CellFormat(40, 5, fmt.Sprintf("page %d of {nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
}

// ensure starts a new page unless h millimetres fit above the bottom margin.
func (r *slipPDF) ensure(h float64) {
	_, ph := r.pdf.GetPageSize()
	if r.pdf.GetY()+h > ph-slipMarginBottom {
		r.pdf.AddPage()
	}
}

func (r *slipPDF) caption(text string) {
	r.pdf.SetFont("Helvetica", "B", 11)
	r.cell(r.textWidth(), 7, text, "L", "", false, true)
	r.pdf.Ln(7)
}

func (r *slipPDF) startTable(t *slipTable) {
	r.pdf.Ln(2)
	r.ensure(7 + 3*slipRowH) // caption, column titles and at least two rows together
	r.caption(t.caption)
	r.table = t
	r.tableHeader()
}

func (r *slipPDF) endTable() {
	r.table = nil
	r.pdf.Ln(4)
}

func (r *slipPDF) tableHeader() {
	pdf := r.pdf
	pdf.SetFont("Helvetica", "B", slipBodyFont)
	pdf.SetFillColor(225, 225, 225)
	pdf.SetDrawColor(120, 120, 120)
	for _, c := range r.table.columns {
		title := c.title
		if title == "Amount" {
			title = "Amount (" + string(r.s.Currency) + ")"
		}
		r.cell(c.width, slipRowH+0.5, title, c.align, "TB", true, false)
	}
	pdf.Ln(slipRowH + 0.5)
}

// row draws one table row; shaded rows make long tables easier to follow.
func (r *slipPDF) row(shade bool, cells ...string) {
	r.ensure(slipRowH)
	pdf := r.pdf
	pdf.SetFont("Helvetica", "", slipBodyFont)
	pdf.SetFillColor(244, 244, 244)
	for i, c := range r.table.columns {
		r.cell(c.width, slipRowH, oneLine(cells[i]), c.align, "", shade, c.truncate)
	}
	pdf.Ln(slipRowH)
}

// totalRow closes a table: a label across all but the last column, the amount
// under the amounts.
func (r *slipPDF) totalRow(label, amount string) {
	r.ensure(slipRowH + 1)
	pdf := r.pdf
	cols := r.table.columns
	var w float64
	for _, c := range cols[:len(cols)-1] {
		w += c.width
	}
	pdf.SetFont("Helvetica", "B", slipBodyFont)
	pdf.SetDrawColor(120, 120, 120)
	r.cell(w, slipRowH+1, label, "R", "T", false, true)
	r.cell(cols[len(cols)-1].width, slipRowH+1, amount, "R", "T", false, false)
	pdf.Ln(slipRowH + 1)
}

// summary draws the totals block, kept on one page, against the right margin.
func (r *slipPDF) summary(checkCount, cashCount int, checks, cash, other, grand int64) {
	const labelW, valueW, lineH = 80.0, 45.0, 6.5
	r.pdf.Ln(2)
	r.ensure(7 + 6*lineH + 4)
	pdf := r.pdf
	x := slipMarginLeft + r.textWidth() - labelW - valueW
	pdf.SetX(x)
	pdf.SetFont("Helvetica", "B", 11)
	r.cell(labelW+valueW, 7, "Summary", "L", "", false, false)
	pdf.Ln(7)
	lines := [][2]string{
		{"Number of checks", strconv.Itoa(checkCount)},
		{"Check total", r.amount(checks)},
		{fmt.Sprintf("Cash total (%d %s)", cashCount, plural(cashCount, "payment", "payments")), r.amount(cash)},
		{"Other total (money orders, wires, other)", r.amount(other)},
	}
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range lines {
		pdf.SetX(x)
		r.cell(labelW, lineH, l[0], "L", "", false, true)
		r.cell(valueW, lineH, l[1], "R", "", false, false)
		pdf.Ln(lineH)
	}
	pdf.SetX(x)
	pdf.SetFont("Helvetica", "B", 11)
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetLineWidth(0.4)
	r.cell(labelW, lineH+1, "Grand total ("+string(r.s.Currency)+")", "L", "T", false, true)
	r.cell(valueW, lineH+1, r.amount(grand), "R", "T", false, false)
	pdf.SetLineWidth(0.2)
	pdf.Ln(lineH + 1)
}

// cell draws text (UTF-8) in a cell of width w. Text too wide for the cell
// is cut with "..." when truncate is set, and otherwise set in a smaller
// type until it fits, so an amount is never cut.
func (r *slipPDF) cell(w, h float64, text, align, border string, fill, truncate bool) {
	pdf := r.pdf
	txt := r.tr(text)
	avail := w - 2*pdf.GetCellMargin()
	if pdf.GetStringWidth(txt) <= avail {
		pdf.CellFormat(w, h, txt, border, 0, align, fill, 0, "")
		return
	}
	if truncate {
		// Windows-1252 has one byte per character, so cutting bytes cuts characters.
		for len(txt) > 0 && pdf.GetStringWidth(txt+"...") > avail {
			txt = txt[:len(txt)-1]
		}
		pdf.CellFormat(w, h, strings.TrimRight(txt, " ")+"...", border, 0, align, fill, 0, "")
		return
	}
	size, _ := pdf.GetFontSize()
	for s := size - 0.5; s >= 4 && pdf.GetStringWidth(txt) > avail; s -= 0.5 {
		pdf.SetFontSize(s)
	}
	pdf.CellFormat(w, h, txt, border, 0, align, fill, 0, "")
	pdf.SetFontSize(size)
}
