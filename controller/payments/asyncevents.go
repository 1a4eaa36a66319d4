package payments

import "github.com/tollgate-isp/tollgate/controller/billing"

// NewsOf maps a verified gateway event to what it says about a charge in
// billing's words ([billing.PlanGatewayEvent] decides what that does),
// false for an event Tollgate does not act on:
//
//   - payment_intent.processing: processing (a pending payment);
//   - payment_intent.succeeded, charge.succeeded: succeeded;
//   - payment_intent.payment_failed: failed (this try; the intent may be
//     retried);
//   - charge.failed: returned (a decline before settling, an ACH return
//     after; its failure code, "R01", is the reason);
//   - charge.dispute.created: disputed; charge.dispute.closed: dispute
//     won or lost by the dispute's status (other statuses are ignored);
//   - charge.refunded: refunded, with the charge's refunds when listed.
func NewsOf(ev Event) (billing.GatewayEvent, bool) {
	news := billing.GatewayEvent{At: ev.Created, Reason: ev.FailureCode, Message: ev.FailureMessage}
	switch ev.Type {
	case EventPaymentIntentProcessing:
		news.Kind = billing.GatewayProcessing
	case EventPaymentIntentSucceeded, EventChargeSucceeded:
		news.Kind = billing.GatewaySucceeded
	case EventPaymentIntentPaymentFailed:
		news.Kind = billing.GatewayFailed
	case EventChargeFailed:
		news.Kind = billing.GatewayReturned
	case EventChargeDisputeCreated:
		news.Kind = billing.GatewayDisputed
	case EventChargeDisputeClosed:
		switch ev.DisputeStatus {
		case "won":
			news.Kind = billing.GatewayDisputeWon
		case "lost":
			news.Kind = billing.GatewayDisputeLost
		default:
			return news, false
		}
	case EventChargeRefunded:
		news.Kind, news.Amount = billing.GatewayRefunded, ev.Amount
		if ev.Refunds != nil {
			news.Refunds = []billing.GatewayRefund{}
			for _, r := range *ev.Refunds {
				news.Refunds = append(news.Refunds, billing.GatewayRefund{ID: r.ID, Amount: r.Amount, TollgateRefundID: r.TollgateRefundID, Settled: r.Settled()})
			}
		}
	default:
		return news, false
	}
	return news, true
}
