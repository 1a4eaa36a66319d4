package jobs

import (
	"context"
	"strconv"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// A lost webhook never leaves money off the ledger: every run of the
// gateway recovery job also asks the gateway about each payment that has
// been processing (or awaiting confirmation) for more than
// IntentCheckAfter, at most once per IntentCheckAfter, and applies what
// it says as its webhook would have (posted, failed, still processing).

// IntentCheckAfter is how old an unsettled payment must be before the
// gateway is asked about it, and how long before it is asked again.
const IntentCheckAfter = 5 * time.Minute

// IntentStore is what the lost-webhook check needs of the store.
type IntentStore interface {
	// UnsettledIntents returns up to limit processing (or pending, with a
	// gateway charge) attempts created before createdBefore and not asked
	// about since checkedBefore. Errors: the database's only.
	UnsettledIntents(ctx context.Context, createdBefore, checkedBefore time.Time, limit int) ([]billing.PaymentAttempt, error)
	// MarkIntentChecked records that the gateway was asked about attempt
	// id at at. Errors: the database's only.
	MarkIntentChecked(ctx context.Context, id int64, at time.Time) error
	// ApplyGatewayNews applies what the gateway says about a charge, as
	// its webhook would have been applied (billing.PlanGatewayEvent).
	// Errors: the database's, or an uncoded one while a reversal waits for
	// a refund in progress (the next run tries again).
	ApplyGatewayNews(ctx context.Context, gateway, chargeID, attemptID string, news billing.GatewayEvent, now time.Time) (billing.GatewayPlan, error)
}

// IntentLookup asks a gateway about a payment now (payments.IntentNews).
type IntentLookup interface {
	// LookUpIntent returns what the gateway says of charge chargeID; ok
	// is false when that settles nothing yet. Errors: the gateway could
	// not be asked (the next run tries again).
	LookUpIntent(ctx context.Context, chargeID string) (news billing.GatewayEvent, ok bool, err error)
}

// intentCheck is the lost-webhook check's wiring (UseIntentLookup).
type intentCheck struct {
	store   IntentStore
	lookup  IntentLookup
	gateway string
}

// UseIntentLookup lets the gateway recovery job settle payments whose
// webhook was lost by asking gateway (its name, as attempts record it)
// through lookup. Without it they wait for their webhook. Call before
// Start.
func (r *Runner) UseIntentLookup(store IntentStore, gateway string, lookup IntentLookup) {
	r.intents = &intentCheck{store: store, lookup: lookup, gateway: gateway}
}

// ReconcileIntents asks the gateway about every payment unsettled for
// more than IntentCheckAfter (and not asked about within it) and applies
// the answer; it returns how many it asked about. A payment the gateway
// could not be asked about is left for the next run (logged); the error is
// a failure to read the list.
func (r *Runner) ReconcileIntents(ctx context.Context) (int, error) {
	ic := r.intents
	if ic == nil {
		return 0, nil
	}
	now := r.clock.Now()
	list, err := ic.store.UnsettledIntents(ctx, now.Add(-IntentCheckAfter), now.Add(-IntentCheckAfter), 100)
	if err != nil {
		return 0, err
	}
	asked := 0
	for _, a := range list {
		if a.Gateway != ic.gateway || a.ChargeID == "" {
			continue
		}
		asked++
		news, ok, err := ic.lookup.LookUpIntent(ctx, a.ChargeID)
		if err != nil {
			r.log.Warn("lost-webhook check: the gateway could not be asked; next run", "attempt_id", a.ID, "charge", a.ChargeID, "err", err)
			continue
		}
		if ok {
			news.At = now
			plan, err := ic.store.ApplyGatewayNews(ctx, a.Gateway, a.ChargeID, strconv.FormatInt(a.ID, 10), news, now)
			if err != nil {
				r.log.Warn("lost-webhook check: not applied; next run", "attempt_id", a.ID, "err", err)
				continue
			}
			r.log.Info("lost-webhook check", "attempt_id", a.ID, "charge", a.ChargeID, "news", string(news.Kind), "action", string(plan.Action))
		}
		if err := ic.store.MarkIntentChecked(ctx, a.ID, now); err != nil {
			return asked, err
		}
	}
	return asked, nil
}
