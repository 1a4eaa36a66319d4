package documents

import (
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func ptr64(v int64) *int64 { return &v }

// sampleInvoice is a typical invoice: five lines (two services, a one-time
// charge, a credit, a tax), a previous balance, two payments, the slip.
func sampleInvoice() InvoiceDocument {
	d := billing.NewDate
	return InvoiceDocument{
		Company: Company{Name: "Prairie Fiber Co-op", Address: []string{"100 Main Street", "Springfield, IL 62701"}},
		RemitTo: []string{"PO Box 4410", "Springfield, IL 62708-4410"},
		Account: billing.Account{ID: 42, Number: "A-000042", Name: "Ana Muñoz", Currency: "USD",
			Address: billing.Address{Line1: "12 Ñandú Lane", Line2: "Apt 3", City: "Peoria", Region: "IL", PostalCode: "61602", Country: "USA"}},
		Invoice: billing.Invoice{ID: 1001, Number: "INV-001001", AccountID: 42,
			Period:    billing.Period{Start: d(2025, time.June, 1), End: d(2025, time.July, 1)},
			IssueDate: d(2025, time.May, 27), DueDate: d(2025, time.June, 10), DelinquencyDate: d(2025, time.June, 17),
			Currency: "USD", Status: billing.InvoiceOpen, Subtotal: 12498, Tax: 781, Total: 13279,
			Lines: []billing.InvoiceLine{
				{Kind: billing.LineRecurring, Description: "Fiber 100 (monthly), 2025-06-01 to 2025-06-30", ServiceID: ptr64(7),
					PeriodStart: d(2025, time.June, 1), PeriodEnd: d(2025, time.July, 1), Amount: 4999, Taxable: true},
				{Kind: billing.LineRecurring, Description: "Static IP (monthly), 2025-06-01 to 2025-06-30", ServiceID: ptr64(8),
					PeriodStart: d(2025, time.June, 1), PeriodEnd: d(2025, time.July, 1), Amount: 1000, Taxable: true},
				{Kind: billing.LineOneTime, Description: "Installation", ChargeID: ptr64(3), Amount: 7500, Taxable: true},
				{Kind: billing.LineCredit, Description: "Outage credit May 14", ChargeID: ptr64(4), Amount: -1001},
				{Kind: billing.LineTax, Description: "IL sales tax 6.25%", Amount: 781},
			}},
		PreviousBalance: 5999,
		Payments: []StatementPayment{
			{Date: d(2025, time.May, 5), Memo: "Check 1042", Amount: -4999},
			{Date: d(2025, time.May, 20), Memo: "Card ending 4242", Amount: -1000},
		},
		AmountDue:      13279,
		Message:        "Our office is closed on July 4th. Refer a neighbour and get a month free — ask us how!",
		RemittanceSlip: true,
	}
}
