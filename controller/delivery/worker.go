package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strconv"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Store is the delivery record the [Worker] reads and writes (*postgres.DB
// implements it).
type Store interface {
	// DeliveryToSend returns queued delivery id and records jobID as its
	// job; ENOTFOUND if no queued delivery id exists.
	DeliveryToSend(ctx context.Context, id, jobID int64) (billing.InvoiceDelivery, error)
	// MarkDeliverySent records an email accepted by the mail server.
	MarkDeliverySent(ctx context.Context, id int64, attempts int, to string, at time.Time) error
	// MarkLetterSent records a letter accepted by the vendor.
	MarkLetterSent(ctx context.Context, id int64, attempts int, to, letterID string, at time.Time) error
	// MarkDeliveryAttemptFailed records a failed attempt at at; final makes
	// the delivery failed, otherwise it is tried again at next.
	MarkDeliveryAttemptFailed(ctx context.Context, id int64, attempts int, to string, at, next time.Time, errText string, final bool) error
}

// WorkerOptions are the worker's transports and what its emails say.
type WorkerOptions struct {
	// Email sends invoice emails (nil: email deliveries are not queued, and
	// one queued before fails as not configured).
	Email notify.Sender
	// Vendor prints and mails letters (nil: mail deliveries are not
	// queued, and one queued before fails as not configured).
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

// Worker delivers one invoice delivery at a time for the River job that
// delivers it ([Worker.Deliver], called by controller/jobs' delivery
// worker): it loads and renders the invoice, emails it with the PDF
// attached or has the vendor print and mail it, and records the outcome.
// It has no loop and claims nothing: the delivery's job retries it
// ([Worker.RetryAfter]) and runs it once at a time.
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

// Interval is how often the periodic delivery job looks for finished runs
// whose invoices were never queued.
func (w *Worker) Interval() time.Duration { return w.cfg.Interval }

// Concurrency is how many deliveries are worked at once per replica.
func (w *Worker) Concurrency() int { return w.cfg.Concurrency }

// RetryAfter is the wait after the attempts'th failed attempt (1 for the
// first): the configured backoff, whose last entry repeats.
func (w *Worker) RetryAfter(attempts int) time.Duration {
	return w.cfg.Backoff[min(max(attempts, 1), len(w.cfg.Backoff))-1]
}

// Outcome is what became of one attempt at a delivery.
type Outcome int

// Outcomes of [Worker.Deliver].
const (
	// Sent: the mail server or the vendor accepted it; recorded.
	Sent Outcome = iota
	// Retry: a temporary failure, recorded; to be tried again after
	// [Worker.RetryAfter].
	Retry
	// Failed: given up (a permanent error or the last attempt); recorded
	// as failed, to be re-sent once the cause is fixed.
	Failed
	// Gone: the delivery is no longer queued (delivered, failed, or moved
	// on by a webhook meanwhile); nothing was done.
	Gone
)

// Result of [Worker.Deliver].
type Result struct {
	Outcome Outcome
	// Err is the cause of Retry and Failed.
	Err error
}

// Deliver makes one attempt at delivery id for its job jobID: it loads and
// renders the invoice and sends it by the delivery's channel, and records
// the outcome on the delivery. Delivery failures are in the Result
// (recorded, logged, counted); the error is a store error (the invoice could
// not be loaded, or an outcome not recorded: the caller tries again; a
// letter is never printed twice, its idempotency key sees to that).
func (w *Worker) Deliver(ctx context.Context, id, jobID int64) (Result, error) {
	it, err := w.store.DeliveryToSend(ctx, id, jobID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return Result{Outcome: Gone}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("delivery: reading delivery %d: %w", id, err)
	}
	docs, err := w.source.Documents(ctx, []int64{it.InvoiceID})
	if err != nil {
		return Result{}, fmt.Errorf("delivery: loading invoice %d: %w", it.InvoiceID, err)
	}
	var doc Document
	if len(docs) == 1 {
		doc = docs[0]
	}
	return w.deliver(ctx, it, doc)
}

// deliver renders doc and delivers it by its channel, recording the
// outcome.
func (w *Worker) deliver(ctx context.Context, it billing.InvoiceDelivery, doc Document) (Result, error) {
	var cause error
	var pdf []byte
	switch {
	case doc.InvoiceID == 0:
		cause = fmt.Errorf("%w: invoice %d does not exist", ErrPermanent, it.InvoiceID)
	case doc.Void:
		cause = fmt.Errorf("%w: invoice %s was voided before it was delivered", ErrPermanent, doc.Number)
	default:
		if pdf, cause = w.source.Render(ctx, doc); cause != nil {
			cause = fmt.Errorf("%w: rendering invoice %s: %v", ErrPermanent, doc.Number, cause)
		}
	}
	if cause != nil {
		return w.failed(ctx, it, "", cause)
	}
	var to, letterID string
	var sendErr error
	switch it.Channel {
	case billing.ChannelEmail:
		if w.opts.Email == nil {
			sendErr = fmt.Errorf("%w: email is not configured (notices.smtp)", ErrPermanent)
			break
		}
		to, sendErr = w.email(ctx, doc, pdf)
	case billing.ChannelMail:
		if w.opts.Vendor == nil {
			sendErr = fmt.Errorf("%w: print-to-mail is not configured (delivery.print_mail)", ErrPermanent)
			break
		}
		to, letterID, sendErr = w.mail(ctx, it, doc, pdf)
	default:
		sendErr = fmt.Errorf("%w: unknown channel %q", ErrPermanent, it.Channel)
	}
	if sendErr != nil {
		return w.failed(ctx, it, to, sendErr)
	}
	rctx, cancel := recordCtx(ctx)
	defer cancel()
	now := w.clock.Now()
	var rerr error
	if it.Channel == billing.ChannelMail {
		rerr = w.store.MarkLetterSent(rctx, it.ID, it.Attempts+1, to, letterID, now)
	} else {
		rerr = w.store.MarkDeliverySent(rctx, it.ID, it.Attempts+1, to, now)
	}
	w.m.sent.WithLabelValues(string(it.Channel)).Inc()
	if rerr != nil {
		return Result{}, fmt.Errorf("delivery %d was sent but could not be recorded (its job tries again): %w", it.ID, rerr)
	}
	return Result{Outcome: Sent}, nil
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

// failed records a failed attempt: Retry, or Failed (given up).
// Permanent errors give up at once; temporary ones after MaxAttempts. The
// error is the store's.
func (w *Worker) failed(ctx context.Context, it billing.InvoiceDelivery, to string, cause error) (Result, error) {
	attempts := it.Attempts + 1
	final := errors.Is(cause, ErrPermanent) || errors.Is(cause, notify.ErrPermanent) || attempts >= w.cfg.MaxAttempts
	now := w.clock.Now()
	next := now.Add(w.RetryAfter(attempts))
	ch := string(it.Channel)
	w.m.attemptErrors.WithLabelValues(ch).Inc()
	res := Result{Outcome: Retry, Err: cause}
	if final {
		res.Outcome = Failed
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
		return Result{}, fmt.Errorf("recording delivery %d's failed attempt: %w", it.ID, err)
	}
	return res, nil
}
