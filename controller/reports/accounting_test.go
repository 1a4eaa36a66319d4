package reports

import (
	"bytes"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The worked example: Jane Doe (A-000001) in US-TX is invoiced 49.99 of
// Fiber 100 (taxable), a 25.00 installation (not taxable) and 3.12 of tax,
// 78.11 in all, on Oct 1, due Oct 15; pays it by check 1042 on a slip
// deposited to First Bank; and a 10.00 card payment through Stripe.
func workedExample() ([]ExportDoc, ChartOfAccounts) {
	jane := Customer{AccountID: 1, Number: "A-000001", Name: "Jane Doe", Email: "jane@example.net", Street: "1 Main St", City: "Austin", Region: "TX", Postcode: "78701", Country: "US"}
	chart := ChartOfAccounts{
		Receivable:           "1200 Accounts Receivable",
		RevenueByPlan:        map[string]string{"Fiber *": "4010 Fiber revenue"},
		Revenue:              "4000 Services",
		TaxByJurisdiction:    map[string]string{"US-TX": "2210 Sales tax TX"},
		BankByDepositAccount: map[string]string{"First Bank 1234": "1010 First Bank"},
		GatewayClearing:      map[string]string{"stripe": "1050 Stripe clearing"},
	}
	docs := []ExportDoc{
		{TxID: 17, Kind: billing.TxInvoiceIssued, EffectiveDate: billing.NewDate(2026, 10, 1), Memo: "invoice INV-000017", Currency: "USD",
			Customer: jane, InvoiceNumber: "INV-000017", DueDate: billing.NewDate(2026, 10, 15), Jurisdiction: "US-TX",
			Lines: []ExportLine{{Kind: billing.LineRecurring, Description: "Fiber 100, October", Amount: 4999, Taxable: true, Plan: "Fiber 100"},
				{Kind: billing.LineOneTime, Description: "Installation", Amount: 2500},
				{Kind: billing.LineTax, Description: "TX sales tax 6.25%", Amount: 312}}},
		{TxID: 21, Kind: billing.TxPaymentPosted, EffectiveDate: billing.NewDate(2026, 10, 9), Memo: "check payment 1042", Currency: "USD",
			Customer: jane, DepositAccount: "First Bank 1234", Method: billing.PayCheck, Reference: "1042",
			Entries: []billing.Entry{{Ledger: billing.LedgerCash, Amount: 7811}, {Ledger: billing.LedgerReceivable, Amount: -7811}}},
		{TxID: 22, Kind: billing.TxPaymentPosted, EffectiveDate: billing.NewDate(2026, 10, 12), Memo: "card payment", Currency: "USD",
			Customer: jane, Gateway: "stripe", Method: billing.PayCard,
			Entries: []billing.Entry{{Ledger: billing.LedgerCash, Amount: 1000}, {Ledger: billing.LedgerReceivable, Amount: -1000}}},
	}
	return docs, chart
}

func TestQuickBooksJournalWorkedExample(t *testing.T) {
	docs, chart := workedExample()
	var b bytes.Buffer
	if err := WriteQuickBooksJournal(&b, docs, chart); err != nil {
		t.Fatal(err)
	}
	want := "Journal No,Journal Date,Account Name,Debits,Credits,Description,Name\n" +
		"TG-000017,10/01/2026,1200 Accounts Receivable,78.11,,invoice INV-000017,Jane Doe (A-000001)\n" +
		"TG-000017,10/01/2026,4010 Fiber revenue,,49.99,invoice INV-000017,\n" +
		"TG-000017,10/01/2026,4000 Services,,25.00,invoice INV-000017,\n" +
		"TG-000017,10/01/2026,2210 Sales tax TX,,3.12,invoice INV-000017,\n" +
		"TG-000021,10/09/2026,1010 First Bank,78.11,,check payment 1042,\n" +
		"TG-000021,10/09/2026,1200 Accounts Receivable,,78.11,check payment 1042,Jane Doe (A-000001)\n" +
		"TG-000022,10/12/2026,1050 Stripe clearing,10.00,,card payment,\n" +
		"TG-000022,10/12/2026,1200 Accounts Receivable,,10.00,card payment,Jane Doe (A-000001)\n"
	if b.String() != want {
		t.Errorf("journal:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteQuickBooksCustomers(&b, Customers(docs)); err != nil {
		t.Fatal(err)
	}
	if want := "Name,Email,Phone,Street,City,State,ZIP,Country\nJane Doe (A-000001),jane@example.net,,1 Main St,Austin,TX,78701,US\n"; b.String() != want {
		t.Errorf("customers:\n%s\nwant\n%s", b.String(), want)
	}
	// A void posts the invoice's mapping reversed.
	void := docs[0]
	void.Kind, void.TxID = billing.TxInvoiceVoided, 30
	ps := Postings(void, chart)
	if len(ps) != 4 || ps[0] != (Posting{"1200 Accounts Receivable", -7811, "Jane Doe (A-000001)"}) || ps[1] != (Posting{"4010 Fiber revenue", 4999, ""}) {
		t.Errorf("void postings %+v", ps)
	}
}

func TestXeroWorkedExample(t *testing.T) {
	docs, chart := workedExample()
	var b bytes.Buffer
	if err := WriteXeroInvoices(&b, docs, chart); err != nil {
		t.Fatal(err)
	}
	want := "*ContactName,EmailAddress,POAddressLine1,POAddressLine2,POAddressLine3,POAddressLine4,POCity,PORegion,POPostalCode,POCountry," +
		"*InvoiceNumber,Reference,*InvoiceDate,*DueDate,Total,InventoryItemCode,*Description,*Quantity,*UnitAmount,Discount,*AccountCode," +
		"*TaxType,TaxAmount,TrackingName1,TrackingOption1,TrackingName2,TrackingOption2,Currency,BrandingTheme\n" +
		"Jane Doe (A-000001),jane@example.net,1 Main St,,,,Austin,TX,78701,US,INV-000017,TG-000017,01/10/2026,15/10/2026,78.11,," +
		"\"Fiber 100, October\",1,49.99,,4010 Fiber revenue,Tax on Sales,3.12,,,,,USD,\n" +
		"Jane Doe (A-000001),jane@example.net,1 Main St,,,,Austin,TX,78701,US,INV-000017,TG-000017,01/10/2026,15/10/2026,78.11,," +
		"Installation,1,25.00,,4000 Services,Tax Exempt,,,,,,USD,\n"
	if b.String() != want {
		t.Errorf("invoices:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteXeroBankStatement(&b, docs); err != nil {
		t.Fatal(err)
	}
	if want := "*Date,*Amount,Payee,Description,Reference,Cheque Number\n" +
		"09/10/2026,78.11,Jane Doe (A-000001),check payment 1042,TG-000021,1042\n" +
		"12/10/2026,10.00,Jane Doe (A-000001),card payment,TG-000022,\n"; b.String() != want {
		t.Errorf("bank statement:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestSelectLeavesOutExportedUnlessAll(t *testing.T) {
	docs := []ExportDoc{{TxID: 1, Exported: true}, {TxID: 2}}
	if got := Select(docs, false); len(got) != 1 || got[0].TxID != 2 {
		t.Errorf("new only: %+v", got)
	}
	if got := Select(docs, true); len(got) != 2 || ExternalID(got[0].TxID) != "TG-000001" {
		t.Errorf("all: %+v", got)
	}
}
