package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// ServiceLifecycle is what the service lifecycle endpoints (plan and
// quantity change, cancel, pause, coverage) need from storage (a
// service's history, lifecycle changes and moves alike, is served with the
// moves: get-service-history).
// Each change takes the caller's request (what they ask for, with the
// actor, time and reason in its Context) and the service version from
// If-Match (0: not checked); with preview the plan is decided and nothing
// is written.
type ServiceLifecycle interface {
	// Service returns one service with its version.
	// Errors: ENOTFOUND for an unknown id.
	Service(ctx context.Context, id int64) (billing.Service, error)
	// ChangeService decides (billing.PlanServiceChange) and, unless
	// preview, applies a plan or quantity change with its lines, coverage,
	// terms and audit entry in one transaction.
	// Errors: ENOTFOUND for an unknown service; EPRECONDITION for a stale
	// ifVersion; EINVALID naming the field (the same plan, a date in the
	// past, an unknown or retired plan_id, …). Nothing written on error.
	ChangeService(ctx context.Context, id, ifVersion int64, req billing.ServiceChangeRequest, preview bool) (billing.LifecyclePlan, error)
	// CancelService decides (billing.PlanCancel) and, unless preview,
	// applies a cancellation, with its enforcement (on_cancel) written
	// through the outbox or scheduled for its date.
	// Errors: as ChangeService (a date before the service's start, …).
	CancelService(ctx context.Context, id, ifVersion int64, req billing.CancelRequest, preview bool) (billing.LifecyclePlan, error)
	// PauseService decides (billing.PlanPause) and, unless preview,
	// applies a pause.
	// Errors: as ChangeService (a pause longer than the type allows, …).
	PauseService(ctx context.Context, id, ifVersion int64, req billing.PauseRequest, preview bool) (billing.LifecyclePlan, error)
	// Coverage lists the days invoices have charged for the service.
	// Errors: none for an unknown id (an empty list); EINTERNAL.
	Coverage(ctx context.Context, id int64) ([]billing.BilledSpan, error)
}

// lifecycleInput is a lifecycle change: the service, preview, If-Match
// and the change's body.
type lifecycleInput[T any] struct {
	IDPath
	Preview bool   `query:"preview" doc:"true: decide the change and answer its lines without writing anything."`
	IfMatch string `header:"If-Match" doc:"The service's version as read (its ETag, \"3\"). Required unless preview; a version no longer current gets 412."`
	Body    T
}

type serviceChangeBody struct {
	PlanID   int64 `json:"plan_id,omitempty" minimum:"0" doc:"The plan to move to (same interval and currency); absent keeps the plan."`
	Quantity int64 `json:"quantity,omitempty" minimum:"0" maximum:"100000" doc:"The new quantity; absent keeps it."`
	// EffectiveDate is the first local day at the new terms.
	EffectiveDate billing.Date `json:"effective_date,omitzero" doc:"First local day at the new terms (today when absent); the change day is billed at the new plan."`
	AtNextPeriod  bool         `json:"at_next_period,omitempty" doc:"Take effect at the start of the next billing period instead."`
	Reason        string       `json:"reason,omitempty" maxLength:"500" doc:"Why, for the audit log."`
}

type serviceCancelBody struct {
	Date        billing.Date `json:"date,omitzero" doc:"First local day without service (today when absent)."`
	EndOfPeriod bool         `json:"end_of_period,omitempty" doc:"Cancel at the end of the current billing period instead."`
	Reason      string       `json:"reason,omitempty" maxLength:"500"`
}

type servicePauseBody struct {
	From   billing.Date `json:"from" required:"true" doc:"First paused local day."`
	To     billing.Date `json:"to" required:"true" doc:"The local day service resumes (exclusive end of the pause)."`
	Reason string       `json:"reason,omitempty" maxLength:"500"`
}

// lifecycleResult is the answer to a lifecycle change.
type lifecycleResult struct {
	// Preview is true when nothing was written.
	Preview bool                  `json:"preview"`
	Plan    billing.LifecyclePlan `json:"plan"`
	// Service is the service as stored after the change (absent in a
	// preview).
	Service *billing.Service `json:"service,omitempty"`
}

type lifecycleOutput struct {
	ETag string `header:"ETag" doc:"The service's version after the change (absent in a preview)."`
	Body lifecycleResult
}

const lifecycleDoc = " With ?preview=true the change is decided and its lines answered without writing anything. " +
	"Otherwise the lines go where the account type's lifecycle settings say (the next invoice, an adjustment invoice issued now, " +
	"or a credit), the service's invoiced coverage and terms change, any enforcement change is written through the outbox " +
	"(or at local midnight of its date), and an audit entry is kept, in one transaction. If-Match is required (428 without it; " +
	"a preview may omit it): a stale version gets 412 with the current one. 422 names the bad field; nothing is written."

func (s *Server) registerServiceLifecycle(store ServiceLifecycle) {
	o := described(op("change-service-plan", http.MethodPost, "/api/v1/services/{id}/plan-change",
		"Change a service's plan or quantity (prorated), or preview it", RoleBilling, "services"),
		"Moves the service to plan_id and/or quantity from effective_date (or the next period): days already invoiced are "+
			"credited at what they were charged and charged at the new terms, prorated by day. The new plan's speed profile "+
			"reaches the service's POP as an enforcement revision written in the same transaction as the proration; a service "+
			"bound with snmp (access only) cannot move to a plan with a profile (422 naming plan_id)."+lifecycleDoc)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *lifecycleInput[serviceChangeBody]) (*lifecycleOutput, error) {
		return s.lifecycleChange(ctx, store, "change-service-plan", in.ID, in.Preview, in.IfMatch, in.Body.Reason,
			func(v int64, lc billing.LifecycleContext) (billing.LifecyclePlan, error) {
				return store.ChangeService(ctx, in.ID, v, billing.ServiceChangeRequest{Context: lc, NewPlan: billing.Plan{ID: in.Body.PlanID},
					NewQuantity: in.Body.Quantity, EffectiveDate: in.Body.EffectiveDate, AtNextPeriod: in.Body.AtNextPeriod}, in.Preview)
			})
	})

	o = described(op("cancel-service", http.MethodPost, "/api/v1/services/{id}/cancel",
		"Cancel a service from a date (crediting invoiced days after it), or preview it", RoleBilling, "services"),
		"Ends the service on date (the first day without service): invoiced days from then on are credited, on the next "+
			"invoice, the final invoice or as a credit; no later invoice bills it. At its POP the service is kept suspended or "+
			"removed, as the account type's on_cancel says."+lifecycleDoc)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *lifecycleInput[serviceCancelBody]) (*lifecycleOutput, error) {
		return s.lifecycleChange(ctx, store, "cancel-service", in.ID, in.Preview, in.IfMatch, in.Body.Reason,
			func(v int64, lc billing.LifecycleContext) (billing.LifecyclePlan, error) {
				return store.CancelService(ctx, in.ID, v, billing.CancelRequest{Context: lc, Date: in.Body.Date, EndOfPeriod: in.Body.EndOfPeriod}, in.Preview)
			})
	})

	o = described(op("pause-service", http.MethodPost, "/api/v1/services/{id}/pause",
		"Pause a service (vacation hold) between two dates, or preview it", RoleBilling, "services"),
		"Pauses the service for the local days [from, to): no recurring charge for them (or the type's hold fee), suspended "+
			"while paused when the type says so, resumed at local midnight of to. A payment never ends a pause."+lifecycleDoc)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *lifecycleInput[servicePauseBody]) (*lifecycleOutput, error) {
		return s.lifecycleChange(ctx, store, "pause-service", in.ID, in.Preview, in.IfMatch, in.Body.Reason,
			func(v int64, lc billing.LifecycleContext) (billing.LifecyclePlan, error) {
				return store.PauseService(ctx, in.ID, v, billing.PauseRequest{Context: lc, From: in.Body.From, To: in.Body.To}, in.Preview)
			})
	})

	huma.Register(s.api, described(op("get-service-coverage", http.MethodGet, "/api/v1/services/{id}/coverage",
		"List the days invoices have charged for a service", RoleReader, "services"),
		"Each span: the days, the plan and quantity, and the price over the plan period they were charged at."),
		func(ctx context.Context, in *IDPath) (*body[[]billing.BilledSpan], error) {
			if _, err := store.Service(ctx, in.ID); err != nil {
				return nil, s.toHTTPError("get-service-coverage", err)
			}
			spans, err := store.Coverage(ctx, in.ID)
			if spans == nil {
				spans = []billing.BilledSpan{}
			}
			return wrap(s, "get-service-coverage", spans, err)
		})
}

// lifecycleChange runs one lifecycle change: If-Match parsed, the change
// decided (and applied unless preview), a stale version answered 412
// with the current one.
func (s *Server) lifecycleChange(ctx context.Context, store ServiceLifecycle, opName string, id int64, preview bool, ifMatch, reason string,
	run func(version int64, lc billing.LifecycleContext) (billing.LifecyclePlan, error)) (*lifecycleOutput, error) {
	var version int64
	if !preview || strings.TrimSpace(ifMatch) != "" {
		v, err := ifMatchVersion(ifMatch, "service", "/api/v1/services/"+strconv.FormatInt(id, 10))
		if err != nil {
			return nil, err
		}
		version = v
	}
	plan, err := run(version, billing.LifecycleContext{Now: s.clock.Now(), Actor: actor(ctx), Reason: strings.TrimSpace(reason)})
	if billing.ErrorCode(err) == billing.EPRECONDITION {
		return nil, staleService(ctx, store, id, err)
	}
	if err != nil {
		return nil, s.toHTTPError(opName, err)
	}
	if plan.Lines == nil {
		plan.Lines = []billing.ProratedLine{}
	}
	if plan.Why == nil {
		plan.Why = []string{}
	}
	out := &lifecycleOutput{Body: lifecycleResult{Preview: preview, Plan: plan}}
	if !preview {
		svc, err := store.Service(ctx, id)
		if err != nil {
			return nil, s.toHTTPError(opName, err)
		}
		out.Body.Service, out.ETag = &svc, etag(svc.Version)
	}
	return out, nil
}
