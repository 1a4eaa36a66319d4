package reports

import (
	"sort"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// RevenueLine is one invoice line (not tax) of an invoice the journal
// issued, or voided (taken back), in the report's period, with the plan of
// its service ("" for none), the account's type and POP.
type RevenueLine struct {
	Plan        string
	AccountType string
	POP         string
	Currency    string
	Kind        billing.LineKind
	Amount      int64
	Voided      bool
}

// RevenueRow is revenue billed in one plan, account type or POP.
type RevenueRow struct {
	Key       string `json:"key" doc:"The plan, account type or POP (empty: none)."`
	Currency  string `json:"currency"`
	Recurring int64  `json:"recurring"`
	OneTime   int64  `json:"one_time"`
	Fees      int64  `json:"fees"`
	Credits   int64  `json:"credits" doc:"Credit lines (negative)."`
	Total     int64  `json:"total" doc:"Billed, net of voids, tax left out."`
}

// MRRService is a billed service's monthly recurring revenue over time:
// its terms (plan × quantity, at the plan's monthly price) from each
// effective day, between its start and end (zero: still running).
type MRRService struct {
	ServiceID   int64
	AccountType string
	POP         string
	Currency    string
	Start, End  billing.Date
	Terms       []MRRTerm
}

// MRRTerm is a service's monthly revenue from Effective on.
type MRRTerm struct {
	Effective billing.Date
	Monthly   int64
}

// at is the service's MRR on day d.
func (s MRRService) at(d billing.Date) int64 {
	if d.Before(s.Start) || !s.End.IsZero() && !d.Before(s.End) {
		return 0
	}
	var m int64
	for _, t := range s.Terms {
		if !t.Effective.After(d) {
			m = t.Monthly
		}
	}
	return m
}

// MRRMovement explains the change of monthly recurring revenue over the
// period in one currency: opening + new + upgrades − downgrades − churn =
// closing, each service counted once by its net change.
type MRRMovement struct {
	Currency  string `json:"currency"`
	Opening   int64  `json:"opening" doc:"MRR on the first day."`
	New       int64  `json:"new" doc:"Of services without revenue on the first day."`
	Upgrade   int64  `json:"upgrade"`
	Downgrade int64  `json:"downgrade" doc:"Positive: what downgrades took away."`
	Churn     int64  `json:"churn" doc:"Positive: of services without revenue on the last day (cancelled, ended)."`
	Closing   int64  `json:"closing" doc:"MRR on the last day."`
	NewCount  int    `json:"new_services"`
	Churned   int    `json:"churned_services"`
}

// RevenueReport is revenue billed in a period and MRR's movements.
type RevenueReport struct {
	From   billing.Date  `json:"from"`
	To     billing.Date  `json:"to"`
	ByPlan []RevenueRow  `json:"by_plan"`
	ByType []RevenueRow  `json:"by_account_type"`
	ByPOP  []RevenueRow  `json:"by_pop"`
	MRR    []MRRMovement `json:"mrr" doc:"Per currency."`
}

// Revenue totals the lines billed in [from, to] by plan, account type and
// POP (voids subtract), and moves MRR from from to to.
func Revenue(from, to billing.Date, lines []RevenueLine, services []MRRService) RevenueReport {
	r := RevenueReport{From: from, To: to}
	type key struct{ k, cur string }
	group := func(keyOf func(RevenueLine) string) []RevenueRow {
		rows := map[key]*RevenueRow{}
		for _, l := range lines {
			k := key{keyOf(l), l.Currency}
			row := rows[k]
			if row == nil {
				row = &RevenueRow{Key: k.k, Currency: k.cur}
				rows[k] = row
			}
			amount := l.Amount
			if l.Voided {
				amount = -amount
			}
			switch l.Kind {
			case billing.LineTax:
				continue
			case billing.LineRecurring:
				row.Recurring += amount
			case billing.LineFee:
				row.Fees += amount
			case billing.LineCredit:
				row.Credits += amount
			default:
				row.OneTime += amount
			}
			row.Total += amount
		}
		out := make([]RevenueRow, 0, len(rows))
		for _, row := range rows {
			out = append(out, *row)
		}
		sort.Slice(out, func(a, b int) bool {
			if out[a].Key != out[b].Key {
				return out[a].Key < out[b].Key
			}
			return out[a].Currency < out[b].Currency
		})
		return out
	}
	r.ByPlan = group(func(l RevenueLine) string { return l.Plan })
	r.ByType = group(func(l RevenueLine) string { return l.AccountType })
	r.ByPOP = group(func(l RevenueLine) string { return l.POP })

	mrr := map[string]*MRRMovement{}
	for _, s := range services {
		m := mrr[s.Currency]
		if m == nil {
			m = &MRRMovement{Currency: s.Currency}
			mrr[s.Currency] = m
		}
		before, after := s.at(from), s.at(to)
		m.Opening += before
		m.Closing += after
		switch {
		case before == 0 && after > 0:
			m.New += after
			m.NewCount++
		case before > 0 && after == 0:
			m.Churn += before
			m.Churned++
		case after > before:
			m.Upgrade += after - before
		case after < before:
			m.Downgrade += before - after
		}
	}
	r.MRR = []MRRMovement{}
	for _, m := range mrr {
		r.MRR = append(r.MRR, *m)
	}
	sort.Slice(r.MRR, func(a, b int) bool { return r.MRR[a].Currency < r.MRR[b].Currency })
	return r
}

// RevenueHeader is the revenue CSV's header row.
var RevenueHeader = []string{"Dimension", "Key", "Currency", "Recurring", "One-time", "Fees", "Credits", "Total"}
