package billing

import "fmt"

// CancelRequest asks to cancel a service.
type CancelRequest struct {
	Context LifecycleContext
	Service LifecycleService
	// Date is the first local day without service (the service's new end
	// date, exclusive): cancelling on Mar 10 bills through Mar 9. Zero
	// means today; EndOfPeriod instead cancels at the end of the current
	// billing period (no day is credited).
	Date        Date
	EndOfPeriod bool
	// OtherServicesBilled says the account has other services still
	// billed, so its invoices go on: the credit goes on the next invoice.
	OtherServicesBilled bool
	// OnCloseInvoice says the cancel is part of an account close: its
	// lines go on the close's final invoice ([InvoiceOnClose]).
	OnCloseInvoice bool
}

// PlanCancel decides a service's cancellation from a local date D.
//
// Every day from D on that invoices have charged is credited at exactly
// what it was charged (hold fees too), so a final invoice never charges a
// day twice; the service's end becomes D and no later invoice bills it.
// Where the credit goes: on the account's final invoice when the cancel is
// part of its close; on the next invoice when other services are still
// billed; else on the final invoice when days before D are still to be
// invoiced; else (nothing else is due) as a credit to the account.
//
// Enforcement from D follows the type's on_cancel: keep_suspended (the
// default) suspends the service at its POP until staff decommission it;
// remove takes it off its POP (see [OnCancel] for each driver's effect).
//
// Errors (EINVALID, naming the field): a date before today, before the
// service's start, or on or after an end it already has; a bad policy or
// coverage.
func PlanCancel(req CancelRequest) (LifecyclePlan, error) {
	ctx, svc := req.Context, req.Service
	pol := ctx.Policy
	today, err := ctx.begin(svc)
	if err != nil {
		return LifecyclePlan{}, err
	}
	iv := intervalOf(svc.Plan)
	d := req.Date
	switch {
	case req.EndOfPeriod:
		d = ctx.periodOf(today, iv).End
	case d.IsZero():
		d = today
	}
	if err := CheckDate("date", d); err != nil {
		return LifecyclePlan{}, err
	}
	switch {
	case d.Before(svc.Start):
		return LifecyclePlan{}, Errorf(EINVALID, "date %s is before the service's start %s: a service cannot end before it starts", d, svc.Start)
	case d.Before(today):
		return LifecyclePlan{}, Errorf(EINVALID, "date %s is before today %s in %s: a cancellation takes effect today or later", d, today, ctx.Type.TimeZone)
	case !svc.End.IsZero() && !d.Before(svc.End):
		return LifecyclePlan{}, Errorf(EINVALID, "date %s is on or after the service's end %s: it already ends then", d, svc.End)
	}

	plan := LifecyclePlan{Kind: LifecycleCancel, AccountID: ctx.Account.ID, Currency: ctx.Account.Currency, ServiceID: svc.Ref.ID, Effective: d}
	label := fmt.Sprintf("%s cancelled from %s", termsWords(svc.Plan.Name, svc.quantity()), shortDate(d))
	plan.Why = append(plan.Why, fmt.Sprintf("service %d cancelled: billed through %s, no service from %s", svc.Ref.ID, d.AddDays(-1).Label(), d.Label()))
	left, taken := removeDays(svc.Coverage, d, maxDate, nil)
	for _, s := range taken {
		what := "of " + s.terms()
		if s.Hold {
			what = "of the hold fee"
		}
		plan.Lines = append(plan.Lines, creditLine(s, svc.Ref.ID, fmt.Sprintf("%s: credit %s, %s (%s)",
			label, daysWords(s), what, priceWords(s.Price, ctx.Account.Currency, iv))))
	}
	plan.Coverage = left
	for _, l := range plan.Lines {
		plan.Net += l.Amount
	}
	switch {
	case req.OnCloseInvoice:
		plan.Invoicing = InvoiceOnClose
		if len(plan.Lines) > 0 {
			plan.Why = append(plan.Why, fmt.Sprintf("the credit of %s for invoiced days goes on the account's final invoice (the account is closed)", FormatAmount(-plan.Net, ctx.Account.Currency)))
		}
	case len(plan.Lines) == 0:
		plan.Invoicing = InvoiceOnNext
		plan.Why = append(plan.Why, "no day from then is invoiced: nothing to credit")
	case req.OtherServicesBilled:
		plan.Invoicing = InvoiceOnNext
		plan.Why = append(plan.Why, fmt.Sprintf("the credit of %s for invoiced days goes on the next invoice (other services are still billed)", FormatAmount(-plan.Net, ctx.Account.Currency)))
	case !coveredUntil(svc, d):
		plan.Invoicing = InvoiceFinal
		plan.Why = append(plan.Why, fmt.Sprintf("the credit of %s goes on the final invoice, with the days before %s still to invoice", FormatAmount(-plan.Net, ctx.Account.Currency), d.Label()))
	default:
		plan.Invoicing, plan.AccountCredit = InvoiceAsCredit, -plan.Net
		plan.Why = append(plan.Why, fmt.Sprintf("nothing else is due: %s for invoiced days after the end is credited to the account", FormatAmount(-plan.Net, ctx.Account.Currency)))
	}

	e := ScheduledEnforcement{Service: svc.Ref, On: d, Cause: CauseCancelled}
	if pol.OnCancel == CancelRemove {
		e.Remove = true
		e.Reason = fmt.Sprintf("service cancelled from %s: removed from its POP (on_cancel remove)", d)
	} else {
		e.State = StateSuspended
		e.Reason = fmt.Sprintf("service cancelled from %s: kept suspended until decommissioned (on_cancel keep_suspended)", d)
	}
	plan.Enforcement = []ScheduledEnforcement{e}

	before, after := svc.terms(), svc.terms()
	after.End = d
	switch {
	case svc.PauseFrom.IsZero() || !svc.PauseTo.After(d):
	case !svc.PauseFrom.Before(d):
		after.PauseFrom, after.PauseTo = Date{}, Date{}
		plan.Why = append(plan.Why, fmt.Sprintf("the pause planned from %s is dropped: the service ends before it", svc.PauseFrom.Label()))
	default:
		after.PauseTo = d
		plan.Why = append(plan.Why, fmt.Sprintf("the pause ends with the service on %s: it never resumes", d.Label()))
	}
	plan.Service = &ServiceUpdate{ServiceID: svc.Ref.ID, Effective: d, Before: before, After: after}
	plan.Audit = ctx.audit(LifecycleCancel, auditEntityService, svc.Ref.ID)
	plan.Audit.Before["end_date"], plan.Audit.After["end_date"] = svc.End, d
	plan.Audit.After["on_cancel"] = pol.OnCancel
	return plan, nil
}

// coveredUntil reports whether every billable day of svc before d has been
// invoiced (a planned pause's days need none).
func coveredUntil(svc LifecycleService, d Date) bool {
	cursor := svc.Start
	advance := func(from, to Date) {
		if !from.After(cursor) && to.After(cursor) {
			cursor = to
		}
	}
	for changed := true; changed && cursor.Before(d); {
		before := cursor
		for _, s := range svc.Coverage {
			advance(s.From, s.To)
		}
		if !svc.PauseFrom.IsZero() {
			advance(svc.PauseFrom, svc.PauseTo)
		}
		changed = cursor != before
	}
	return !cursor.Before(d)
}
