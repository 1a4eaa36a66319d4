package documents

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// AgingPrintRows is the most account rows a printed aging lists (about a
// hundred pages); the rest are counted in a line after them, and the CSV
// holds every row. The totals are always complete.
const AgingPrintRows = 5000

// agingColumns: Account or group | Type (or Accounts) | Current | 1-30 | 31-60 |
// 61-90 | Over 90 | Unapplied | Total — 7.5".
var agingColumns = []pdfColumn{
	{"Account", 2.05, "L"},
	{"Type", 0.85, "L"},
	{"Current", 0.66, "R"},
	{"1-30", 0.66, "R"},
	{"31-60", 0.66, "R"},
	{"61-90", 0.66, "R"},
	{"Over 90", 0.66, "R"},
	{"Unapplied", 0.6, "R"},
	{"Total", 0.7, "R"},
}

// RenderAgingPDF writes an accounts-receivable aging report as a US Letter
// PDF for staff to print: the company, the as-of date, the totals per
// currency overall, by account type and by POP, then the accounts (number
// and name, type, the buckets, unapplied credit and balance) in the
// report's order — the first [AgingPrintRows] of them, with a line saying
// how many more the CSV has. Every page repeats the column titles and is
// numbered "Page N of M". Amounts are in each row's currency.
//
// EINVALID if a row's or total's currency is not supported; nothing is
// written then.
func RenderAgingPDF(w io.Writer, c Company, r reports.AgingReport) error {
	for _, groups := range [][]reports.AgingGroup{r.Totals, r.ByType, r.ByPOP} {
		for _, g := range groups {
			if err := agingCurrency(g.Currency); err != nil {
				return err
			}
		}
	}
	for _, row := range r.Rows {
		if err := agingCurrency(row.Currency); err != nil {
			return billing.Errorf(billing.EINVALID, "account %s: %s", row.Number, billing.ErrorMessage(err))
		}
	}
	doc := newPDFDoc(r.AsOf.StartIn(time.UTC))
	doc.pdf.SetTitle("Accounts receivable aging as of "+r.AsOf.String(), true)
	if name := oneLine(c.Name); name != "" {
		doc.pdf.SetAuthor(name, true)
	}
	doc.pdf.AliasNbPages("{nb}")
	l := agingLayout{doc: doc, c: c, r: r}
	l.render()
	if err := doc.pdf.Output(w); err != nil {
		return fmt.Errorf("aging PDF: %w", err)
	}
	return nil
}

// agingCurrency refuses a currency the amounts cannot be printed in.
func agingCurrency(s string) error {
	if c, err := billing.ParseCurrency(s); err != nil || string(c) != s {
		return billing.Errorf(billing.EINVALID, "currency %q is not a supported ISO 4217 code", s)
	}
	return nil
}

type agingLayout struct {
	doc    *pdfDoc
	c      Company
	r      reports.AgingReport
	y      float64
	second string // the second column's title in the current table
}

const agingRowH = 0.19

func (l *agingLayout) render() {
	doc := l.doc
	y := doc.firstPage(l.c)
	doc.font("B", 16)
	doc.text(4.0, 0.45, pageW-marginX-4.0, 0.3, "ACCOUNTS RECEIVABLE AGING", "R", true)
	doc.font("", 10)
	doc.text(4.0, 0.78, pageW-marginX-4.0, 0.2, "As of "+longDate(l.r.AsOf), "R", false)
	doc.font("", 8)
	doc.pdf.SetTextColor(90, 90, 90)
	doc.text(4.0, 0.98, pageW-marginX-4.0, 0.16, "Open invoice amounts by days past due; amounts in each row's currency", "R", true)
	doc.pdf.SetTextColor(0, 0, 0)
	l.y = max(y+0.4, 1.35)

	l.section("Totals", "Accounts")
	groups := []struct {
		prefix string
		list   []reports.AgingGroup
	}{{"All accounts", l.r.Totals}, {"Type: ", l.r.ByType}, {"POP: ", l.r.ByPOP}}
	for gi, g := range groups {
		for _, t := range g.list {
			name := g.prefix
			if gi > 0 {
				name += t.Key
				if t.Key == "" {
					name += "(none)"
				}
			}
			l.row(name, strconv.Itoa(t.Accounts)+" "+plural(t.Accounts, "account", "accounts"), t.Currency, t.Buckets, gi == 0)
		}
		if len(g.list) == 0 && gi == 0 {
			l.row("No receivable", "", "", reports.Buckets{}, false)
		}
	}
	if len(l.r.Rows) == 0 {
		return
	}
	l.y += 0.15
	l.section(fmt.Sprintf("Accounts (%d)", len(l.r.Rows)), "Type")
	for i, row := range l.r.Rows {
		if i == AgingPrintRows {
			more := len(l.r.Rows) - AgingPrintRows
			l.note(fmt.Sprintf("%d more %s are not printed; the CSV (ar-aging.csv) lists every account.", more, plural(more, "account", "accounts")))
			break
		}
		l.row(row.Number+"  "+row.Name, row.AccountType, row.Currency, row.Buckets, false)
	}
}

// section starts a titled table whose second column is titled second.
func (l *agingLayout) section(title, second string) {
	l.second = second
	if l.y+0.3+0.24+agingRowH > pageBottom {
		l.newPage(false)
	}
	l.doc.font("B", 10.5)
	l.doc.text(marginX, l.y, contentW, 0.24, title, "L", true)
	l.y += 0.27
	l.tableHeader()
}

func (l *agingLayout) tableHeader() {
	doc := l.doc
	doc.pdf.SetFillColor(228, 232, 238)
	doc.pdf.Rect(marginX, l.y, contentW, 0.22, "F")
	doc.font("B", 8)
	x := marginX
	for i, c := range agingColumns {
		t := c.title
		if i == 1 {
			t = l.second
		}
		doc.text(x, l.y+0.01, c.w, 0.2, t, c.align, false)
		x += c.w
	}
	l.y += 0.24
}

func (l *agingLayout) row(name, second, currency string, b reports.Buckets, bold bool) {
	if l.y+agingRowH > pageBottom {
		l.newPage(true)
	}
	doc := l.doc
	style := ""
	if bold {
		style = "B"
	}
	doc.font(style, 8)
	cur := billing.Currency(currency)
	amount := func(v int64) string {
		if currency == "" {
			return ""
		}
		return formatAmountGrouped(v, cur)
	}
	cells := []string{name, second, amount(b.Current), amount(b.Days1To30), amount(b.Days31To60), amount(b.Days61To90),
		amount(b.Over90), amount(b.Unapplied), amount(b.Total)}
	if currency != "" && currency != "USD" {
		cells[8] += " " + currency
	}
	x := marginX
	for i, c := range agingColumns {
		doc.text(x, l.y, c.w, agingRowH, cells[i], c.align, i < 2)
		x += c.w
	}
	l.y += agingRowH
}

func (l *agingLayout) note(s string) {
	doc := l.doc
	doc.font("", 8.5)
	doc.pdf.SetTextColor(90, 90, 90)
	for _, ln := range doc.wrap(s, contentW) {
		if l.y+0.16 > pageBottom {
			l.newPage(false)
		}
		doc.rawCell(marginX, l.y+0.03, contentW, 0.16, ln, "L")
		l.y += 0.18
	}
	doc.pdf.SetTextColor(0, 0, 0)
}

// newPage continues the report on a new page, repeating the column titles
// when a table goes on.
func (l *agingLayout) newPage(table bool) {
	l.y = l.doc.continuedPage(l.c.Name, "Accounts receivable aging as of "+shortDate(l.r.AsOf)+" (continued)")
	if table {
		l.tableHeader()
	}
}
