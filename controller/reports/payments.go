package reports

import (
	"sort"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// PaymentLine is one payment in a payments report. EffectiveDate is its
// journal date (a payment dated into a closed period posts on the first
// open day; ReceivedDate keeps the date it was received).
type PaymentLine struct {
	ID            int64                 `json:"id"`
	AccountID     int64                 `json:"account_id"`
	AccountNumber string                `json:"account_number"`
	Method        billing.PaymentMethod `json:"method"`
	Amount        int64                 `json:"amount"`
	Refunded      int64                 `json:"refunded"`
	Currency      string                `json:"currency"`
	Reference     string                `json:"reference"`
	Payer         string                `json:"payer"`
	ReceivedDate  billing.Date          `json:"received_date"`
	EffectiveDate billing.Date          `json:"effective_date"`
	Status        string                `json:"status" doc:"posted or reversed"`
	BatchID       int64                 `json:"batch_id,omitempty"`
	Gateway       string                `json:"gateway,omitempty"`
	PostedBy      string                `json:"posted_by"`
}

// DepositBatch is a posted deposit batch (its slip) whose deposit date is in
// the report's period: the slip's lines as the clerk entered them.
type DepositBatch struct {
	ID          int64
	DepositDate billing.Date
	Account     string
	Lines       []DepositLine
}

// DepositLine is one line of a deposit slip; PaymentID is the payment the
// line posted (0 if none).
type DepositLine struct {
	PaymentID int64
	Method    billing.PaymentMethod
	Amount    int64
	Reference string
}

// MethodTotal totals payments of one method and currency.
type MethodTotal struct {
	Method   billing.PaymentMethod `json:"method"`
	Currency string                `json:"currency"`
	Count    int                   `json:"count"`
	Amount   int64                 `json:"amount" doc:"Received, reversed ones left out."`
	Refunded int64                 `json:"refunded"`
	Reversed int64                 `json:"reversed" doc:"Of payments since reversed (NSF, chargeback, entry error)."`
}

// DepositRow reconciles one deposit slip against the ledger: the slip's
// total against the payments it posted that still stand.
type DepositRow struct {
	BatchID     int64        `json:"batch_id"`
	DepositDate billing.Date `json:"deposit_date"`
	Account     string       `json:"deposit_account"`
	SlipCount   int          `json:"slip_count"`
	SlipTotal   int64        `json:"slip_total"`
	Reversed    int64        `json:"reversed" doc:"Of the slip's payments since reversed (returned checks)."`
}

// Reconciliation compares what was received by hand (check, cash, money
// order, wire: the undeposited-funds ledger) with what the deposit slips
// took to the bank.
type Reconciliation struct {
	Currency string `json:"currency"`
	Received int64  `json:"received" doc:"Hand-received payments in the period (not gateway), reversed ones included."`
	// Deposited is the slips' total for payments received in the period.
	Deposited int64 `json:"deposited"`
	// NotDeposited are the hand-received payments on no deposit slip: a
	// check that never reached the bank, or one still in the drawer.
	NotDeposited      []PaymentLine `json:"not_deposited"`
	NotDepositedTotal int64         `json:"not_deposited_total"`
	Difference        int64         `json:"difference" doc:"Received − deposited − not deposited; 0 when every payment is accounted for."`
}

// PaymentsReport lists and totals payments and reconciles deposits.
type PaymentsReport struct {
	From     billing.Date     `json:"from"`
	To       billing.Date     `json:"to"`
	Payments []PaymentLine    `json:"payments"`
	Totals   []MethodTotal    `json:"totals" doc:"By method and currency."`
	Deposits []DepositRow     `json:"deposits" doc:"The deposit slips dated in the period."`
	Cash     []Reconciliation `json:"reconciliation" doc:"Per currency."`
	// Payouts reconciles the gateway's payouts, day by day, when the
	// controller has a gateway.
	Payouts []PayoutRow `json:"payouts"`
}

// handReceived: payments that go to the bank on a deposit slip rather than
// through a gateway.
func handReceived(p PaymentLine) bool {
	return p.Gateway == "" && p.Method != billing.PayCard && p.Method != billing.PayACH
}

// Payments builds the payments report from the payments effective in
// [from, to] (already filtered by method, batch, gateway or staff member as
// asked) and the deposit slips dated in the period.
func Payments(from, to billing.Date, payments []PaymentLine, batches []DepositBatch) PaymentsReport {
	r := PaymentsReport{From: from, To: to, Payments: payments, Totals: []MethodTotal{}, Deposits: []DepositRow{}, Cash: []Reconciliation{}, Payouts: []PayoutRow{}}
	if r.Payments == nil {
		r.Payments = []PaymentLine{}
	}
	type tkey struct {
		m billing.PaymentMethod
		c string
	}
	totals := map[tkey]*MethodTotal{}
	recs := map[string]*Reconciliation{}
	rec := func(c string) *Reconciliation {
		if recs[c] == nil {
			recs[c] = &Reconciliation{Currency: c, NotDeposited: []PaymentLine{}}
		}
		return recs[c]
	}
	byID := map[int64]PaymentLine{}
	for _, p := range payments {
		byID[p.ID] = p
		k := tkey{p.Method, p.Currency}
		t := totals[k]
		if t == nil {
			t = &MethodTotal{Method: p.Method, Currency: p.Currency}
			totals[k] = t
		}
		t.Count++
		if p.Status == "reversed" {
			t.Reversed += p.Amount
		} else {
			t.Amount += p.Amount
		}
		t.Refunded += p.Refunded
		if handReceived(p) {
			c := rec(p.Currency)
			c.Received += p.Amount
			if p.BatchID == 0 {
				c.NotDeposited = append(c.NotDeposited, p)
				c.NotDepositedTotal += p.Amount
			}
		}
	}
	for _, b := range batches {
		d := DepositRow{BatchID: b.ID, DepositDate: b.DepositDate, Account: b.Account}
		for _, l := range b.Lines {
			d.SlipCount++
			d.SlipTotal += l.Amount
			p, ok := byID[l.PaymentID]
			if ok && p.Status == "reversed" {
				d.Reversed += l.Amount
			}
			if ok && handReceived(p) {
				rec(p.Currency).Deposited += l.Amount
			}
		}
		r.Deposits = append(r.Deposits, d)
	}
	for _, t := range totals {
		r.Totals = append(r.Totals, *t)
	}
	sort.Slice(r.Totals, func(a, b int) bool {
		if r.Totals[a].Currency != r.Totals[b].Currency {
			return r.Totals[a].Currency < r.Totals[b].Currency
		}
		return r.Totals[a].Method < r.Totals[b].Method
	})
	for _, c := range recs {
		c.Difference = c.Received - c.Deposited - c.NotDepositedTotal
		r.Cash = append(r.Cash, *c)
	}
	sort.Slice(r.Cash, func(a, b int) bool { return r.Cash[a].Currency < r.Cash[b].Currency })
	sort.Slice(r.Deposits, func(a, b int) bool { return r.Deposits[a].BatchID < r.Deposits[b].BatchID })
	return r
}

// PaymentFilter selects the payments of a payments report: those whose
// journal date is in [From, To], and of the method, batch, gateway or staff
// member given (empty or zero: any).
type PaymentFilter struct {
	From     billing.Date
	To       billing.Date
	Method   string
	BatchID  int64
	Gateway  string
	PostedBy string
}

// Validate checks the period (EINVALID naming the field).
func (f PaymentFilter) Validate() error { return CheckPeriod(f.From, f.To) }

// CheckPeriod checks a report's period: both dates given, from not after
// to, at most ten years (EINVALID naming the field).
func CheckPeriod(from, to billing.Date) error {
	switch {
	case from.IsZero():
		return billing.Errorf(billing.EINVALID, "from is required (YYYY-MM-DD)")
	case to.IsZero():
		return billing.Errorf(billing.EINVALID, "to is required (YYYY-MM-DD)")
	case to.Before(from):
		return billing.Errorf(billing.EINVALID, "to %s is before from %s", to, from)
	case from.DaysUntil(to) > 3660:
		return billing.Errorf(billing.EINVALID, "to %s is more than ten years after from %s", to, from)
	}
	return nil
}

// GatewayPayout is a gateway's payout as the report reads it.
type GatewayPayout struct {
	Gateway  string
	ID       string
	Date     billing.Date
	Currency string
	Amount   int64
	Charges  int64
	Refunds  int64
	Fees     int64
}

// PayoutRow reconciles one gateway payout day against the ledger: the
// charges the gateway paid out against the gateway's payments the ledger
// has that day (reversed ones included: the charge was paid out before the
// chargeback).
type PayoutRow struct {
	Gateway    string       `json:"gateway"`
	Date       billing.Date `json:"date"`
	Currency   string       `json:"currency"`
	PayoutIDs  []string     `json:"payout_ids"`
	PaidOut    int64        `json:"paid_out" doc:"What reached the bank: charges − refunds − fees."`
	Charges    int64        `json:"charges" doc:"The charges the gateway counts that day."`
	Refunds    int64        `json:"refunds"`
	Fees       int64        `json:"fees"`
	Ledger     int64        `json:"ledger" doc:"The gateway's payments the ledger has that day."`
	Difference int64        `json:"difference" doc:"charges − ledger: 0 when every charge is in the ledger."`
}

// ReconcilePayouts puts each day's payouts of a gateway beside the
// gateway's payments the ledger has that day (by effective date).
func ReconcilePayouts(payments []PaymentLine, payouts []GatewayPayout) []PayoutRow {
	type key struct {
		gw  string
		day billing.Date
		cur string
	}
	rows := map[key]*PayoutRow{}
	row := func(k key) *PayoutRow {
		if rows[k] == nil {
			rows[k] = &PayoutRow{Gateway: k.gw, Date: k.day, Currency: k.cur, PayoutIDs: []string{}}
		}
		return rows[k]
	}
	for _, p := range payouts {
		r := row(key{p.Gateway, p.Date, p.Currency})
		r.PayoutIDs = append(r.PayoutIDs, p.ID)
		r.PaidOut += p.Amount
		r.Charges += p.Charges
		r.Refunds += p.Refunds
		r.Fees += p.Fees
	}
	for _, p := range payments {
		if p.Gateway != "" {
			row(key{p.Gateway, p.EffectiveDate, p.Currency}).Ledger += p.Amount
		}
	}
	out := make([]PayoutRow, 0, len(rows))
	for _, r := range rows {
		r.Difference = r.Charges - r.Ledger
		out = append(out, *r)
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if x.Gateway != y.Gateway {
			return x.Gateway < y.Gateway
		}
		if x.Date != y.Date {
			return x.Date.Before(y.Date)
		}
		return x.Currency < y.Currency
	})
	return out
}

// PaymentListFilter selects payments for the payments list: an account, a
// batch, a method, received from..to (zero values: any).
type PaymentListFilter struct {
	AccountID int64
	BatchID   int64
	Method    string
	From, To  billing.Date
}
