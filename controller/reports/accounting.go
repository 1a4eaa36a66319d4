package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// # Accounting export
//
// The journal keeps seven fixed ledgers (receivable, service and fee
// revenue, tax payable, undeposited funds, credits, bad debt). The
// accountant's chart of accounts is finer: revenue per plan or plan
// family, tax payable per jurisdiction, a bank account per deposit
// account, a clearing account per gateway. That mapping is applied here,
// at export, from the journal plus what the journal's transactions point
// at — the invoice's lines (their service's plan, the account's tax
// jurisdiction) and the payment's method, deposit batch and gateway —
// rather than by extending the ledger set by migration: the seven ledgers
// stay the billing invariants the database checks, a change of the chart
// (a new plan family, a second bank) applies to the next export without
// rewriting an immutable journal, and one journal serves QuickBooks
// Online and Xero whose charts differ.

// ChartOfAccounts names the accounting system's accounts Tollgate's
// documents post to. Empty names take the defaults ([ChartOfAccounts.WithDefaults]).
type ChartOfAccounts struct {
	Receivable string `yaml:"receivable" json:"receivable"`
	Revenue    string `yaml:"revenue" json:"revenue" doc:"Service revenue of plans not mapped below."`
	// RevenueByPlan maps a plan's name, or a plan family (a prefix of
	// plan names ending in "*", "Fiber *"), to its revenue account; the
	// longest matching key wins.
	RevenueByPlan map[string]string `yaml:"revenue_by_plan" json:"revenue_by_plan,omitempty"`
	FeeRevenue    string            `yaml:"fee_revenue" json:"fee_revenue"`
	TaxPayable    string            `yaml:"tax_payable" json:"tax_payable"`
	// TaxByJurisdiction maps an account's tax jurisdiction to its tax
	// payable account.
	TaxByJurisdiction map[string]string `yaml:"tax_by_jurisdiction" json:"tax_by_jurisdiction,omitempty"`
	UndepositedFunds  string            `yaml:"undeposited_funds" json:"undeposited_funds"`
	// BankByDepositAccount maps a deposit batch's deposit account to the
	// bank account its slips are deposited in; a batch's payments debit it.
	BankByDepositAccount map[string]string `yaml:"bank_by_deposit_account" json:"bank_by_deposit_account,omitempty"`
	// GatewayClearing maps a gateway ("stripe", "sandbox") to the clearing
	// account its charges and refunds go through until paid out.
	GatewayClearing map[string]string `yaml:"gateway_clearing" json:"gateway_clearing,omitempty"`
	Fees            string            `yaml:"fees" json:"fees" doc:"Gateway and bank fees."`
	Credits         string            `yaml:"credits" json:"credits" doc:"Credits and adjustments given to customers."`
	WriteOffs       string            `yaml:"write_offs" json:"write_offs"`
	// XeroTaxType and XeroExemptTaxType are the Xero tax rates of taxed
	// and untaxed invoice lines (their display names in Xero).
	XeroTaxType       string `yaml:"xero_tax_type" json:"xero_tax_type"`
	XeroExemptTaxType string `yaml:"xero_exempt_tax_type" json:"xero_exempt_tax_type"`
}

// WithDefaults fills the empty names with QuickBooks Online's usual ones.
func (c ChartOfAccounts) WithDefaults() ChartOfAccounts {
	def := func(s *string, v string) {
		if strings.TrimSpace(*s) == "" {
			*s = v
		}
	}
	def(&c.Receivable, "Accounts Receivable (A/R)")
	def(&c.Revenue, "Services")
	def(&c.FeeRevenue, "Late Fee Income")
	def(&c.TaxPayable, "Sales Tax Payable")
	def(&c.UndepositedFunds, "Undeposited Funds")
	def(&c.Fees, "Bank Charges & Fees")
	def(&c.Credits, "Discounts given")
	def(&c.WriteOffs, "Bad Debts")
	def(&c.XeroTaxType, "Tax on Sales")
	def(&c.XeroExemptTaxType, "Tax Exempt")
	return c
}

func (c ChartOfAccounts) revenue(plan string) string {
	best, bestLen := c.Revenue, -1
	for k, v := range c.RevenueByPlan {
		prefix, family := strings.CutSuffix(k, "*")
		if (k == plan || family && strings.HasPrefix(plan, prefix)) && len(k) > bestLen {
			best, bestLen = v, len(k)
		}
	}
	return best
}

func (c ChartOfAccounts) tax(jurisdiction string) string {
	if a, ok := c.TaxByJurisdiction[jurisdiction]; ok {
		return a
	}
	return c.TaxPayable
}

// cash is the account a payment's money is in: its gateway's clearing
// account, the bank its deposit slip went to, or undeposited funds.
func (c ChartOfAccounts) cash(d ExportDoc) string {
	if d.Gateway != "" {
		if a, ok := c.GatewayClearing[d.Gateway]; ok {
			return a
		}
		return strings.ToUpper(d.Gateway[:1]) + d.Gateway[1:] + " Clearing"
	}
	if d.DepositAccount != "" {
		if a, ok := c.BankByDepositAccount[d.DepositAccount]; ok {
			return a
		}
	}
	return c.UndepositedFunds
}

// ExportDoc is one journal transaction to export, with what its mapping
// needs: the entries by ledger, the invoice's lines (invoice issued or
// voided), and the payment's gateway and deposit account (payments,
// reversals and refunds).
type ExportDoc struct {
	TxID          int64
	Kind          billing.TxKind
	EffectiveDate billing.Date
	Memo          string
	Currency      string
	Customer      Customer
	Entries       []billing.Entry
	// Invoice: its number and due date, its lines with their plans.
	InvoiceNumber  string
	DueDate        billing.Date
	Lines          []ExportLine
	Jurisdiction   string
	Gateway        string
	DepositAccount string
	Method         billing.PaymentMethod
	Reference      string
	// Exported: the document was in an earlier export to the same target.
	Exported bool
}

// ExportLine is an invoice line with its service's plan ("" for none).
type ExportLine struct {
	Kind        billing.LineKind
	Description string
	Amount      int64
	Taxable     bool
	Plan        string
}

// Customer is an account as the accounting system knows it.
type Customer struct {
	AccountID int64
	Number    string
	Name      string
	Email     string
	Phone     string
	Street    string
	City      string
	Region    string
	Postcode  string
	Country   string
}

// DisplayName is the customer's name in the accounting system, unique by
// the account number: "Jane Doe (A-000042)".
func (c Customer) DisplayName() string { return fmt.Sprintf("%s (%s)", c.Name, c.Number) }

// ExternalID is a document's id in the accounting system: the same on
// every export, derived from the journal transaction's id.
func ExternalID(txID int64) string { return fmt.Sprintf("TG-%06d", txID) }

// Select keeps the documents to export: all of them with all, else those
// not exported before to this target.
func Select(docs []ExportDoc, all bool) []ExportDoc {
	if all {
		return docs
	}
	var out []ExportDoc
	for _, d := range docs {
		if !d.Exported {
			out = append(out, d)
		}
	}
	return out
}

// Posting is one account's debit (positive) or credit (negative) in a
// document.
type Posting struct {
	Account string
	Amount  int64
	// Customer is set on receivable postings.
	Customer string
}

// Postings maps a document onto the chart: an invoice (or its void) by its
// lines — each recurring or one-time line to its plan's revenue account,
// fees to fee revenue, tax to the jurisdiction's tax payable, credit lines
// to credits, their sum to the receivable — and any other transaction by
// its entries, the cash ledger going to the payment's clearing, bank or
// undeposited funds. Postings to one account are summed; the result sums
// to zero, in the order of the chart's accounts first used.
func Postings(d ExportDoc, c ChartOfAccounts) []Posting {
	c = c.WithDefaults()
	var out []Posting
	add := func(account string, amount int64, customer string) {
		for i := range out {
			if out[i].Account == account && out[i].Customer == customer {
				out[i].Amount += amount
				return
			}
		}
		out = append(out, Posting{account, amount, customer})
	}
	name := d.Customer.DisplayName()
	if (d.Kind == billing.TxInvoiceIssued || d.Kind == billing.TxInvoiceVoided) && len(d.Lines) > 0 {
		sign := int64(1)
		if d.Kind == billing.TxInvoiceVoided {
			sign = -1
		}
		var total int64
		for _, l := range d.Lines {
			total += l.Amount
		}
		add(c.Receivable, sign*total, name)
		for _, l := range d.Lines {
			var account string
			switch l.Kind {
			case billing.LineFee:
				account = c.FeeRevenue
			case billing.LineTax:
				account = c.tax(d.Jurisdiction)
			case billing.LineCredit:
				account = c.Credits
			default:
				account = c.revenue(l.Plan)
			}
			add(account, -sign*l.Amount, "")
		}
	} else {
		for _, e := range d.Entries {
			switch e.Ledger {
			case billing.LedgerReceivable:
				add(c.Receivable, e.Amount, name)
			case billing.LedgerCash:
				add(c.cash(d), e.Amount, "")
			case billing.LedgerRevenue:
				add(c.Revenue, e.Amount, "")
			case billing.LedgerFeeRevenue:
				add(c.FeeRevenue, e.Amount, "")
			case billing.LedgerTaxPayable:
				add(c.tax(d.Jurisdiction), e.Amount, "")
			case billing.LedgerCredits:
				add(c.Credits, e.Amount, "")
			case billing.LedgerBadDebt:
				add(c.WriteOffs, e.Amount, "")
			}
		}
	}
	kept := out[:0]
	for _, p := range out {
		if p.Amount != 0 {
			kept = append(kept, p)
		}
	}
	return kept
}

// Customers are the distinct customers of docs, by account id.
func Customers(docs []ExportDoc) []Customer {
	seen := map[int64]Customer{}
	for _, d := range docs {
		seen[d.Customer.AccountID] = d.Customer
	}
	out := make([]Customer, 0, len(seen))
	for _, c := range seen {
		out = append(out, c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].AccountID < out[b].AccountID })
	return out
}

// The export targets: each is one file.
const (
	TargetQuickBooksJournal   = "quickbooks-journal"
	TargetQuickBooksCustomers = "quickbooks-customers"
	TargetXeroInvoices        = "xero-invoices"
	TargetXeroBank            = "xero-bank"
)

// AccountingExport is one recorded export.
type AccountingExport struct {
	ID        int64        `json:"id"`
	Target    string       `json:"target" enum:"quickbooks-journal,quickbooks-customers,xero-invoices,xero-bank"`
	From      billing.Date `json:"from"`
	To        billing.Date `json:"to"`
	All       bool         `json:"all" doc:"Documents exported before were carried again."`
	Documents int          `json:"documents"`
	CreatedBy string       `json:"created_by"`
	CreatedAt time.Time    `json:"created_at"`
}

// ExportFile builds target's file from the period's documents: only those
// not exported before unless all (for the customers target: customers not
// exported before). It returns the documents it carried (journal
// transaction ids; account ids for customers) to record with the export.
func ExportFile(w io.Writer, target string, docs []ExportDoc, chart ChartOfAccounts, all bool) ([]int64, error) {
	if target == TargetQuickBooksCustomers {
		customers := Customers(Select(docs, all))
		ids := make([]int64, len(customers))
		for i, c := range customers {
			ids[i] = c.AccountID
		}
		return ids, WriteQuickBooksCustomers(w, customers)
	}
	docs = Select(docs, all)
	ids := make([]int64, len(docs))
	for i, d := range docs {
		ids[i] = d.TxID
	}
	switch target {
	case TargetQuickBooksJournal:
		return ids, WriteQuickBooksJournal(w, docs, chart)
	case TargetXeroInvoices:
		return ids, WriteXeroInvoices(w, docs, chart)
	case TargetXeroBank:
		return ids, WriteXeroBankStatement(w, docs)
	}
	return nil, billing.Errorf(billing.EINVALID, "target %q is not one of %s, %s, %s, %s", target,
		TargetQuickBooksJournal, TargetQuickBooksCustomers, TargetXeroInvoices, TargetXeroBank)
}
