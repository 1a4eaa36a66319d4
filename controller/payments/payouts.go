package payments

import (
	"context"
	"net/url"
	"sort"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Payout is money a gateway paid out to the ISP's bank: what its charges
// took, less what its refunds gave back and its fees. Reports reconcile
// it against the gateway's payments in the ledger.
type Payout struct {
	// ID is the gateway's id ("po_…"; the sandbox's "po_sandbox_YYYYMMDD_usd").
	ID       string           `json:"id"`
	Date     billing.Date     `json:"date" doc:"The day it was paid out (UTC)."`
	Currency billing.Currency `json:"currency"`
	Amount   int64            `json:"amount" doc:"Paid out: charges − refunds − fees."`
	Charges  int64            `json:"charges"`
	Refunds  int64            `json:"refunds"`
	Fees     int64            `json:"fees"`
}

func checkPayoutPeriod(from, to billing.Date) error {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return billing.Errorf(billing.EINVALID, "payout period %s to %s: both days are required, to not before from", from, to)
	}
	return nil
}

// Payouts derives the sandbox's daily payouts from its durable charges and
// refunds: one per day (UTC) and currency with a succeeded charge or a
// refund, paid out that day, without fees.
func (s *Sandbox) Payouts(ctx context.Context, from, to billing.Date) ([]Payout, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkPayoutPeriod(from, to); err != nil {
		return nil, err
	}
	type key struct {
		day billing.Date
		cur billing.Currency
	}
	days := map[key]*Payout{}
	add := func(at time.Time, cur billing.Currency, charge, refund int64) {
		d := billing.DateOf(at.UTC())
		if at.IsZero() || d.Before(from) || d.After(to) {
			return
		}
		p := days[key{d, cur}]
		if p == nil {
			p = &Payout{ID: "po_sandbox_" + d.String()[:4] + d.String()[5:7] + d.String()[8:] + "_" + string(cur), Date: d, Currency: cur}
			days[key{d, cur}] = p
		}
		p.Charges += charge
		p.Refunds += refund
		p.Amount += charge - refund
	}
	s.mu.Lock()
	for _, c := range s.st.Charges {
		if c.Charge.Status != ChargeSucceeded {
			continue
		}
		add(c.At, c.Currency, c.Amount, 0)
		for i, r := range c.Refunds {
			if i < len(c.RefundsAt) && r.Settled() {
				add(c.RefundsAt[i], c.Currency, 0, r.Amount)
			}
		}
	}
	s.mu.Unlock()
	out := make([]Payout, 0, len(days))
	for _, p := range days {
		out = append(out, *p)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// Payouts reads Stripe's balance transactions of type payout created on
// the days from..to (UTC), and for each the charges, refunds and fees of
// the balance transactions it paid out (GET /v1/balance_transactions?payout=).
func (s *Stripe) Payouts(ctx context.Context, from, to billing.Date) ([]Payout, error) {
	if err := checkPayoutPeriod(from, to); err != nil {
		return nil, err
	}
	params := &stripe.BalanceTransactionListParams{Type: stripe.String("payout")}
	params.CreatedRange = &stripe.RangeQueryParams{GreaterThanOrEqual: from.StartIn(time.UTC).Unix(), LesserThan: to.AddDays(1).StartIn(time.UTC).Unix()}
	params.Limit = stripe.Int64(100)
	var out []Payout
	for bt, err := range s.client.V1BalanceTransactions.List(ctx, params).All(ctx) {
		if err != nil {
			return nil, stripeErr("list balance transactions", err)
		}
		p := Payout{ID: bt.ID, Date: billing.DateOf(time.Unix(bt.Created, 0).UTC()), Currency: billing.Currency(upper(string(bt.Currency))), Amount: -bt.Amount}
		if bt.Source != nil && bt.Source.ID != "" {
			p.ID = bt.Source.ID
			inner := &stripe.BalanceTransactionListParams{Payout: stripe.String(bt.Source.ID)}
			inner.Limit = stripe.Int64(100)
			for t, err := range s.client.V1BalanceTransactions.List(ctx, inner).All(ctx) {
				if err != nil {
					return nil, stripeErr("list a payout's balance transactions", err)
				}
				switch t.Type {
				case "charge", "payment":
					p.Charges += t.Amount
				case "refund", "payment_refund":
					p.Refunds -= t.Amount
				}
				p.Fees += t.Fee
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// Payouts asks the sandbox server for its daily payouts.
func (c *SandboxClient) Payouts(ctx context.Context, from, to billing.Date) ([]Payout, error) {
	if err := checkPayoutPeriod(from, to); err != nil {
		return nil, err
	}
	var out []Payout
	err := c.call(ctx, "GET", "/v1/payouts?"+url.Values{"from": {from.String()}, "to": {to.String()}}.Encode(), "", nil, &out)
	return out, err
}
