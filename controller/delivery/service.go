package delivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/webhooksig"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// ServiceStore is what the API's delivery endpoints need from storage
// (*postgres.DB implements it).
type ServiceStore interface {
	Deliveries(ctx context.Context, f billing.DeliveryFilter) ([]billing.InvoiceDelivery, error)
	Delivery(ctx context.Context, id int64) (billing.InvoiceDelivery, error)
	ResendDelivery(ctx context.Context, id int64, now time.Time) (billing.InvoiceDelivery, error)
	ResendRunDeliveries(ctx context.Context, runID int64, status billing.DeliveryStatus, channel billing.DeliveryChannel, now time.Time) (int, error)
	DeliverInvoice(ctx context.Context, invoiceID int64, channels, allowed []billing.DeliveryChannel, now time.Time) ([]billing.InvoiceDelivery, error)
	DeliveryCounts(ctx context.Context, runID int64) ([]billing.DeliveryCount, error)
	ApplyLetterEvent(ctx context.Context, ev billing.LetterEvent, key string, now time.Time) (found, duplicate bool, err error)
	PrintedInvoiceIDs(ctx context.Context, runID int64) ([]int64, error)
}

// Service is delivery as the admin API sees it: the outbox's listings and
// re-sends (the embedded store), the printed-invoice batch of a billing run,
// and the vendor's status webhooks.
type Service struct {
	ServiceStore
	source    Source
	secrets   []string
	tolerance time.Duration
	m         *Metrics
	log       *slog.Logger
	kick      func(context.Context)
	clock     clock.Clock
	channels  []billing.DeliveryChannel
}

// ServiceOptions configure a [Service].
type ServiceOptions struct {
	// WebhookSecrets verify the vendor's status webhooks (none: webhooks
	// are refused).
	WebhookSecrets []string
	// WebhookTolerance: see [webhooksig.VerifyLob].
	WebhookTolerance time.Duration
	// Kick, if set, is called after a re-send so the deliveries go out
	// soon rather than at the next periodic run.
	Kick    func(context.Context)
	Metrics *Metrics
	Log     *slog.Logger
	// Clock dates what webhooks change (mailed_at, returned_at), as the
	// rest of the controller dates things (default: the real clock).
	Clock clock.Clock
	// Channels are the channels invoices are delivered by (the worker's);
	// an invoice can be delivered on demand by these only.
	Channels []billing.DeliveryChannel
}

// NewService builds the service on store, rendering through source.
func NewService(store ServiceStore, source Source, opts ServiceOptions) *Service {
	s := &Service{ServiceStore: store, source: source, secrets: opts.WebhookSecrets, tolerance: opts.WebhookTolerance,
		m: opts.Metrics, log: opts.Log, kick: opts.Kick, clock: opts.Clock, channels: opts.Channels}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.m == nil {
		s.m = NewMetrics(nil, nil)
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s
}

// Kick asks for queued deliveries to be worked soon (after a re-send).
func (s *Service) Kick(ctx context.Context) {
	if s.kick != nil {
		s.kick(ctx)
	}
}

// DeliverInvoice delivers one invoice (again), due at now, by channels
// (nil: its account's preference), among the channels delivery is
// configured for (see postgres.DB.DeliverInvoice).
func (s *Service) DeliverInvoice(ctx context.Context, invoiceID int64, channels []billing.DeliveryChannel, now time.Time) ([]billing.InvoiceDelivery, error) {
	return s.ServiceStore.DeliverInvoice(ctx, invoiceID, channels, s.channels, now)
}

// ErrNoPrintedInvoices is returned (wrapped, with code ENOTFOUND) by
// PrintedInvoices for a run none of whose invoices go by mail.
var ErrNoPrintedInvoices = errors.New("no invoices to print")

// PrintedInvoices writes to w the printed-invoice batch of billing run
// runID: one PDF of every invoice of the run whose account gets invoices by
// mail (mail or both), in mailing order — by postal code, then name — for
// ISPs that print and stuff envelopes in-house. It returns how many
// invoices it holds. ENOTFOUND if the run does not exist or has no such
// invoice.
func (s *Service) PrintedInvoices(ctx context.Context, runID int64, w io.Writer) (int, error) {
	if s.source == nil {
		return 0, billing.Errorf(billing.EINTERNAL, "invoice rendering is not available")
	}
	ids, err := s.PrintedInvoiceIDs(ctx, runID)
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, errors.Join(ErrNoPrintedInvoices, billing.Errorf(billing.ENOTFOUND,
			"billing run %d has no invoices to print: none of its accounts gets invoices by mail", runID))
	}
	docs, err := s.source.Documents(ctx, ids)
	if err != nil {
		return 0, err
	}
	// Documents come back in any order: put them in mailing order again.
	byID := make(map[int64]Document, len(docs))
	for _, d := range docs {
		byID[d.InvoiceID] = d
	}
	ordered := make([]Document, 0, len(ids))
	for _, id := range ids {
		if d, ok := byID[id]; ok {
			ordered = append(ordered, d)
		}
	}
	return len(ordered), s.source.RenderBatch(ctx, w, ordered)
}

// WebhookResult is the answer to a status webhook.
type WebhookResult struct {
	Received bool `json:"received"`
	// Duplicate: the event was seen before and changed nothing.
	Duplicate bool `json:"duplicate"`
	// Applied: a delivery was updated. False for events about other
	// objects and letters this database does not know.
	Applied bool   `json:"applied"`
	Event   string `json:"event,omitempty"`
	Type    string `json:"type,omitempty"`
	Letter  string `json:"letter,omitempty"`
}

// HandleWebhook verifies and applies one status webhook delivery: body is
// the raw request body, signature and timestamp the Lob-Signature and
// Lob-Signature-Timestamp headers; now is the wall-clock time the signature
// is checked against (not a demo clock: the vendor signs with real time).
// The changes are dated by the service's clock. Errors: EUNAUTHORIZED for a
// missing, malformed or mismatching signature or a timestamp outside the
// tolerance (a *webhooksig.Error: ErrMissing, ErrMalformed, ErrMismatch,
// ErrTimestamp), EINVALID for a body that is not an event,
// webhooksig.ErrNoSecret (EINTERNAL) when no secret is configured.
func (s *Service) HandleWebhook(ctx context.Context, body []byte, signature, timestamp string, now time.Time) (WebhookResult, error) {
	if err := webhooksig.VerifyLob(body, signature, timestamp, s.secrets, now, s.tolerance); err != nil {
		return WebhookResult{}, err
	}
	ev, key, ok, err := ParseLetterEvent(body)
	if err != nil {
		return WebhookResult{}, err
	}
	res := WebhookResult{Received: true, Event: ev.ID, Type: ev.Type, Letter: ev.LetterID}
	if !ok {
		return res, nil
	}
	at := s.clock.Now()
	ev.At = at
	found, dup, err := s.ApplyLetterEvent(ctx, ev, key, at)
	if err != nil {
		return WebhookResult{}, err
	}
	res.Duplicate, res.Applied = dup, found
	if found {
		switch ev.Status {
		case billing.DeliveryMailed:
			if ev.Type == "letter.mailed" {
				s.m.events.WithLabelValues("mailed").Inc()
			} else {
				s.m.events.WithLabelValues("other").Inc()
			}
		case billing.DeliveryReturned:
			s.m.events.WithLabelValues("returned").Inc()
			s.log.Warn("a mailed invoice came back to the sender", "letter", ev.LetterID, "event", ev.ID)
		default:
			s.m.events.WithLabelValues("other").Inc()
		}
	} else if !dup {
		s.log.Info("print-mail webhook about a letter this database does not know; ignored", "letter", ev.LetterID,
			"event", ev.ID, "type", ev.Type)
	}
	return res, nil
}
