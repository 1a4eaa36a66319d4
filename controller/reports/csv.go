package reports

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// CSV forms of the reports: one header row, then one row per line, amounts
// in the currency's major units ("1234.50") so a spreadsheet sums them.

func amount(v int64, c string) string { return billing.FormatAmount(v, billing.Currency(c)) }

func writeAll(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// AgingHeader is the aging CSV's header row.
var AgingHeader = []string{"Scope", "Account", "Name", "Account type", "POP", "Currency", "Current", "1-30", "31-60", "61-90", "90+", "Unapplied", "Total"}

func bucketCells(b Buckets, c string) []string {
	return []string{amount(b.Current, c), amount(b.Days1To30, c), amount(b.Days31To60, c), amount(b.Days61To90, c),
		amount(b.Over90, c), amount(b.Unapplied, c), amount(b.Total, c)}
}

// WriteAgingCSV writes the accounts' rows, then the totals by account type,
// by POP and overall (Scope names which).
func WriteAgingCSV(w io.Writer, r AgingReport) error {
	var rows [][]string
	for _, a := range r.Rows {
		rows = append(rows, append([]string{"account", a.Number, a.Name, a.AccountType, a.POP, a.Currency}, bucketCells(a.Buckets, a.Currency)...))
	}
	for _, g := range r.ByType {
		rows = append(rows, append([]string{"account type", "", "", g.Key, "", g.Currency}, bucketCells(g.Buckets, g.Currency)...))
	}
	for _, g := range r.ByPOP {
		rows = append(rows, append([]string{"pop", "", "", "", g.Key, g.Currency}, bucketCells(g.Buckets, g.Currency)...))
	}
	for _, g := range r.Totals {
		rows = append(rows, append([]string{"total", "", "", "", "", g.Currency}, bucketCells(g.Buckets, g.Currency)...))
	}
	return writeAll(w, AgingHeader, rows)
}

// TaxHeader is the tax liability CSV's header row.
var TaxHeader = []string{"Jurisdiction", "Rate", "Currency", "Taxable sales", "Exempt sales", "Tax charged",
	"Credited sales", "Credited tax", "Voided sales", "Voided tax", "Net tax"}

// WriteTaxCSV writes one row per jurisdiction, rate and currency.
func WriteTaxCSV(w io.Writer, r TaxReport) error {
	rows := make([][]string, 0, len(r.Rows))
	for _, t := range r.Rows {
		c := t.Currency
		rows = append(rows, []string{t.Jurisdiction, t.Rate, c, amount(t.TaxableSales, c), amount(t.ExemptSales, c), amount(t.TaxCharged, c),
			amount(t.CreditedSales, c), amount(t.CreditedTax, c), amount(t.VoidedSales, c), amount(t.VoidedTax, c), amount(t.NetTax, c)})
	}
	return writeAll(w, TaxHeader, rows)
}

// PaymentsHeader is the payments CSV's header row.
var PaymentsHeader = []string{"Payment", "Account", "Method", "Amount", "Refunded", "Currency", "Reference", "Payer",
	"Received", "Effective", "Status", "Batch", "Gateway", "Posted by"}

// WritePaymentsCSV writes one row per payment (the totals and the
// reconciliation are in the JSON form).
func WritePaymentsCSV(w io.Writer, r PaymentsReport) error {
	rows := make([][]string, 0, len(r.Payments))
	for _, p := range r.Payments {
		batch := ""
		if p.BatchID != 0 {
			batch = strconv.FormatInt(p.BatchID, 10)
		}
		rows = append(rows, []string{strconv.FormatInt(p.ID, 10), p.AccountNumber, string(p.Method), amount(p.Amount, p.Currency),
			amount(p.Refunded, p.Currency), p.Currency, p.Reference, p.Payer, p.ReceivedDate.String(), p.EffectiveDate.String(),
			p.Status, batch, p.Gateway, p.PostedBy})
	}
	return writeAll(w, PaymentsHeader, rows)
}

// WriteRevenueCSV writes the revenue by plan, account type and POP
// (Dimension says which); MRR is in the JSON form.
func WriteRevenueCSV(w io.Writer, r RevenueReport) error {
	var rows [][]string
	for _, g := range []struct {
		name string
		rows []RevenueRow
	}{{"plan", r.ByPlan}, {"account type", r.ByType}, {"pop", r.ByPOP}} {
		for _, x := range g.rows {
			c := x.Currency
			rows = append(rows, []string{g.name, x.Key, c, amount(x.Recurring, c), amount(x.OneTime, c), amount(x.Fees, c), amount(x.Credits, c), amount(x.Total, c)})
		}
	}
	return writeAll(w, RevenueHeader, rows)
}

// CollectionsHeader is the collections CSV's header row.
var CollectionsHeader = []string{"Event", "Account", "From", "To", "Cause", "At"}

// WriteCollectionsCSV writes the period's status changes, then the
// promises judged (Event "promise kept" or "promise broken", From the day
// made, To its day).
func WriteCollectionsCSV(w io.Writer, r CollectionsReport) error {
	var rows [][]string
	for _, c := range r.Changes {
		rows = append(rows, []string{"status change", c.AccountNumber, c.From, c.To, c.Cause, c.At.UTC().Format("2006-01-02T15:04:05Z")})
	}
	for _, p := range r.Promises {
		ev := "promise broken"
		if p.Kept {
			ev = "promise kept"
		}
		rows = append(rows, []string{ev, p.AccountNumber, p.MadeOn.String(), p.Until.String(), "promise", ""})
	}
	return writeAll(w, CollectionsHeader, rows)
}
