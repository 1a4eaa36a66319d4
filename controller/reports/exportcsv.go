package reports

import (
	"fmt"
	"io"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The accounting systems' import files. Dates are written as each
// system's import reads them by default: QuickBooks Online MM/DD/YYYY (a US
// company), Xero DD/MM/YYYY.

// QuickBooksJournalHeader is QuickBooks Online's journal entry import
// header row.
var QuickBooksJournalHeader = []string{"Journal No", "Journal Date", "Account Name", "Debits", "Credits", "Description", "Name"}

// QuickBooksCustomersHeader is the customer list import's header row
// (QuickBooks Online maps the columns by these names).
var QuickBooksCustomersHeader = []string{"Name", "Email", "Phone", "Street", "City", "State", "ZIP", "Country"}

// XeroInvoiceHeader is Xero's sales invoice import template's header row
// (required columns marked with an asterisk, as Xero's template has them).
var XeroInvoiceHeader = []string{"*ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3", "POAddressLine4",
	"POCity", "PORegion", "POPostalCode", "POCountry", "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate", "Total",
	"InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "Discount", "*AccountCode", "*TaxType", "TaxAmount",
	"TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency", "BrandingTheme"}

// XeroBankHeader is Xero's bank statement import template's header row.
var XeroBankHeader = []string{"*Date", "*Amount", "Payee", "Description", "Reference", "Cheque Number"}

func usDate(d billing.Date) string { return fmt.Sprintf("%02d/%02d/%04d", int(d.Month), d.Day, d.Year) }
func ukDate(d billing.Date) string { return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year) }

// WriteQuickBooksJournal writes one journal entry per document (Journal
// No its external id), one row per posting: a debit or a credit, Name the
// customer on receivable rows.
func WriteQuickBooksJournal(w io.Writer, docs []ExportDoc, c ChartOfAccounts) error {
	var rows [][]string
	for _, d := range docs {
		for _, p := range Postings(d, c) {
			debit, credit := "", ""
			if p.Amount > 0 {
				debit = amount(p.Amount, d.Currency)
			} else {
				credit = amount(-p.Amount, d.Currency)
			}
			rows = append(rows, []string{ExternalID(d.TxID), usDate(d.EffectiveDate), p.Account, debit, credit, d.Memo, p.Customer})
		}
	}
	return writeAll(w, QuickBooksJournalHeader, rows)
}

// WriteQuickBooksCustomers writes the customers named in the journal.
func WriteQuickBooksCustomers(w io.Writer, customers []Customer) error {
	rows := make([][]string, 0, len(customers))
	for _, c := range customers {
		rows = append(rows, []string{c.DisplayName(), c.Email, c.Phone, c.Street, c.City, c.Region, c.Postcode, c.Country})
	}
	return writeAll(w, QuickBooksCustomersHeader, rows)
}

// WriteXeroInvoices writes the invoices issued (not credit notes or voids,
// which Xero takes in its own screens), one row per line that is not tax:
// quantity 1, the line's amount, the chart's account; an invoice's tax is
// spread over its taxable lines in proportion (the rest on the last), as
// TaxAmount with the taxed tax type. Reference is the external id.
func WriteXeroInvoices(w io.Writer, docs []ExportDoc, c ChartOfAccounts) error {
	c = c.WithDefaults()
	var rows [][]string
	for _, d := range docs {
		if d.Kind != billing.TxInvoiceIssued {
			continue
		}
		var total, tax, base int64
		for _, l := range d.Lines {
			total += l.Amount
			if l.Kind == billing.LineTax {
				tax += l.Amount
			}
		}
		if total <= 0 {
			continue
		}
		taxed := func(l ExportLine) bool { return tax != 0 && l.Taxable && l.Kind != billing.LineTax }
		last := -1
		for i, l := range d.Lines {
			if taxed(l) {
				base += l.Amount
				last = i
			}
		}
		given := int64(0)
		for i, l := range d.Lines {
			if l.Kind == billing.LineTax {
				continue
			}
			account := c.revenue(l.Plan)
			switch l.Kind {
			case billing.LineFee:
				account = c.FeeRevenue
			case billing.LineCredit:
				account = c.Credits
			}
			taxType, taxAmount := c.XeroExemptTaxType, ""
			if taxed(l) {
				share := int64(0)
				if base != 0 {
					share = tax * l.Amount / base
				}
				if i == last {
					share = tax - given
				}
				given += share
				taxType, taxAmount = c.XeroTaxType, amount(share, d.Currency)
			}
			cu := d.Customer
			rows = append(rows, []string{cu.DisplayName(), cu.Email, cu.Street, "", "", "", cu.City, cu.Region, cu.Postcode, cu.Country,
				d.InvoiceNumber, ExternalID(d.TxID), ukDate(d.EffectiveDate), ukDate(d.DueDate), amount(total, d.Currency),
				"", l.Description, "1", amount(l.Amount, d.Currency), "", account, taxType, taxAmount, "", "", "", "", d.Currency, ""})
		}
	}
	return writeAll(w, XeroInvoiceHeader, rows)
}

// WriteXeroBankStatement writes the money movements — payments in,
// reversals and refunds out — as bank statement lines: the amount the
// cash ledger moved, the customer as payee, the external id as reference
// and the check number of checks.
func WriteXeroBankStatement(w io.Writer, docs []ExportDoc) error {
	var rows [][]string
	for _, d := range docs {
		var cash int64
		for _, e := range d.Entries {
			if e.Ledger == billing.LedgerCash {
				cash += e.Amount
			}
		}
		if cash == 0 {
			continue
		}
		check := ""
		if d.Method == billing.PayCheck {
			check = d.Reference
		}
		rows = append(rows, []string{ukDate(d.EffectiveDate), amount(cash, d.Currency), d.Customer.DisplayName(), d.Memo, ExternalID(d.TxID), check})
	}
	return writeAll(w, XeroBankHeader, rows)
}
