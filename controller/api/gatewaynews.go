package api

import (
	"context"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// applyGatewayEvent acts on a verified, first-seen gateway event: what it
// says about a charge (payments.NewsOf) is applied by the store as
// billing.PlanGatewayEvent decides — a pending payment, a payment posted
// or failed, reversed (ACH return, dispute), posted again (dispute won) or
// refunded (a refund made in the gateway's dashboard). out gets the
// action taken ("action") and why ("why"); an event Tollgate does not act
// on is acknowledged with "ignored".
func (s *Server) applyGatewayEvent(ctx context.Context, gateway string, ev payments.Event, out map[string]any) error {
	news, ok := payments.NewsOf(ev)
	if !ok {
		out["ignored"] = true
		return nil
	}
	plan, err := s.methods.ApplyGatewayNews(ctx, gateway, ev.ChargeID, ev.AttemptID, news, s.clock.Now())
	if err != nil {
		return err
	}
	out["action"], out["why"] = string(plan.Action), plan.Why
	// The answer's older words: a dispute says whether it reversed the
	// payment, a charge's outcome whether it settled the attempt.
	switch ev.Type {
	case payments.EventChargeDisputeCreated:
		out["reversed"] = plan.Action == billing.GatewayReverse
	case payments.EventChargeSucceeded, payments.EventChargeFailed:
		out["settled"] = plan.Action == billing.GatewayPost || plan.Action == billing.GatewayFail
	}
	return nil
}
