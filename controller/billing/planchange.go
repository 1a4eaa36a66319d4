package billing

import "fmt"

// maxQuantity bounds a service's quantity.
const maxQuantity = 100_000

// ServiceChangeRequest asks to move a service to another plan, another
// quantity, or both.
type ServiceChangeRequest struct {
	Context LifecycleContext
	Service LifecycleService
	// NewPlan is the plan to move to; a zero ID keeps the service's plan.
	NewPlan Plan
	// NewQuantity is the new quantity; 0 keeps the service's.
	NewQuantity int64
	// EffectiveDate is the first local day at the new terms (the change day
	// is billed at the new plan); zero means today. AtNextPeriod instead
	// makes the change at the start of the next billing period.
	EffectiveDate Date
	AtNextPeriod  bool
}

// PlanServiceChange decides a plan or quantity change (upgrade or
// downgrade) of a service effective on a local date D in the account
// type's zone.
//
// D is the date asked for (today when none is), or the start of the next
// billing period (AtNextPeriod). Under the type's policy
// upgrades_now_downgrades_next_period a downgrade — a lower price × quantity
// per period — asked for a day that is not a period start moves to the
// start of the next period; an upgrade keeps its date.
//
// The days from D on that invoices have already charged are credited,
// piece by piece, at exactly what they were charged (plan, price, period),
// and the same days are charged at the new plan × quantity, prorated over
// the same period with [Prorate]: Fiber 50 (50.00) → Fiber 100 (80.00)
// from Mar 10 in a 31-day March credits 22/31 × 50.00 = −35.48 and charges
// 22/31 × 80.00 = 56.77. Days not invoiced yet are left to the billing run,
// which bills them at the service's terms from D (Service.After). A hold
// fee's days (a pause) are left as they are.
//
// The lines go on the next invoice, or on an invoice issued now when the
// type invoices changes immediately and they amount to at least its
// minimum ([LifecyclePolicy]).
//
// A change of plan (not of quantity alone) schedules the new plan's speed
// for D (an Enforcement of cause CausePlanChanged): the store writes the
// revision carrying the new profile in the change's transaction when D is
// today, else the scheduled-enforcement job writes it on D.
//
// Errors (EINVALID, naming the field): neither plan_id nor quantity given;
// plan_id the service's plan with the same quantity (or quantity the
// service's); a quantity below 1 or above 100000; a plan in another
// currency, with a negative price or of another interval than the
// service's plan (a change between intervals is a cancel and a new
// service); an effective_date before today, before the service's start or
// on or after its end; a price × quantity out of range; a bad policy or
// coverage.
func PlanServiceChange(req ServiceChangeRequest) (LifecyclePlan, error) {
	ctx, svc := req.Context, req.Service
	pol := ctx.Policy
	today, err := ctx.begin(svc)
	if err != nil {
		return LifecyclePlan{}, err
	}
	oldPlan, oldQty := svc.Plan, svc.quantity()
	newPlan, newQty := oldPlan, oldQty
	planGiven := req.NewPlan.ID != 0
	if planGiven {
		newPlan = req.NewPlan
	}
	switch {
	case req.NewQuantity < 0 || req.NewQuantity > maxQuantity:
		return LifecyclePlan{}, Errorf(EINVALID, "quantity %d is out of range 1-%d", req.NewQuantity, maxQuantity)
	case req.NewQuantity > 0:
		newQty = req.NewQuantity
	}
	switch {
	case !planGiven && req.NewQuantity == 0:
		return LifecyclePlan{}, Errorf(EINVALID, "plan_id or quantity is required: say what the service changes to")
	case planGiven && newPlan.ID == oldPlan.ID && newQty == oldQty:
		return LifecyclePlan{}, Errorf(EINVALID, "plan_id %d is already the service's plan (%s); choose another plan or quantity", newPlan.ID, oldPlan.Name)
	case !planGiven && newQty == oldQty:
		return LifecyclePlan{}, Errorf(EINVALID, "quantity %d is already the service's quantity", newQty)
	case newPlan.Currency != ctx.Account.Currency:
		return LifecyclePlan{}, Errorf(EINVALID, "plan_id %d: plan %q is priced in %s but the account is billed in %s", newPlan.ID, newPlan.Name, newPlan.Currency, ctx.Account.Currency)
	case newPlan.Price < 0:
		return LifecyclePlan{}, Errorf(EINVALID, "plan_id %d: plan %q has a negative price", newPlan.ID, newPlan.Name)
	case intervalOf(newPlan) != intervalOf(oldPlan):
		return LifecyclePlan{}, Errorf(EINVALID, "plan_id %d: plan %q is billed %s but the service's plan %q %s; a change between intervals is a cancel and a new service",
			newPlan.ID, newPlan.Name, intervalOf(newPlan), oldPlan.Name, intervalOf(oldPlan))
	}
	iv := intervalOf(newPlan)
	oldPrice, err := periodPrice("quantity", oldPlan.Price, oldQty)
	if err != nil {
		return LifecyclePlan{}, err
	}
	newPrice, err := periodPrice("quantity", newPlan.Price, newQty)
	if err != nil {
		return LifecyclePlan{}, err
	}

	// The effective date.
	d := req.EffectiveDate
	var why []string
	switch {
	case req.AtNextPeriod:
		d = ctx.periodOf(today, iv).End
		why = append(why, fmt.Sprintf("effective at the start of the next billing period, %s", d.Label()))
	case d.IsZero():
		d = today
	}
	if err := CheckDate("effective_date", d); err != nil {
		return LifecyclePlan{}, err
	}
	if d.Before(today) {
		return LifecyclePlan{}, Errorf(EINVALID, "effective_date %s is before today %s in %s: changes take effect today or later", d, today, ctx.Type.TimeZone)
	}
	downgrade := newPrice < oldPrice
	if downgrade && pol.PlanChangeTiming == PlanChangeUpgradesNow {
		if p := ctx.periodOf(d, iv); p.Start != d {
			why = append(why, fmt.Sprintf("a downgrade: the account type makes downgrades at the next period, so it takes effect %s, not %s", p.End.Label(), d.Label()))
			d = p.End
		}
	}
	switch {
	case d.Before(svc.Start):
		return LifecyclePlan{}, Errorf(EINVALID, "effective_date %s is before the service's start %s", d, svc.Start)
	case !svc.End.IsZero() && !d.Before(svc.End):
		return LifecyclePlan{}, Errorf(EINVALID, "effective_date %s is on or after the service's end %s", d, svc.End)
	}

	kind := LifecyclePlanChange
	if newPlan.ID == oldPlan.ID {
		kind = LifecycleQuantityChange
	}
	label := fmt.Sprintf("%s → %s from %s", termsWords(oldPlan.Name, oldQty), termsWords(newPlan.Name, newQty), shortDate(d))
	direction := "an upgrade"
	switch {
	case downgrade:
		direction = "a downgrade"
	case newPrice == oldPrice:
		direction = "the same price"
	}
	plan := LifecyclePlan{Kind: kind, AccountID: ctx.Account.ID, Currency: ctx.Account.Currency, ServiceID: svc.Ref.ID, Effective: d}
	plan.Why = append(plan.Why, fmt.Sprintf("%s (%s: %s → %s per %s period)", label, direction,
		FormatAmount(oldPrice, ctx.Account.Currency), FormatAmount(newPrice, ctx.Account.Currency), iv))
	plan.Why = append(plan.Why, why...)

	left, taken := removeDays(svc.Coverage, d, maxDate, func(s BilledSpan) bool { return !s.Hold })
	var added []BilledSpan
	for _, old := range taken {
		plan.Lines = append(plan.Lines, creditLine(old, svc.Ref.ID, fmt.Sprintf("%s: credit %s, of %s (%s)",
			label, daysWords(old), old.terms(), priceWords(old.Price, ctx.Account.Currency, iv))))
		n := old
		n.PlanID, n.PlanName, n.UnitPrice, n.Quantity, n.Price, n.Taxable = newPlan.ID, newPlan.Name, newPlan.Price, newQty, newPrice, newPlan.Taxable
		plan.Lines = append(plan.Lines, chargeLine(n, svc.Ref.ID, fmt.Sprintf("%s: charge %s, at %s (%s)",
			label, daysWords(n), n.terms(), priceWords(newPrice, ctx.Account.Currency, iv))))
		added = append(added, n)
	}
	plan.Coverage = addCoverage(left, added...)
	if len(taken) > 0 {
		var credit, charge int64
		for _, l := range plan.Lines {
			if l.Kind == LineCredit {
				credit += l.Amount
			} else {
				charge += l.Amount
			}
		}
		plan.Why = append(plan.Why, fmt.Sprintf("%d invoiced days from %s: credit %s for them at the old terms, charge %s at the new",
			daysOf(taken), d.Label(), FormatAmount(credit, ctx.Account.Currency), FormatAmount(charge, ctx.Account.Currency)))
	} else {
		plan.Why = append(plan.Why, fmt.Sprintf("no day from %s is invoiced yet: the billing run bills %s from then", d.Label(), termsWords(newPlan.Name, newQty)))
	}

	before, after := svc.terms(), svc.terms()
	after.PlanID, after.PlanName, after.Quantity = newPlan.ID, newPlan.Name, newQty
	plan.Service = &ServiceUpdate{ServiceID: svc.Ref.ID, Effective: d, Before: before, After: after}
	plan.Audit = ctx.audit(kind, auditEntityService, svc.Ref.ID)
	if newPlan.ID != oldPlan.ID {
		plan.Audit.Before["plan_id"], plan.Audit.After["plan_id"] = oldPlan.ID, newPlan.ID
	}
	if newQty != oldQty {
		plan.Audit.Before["quantity"], plan.Audit.After["quantity"] = oldQty, newQty
	}
	plan.Audit.After["effective_date"] = d
	if newPlan.ID != oldPlan.ID {
		// The speed follows the plan on its effective date, not before: a
		// change dated later keeps the old plan's speed until then.
		plan.Enforcement = []ScheduledEnforcement{{Service: svc.Ref, On: d, Cause: CausePlanChanged,
			Reason: fmt.Sprintf("plan changed: %s", label)}}
		if d.After(today) {
			plan.Why = append(plan.Why, fmt.Sprintf("%s's speed applies from %s; until then the service keeps %s's", newPlan.Name, d.Label(), oldPlan.Name))
		}
	}
	plan.finish(pol, ctx.Account.Currency, today, iv, ctx)
	return plan, nil
}

// maxDate is after every date a service can have.
var maxDate = Date{Year: MaxYear + 1, Month: 1, Day: 1}

// intervalOf is the plan's interval, monthly when unset.
func intervalOf(p Plan) Interval {
	if p.Interval == "" {
		return IntervalMonthly
	}
	return p.Interval
}

// periodPrice is unit × quantity, refused (naming field) when out of
// range.
func periodPrice(field string, unit int64, quantity int64) (int64, error) {
	quantity = max(quantity, 1)
	if unit < 0 || quantity > maxQuantity || unit > MaxAmount || unit*quantity > MaxAmount {
		return 0, Errorf(EINVALID, "%s %d: price %d × %d is out of range: amounts are at most %d minor units", field, quantity, unit, quantity, int64(MaxAmount))
	}
	return unit * quantity, nil
}
