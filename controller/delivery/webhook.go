package delivery

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Event is the vendor's webhook event, as far as Tollgate reads it.
type Event struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	ReferenceID string `json:"reference_id"`
	DateCreated string `json:"date_created"`
	EventType   struct {
		ID       string `json:"id"`
		Resource string `json:"resource"`
	} `json:"event_type"`
	Body struct {
		ID       string            `json:"id"`
		Metadata map[string]string `json:"metadata"`
	} `json:"body"`
}

// Letter metadata keys Tollgate sets, which come back in events.
const (
	MetaDeliveryID     = "tollgate_delivery_id"
	MetaIdempotencyKey = "tollgate_key"
	MetaInvoice        = "invoice"
)

// Letter event types and what they mean for a delivery: the USPS has the
// letter (mailed, and every tracking event after it), or it came back.
var letterEventStatus = map[string]billing.DeliveryStatus{
	"letter.mailed":                 billing.DeliveryMailed,
	"letter.in_transit":             billing.DeliveryMailed,
	"letter.in_local_area":          billing.DeliveryMailed,
	"letter.processed_for_delivery": billing.DeliveryMailed,
	"letter.re-routed":              billing.DeliveryMailed,
	"letter.delivered":              billing.DeliveryMailed,
	"letter.returned_to_sender":     billing.DeliveryReturned,
}

// ParseLetterEvent reads a verified webhook body. The event's letter is
// body.id (or reference_id); the delivery and idempotency key come from the
// letter's metadata. ok is false for events that are not about letters
// (they are acknowledged and ignored). EINVALID if the body is not an event.
func ParseLetterEvent(body []byte) (ev billing.LetterEvent, key string, ok bool, err error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return ev, "", false, billing.Errorf(billing.EINVALID, "webhook body is not a JSON event: %v", err)
	}
	if e.ID == "" || e.EventType.ID == "" {
		return ev, "", false, billing.Errorf(billing.EINVALID, "webhook event lacks id or event_type.id")
	}
	ev = billing.LetterEvent{ID: e.ID, Type: e.EventType.ID, LetterID: e.Body.ID, Status: letterEventStatus[e.EventType.ID]}
	if ev.LetterID == "" {
		ev.LetterID = e.ReferenceID
	}
	if t, err := time.Parse(time.RFC3339Nano, e.DateCreated); err == nil {
		ev.At = t
	}
	if !strings.HasPrefix(ev.Type, "letter.") || ev.LetterID == "" {
		return ev, "", false, nil
	}
	ev.DeliveryID, _ = strconv.ParseInt(e.Body.Metadata[MetaDeliveryID], 10, 64)
	return ev, e.Body.Metadata[MetaIdempotencyKey], true, nil
}
