package billing

import (
	"fmt"
	"time"
)

// AccountStatusAt is one entry of an account's status history: from At
// on, the account had Status.
type AccountStatusAt struct {
	At     time.Time     `json:"at"`
	Status AccountStatus `json:"status"`
}

// SuspendedDaysRequest asks which invoiced days of a service to credit
// because its account was suspended (account types that stop invoicing
// while suspended).
type SuspendedDaysRequest struct {
	Context LifecycleContext
	Service LifecycleService
	// From and To (exclusive) are the local days examined (the periods
	// being settled); days whose local midnight is after Context.Now are
	// never examined.
	From, To Date
	// Initial is the account's status before the first entry of History;
	// History is its status changes in time order.
	Initial AccountStatus
	History []AccountStatusAt
}

// PlanSuspendedDaysCredit credits the invoiced days of a service on which
// its account was suspended at local midnight (the start of the day in the
// account type's zone, per the status history), when the account type
// stops invoicing while suspended. Each run of such days is one credit
// line per invoiced piece, saying why; the days leave the coverage, so
// they are never credited twice. Days not invoiced are not examined (an
// invoice is issued in advance; the next settlement credits them). The
// lines go on the next invoice.
//
// A type that invoices suspended days gets an empty plan.
//
// Errors (EINVALID): to not after from; a history out of time order; a
// bad zone, policy or coverage.
func PlanSuspendedDaysCredit(req SuspendedDaysRequest) (LifecyclePlan, error) {
	ctx, svc := req.Context, req.Service
	pol := ctx.Policy
	if err := pol.Validate(); err != nil {
		return LifecyclePlan{}, err
	}
	loc, err := ctx.Type.Location()
	if err != nil {
		return LifecyclePlan{}, err
	}
	if err := svc.check(ctx.Account); err != nil {
		return LifecyclePlan{}, err
	}
	if !req.From.Before(req.To) {
		return LifecyclePlan{}, Errorf(EINVALID, "to %s must be after from %s", req.To, req.From)
	}
	for i := 1; i < len(req.History); i++ {
		if req.History[i].At.Before(req.History[i-1].At) {
			return LifecyclePlan{}, Errorf(EINVALID, "history[%d] at %s is before the entry before it", i, req.History[i].At.Format(time.RFC3339))
		}
	}
	plan := LifecyclePlan{Kind: LifecycleSuspendedDays, AccountID: ctx.Account.ID, Currency: ctx.Account.Currency, ServiceID: svc.Ref.ID, Effective: req.From,
		Coverage: svc.Coverage, Invoicing: InvoiceOnNext}
	plan.Audit = ctx.audit(LifecycleSuspendedDays, auditEntityService, svc.Ref.ID)
	if !pol.StopInvoicingWhileSuspended {
		plan.Why = append(plan.Why, "the account type invoices suspended days: nothing to credit")
		return plan, nil
	}
	statusAt := func(t time.Time) AccountStatus {
		s := req.Initial
		for _, h := range req.History {
			if h.At.After(t) {
				break
			}
			s = h.Status
		}
		return s
	}
	iv := intervalOf(svc.Plan)
	cur := ctx.Account.Currency
	var runStart Date
	credit := func(end Date) {
		if runStart.IsZero() {
			return
		}
		label := fmt.Sprintf("Suspended %s to %s at local midnight", shortDate(runStart), shortDate(end.AddDays(-1)))
		left, taken := removeDays(plan.Coverage, runStart, end, func(s BilledSpan) bool { return !s.Hold })
		for _, s := range taken {
			plan.Lines = append(plan.Lines, creditLine(s, svc.Ref.ID, fmt.Sprintf("%s: credit %s, of %s (%s); the account type stops invoicing while suspended",
				label, daysWords(s), s.terms(), priceWords(s.Price, cur, iv))))
		}
		if len(taken) > 0 {
			plan.Why = append(plan.Why, fmt.Sprintf("suspended at local midnight (%s) %s to %s: %d invoiced days credited", ctx.Type.TimeZone, runStart.Label(), end.AddDays(-1).Label(), daysOf(taken)))
		}
		plan.Coverage = left
		runStart = Date{}
	}
	d := req.From
	for ; d.Before(req.To) && !d.StartIn(loc).After(ctx.Now); d = d.AddDays(1) {
		if statusAt(d.StartIn(loc)) == AccountSuspended {
			if runStart.IsZero() {
				runStart = d
			}
		} else {
			credit(d)
		}
	}
	credit(d)
	for _, l := range plan.Lines {
		plan.Net += l.Amount
	}
	if len(plan.Lines) == 0 {
		plan.Why = append(plan.Why, "no invoiced day was suspended at local midnight")
	} else {
		plan.Audit.After["credited_days"] = daysOfLines(plan.Lines)
	}
	return plan, nil
}

func daysOf(spans []BilledSpan) int {
	n := 0
	for _, s := range spans {
		n += s.Days()
	}
	return n
}

func daysOfLines(ls []ProratedLine) int {
	n := 0
	for _, l := range ls {
		n += l.Days()
	}
	return n
}
