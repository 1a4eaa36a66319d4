package reports

import (
	"sort"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AgingAccount is one account's receivable as of the report's date: its
// balance from the journal (entries effective on or before the date).
type AgingAccount struct {
	AccountID   int64
	Number      string
	Name        string
	AccountType string
	// POP is the POP of the account's first service ("" without one): an
	// account served at several POPs is reported under its first.
	POP      string
	Currency string
	Balance  int64
}

// AgingInvoice is what was still open on one invoice as of the report's
// date: its total less the allocation events effective by then; only
// invoices issued (and not voided) by then and with something open.
type AgingInvoice struct {
	AccountID int64
	DueDate   billing.Date
	Open      int64
}

// Buckets splits a receivable by days past due. Unapplied is the credit not
// applied to any invoice (unapplied payments and credit notes: normally
// negative); the buckets plus Unapplied are Total, the journal balance.
type Buckets struct {
	Current    int64 `json:"current" doc:"Open on invoices not yet due."`
	Days1To30  int64 `json:"days_1_30"`
	Days31To60 int64 `json:"days_31_60"`
	Days61To90 int64 `json:"days_61_90"`
	Over90     int64 `json:"over_90"`
	Unapplied  int64 `json:"unapplied" doc:"Credit not applied to an invoice (negative), or a balance no open invoice explains."`
	Total      int64 `json:"total" doc:"The receivable balance from the journal: the buckets plus unapplied."`
}

// PastDue is what is open after its due date.
func (b Buckets) PastDue() int64 { return b.Days1To30 + b.Days31To60 + b.Days61To90 + b.Over90 }

func (b *Buckets) add(o Buckets) {
	b.Current += o.Current
	b.Days1To30 += o.Days1To30
	b.Days31To60 += o.Days31To60
	b.Days61To90 += o.Days61To90
	b.Over90 += o.Over90
	b.Unapplied += o.Unapplied
	b.Total += o.Total
}

// addOpen puts an invoice's open amount in the bucket of its days past due
// on asOf (the due date itself is current: not yet past due).
func (b *Buckets) addOpen(asOf, due billing.Date, open int64) {
	switch days := due.DaysUntil(asOf); {
	case days <= 0:
		b.Current += open
	case days <= 30:
		b.Days1To30 += open
	case days <= 60:
		b.Days31To60 += open
	case days <= 90:
		b.Days61To90 += open
	default:
		b.Over90 += open
	}
}

// AgingRow is one account's aging.
type AgingRow struct {
	AccountID   int64  `json:"account_id"`
	Number      string `json:"number"`
	Name        string `json:"name"`
	AccountType string `json:"account_type"`
	POP         string `json:"pop"`
	Currency    string `json:"currency"`
	Buckets
}

// AgingGroup totals the rows of one account type, POP or (Key "") all
// accounts, per currency.
type AgingGroup struct {
	Key      string `json:"key"`
	Currency string `json:"currency"`
	Accounts int    `json:"accounts"`
	Buckets
}

// AgingReport is accounts receivable aging as of a date.
type AgingReport struct {
	AsOf   billing.Date `json:"as_of"`
	Totals []AgingGroup `json:"totals" doc:"Per currency."`
	ByType []AgingGroup `json:"by_account_type"`
	ByPOP  []AgingGroup `json:"by_pop"`
	// Rows are the accounts whose balance or open invoices are not zero,
	// by account id; left out when the caller asked for totals only.
	Rows []AgingRow `json:"rows"`
}

// Aging ages the receivable as of asOf. accounts and invoices are both
// sorted by account id (invoices of an account not in accounts are
// ignored: it has no journal entry by asOf). An account's open invoices go
// to the buckets of their days past due; what its balance holds beyond
// them is Unapplied. Accounts with a zero balance and nothing open are left
// out. rows false leaves Rows empty (the totals of a million accounts
// without a million rows).
func Aging(asOf billing.Date, accounts []AgingAccount, invoices []AgingInvoice, rows bool) AgingReport {
	r := AgingReport{AsOf: asOf, Totals: []AgingGroup{}, ByType: []AgingGroup{}, ByPOP: []AgingGroup{}, Rows: []AgingRow{}}
	type key struct{ kind, name, currency string }
	groups := map[key]*AgingGroup{}
	addTo := func(kind, name string, row *AgingRow) {
		k := key{kind, name, row.Currency}
		g := groups[k]
		if g == nil {
			g = &AgingGroup{Key: name, Currency: row.Currency}
			groups[k] = g
		}
		g.Accounts++
		g.add(row.Buckets)
	}
	j := 0
	for _, a := range accounts {
		for j < len(invoices) && invoices[j].AccountID < a.AccountID {
			j++
		}
		row := AgingRow{AccountID: a.AccountID, Number: a.Number, Name: a.Name, AccountType: a.AccountType, POP: a.POP, Currency: a.Currency}
		var open int64
		n := 0
		for ; j < len(invoices) && invoices[j].AccountID == a.AccountID; j++ {
			row.addOpen(asOf, invoices[j].DueDate, invoices[j].Open)
			open += invoices[j].Open
			n++
		}
		if a.Balance == 0 && n == 0 {
			continue
		}
		row.Total = a.Balance
		row.Unapplied = a.Balance - open
		addTo("", "", &row)
		addTo("type", a.AccountType, &row)
		addTo("pop", a.POP, &row)
		if rows {
			r.Rows = append(r.Rows, row)
		}
	}
	for k, g := range groups {
		switch k.kind {
		case "":
			r.Totals = append(r.Totals, *g)
		case "type":
			r.ByType = append(r.ByType, *g)
		default:
			r.ByPOP = append(r.ByPOP, *g)
		}
	}
	for _, gs := range [][]AgingGroup{r.Totals, r.ByType, r.ByPOP} {
		sort.Slice(gs, func(a, b int) bool {
			if gs[a].Key != gs[b].Key {
				return gs[a].Key < gs[b].Key
			}
			return gs[a].Currency < gs[b].Currency
		})
	}
	return r
}

// AccountsMissing are the accounts of invoices (sorted by account) that
// accounts (sorted by id) leaves out: read with a zero balance, they owe
// on an invoice what their credit covers.
func AccountsMissing(accounts []AgingAccount, invoices []AgingInvoice) []int64 {
	var out []int64
	j := 0
	for _, inv := range invoices {
		for j < len(accounts) && accounts[j].AccountID < inv.AccountID {
			j++
		}
		if (j == len(accounts) || accounts[j].AccountID != inv.AccountID) && (len(out) == 0 || out[len(out)-1] != inv.AccountID) {
			out = append(out, inv.AccountID)
		}
	}
	return out
}

// MergeAccounts merges two lists of accounts sorted by id into one.
func MergeAccounts(a, b []AgingAccount) []AgingAccount {
	out := make([]AgingAccount, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || i < len(a) && a[i].AccountID < b[j].AccountID {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return out
}
