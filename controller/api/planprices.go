package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// PlanPriceStore is what the plan price-version and retire endpoints need
// from storage.
type PlanPriceStore interface {
	// Plan reads a plan (for the currency a decimal price is in).
	// Errors: ENOTFOUND for an unknown plan.
	Plan(ctx context.Context, id int64) (billing.Plan, error)
	// ChangePlanPrice decides (billing.PlanPriceChange) a plan's new price
	// version with its preview and, unless preview, stores it with its
	// audit entry.
	// Errors: ENOTFOUND for an unknown plan; EINVALID naming the field (an
	// effective_date in the past, the price already in force, …). Nothing
	// written on error.
	ChangePlanPrice(ctx context.Context, planID int64, req billing.PriceChangeRequest, preview bool) (billing.LifecyclePlan, error)
	// PlanPriceVersions lists a plan's price versions by date.
	// Errors: none for an unknown plan (an empty list); EINTERNAL.
	PlanPriceVersions(ctx context.Context, planID int64) ([]billing.PriceVersion, error)
	// RetirePlan retires a plan (no new services; existing ones continue)
	// with its audit entry.
	// Errors: ENOTFOUND for an unknown plan; EINVALID when already retired.
	RetirePlan(ctx context.Context, planID int64, actor, reason string, at time.Time) (billing.Plan, error)
}

type priceChangeBody struct {
	Price         feeField     `json:"price" required:"true" doc:"The new price per the plan's interval: minor units, or a decimal in the plan's currency (\"49.99\")."`
	EffectiveDate billing.Date `json:"effective_date" required:"true" doc:"Services move to the new price from their first billing period starting on or after it (today or later)."`
	Grandfather   bool         `json:"grandfather,omitempty" doc:"Services started before effective_date keep their price."`
	Reason        string       `json:"reason,omitempty" maxLength:"500"`
}

type retirePlanBody struct {
	Reason string `json:"reason,omitempty" maxLength:"500"`
}

func (s *Server) registerPlanPrices(store PlanPriceStore) {
	o := described(op("change-plan-price", http.MethodPost, "/api/v1/plans/{id}/prices",
		"Add a price version to a plan from a date, or preview it", RoleAdmin, "plans"),
		"Adds a price version: services move to price from their first billing period starting on or after effective_date; "+
			"invoices already issued never change; with grandfather, services started before the date keep their price. "+
			"The answer's preview counts the services and accounts that move and the revenue per period before and after. "+
			"With ?preview=true nothing is written. 422 names the bad field (an effective_date in the past, the price already in force).")
	o.Errors = append(o.Errors, http.StatusNotFound)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		Preview bool `query:"preview" doc:"true: answer the version and its preview without writing anything."`
		Body    priceChangeBody
	}) (*body[lifecycleResult], error) {
		price := in.Body.Price.minor
		if in.Body.Price.isText {
			p, err := store.Plan(ctx, in.ID)
			if err != nil {
				return nil, s.toHTTPError("change-plan-price", err)
			}
			if price, err = in.Body.Price.in("body.price", p.Currency); err != nil {
				return nil, err
			}
		}
		plan, err := store.ChangePlanPrice(ctx, in.ID, billing.PriceChangeRequest{NewPrice: price, Effective: in.Body.EffectiveDate,
			Grandfather: in.Body.Grandfather, Actor: actor(ctx), Now: s.clock.Now(), Reason: strings.TrimSpace(in.Body.Reason)}, in.Preview)
		if plan.Lines == nil {
			plan.Lines = []billing.ProratedLine{}
		}
		return wrap(s, "change-plan-price", lifecycleResult{Preview: in.Preview, Plan: plan}, err)
	})

	huma.Register(s.api, described(op("list-plan-prices", http.MethodGet, "/api/v1/plans/{id}/prices",
		"List a plan's price versions", RoleReader, "plans"), "The plan's price versions by effective date (its first price is the plan's price)."),
		func(ctx context.Context, in *IDPath) (*body[[]billing.PriceVersion], error) {
			v, err := store.PlanPriceVersions(ctx, in.ID)
			if v == nil {
				v = []billing.PriceVersion{}
			}
			return wrap(s, "list-plan-prices", v, err)
		})

	o = described(op("retire-plan", http.MethodPost, "/api/v1/plans/{id}/retire", "Retire a plan", RoleAdmin, "plans"),
		"No new service and no plan change may choose the plan from now on; services on it continue. 422 when it is already retired.")
	o.Errors = append(o.Errors, http.StatusNotFound)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		Body *retirePlanBody
	}) (*body[billing.Plan], error) {
		reason := ""
		if in.Body != nil {
			reason = strings.TrimSpace(in.Body.Reason)
		}
		p, err := store.RetirePlan(ctx, in.ID, actor(ctx), reason, s.clock.Now())
		return wrap(s, "retire-plan", p, err)
	})
}
