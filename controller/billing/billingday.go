package billing

import (
	"fmt"
	"slices"
	"time"
)

// InvoiceByBillingRun: a plan's lines are what the billing run will invoice
// for the plan's InvoicePeriod (a preview); the store adds none of them.
const InvoiceByBillingRun ChangeInvoicing = "billing_run"

// AccountUpdate is a change of an account's billing day (its per-account
// override of the type's), from the first day of the transitional period.
type AccountUpdate struct {
	AccountID        int64 `json:"account_id"`
	BillingDayBefore int   `json:"billing_day_before"`
	BillingDayAfter  int   `json:"billing_day_after"`
}

// BillingDayRequest asks to move a fixed-day account's periods to start on
// another day of the month.
type BillingDayRequest struct {
	// Context.Type and Context.Account give the billing day now in force
	// (the account's override, if it has one, else the type's).
	Context LifecycleContext
	NewDay  int
	// LastInvoiced is the account's last invoiced period (zero if none).
	LastInvoiced Period
	// Services are the account's billed services.
	Services []LifecycleService
}

// PlanBillingDayChange decides a billing-day change with a prorated
// adjustment for the changed period (Sonar's "prorate billing day
// change"). Periods already invoiced stay as they are; the next period is
// a transitional one, from the end of the last invoiced period to the
// first start on the new day after it, and each service is charged for it
// prorated over its plan period on the new day (a quarterly or annual
// plan: the days from the end of its coverage to its first period start
// on the new day, charged in the account period containing the first of
// them, [BillableService].CoveredUntil) — exactly what the billing
// run invoices once the billing day is stored ([PeriodToInvoice] and
// [ComposeInvoice] with the new anchor), so the plan's lines are that
// invoice's preview (Invoicing billing_run) and the store only stores the
// new day. When the last invoiced period already ends on the new day
// there is nothing to adjust.
//
// Errors (EINVALID, naming the field): an account type that does not bill
// on a fixed day; billing_day outside 1-31 or the day in force; a service
// the billing run would refuse.
func PlanBillingDayChange(req BillingDayRequest) (LifecyclePlan, error) {
	ctx := req.Context
	t, a := ctx.Type, ctx.Account
	switch {
	case t.BillingMode != BillingFixedDay:
		return LifecyclePlan{}, Errorf(EINVALID, "billing_day: account type %q bills on each account's anniversary; a billing day applies to fixed_day account types", t.Name)
	case req.NewDay < 1 || req.NewDay > 31:
		return LifecyclePlan{}, Errorf(EINVALID, "billing_day %d is not a day of the month (1-31)", req.NewDay)
	}
	oldDay, _ := AccountAnchor(t, a)
	if req.NewDay == oldDay {
		return LifecyclePlan{}, Errorf(EINVALID, "billing_day %d is already the account's billing day", req.NewDay)
	}
	today, err := ctx.today()
	if err != nil {
		return LifecyclePlan{}, err
	}
	newType := t
	newType.BillingDay = req.NewDay
	plan := LifecyclePlan{Kind: LifecycleBillingDay, AccountID: a.ID, Currency: a.Currency, Invoicing: InvoiceByBillingRun}
	plan.Account = &AccountUpdate{AccountID: a.ID, BillingDayBefore: oldDay, BillingDayAfter: req.NewDay}
	plan.Audit = ctx.audit(LifecycleBillingDay, auditEntityAccount, a.ID)
	plan.Audit.Before["billing_day"], plan.Audit.After["billing_day"] = oldDay, req.NewDay

	if req.LastInvoiced.IsZero() {
		plan.Effective = today
		plan.Why = append(plan.Why, fmt.Sprintf("billing day %d → %d: nothing is invoiced yet, so periods start on day %d from the first invoice on", oldDay, req.NewDay, req.NewDay))
		return plan, nil
	}
	from := req.LastInvoiced.End
	plan.Effective = from
	next := PeriodAt(from, req.NewDay, time.January, IntervalMonthly)
	services := make([]BillableService, len(req.Services))
	for i, s := range req.Services {
		if err := s.check(a); err != nil {
			return LifecyclePlan{}, err
		}
		price, err := periodPrice("quantity", s.Plan.Price, s.quantity())
		if err != nil {
			return LifecyclePlan{}, err
		}
		p := s.Plan
		p.Price = price
		services[i] = BillableService{ServiceID: s.Ref.ID, Name: s.Name, Plan: p, Start: s.Start, End: s.End, CoveredUntil: CoveredUntil(s.Coverage)}
	}
	if next.Start == from {
		first, err := regularPreview(services, a, next, req.NewDay)
		if err != nil {
			return LifecyclePlan{}, err
		}
		plan.FirstRegular = &first
		plan.Why = append(plan.Why, fmt.Sprintf("billing day %d → %d: the last invoiced period already ends on day %d; periods start on it from %s, nothing to adjust; %s",
			oldDay, req.NewDay, req.NewDay, from.Label(), first.words(a.Currency)))
		return plan, nil
	}
	transitional := Period{Start: from, End: next.End}
	plan.InvoicePeriod = transitional
	for i, bs := range services {
		lines, spans, _, err := recurringLines(bs, a, transitional, req.NewDay, time.January)
		if err != nil {
			return LifecyclePlan{}, err
		}
		for _, l := range lines {
			l.Description = transitionLabel(req.NewDay, transitional) + l.Description
			plan.Lines = append(plan.Lines, ProratedLine{InvoiceLine: l,
				Period: PeriodAt(l.PeriodStart, req.NewDay, time.January, intervalOf(bs.Plan)), FullAmount: bs.Plan.Price})
		}
		// The first regular invoice follows from what the transitional one
		// covers (a quarterly plan charged up to its first period on the
		// new day is not charged again before it).
		services[i].CoveredUntil = CoveredUntil(append(slices.Clone(req.Services[i].Coverage), spans...))
	}
	for _, l := range plan.Lines {
		plan.Net += l.Amount
	}
	first, err := regularPreview(services, a, PeriodAt(transitional.End, req.NewDay, time.January, IntervalMonthly), req.NewDay)
	if err != nil {
		return LifecyclePlan{}, err
	}
	plan.FirstRegular = &first
	plan.Why = append(plan.Why, fmt.Sprintf("billing day %d → %d: the periods invoiced up to %s stay; the transitional period %s (%d days) is invoiced prorated, %s; periods start on day %d from %s; %s",
		oldDay, req.NewDay, req.LastInvoiced.Last().Label(), transitional, transitional.Days(), FormatAmount(plan.Net, a.Currency), req.NewDay, transitional.End.Label(),
		first.words(a.Currency)))
	return plan, nil
}

// InvoicePreview is an invoice the billing run will issue, previewed: its
// billing period, its recurring lines, and their sum (Subtotal, before
// tax, one-time charges and credits the account may have by then).
type InvoicePreview struct {
	Period   Period        `json:"period"`
	Lines    []InvoiceLine `json:"lines"`
	Subtotal int64         `json:"subtotal"`
}

// words says the preview for staff: "the first regular invoice, for
// 2027-04-15 to 2027-05-14, charges USD 50.00".
func (p InvoicePreview) words(c Currency) string {
	return fmt.Sprintf("the first regular invoice on the new day, for %s to %s, charges %s", p.Period.Start, p.Period.Last(), FormatAmount(p.Subtotal, c))
}

// regularPreview is the recurring part of the regular invoice of period p
// on billing day day, for services (each with what is already covered),
// as [ComposeInvoice] charges it.
func regularPreview(services []BillableService, a Account, p Period, day int) (InvoicePreview, error) {
	out := InvoicePreview{Period: p, Lines: []InvoiceLine{}}
	for _, bs := range services {
		lines, _, _, err := recurringLines(bs, a, p, day, time.January)
		if err != nil {
			return InvoicePreview{}, err
		}
		for _, l := range lines {
			out.Lines = append(out.Lines, l)
			out.Subtotal += l.Amount
		}
	}
	return out, nil
}

// CoveredUntil is the first day after the last day coverage charges (zero
// for none): [BillableService].CoveredUntil.
func CoveredUntil(coverage []BilledSpan) Date {
	var end Date
	for _, s := range coverage {
		if s.To.After(end) {
			end = s.To
		}
	}
	return end
}

// transitionLabel starts the description of a recurring line of a
// transitional period p after the billing day moved to day: "Billing day
// moved to day 15, transitional period Apr 1 to Apr 14: ".
func transitionLabel(day int, p Period) string {
	return fmt.Sprintf("Billing day moved to day %d, transitional period %s to %s: ", day, shortDate(p.Start), shortDate(p.End.AddDays(-1)))
}
