package billing

import (
	"fmt"
	"slices"
	"time"
)

// PriceVersion is one price of a plan from a date on. A plan's first
// price has a zero EffectiveFrom. Versions are never edited: a change adds
// one, and invoices already issued never change.
type PriceVersion struct {
	PlanID int64 `json:"plan_id"`
	// Price in minor units per the plan's interval.
	Price int64 `json:"price"`
	// EffectiveFrom: services move to Price from their first billing
	// period starting on or after it.
	EffectiveFrom Date `json:"effective_from,omitzero"`
	// Grandfather keeps services that started before EffectiveFrom on the
	// price before.
	Grandfather bool `json:"grandfather,omitempty"`
}

// PriceFor is the price a service that started on serviceStart pays for
// its billing period p: the latest version effective on or before
// p.Start that does not grandfather the service (a version grandfathers
// services started before its date). base is the plan's first price, used
// when no version applies.
func PriceFor(base int64, versions []PriceVersion, serviceStart Date, p Period) int64 {
	price, from := base, Date{}
	for _, v := range versions {
		switch {
		case v.EffectiveFrom.After(p.Start):
		case v.Grandfather && serviceStart.Before(v.EffectiveFrom):
		case v.EffectiveFrom.Before(from):
		default:
			price, from = v.Price, v.EffectiveFrom
		}
	}
	return price
}

// PricedService is a service on a plan, as a price-change preview counts
// it.
type PricedService struct {
	ServiceID int64 `json:"service_id"`
	AccountID int64 `json:"account_id"`
	Start     Date  `json:"start"`
	// End is the first day without service (zero: open-ended).
	End      Date  `json:"end"`
	Quantity int64 `json:"quantity"`
}

// PricePreview is what a price change affects: how many services and
// accounts move to the new price, how many keep the old one, and the
// revenue per period before and after for the services that move.
type PricePreview struct {
	Services       int      `json:"services"`
	Accounts       int      `json:"accounts"`
	Grandfathered  int      `json:"grandfathered"`
	Ended          int      `json:"ended"`
	RevenueBefore  int64    `json:"revenue_before"`
	RevenueAfter   int64    `json:"revenue_after"`
	RevenueChange  int64    `json:"revenue_change"`
	PerIntervalFor Interval `json:"interval"`
}

// PriceChangeRequest asks to change a plan's price from a date on.
type PriceChangeRequest struct {
	Plan Plan
	// Versions are the plan's price versions so far (its first price
	// included or not).
	Versions    []PriceVersion
	NewPrice    int64
	Effective   Date
	Grandfather bool
	// Today is the local date of the change (the company's zone).
	Today Date
	// Services are the plan's services, for the preview.
	Services []PricedService
	Actor    string
	Now      time.Time
	Reason   string
}

// PlanPriceChange decides a plan's new price version and previews it:
// services move to the new price from their first billing period starting
// on or after the effective date (see [PriceFor]); with grandfathering,
// services started before that date keep the price they have. The preview
// counts the services that move (not ended before the date, not
// grandfathered), their accounts, and their revenue per period before and
// after.
//
// Errors (EINVALID, naming the field): an effective_date before today (a
// price change in the past would change issued invoices); an
// effective_date not after the latest version's; a negative or out of
// range price, or the price already in force then.
func PlanPriceChange(req PriceChangeRequest) (LifecyclePlan, error) {
	p := req.Plan
	switch {
	case req.Effective.IsZero():
		return LifecyclePlan{}, Errorf(EINVALID, "effective_date is required")
	case req.Effective.Before(req.Today):
		return LifecyclePlan{}, Errorf(EINVALID, "effective_date %s is in the past (today is %s): issued invoices never change; choose today or later", req.Effective, req.Today)
	case req.NewPrice < 0:
		return LifecyclePlan{}, Errorf(EINVALID, "price %d must not be negative (minor units per interval)", req.NewPrice)
	}
	if err := CheckDate("effective_date", req.Effective); err != nil {
		return LifecyclePlan{}, err
	}
	if err := CheckAmount("price", req.NewPrice); err != nil {
		return LifecyclePlan{}, err
	}
	for _, v := range req.Versions {
		if !v.EffectiveFrom.Before(req.Effective) {
			return LifecyclePlan{}, Errorf(EINVALID, "effective_date %s: plan %q already has a price version from %s; a new one must start after it", req.Effective, p.Name, v.EffectiveFrom)
		}
	}
	current := PriceFor(p.Price, req.Versions, req.Effective, Period{Start: req.Effective})
	if current == req.NewPrice {
		return LifecyclePlan{}, Errorf(EINVALID, "price %s is already plan %q's price on %s", FormatAmount(req.NewPrice, p.Currency), p.Name, req.Effective)
	}
	v := PriceVersion{PlanID: p.ID, Price: req.NewPrice, EffectiveFrom: req.Effective, Grandfather: req.Grandfather}
	versions := append(slices.Clone(req.Versions), v)

	var pv PricePreview
	pv.PerIntervalFor = intervalOf(p)
	accounts := map[int64]bool{}
	for _, s := range req.Services {
		switch {
		case !s.End.IsZero() && !s.End.After(req.Effective):
			pv.Ended++
			continue
		case req.Grandfather && s.Start.Before(req.Effective):
			pv.Grandfathered++
			continue
		}
		q := max(s.Quantity, 1)
		first := Period{Start: req.Effective}
		pv.Services++
		accounts[s.AccountID] = true
		pv.RevenueBefore += PriceFor(p.Price, req.Versions, s.Start, first) * q
		pv.RevenueAfter += PriceFor(p.Price, versions, s.Start, first) * q
	}
	pv.Accounts = len(accounts)
	pv.RevenueChange = pv.RevenueAfter - pv.RevenueBefore

	plan := LifecyclePlan{Kind: LifecyclePriceChange, Effective: req.Effective, Currency: p.Currency, Price: &v, Preview: &pv}
	plan.Audit = LifecycleAudit{Actor: req.Actor, At: req.Now, Entity: auditEntityPlan, EntityID: p.ID, Action: LifecyclePriceChange,
		Before: map[string]any{"price": current}, After: map[string]any{"price": req.NewPrice, "effective_from": req.Effective, "grandfather": req.Grandfather}, Reason: req.Reason}
	cur := p.Currency
	plan.Why = append(plan.Why, fmt.Sprintf("plan %q: %s → %s from the first period starting on or after %s", p.Name,
		priceWords(current, cur, pv.PerIntervalFor), priceWords(req.NewPrice, cur, pv.PerIntervalFor), req.Effective.Label()))
	plan.Why = append(plan.Why, fmt.Sprintf("%d services of %d accounts move to the new price: revenue per %s period %s → %s (%s)",
		pv.Services, pv.Accounts, pv.PerIntervalFor, FormatAmount(pv.RevenueBefore, cur), FormatAmount(pv.RevenueAfter, cur), signed(pv.RevenueChange, cur)))
	if pv.Grandfathered > 0 {
		plan.Why = append(plan.Why, fmt.Sprintf("%d services started before %s keep their price (grandfathered)", pv.Grandfathered, req.Effective))
	}
	return plan, nil
}

// signed formats an amount with its sign: "+30.00", "-5.00".
func signed(amount int64, c Currency) string {
	if amount > 0 {
		return "+" + FormatAmount(amount, c)
	}
	return FormatAmount(amount, c)
}
