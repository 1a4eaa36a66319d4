package payments

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// clip shortens attacker-controlled text quoted in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// wireEvent is the Stripe event shape, as far as Tollgate reads it.
type wireEvent struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object *wireObject `json:"object"`
	} `json:"data"`
}

// wireObject is data.object: a charge, or a dispute for charge.dispute.*.
type wireObject struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	Amount         int64           `json:"amount"`
	AmountRefunded int64           `json:"amount_refunded,omitempty"`
	Currency       string          `json:"currency,omitempty"`
	Charge         json.RawMessage `json:"charge,omitempty"`
	PaymentIntent  json.RawMessage `json:"payment_intent,omitempty"`
	// Status is a dispute's status (won, lost, …) or an intent's.
	Status   string            `json:"status,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// FailureCode and FailureMessage explain a failed charge (an ACH
	// return's code, "R01"); LastPaymentError a failed intent's try.
	FailureCode      string          `json:"failure_code,omitempty"`
	FailureMessage   string          `json:"failure_message,omitempty"`
	LastPaymentError *wireError      `json:"last_payment_error,omitempty"`
	Refunds          *wireRefundList `json:"refunds,omitempty"`
}

// wireError is an intent's last_payment_error.
type wireError struct {
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	Message     string `json:"message,omitempty"`
}

// wireRefundList is a charge's refunds (a list object).
type wireRefundList struct {
	Data []struct {
		ID       string            `json:"id"`
		Amount   int64             `json:"amount"`
		Status   string            `json:"status"`
		Metadata map[string]string `json:"metadata,omitempty"`
	} `json:"data"`
}

// expandableID reads a Stripe field that is either an id string or an
// expanded object with an id.
func expandableID(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.ID
	}
	return ""
}

// decodeEvent reads a verified webhook body. ChargeID is the PaymentIntent
// when the object has one (that is what the Stripe adapter returns as
// Charge.ID), else the charge: the object's own id, or a dispute's charge.
func decodeEvent(payload []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(payload, &w); err != nil {
		return Event{}, billing.Errorf(billing.EINVALID, "webhook body is not a JSON event: %v", err)
	}
	if w.ID == "" || w.Type == "" || w.Created == 0 || w.Data.Object == nil {
		return Event{}, billing.Errorf(billing.EINVALID, "webhook event lacks id, type, created or data.object")
	}
	o := w.Data.Object
	ev := Event{ID: w.ID, Type: w.Type, Created: time.Unix(w.Created, 0).UTC(), Amount: o.Amount,
		AttemptID: o.Metadata[MetadataAttemptID], FailureCode: o.FailureCode, FailureMessage: o.FailureMessage}
	if e := o.LastPaymentError; e != nil && ev.FailureCode == "" {
		ev.FailureCode, ev.FailureMessage = cmpOr(e.DeclineCode, e.Code), e.Message
	}
	if o.Object == "dispute" {
		ev.DisputeStatus = o.Status
	}
	if o.Refunds != nil {
		refunds := []Refund{}
		for _, r := range o.Refunds.Data {
			refunds = append(refunds, Refund{ID: r.ID, Amount: r.Amount, Status: r.Status, TollgateRefundID: r.Metadata[MetadataRefundID]})
		}
		ev.Refunds = &refunds
	}
	if w.Type == EventChargeRefunded {
		ev.Amount = o.AmountRefunded
	}
	switch {
	case expandableID(o.PaymentIntent) != "":
		ev.ChargeID = expandableID(o.PaymentIntent)
	case o.Object == "dispute" || expandableID(o.Charge) != "":
		ev.ChargeID = expandableID(o.Charge)
	default:
		ev.ChargeID = o.ID
	}
	return ev, nil
}

// cmpOr is the first of a and b that is not empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// encodeEvent writes ev in the Stripe event shape (what decodeEvent reads).
// The sandbox's charges have no PaymentIntent, so data.object is the charge
// itself, or a dispute naming it.
func encodeEvent(ev Event, disputeID string) []byte {
	var w wireEvent
	w.ID, w.Object, w.Type, w.Created = ev.ID, "event", ev.Type, ev.Created.Unix()
	o := &wireObject{ID: ev.ChargeID, Object: "charge", Amount: ev.Amount}
	switch ev.Type {
	case EventChargeRefunded:
		o.AmountRefunded = ev.Amount
	case EventChargeDisputeCreated:
		chargeID, _ := json.Marshal(ev.ChargeID)
		o = &wireObject{ID: disputeID, Object: "dispute", Amount: ev.Amount, Charge: chargeID}
	}
	w.Data.Object = o
	b, err := json.Marshal(w)
	if err != nil {
		panic("payments: encoding an event: " + err.Error()) // only strings and integers: cannot fail
	}
	return b
}
