package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strconv"
	"sync"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Store is the delivery outbox the [Worker] works from (*postgres.DB
// implements it).
type Store interface {
	// ClaimDeliveries claims up to limit queued deliveries by channels due
	// at now, for lease.
	ClaimDeliveries(ctx context.Context, now time.Time, channels []billing.DeliveryChannel, lease time.Duration, limit int) ([]billing.InvoiceDelivery, error)
	// MarkDeliverySent records an email accepted by the mail server.
	MarkDeliverySent(ctx context.Context, id int64, attempts int, to string, at time.Time) error
	// MarkLetterSent records a letter accepted by the vendor.
	MarkLetterSent(ctx context.Context, id int64, attempts int, to, letterID string, at time.Time) error
	// MarkDeliveryAttemptFailed records a failed attempt at at; final makes
	// the delivery failed, otherwise it is due again at next.
	MarkDeliveryAttemptFailed(ctx context.Context, id int64, attempts int, to string, at, next time.Time, errText string, final bool) error
}

// WorkerOptions are the worker's transports and what its emails say.
type WorkerOptions struct {
	// Email sends invoice emails (nil: email deliveries are not claimed).
	Email notify.Sender
	// Vendor prints and mails letters (nil: mail deliveries are not
	// claimed).
	Vendor Vendor
	// PrintMail is the vendor's configuration (return envelopes, address
	// verification).
	PrintMail PrintMailConfig
	// Templates render the invoice email (nil: the built-in ones).
	Templates *Templates
	// Company and PortalURL go into the emails.
	Company   string
	PortalURL string
	// Metrics (nil: counted nowhere).
	Metrics *Metrics
}

// Worker delivers due invoices from the outbox: it claims a batch, loads
// and renders each invoice once (an account with delivery "both" gets the
// same PDF by email and by mail), emails it with the PDF attached or has the
// vendor print and mail it, and records each outcome. Several workers (one
// per controller replica) can share a store: each claims its own
// deliveries.
type Worker struct {
	cfg    Config
	store  Store
	source Source
	opts   WorkerOptions
	tmpl   *Templates
	clock  clock.Clock
	log    *slog.Logger
	m      *Metrics
}

// NewWorker builds a worker. cfg is validated; at least one of opts.Email
// and opts.Vendor must be set.
func NewWorker(cfg Config, store Store, source Source, opts WorkerOptions, clk clock.Clock, log *slog.Logger) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil || source == nil || clk == nil {
		return nil, errors.New("delivery: NewWorker needs a store, a source and a clock")
	}
	if opts.Email == nil && opts.Vendor == nil {
		return nil, errors.New("delivery: neither email nor a print-mail vendor is configured")
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &Worker{cfg: cfg.withDefaults(), store: store, source: source, opts: opts, tmpl: opts.Templates, clock: clk, log: log, m: opts.Metrics}
	w.opts.PrintMail = opts.PrintMail.withDefaults()
	if w.tmpl == nil {
		w.tmpl = DefaultTemplates()
	}
	if w.m == nil {
		w.m = NewMetrics(nil, nil)
	}
	return w, nil
}

// Channels are the channels this worker delivers by.
func (w *Worker) Channels() []billing.DeliveryChannel {
	var out []billing.DeliveryChannel
	if w.opts.Email != nil {
		out = append(out, billing.ChannelEmail)
	}
	if w.opts.Vendor != nil {
		out = append(out, billing.ChannelMail)
	}
	return out
}

// Interval is how often the periodic delivery job should run.
func (w *Worker) Interval() time.Duration { return w.cfg.Interval }

// RunOnce works one batch of due deliveries and returns how many it
// claimed (0: nothing is due). Only store errors are returned; delivery
// failures are recorded on the deliveries.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	items, err := w.store.ClaimDeliveries(ctx, w.clock.Now(), w.Channels(), w.cfg.Lease, w.cfg.BatchSize)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	var ids []int64
	groups := map[int64][]billing.InvoiceDelivery{}
	for _, it := range items {
		if _, ok := groups[it.InvoiceID]; !ok {
			ids = append(ids, it.InvoiceID)
		}
		groups[it.InvoiceID] = append(groups[it.InvoiceID], it)
	}
	docs, err := w.source.Documents(ctx, ids)
	if err != nil {
		// The claimed deliveries come back after their lease.
		return 0, fmt.Errorf("delivery: loading %d invoices: %w", len(ids), err)
	}
	byID := make(map[int64]Document, len(docs))
	for _, d := range docs {
		byID[d.InvoiceID] = d
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		tally   = map[string]int{}
		firstEr error
	)
	work := make(chan int64)
	for range min(w.cfg.Concurrency, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				outcomes, err := w.deliverInvoice(ctx, groups[id], byID[id])
				mu.Lock()
				for k, n := range outcomes {
					tally[k] += n
				}
				if err != nil && firstEr == nil {
					firstEr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	w.log.Info("invoice deliveries worked", "claimed", len(items), "invoices", len(ids), "sent", tally["sent"],
		"retry_later", tally["retry"], "given_up", tally["failed"])
	return len(items), firstEr
}

// deliverInvoice renders one invoice and delivers it by each of its
// claimed deliveries; outcomes counts sent, retry and failed.
func (w *Worker) deliverInvoice(ctx context.Context, items []billing.InvoiceDelivery, doc Document) (outcomes map[string]int, err error) {
	outcomes = map[string]int{}
	record := func(it billing.InvoiceDelivery, to string, cause error) {
		kind, rerr := w.failed(ctx, it, to, cause)
		outcomes[kind]++
		if rerr != nil && err == nil {
			err = rerr
		}
	}
	var cause error
	var pdf []byte
	switch {
	case doc.InvoiceID == 0:
		cause = fmt.Errorf("%w: invoice %d does not exist", ErrPermanent, items[0].InvoiceID)
	case doc.Void:
		cause = fmt.Errorf("%w: invoice %s was voided before it was delivered", ErrPermanent, doc.Number)
	default:
		if pdf, cause = w.source.Render(ctx, doc); cause != nil {
			cause = fmt.Errorf("%w: rendering invoice %s: %v", ErrPermanent, doc.Number, cause)
		}
	}
	for _, it := range items {
		if cause != nil {
			record(it, "", cause)
			continue
		}
		var to, letterID string
		var sendErr error
		switch it.Channel {
		case billing.ChannelEmail:
			to, sendErr = w.email(ctx, doc, pdf)
		case billing.ChannelMail:
			to, letterID, sendErr = w.mail(ctx, it, doc, pdf)
		default:
			sendErr = fmt.Errorf("%w: unknown channel %q", ErrPermanent, it.Channel)
		}
		if sendErr != nil {
			record(it, to, sendErr)
			continue
		}
		rctx, cancel := recordCtx(ctx)
		now := w.clock.Now()
		var rerr error
		if it.Channel == billing.ChannelMail {
			rerr = w.store.MarkLetterSent(rctx, it.ID, it.Attempts+1, to, letterID, now)
		} else {
			rerr = w.store.MarkDeliverySent(rctx, it.ID, it.Attempts+1, to, now)
		}
		cancel()
		w.m.sent.WithLabelValues(string(it.Channel)).Inc()
		outcomes["sent"]++
		if rerr != nil && err == nil {
			err = fmt.Errorf("delivery %d was sent but could not be recorded (it is sent again after its lease): %w", it.ID, rerr)
		}
	}
	return outcomes, err
}

// recordCtx is for recording an outcome: it outlives ctx (a delivery that
// went out is recorded even when the job is being stopped), briefly.
func recordCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// email sends the invoice with its PDF attached.
func (w *Worker) email(ctx context.Context, doc Document, pdf []byte) (to string, err error) {
	a := doc.Account
	if a.Email == "" {
		return "", fmt.Errorf("%w: account %s has no email address", ErrPermanent, a.Number)
	}
	to = (&mail.Address{Name: a.Name, Address: a.Email}).String()
	subject, body, err := w.tmpl.Render(EmailData{Company: w.opts.Company, PortalURL: w.opts.PortalURL, Number: doc.Number,
		AccountNumber: a.Number, AccountName: a.Name, Currency: doc.Currency, Total: doc.Total, AmountDue: doc.AmountDue,
		IssueDate: doc.IssueDate, DueDate: doc.DueDate})
	if err != nil {
		return a.Email, fmt.Errorf("%w: rendering the email: %v", ErrPermanent, err)
	}
	err = w.opts.Email.Send(ctx, notify.Message{To: to, Subject: subject, TextBody: body,
		Attachments: []notify.Attachment{{Name: doc.Number + ".pdf", ContentType: "application/pdf", Data: pdf}}})
	return a.Email, err
}

// mail verifies the account's address (US addresses, unless turned off)
// and has the vendor print and mail the invoice, with the delivery's
// idempotency key.
func (w *Worker) mail(ctx context.Context, it billing.InvoiceDelivery, doc Document, pdf []byte) (to, letterID string, err error) {
	addr, complete := postalAddress(doc.Account)
	to = addr.oneLine()
	if !complete {
		return to, "", fmt.Errorf("%w: account %s has no complete postal address (line1, city and postal code are needed)", ErrPermanent, doc.Account.Number)
	}
	if !w.opts.PrintMail.SkipVerification && isUS(addr.Country) {
		v, err := w.opts.Vendor.VerifyUS(ctx, addr)
		if err != nil {
			return to, "", err
		}
		if !v.Deliverable() {
			return to, "", fmt.Errorf("%w: the vendor's address verification says %s is %s", ErrPermanent, to, v.Deliverability)
		}
	}
	l, err := w.opts.Vendor.CreateLetter(ctx, LetterRequest{IdempotencyKey: it.IdempotencyKey,
		Description: "Invoice " + doc.Number, To: addr, PDF: pdf, FileName: doc.Number + ".pdf",
		ReturnEnvelope: doc.RemittanceSlip, PerforatedPage: 1,
		Metadata: map[string]string{MetaInvoice: doc.Number, MetaDeliveryID: strconv.FormatInt(it.ID, 10), MetaIdempotencyKey: it.IdempotencyKey}})
	return to, l.ID, err
}

// failed records a failed attempt and returns "retry" or "failed" (given
// up). Permanent errors give up at once; temporary ones after MaxAttempts.
func (w *Worker) failed(ctx context.Context, it billing.InvoiceDelivery, to string, cause error) (string, error) {
	attempts := it.Attempts + 1
	final := errors.Is(cause, ErrPermanent) || errors.Is(cause, notify.ErrPermanent) || attempts >= w.cfg.MaxAttempts
	now := w.clock.Now()
	next := now.Add(w.cfg.Backoff[min(attempts, len(w.cfg.Backoff))-1])
	ch := string(it.Channel)
	w.m.attemptErrors.WithLabelValues(ch).Inc()
	kind := "retry"
	if final {
		kind = "failed"
		w.m.failed.WithLabelValues(ch).Inc()
		w.log.Warn("invoice delivery failed; re-send it once the cause is fixed", "delivery", it.ID, "invoice", it.InvoiceNumber,
			"channel", ch, "attempts", attempts, "err", cause)
	} else {
		w.log.Debug("invoice delivery attempt failed; retried later", "delivery", it.ID, "invoice", it.InvoiceNumber,
			"channel", ch, "attempts", attempts, "next_attempt_at", next, "err", cause)
	}
	rctx, cancel := recordCtx(ctx)
	defer cancel()
	if err := w.store.MarkDeliveryAttemptFailed(rctx, it.ID, attempts, to, now, next, cause.Error(), final); err != nil {
		return kind, fmt.Errorf("recording delivery %d's failed attempt: %w", it.ID, err)
	}
	return kind, nil
}
