package reports

import (
	"sort"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TaxInvoice is an invoice the journal issued or voided in the report's
// period (its invoice_issued or invoice_voided transaction is effective in
// it), with its lines. A credit note is an invoice whose total is negative.
type TaxInvoice struct {
	InvoiceID int64
	// Voided: this is the invoice's void, which takes back what its issue
	// charged.
	Voided       bool
	Jurisdiction string
	Currency     string
	Lines        []TaxLine
}

// TaxLine is one invoice line: tax lines name their rate in Description
// ("TX sales tax 6.25%"); the others are sales, taxable or not.
type TaxLine struct {
	Kind        billing.LineKind
	Description string
	Amount      int64
	Taxable     bool
}

// TaxRow is one jurisdiction's rate over the period, or (Rate "") the
// jurisdiction's sales no rate taxed. Sales and tax on invoices add; credit
// notes (negative invoices: credits and refunds of charges) and voids
// reduce. NetTax is the movement of the tax_payable ledger the row
// explains: TaxCharged − CreditedTax − VoidedTax.
type TaxRow struct {
	Jurisdiction  string `json:"jurisdiction"`
	Rate          string `json:"rate" doc:"The tax line's name and percent; empty on the row of untaxed sales."`
	Currency      string `json:"currency"`
	TaxableSales  int64  `json:"taxable_sales" doc:"Taxable sales on invoices issued in the period that charged this rate."`
	ExemptSales   int64  `json:"exempt_sales" doc:"On the untaxed row: sales not taxed (non-taxable lines, tax-exempt accounts), net of their credits and voids."`
	TaxCharged    int64  `json:"tax_charged"`
	CreditedSales int64  `json:"credited_sales" doc:"Taxable sales taken back by credit notes issued in the period (positive)."`
	CreditedTax   int64  `json:"credited_tax" doc:"Tax taken back by credit notes issued in the period (positive)."`
	VoidedSales   int64  `json:"voided_sales" doc:"Taxable sales of invoices voided in the period (positive)."`
	VoidedTax     int64  `json:"voided_tax" doc:"Tax of invoices voided in the period (positive)."`
	NetTax        int64  `json:"net_tax" doc:"Tax owed for the period: charged less credited and voided."`
}

// TaxReport is tax liability over a period.
type TaxReport struct {
	From billing.Date `json:"from"`
	To   billing.Date `json:"to"`
	Rows []TaxRow     `json:"rows" doc:"By jurisdiction, rate (untaxed row first) and currency."`
}

// TaxLiability computes tax liability from the invoices issued and voided
// in [from, to]. An invoice's taxable base is the sum of its taxable
// non-tax lines; each of its tax lines puts that base and its own amount on
// its rate's row. An invoice without tax lines puts all its sales on the
// untaxed row, as does every invoice its non-taxable lines. Fees and
// credit lines count as sales of their kind (taxable when marked so).
func TaxLiability(from, to billing.Date, invoices []TaxInvoice) TaxReport {
	type key struct{ j, rate, cur string }
	rows := map[key]*TaxRow{}
	row := func(j, rate, cur string) *TaxRow {
		k := key{j, rate, cur}
		if rows[k] == nil {
			rows[k] = &TaxRow{Jurisdiction: j, Rate: rate, Currency: cur}
		}
		return rows[k]
	}
	for _, inv := range invoices {
		var base, untaxed, total int64
		var taxes []TaxLine
		for _, l := range inv.Lines {
			total += l.Amount
			switch {
			case l.Kind == billing.LineTax:
				taxes = append(taxes, l)
			case l.Taxable:
				base += l.Amount
			default:
				untaxed += l.Amount
			}
		}
		if len(taxes) == 0 {
			untaxed += base
			base = 0
		}
		sign := int64(1)
		if inv.Voided {
			sign = -1
		}
		if untaxed != 0 || len(taxes) == 0 {
			r := row(inv.Jurisdiction, "", inv.Currency)
			r.ExemptSales += sign * untaxed
		}
		for _, t := range taxes {
			r := row(inv.Jurisdiction, t.Description, inv.Currency)
			switch {
			case inv.Voided:
				r.VoidedSales += base
				r.VoidedTax += t.Amount
			case total < 0:
				r.CreditedSales -= base
				r.CreditedTax -= t.Amount
			default:
				r.TaxableSales += base
				r.TaxCharged += t.Amount
			}
		}
	}
	rep := TaxReport{From: from, To: to, Rows: make([]TaxRow, 0, len(rows))}
	for _, r := range rows {
		r.NetTax = r.TaxCharged - r.CreditedTax - r.VoidedTax
		rep.Rows = append(rep.Rows, *r)
	}
	sort.Slice(rep.Rows, func(a, b int) bool {
		x, y := rep.Rows[a], rep.Rows[b]
		if x.Jurisdiction != y.Jurisdiction {
			return x.Jurisdiction < y.Jurisdiction
		}
		if x.Rate != y.Rate {
			return x.Rate < y.Rate
		}
		return x.Currency < y.Currency
	})
	return rep
}
