package billing

import "fmt"

// holdPlanName names a pause's hold fee on invoice lines.
const holdPlanName = "Vacation hold"

// PauseRequest asks to pause a service (a vacation hold) for the local
// days [From, To): To is the day it resumes.
type PauseRequest struct {
	Context  LifecycleContext
	Service  LifecycleService
	From, To Date
}

// PlanPause decides a pause of a service for the days [From, To).
//
// No recurring charge is made for the paused days: those already invoiced
// are credited at exactly what they were charged, and, when the type sets
// a hold fee (per month), the same days are charged the fee instead,
// prorated over the same periods. Days not invoiced yet are left to the
// billing run, which bills the service around the pause and the hold fee
// during it ([PausedBillable]). When the type suspends paused services,
// the service is suspended on From (cause paused, "paused until To") and
// resumed on To; [ResumeState] says what resuming sets.
//
// Errors (EINVALID, naming the field): from missing, before today or
// before the service's start; to not after from, or after the service's
// end; a pause longer than the type's max_pause_days; a pause while
// another has not ended; a bad policy or coverage.
func PlanPause(req PauseRequest) (LifecyclePlan, error) {
	ctx, svc := req.Context, req.Service
	pol := ctx.Policy
	today, err := ctx.begin(svc)
	if err != nil {
		return LifecyclePlan{}, err
	}
	from, to := req.From, req.To
	for _, f := range []struct {
		name string
		d    Date
	}{{"from", from}, {"to", to}} {
		if f.d.IsZero() {
			return LifecyclePlan{}, Errorf(EINVALID, "%s is required: a pause runs from a date to the date service resumes", f.name)
		}
		if err := CheckDate(f.name, f.d); err != nil {
			return LifecyclePlan{}, err
		}
	}
	days := from.DaysUntil(to)
	switch {
	case from.Before(today):
		return LifecyclePlan{}, Errorf(EINVALID, "from %s is before today %s in %s: a pause starts today or later", from, today, ctx.Type.TimeZone)
	case from.Before(svc.Start):
		return LifecyclePlan{}, Errorf(EINVALID, "from %s is before the service's start %s", from, svc.Start)
	case days <= 0:
		return LifecyclePlan{}, Errorf(EINVALID, "to %s must be after from %s (to is the day service resumes)", to, from)
	case days > pol.maxPause():
		return LifecyclePlan{}, Errorf(EINVALID, "to %s: a pause of %d days is longer than the account type allows (max_pause_days %d)", to, days, pol.maxPause())
	case !svc.End.IsZero() && to.After(svc.End):
		return LifecyclePlan{}, Errorf(EINVALID, "to %s is after the service's end %s; cancel it instead", to, svc.End)
	case !svc.PauseFrom.IsZero() && svc.PauseTo.After(today):
		return LifecyclePlan{}, Errorf(EINVALID, "from %s: the service already has a pause from %s to %s; one pause at a time", from, svc.PauseFrom, svc.PauseTo)
	}

	iv := intervalOf(svc.Plan)
	cur := ctx.Account.Currency
	plan := LifecyclePlan{Kind: LifecyclePause, AccountID: ctx.Account.ID, Currency: ctx.Account.Currency, ServiceID: svc.Ref.ID, Effective: from}
	label := fmt.Sprintf("%s paused %s to %s", termsWords(svc.Plan.Name, svc.quantity()), shortDate(from), shortDate(to.AddDays(-1)))
	plan.Why = append(plan.Why, fmt.Sprintf("service %d paused for %d days, %s to %s; it resumes %s", svc.Ref.ID, days, from.Label(), to.AddDays(-1).Label(), to.Label()))
	holdPrice, err := periodPrice("pause_hold_fee", pol.PauseHoldFee, int64(iv.Months()))
	if err != nil {
		return LifecyclePlan{}, err
	}
	left, taken := removeDays(svc.Coverage, from, to, func(s BilledSpan) bool { return !s.Hold })
	var holds []BilledSpan
	for _, s := range taken {
		plan.Lines = append(plan.Lines, creditLine(s, svc.Ref.ID, fmt.Sprintf("%s: credit %s, of %s (%s)",
			label, daysWords(s), s.terms(), priceWords(s.Price, cur, iv))))
		if holdPrice > 0 {
			h := BilledSpan{Period: s.Period, From: s.From, To: s.To, PlanName: holdPlanName, UnitPrice: holdPrice, Quantity: 1, Price: holdPrice, Taxable: s.Taxable, Hold: true}
			plan.Lines = append(plan.Lines, chargeLine(h, svc.Ref.ID, fmt.Sprintf("%s: hold fee %s (%s)", label, daysWords(h), priceWords(holdPrice, cur, iv))))
			holds = append(holds, h)
		}
	}
	plan.Coverage = addCoverage(left, holds...)
	if holdPrice > 0 {
		plan.Why = append(plan.Why, fmt.Sprintf("the paused days are charged the hold fee %s instead of the plan", priceWords(holdPrice, cur, iv)))
	} else {
		plan.Why = append(plan.Why, "the paused days are not charged")
	}
	if pol.SuspendWhilePaused {
		plan.Enforcement = []ScheduledEnforcement{
			{Service: svc.Ref, On: from, State: StateSuspended, Cause: CausePaused, Reason: fmt.Sprintf("paused until %s", to)},
			{Service: svc.Ref, On: to, State: StateActive, Cause: CauseResumed, Reason: fmt.Sprintf("pause from %s ended", from)},
		}
		plan.Why = append(plan.Why, "the account type suspends paused services: suspended on "+from.Label()+", resumed on "+to.Label())
	} else {
		// Service stays on, but the pause still holds it: the sweep and
		// settlements leave it alone until it resumes (no State: the
		// desired state is kept as it is on From).
		plan.Enforcement = []ScheduledEnforcement{
			{Service: svc.Ref, On: from, Cause: CausePaused, Reason: fmt.Sprintf("paused until %s (service kept on)", to)},
			{Service: svc.Ref, On: to, State: StateActive, Cause: CauseResumed, Reason: fmt.Sprintf("pause from %s ended", from)},
		}
	}
	plan.finish(pol, cur, today, iv, ctx)

	before, after := svc.terms(), svc.terms()
	after.PauseFrom, after.PauseTo = from, to
	plan.Service = &ServiceUpdate{ServiceID: svc.Ref.ID, Effective: from, Before: before, After: after}
	if !svc.PauseFrom.IsZero() {
		// Over by now (one pause at a time, above): kept in the history.
		plan.Service.EndedPause = &PauseSpan{From: svc.PauseFrom, To: svc.PauseTo}
	}
	plan.Audit = ctx.audit(LifecyclePause, auditEntityService, svc.Ref.ID)
	plan.Audit.Before["pause_from"], plan.Audit.Before["pause_to"] = svc.PauseFrom, svc.PauseTo
	plan.Audit.After["pause_from"], plan.Audit.After["pause_to"] = from, to
	return plan, nil
}

// ResumeState is what a paused service becomes when its pause ends on
// day on, given its account's status and the service's end (zero:
// open-ended): active, unless the account is suspended for non-payment
// (the service stays suspended, for that cause) or closed. resume is false
// when the service has ended by then: its cancellation's enforcement
// stands and the resume changes nothing. A payment's settlement never ends
// a pause; only this resume does.
func ResumeState(status AccountStatus, serviceEnd, on Date) (state DesiredState, resume bool, why string) {
	switch {
	case !serviceEnd.IsZero() && !on.Before(serviceEnd):
		return "", false, fmt.Sprintf("pause ended, but the service ended on %s", serviceEnd)
	case status == AccountSuspended:
		return StateSuspended, true, "pause ended; the account is suspended for non-payment"
	case status == AccountClosed:
		return StateSuspended, true, "pause ended; the account is closed"
	}
	return StateActive, true, "pause ended"
}

// PauseSpan is a pause of a service: the days [From, To).
type PauseSpan struct {
	From Date `json:"from"`
	To   Date `json:"to"`
}

// PausedBillable is how the billing run bills a service paused for
// [from, to) in periods not invoiced yet: the service around the pause,
// and during it the hold fee (monthly fee × the plan's months per period)
// as a service of its own when there is one. Pass the result to
// [ComposeInvoice] in place of s.
func PausedBillable(s BillableService, from, to Date, holdFeePerMonth int64) []BillableService {
	if !from.Before(to) {
		return []BillableService{s}
	}
	var out []BillableService
	if from.After(s.Start) {
		before := s
		if before.End.IsZero() || before.End.After(from) {
			before.End = from
		}
		out = append(out, before)
	}
	if s.End.IsZero() || s.End.After(to) {
		after := s
		if after.Start.Before(to) {
			after.Start = to
		}
		out = append(out, after)
	}
	if holdFeePerMonth > 0 {
		hold := s
		hold.Plan.Name, hold.Hold, hold.Quantity = holdPlanName, true, 1
		hold.Plan.Price = holdFeePerMonth * int64(intervalOf(s.Plan).Months())
		hold.Start, hold.End = from, to
		if s.Start.After(from) {
			hold.Start = s.Start
		}
		if !s.End.IsZero() && s.End.Before(to) {
			hold.End = s.End
		}
		if hold.Start.Before(hold.End) {
			out = append(out, hold)
		}
	}
	return out
}
