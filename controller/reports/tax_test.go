package reports

import (
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// A period in one jurisdiction with two rates: an invoice taxed at both, an
// exempt account's invoice, a credit note (a refund of part of a charge)
// and a void. Every figure is worked out by hand in the comments.
func TestTaxLiabilityWithCreditAndVoid(t *testing.T) {
	state, county := "TX sales tax 6.25%", "Travis county 2%"
	invoices := []TaxInvoice{
		// Invoice 1: 100.00 service (taxable) + 10.00 install (not
		// taxable); tax 6.25 + 2.00.
		{InvoiceID: 1, Jurisdiction: "US-TX", Currency: "USD", Lines: []TaxLine{
			{Kind: billing.LineRecurring, Amount: 10000, Taxable: true}, {Kind: billing.LineOneTime, Amount: 1000},
			{Kind: billing.LineTax, Description: state, Amount: 625}, {Kind: billing.LineTax, Description: county, Amount: 200}}},
		// Invoice 2: a tax-exempt account's 50.00 taxable service, no tax.
		{InvoiceID: 2, Jurisdiction: "US-TX", Currency: "USD", Lines: []TaxLine{{Kind: billing.LineRecurring, Amount: 5000, Taxable: true}}},
		// Credit note 3: 40.00 of service refunded, with its tax 2.50 + 0.80.
		{InvoiceID: 3, Jurisdiction: "US-TX", Currency: "USD", Lines: []TaxLine{
			{Kind: billing.LineCredit, Amount: -4000, Taxable: true},
			{Kind: billing.LineTax, Description: state, Amount: -250}, {Kind: billing.LineTax, Description: county, Amount: -80}}},
		// Invoice 4 voided in the period: 20.00 service, 1.25 + 0.40.
		{InvoiceID: 4, Voided: true, Jurisdiction: "US-TX", Currency: "USD", Lines: []TaxLine{
			{Kind: billing.LineRecurring, Amount: 2000, Taxable: true},
			{Kind: billing.LineTax, Description: state, Amount: 125}, {Kind: billing.LineTax, Description: county, Amount: 40}}},
	}
	r := TaxLiability(d(2026, 5, 1), d(2026, 5, 31), invoices)
	want := []TaxRow{
		// Untaxed: 10.00 install + 50.00 exempt = 60.00.
		{Jurisdiction: "US-TX", Currency: "USD", ExemptSales: 6000},
		{Jurisdiction: "US-TX", Rate: state, Currency: "USD", TaxableSales: 10000, TaxCharged: 625,
			CreditedSales: 4000, CreditedTax: 250, VoidedSales: 2000, VoidedTax: 125, NetTax: 625 - 250 - 125},
		{Jurisdiction: "US-TX", Rate: county, Currency: "USD", TaxableSales: 10000, TaxCharged: 200,
			CreditedSales: 4000, CreditedTax: 80, VoidedSales: 2000, VoidedTax: 40, NetTax: 200 - 80 - 40},
	}
	if len(r.Rows) != len(want) {
		t.Fatalf("rows %+v", r.Rows)
	}
	for i := range want {
		if r.Rows[i] != want[i] {
			t.Errorf("row %d: %+v\nwant    %+v", i, r.Rows[i], want[i])
		}
	}
}
