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
	// ChangePlanProfile decides (billing.PlanProfileChange) a plan's new
	// profile version and, unless preview, stores it with the job that fans
	// it out to the plan's active services in batches through the outbox.
	// Errors: ENOTFOUND for an unknown plan; EINVALID naming the field (an
	// invalid profile, the profile already in force). Nothing written on
	// error.
	ChangePlanProfile(ctx context.Context, planID int64, req billing.ProfileChangeRequest, preview bool) (billing.ProfileChange, error)
	// PlanProfileVersions lists a plan's profile versions, oldest first.
	// Errors: none for an unknown plan (an empty list); EINTERNAL.
	PlanProfileVersions(ctx context.Context, planID int64) ([]billing.ProfileVersion, error)
	// FanOutPlanProfile gives the plan's services that should carry its
	// current profile and do not a revision carrying it (the repair of a
	// fan-out cut short); it returns how many.
	// Errors: EINTERNAL.
	FanOutPlanProfile(ctx context.Context, planID int64, actor string, at time.Time) (int, error)
}

type profileChangeBody struct {
	// Profile is the new speed; Remove instead takes the plan's profile
	// away (its services keep whatever speed the routers give them).
	Profile *billing.ServiceProfile `json:"profile,omitempty" doc:"The plan's new speed (rates in bit/s). Required unless remove is true."`
	Remove  bool                    `json:"remove,omitempty" doc:"true: the plan gets no profile (a version without one); Tollgate then sets no speed for its services."`
	Reason  string                  `json:"reason,omitempty" maxLength:"500"`
	// AllowAccessOnly accepts a profile although services on the plan are
	// bound with snmp (they keep access-only enforcement).
	AllowAccessOnly bool `json:"allow_access_only,omitempty" doc:"true: give the plan its profile although some of its services are bound with snmp, which cannot enforce a speed; those services keep access-only enforcement (listed in change.access_only). Without it such a change is refused (422 naming them)."`
}

type profileChangeResult struct {
	// Preview is true when nothing was written.
	Preview bool                  `json:"preview"`
	Change  billing.ProfileChange `json:"change"`
}

type fanOutResult struct {
	// Services is how many services received a revision.
	Services int `json:"services"`
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

	o = described(op("change-plan-profile", http.MethodPost, "/api/v1/plans/{id}/profile",
		"Give a plan a new speed profile (a new profile version), or preview it", RoleAdmin, "plans"),
		"Adds a profile version (named \"<plan>.v<n>\"), effective at once: every active service on the plan receives a new "+
			"revision carrying it, through the enforcement outbox in batches of 500 services per transaction, sent by a job committed "+
			"with the version (change.fan_out_queued); the job is retried until done and resumes after a restart without sending any "+
			"service twice. No one loses service, so the suspension guard never holds it. Suspended and throttled services receive it when restored. Services bound with "+
			"snmp cannot enforce speed: a new profile for a plan that has any is refused (422 naming how many and the first few ids, "+
			"and the ways forward) unless allow_access_only is true; then they keep access-only enforcement and are listed in "+
			"change.access_only. With ?preview=true nothing is written. 422 names the bad field (an invalid rate, the profile already "+
			"in force, SNMP-bound services).")
	o.Errors = append(o.Errors, http.StatusNotFound)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		Preview bool `query:"preview" doc:"true: answer the version and who it reaches without writing anything."`
		Body    profileChangeBody
	}) (*body[profileChangeResult], error) {
		switch {
		case in.Body.Profile == nil && !in.Body.Remove:
			return nil, s.toHTTPError("change-plan-profile", billing.Errorf(billing.EINVALID, "profile is required (or remove: true to take the plan's profile away)"))
		case in.Body.Profile != nil && in.Body.Remove:
			return nil, s.toHTTPError("change-plan-profile", billing.Errorf(billing.EINVALID, "remove: true takes the profile away; give profile or remove, not both"))
		}
		c, err := store.ChangePlanProfile(ctx, in.ID, billing.ProfileChangeRequest{NewProfile: in.Body.Profile, Actor: actor(ctx),
			Now: s.clock.Now(), Reason: strings.TrimSpace(in.Body.Reason), AllowAccessOnly: in.Body.AllowAccessOnly}, in.Preview)
		return wrap(s, "change-plan-profile", profileChangeResult{Preview: in.Preview, Change: c}, err)
	})

	huma.Register(s.api, described(op("list-plan-profiles", http.MethodGet, "/api/v1/plans/{id}/profiles",
		"List a plan's profile versions", RoleReader, "plans"), "The plan's profile versions, oldest first (a null profile: none)."),
		func(ctx context.Context, in *IDPath) (*body[[]billing.ProfileVersion], error) {
			v, err := store.PlanProfileVersions(ctx, in.ID)
			if v == nil {
				v = []billing.ProfileVersion{}
			}
			return wrap(s, "list-plan-profiles", v, err)
		})

	huma.Register(s.api, described(op("fan-out-plan-profile", http.MethodPost, "/api/v1/plans/{id}/profile/fan-out",
		"Send a plan's current profile to the services that lack it", RoleAdmin, "plans"),
		"Gives every active service on the plan whose device can shape and whose current revision does not carry the plan's "+
			"current profile a revision that does, now, in this request: what a profile change's fan-out job does, as a repair tool "+
			"(the job is retried by itself; use this when it was given up or to finish at once). Idempotent."),
		func(ctx context.Context, in *IDPath) (*body[fanOutResult], error) {
			n, err := store.FanOutPlanProfile(ctx, in.ID, actor(ctx), s.clock.Now())
			return wrap(s, "fan-out-plan-profile", fanOutResult{Services: n}, err)
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
