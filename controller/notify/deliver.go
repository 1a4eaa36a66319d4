package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Store is the notice outbox the [Deliverer] works from
// (*postgres.DB implements it).
type Store interface {
	// DueNotices claims up to limit queued notices due at now (for
	// billing.NoticeLease), with their account type's time zone and
	// business hours.
	DueNotices(ctx context.Context, now time.Time, limit int) ([]billing.Notice, error)
	// MarkNoticeSent records that notice id was accepted at at.
	MarkNoticeSent(ctx context.Context, id int64, at time.Time) error
	// MarkNoticeSuperseded records that queued notice id is no longer
	// true (why) and is never to be sent.
	MarkNoticeSuperseded(ctx context.Context, id int64, why string) error
	// RescheduleNotice makes notice id due at next without counting an
	// attempt.
	RescheduleNotice(ctx context.Context, id int64, next time.Time) error
	// MarkNoticeAttemptFailed records a failed attempt (attempts so far);
	// final makes the notice failed, otherwise it is due again at next.
	MarkNoticeAttemptFailed(ctx context.Context, id int64, attempts int, next time.Time, errText string, final bool) error
}

// DelivererConfig tunes notice delivery; zero values take the defaults
// named here.
type DelivererConfig struct {
	// BatchSize is how many due notices are claimed at a time. Default 100.
	BatchSize int `yaml:"batch_size"`
	// MaxAttempts is how many times a notice is tried before it is marked
	// failed. Default 8.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait after each failed attempt: the first entry after
	// the first failure, and so on; the last entry repeats. Default 1m, 5m,
	// 15m, 1h, 2h, 4h, 8h (with 8 attempts, the last try is about 16 hours
	// after the first).
	Backoff []time.Duration `yaml:"backoff"`
	// Concurrency is how many messages are sent at once. Default 4.
	Concurrency int `yaml:"concurrency"`
	// TemplatesDir holds templates that replace the built-in ones (see
	// [LoadTemplates]). Default: none, the built-in templates.
	TemplatesDir string `yaml:"templates_dir"`
	// PortalURL is where subscribers pay, filled into notices that do not
	// name one. Default: none (the notices say to contact the ISP).
	PortalURL string `yaml:"portal_url"`
	// Company is the ISP's name, filled into notices that do not name one
	// (the controller sets it from company.name).
	Company string `yaml:"-"`
	// Locale is the company's locale, for accounts whose own and whose
	// type's are not set (the controller sets it from company.locale).
	// Default en-US.
	Locale billing.Locale `yaml:"-"`
}

// DefaultBackoff is the retry schedule when DelivererConfig.Backoff is
// empty.
var DefaultBackoff = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

func (c DelivererConfig) withDefaults() DelivererConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if len(c.Backoff) == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	return c
}

// Validate reports settings out of range, naming them by YAML key.
func (c DelivererConfig) Validate() error {
	var errs []error
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("notices batch_size %d must not be negative", c.BatchSize))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("notices max_attempts %d must not be negative", c.MaxAttempts))
	}
	for i, d := range c.Backoff {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("notices backoff[%d] %s must be positive", i, d))
		}
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("notices concurrency %d must not be negative", c.Concurrency))
	}
	return errors.Join(errs...)
}

// Deliverer sends due notices from a [Store] through a [Sender]: inside
// business hours (when the notice asks for them), retrying temporary
// failures with backoff, giving up on permanent ones. Several Deliverers
// (one per controller replica) can share a store: each claims its own
// notices.
type Deliverer struct {
	cfg    DelivererConfig
	store  Store
	sender Sender
	tmpl   *Templates
	clock  clock.Clock
	log    *slog.Logger
	m      *metrics

	mu    sync.Mutex
	zones map[string]*time.Location
}

type metrics struct {
	sent, failed     *prometheus.CounterVec
	superseded       *prometheus.CounterVec
	errors, deferred prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_notices_sent_total", Help: "Notices accepted by the mail server, by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_notices_failed_total", Help: "Notices given up on (permanent rejection or too many attempts), by kind.",
		}, []string{"kind"}),
		superseded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_notices_superseded_total", Help: "Notices no longer true when they were to be sent (never sent), by kind.",
		}, []string{"kind"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_notice_send_errors_total", Help: "Failed attempts to send a notice (retried or not).",
		}),
		deferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_notices_deferred_total", Help: "Notices put off because it was outside the account type's business hours.",
		}),
	}
	for _, k := range billing.NoticeKinds {
		m.sent.WithLabelValues(string(k))
		m.failed.WithLabelValues(string(k))
		m.superseded.WithLabelValues(string(k))
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.superseded, m.errors, m.deferred)
	}
	return m
}

// NewDeliverer returns a Deliverer. tmpl nil means the templates of
// cfg.TemplatesDir ([LoadTemplates]); log nil discards logs; reg nil leaves
// the metrics unregistered. Errors: an invalid cfg
// ([DelivererConfig.Validate]), a template that does not load, or a nil
// store, sender or clock.
func NewDeliverer(cfg DelivererConfig, store Store, sender Sender, tmpl *Templates, clk clock.Clock, log *slog.Logger,
	reg prometheus.Registerer) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil || sender == nil || clk == nil {
		return nil, errors.New("notify: NewDeliverer needs a store, a sender and a clock")
	}
	if tmpl == nil {
		var err error
		if tmpl, err = LoadTemplates(cfg.TemplatesDir); err != nil {
			return nil, err
		}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Deliverer{cfg: cfg.withDefaults(), store: store, sender: sender, tmpl: tmpl, clock: clk, log: log,
		m: newMetrics(reg), zones: map[string]*time.Location{}}, nil
}

// outcome of one notice.
type outcome int

const (
	outSent outcome = iota
	outFailed
	outRetry
	outDeferred
	outSuperseded // no longer true: recorded, never sent
	outLeft       // not attempted (lease nearly over, or ctx ended): it comes back after the lease
)

// RunOnce delivers the notices due now, batch after batch, until none is
// due, and returns how many were sent and how many failed for good. Each
// notice is first checked against the account's current standing
// ([billing.NoticeStillTrue]): one no longer true is recorded as
// superseded and not sent.
// Notices outside their business hours are rescheduled to the window's
// next start; send errors are retried after the backoff, or failed for
// good after MaxAttempts or on [ErrPermanent]. err is a store error or
// ctx's error (notices being worked on then are released when their lease
// ends); send errors are not returned, they are recorded on the notice,
// logged and counted.
func (d *Deliverer) RunOnce(ctx context.Context) (sent, failed int, err error) {
	var deferred, retried, superseded int
	defer func() {
		if sent+failed+deferred+retried+superseded > 0 {
			d.log.Info("notices delivered", "sent", sent, "failed", failed, "deferred", deferred, "retrying", retried,
				"superseded", superseded)
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return sent, failed, err
		}
		claimedAt := d.clock.Now()
		batch, err := d.store.DueNotices(ctx, claimedAt, d.cfg.BatchSize)
		if err != nil {
			return sent, failed, fmt.Errorf("notify: due notices: %w", err)
		}
		counts, err := d.deliverBatch(ctx, claimedAt, batch)
		sent, failed, deferred, retried = sent+counts[outSent], failed+counts[outFailed], deferred+counts[outDeferred], retried+counts[outRetry]
		superseded += counts[outSuperseded]
		if err != nil {
			return sent, failed, err
		}
		if len(batch) < d.cfg.BatchSize || counts[outLeft] > 0 {
			return sent, failed, ctx.Err()
		}
	}
}

// Run calls RunOnce every interval until ctx ends, logging its errors.
func (d *Deliverer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("notice delivery", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *Deliverer) deliverBatch(ctx context.Context, claimedAt time.Time, batch []billing.Notice) (map[outcome]int, error) {
	counts := map[outcome]int{}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan billing.Notice)
	for range min(d.cfg.Concurrency, len(batch)) {
		wg.Go(func() {
			for n := range work {
				out, err := d.deliver(ctx, claimedAt, n)
				mu.Lock()
				counts[out]++
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for _, n := range batch {
		work <- n
	}
	close(work)
	wg.Wait()
	return counts, firstErr
}

// deliver sends one claimed notice and records the outcome; the error is a
// store error.
func (d *Deliverer) deliver(ctx context.Context, claimedAt time.Time, n billing.Notice) (outcome, error) {
	now := d.clock.Now()
	// Past half the lease, leave the rest of the batch: another replica may
	// claim it once the lease ends, and it must not find it half sent.
	if ctx.Err() != nil || now.Sub(claimedAt) > billing.NoticeLease/2 {
		return outLeft, nil
	}
	log := d.log.With("notice_id", n.ID, "kind", n.Kind, "account_id", n.AccountID)
	loc := d.location(n.TimeZone, log)
	today := billing.DateIn(now, loc)
	cur := n.Current
	cur.Today = today
	if ok, why := billing.NoticeStillTrue(n, cur); !ok {
		d.m.superseded.WithLabelValues(string(n.Kind)).Inc()
		log.Info("notice superseded; not sending it", "why", why)
		if err := d.store.MarkNoticeSuperseded(ctx, n.ID, why); err != nil {
			return outSuperseded, fmt.Errorf("notify: mark notice %d superseded: %w", n.ID, err)
		}
		return outSuperseded, nil
	}
	if n.BusinessHours {
		if next := billing.NextSendTime(now, loc, n.Hours); next.After(now) {
			d.m.deferred.Inc()
			log.Debug("notice deferred to business hours", "until", next)
			if err := d.store.RescheduleNotice(ctx, n.ID, next); err != nil {
				return outDeferred, fmt.Errorf("notify: reschedule notice %d: %w", n.ID, err)
			}
			return outDeferred, nil
		}
	}

	if n.Data.PortalURL == "" {
		n.Data.PortalURL = d.cfg.PortalURL
	}
	if n.Data.Company == "" {
		n.Data.Company = d.cfg.Company
	}
	n.Locale = billing.ResolveLocale(n.Locale, "", d.cfg.Locale)
	subject, body, err := d.tmpl.Render(NewTemplateData(n, today))
	if err == nil {
		err = d.sender.Send(ctx, Message{To: n.To, Subject: subject, TextBody: body})
	}
	if err == nil {
		d.m.sent.WithLabelValues(string(n.Kind)).Inc()
		log.Debug("notice sent")
		if err := d.store.MarkNoticeSent(ctx, n.ID, d.clock.Now()); err != nil {
			// Sent, but not recorded: it will be sent again after the lease.
			return outSent, fmt.Errorf("notify: mark notice %d sent: %w", n.ID, err)
		}
		return outSent, nil
	}
	if ctx.Err() != nil {
		return outLeft, nil
	}

	d.m.errors.Inc()
	attempts := n.Attempts + 1
	final := errors.Is(err, ErrPermanent) || attempts >= d.cfg.MaxAttempts
	next, out := now, outFailed
	if final {
		d.m.failed.WithLabelValues(string(n.Kind)).Inc()
		log.Error("notice failed; not retrying", "attempts", attempts, "error", err)
	} else {
		next, out = now.Add(d.cfg.Backoff[min(attempts, len(d.cfg.Backoff))-1]), outRetry
		log.Warn("notice not sent; will retry", "attempts", attempts, "retry_at", next, "error", err)
	}
	if err := d.store.MarkNoticeAttemptFailed(ctx, n.ID, attempts, next, err.Error(), final); err != nil {
		return out, fmt.Errorf("notify: record failed attempt of notice %d: %w", n.ID, err)
	}
	return out, nil
}

// location loads (and caches) an IANA zone; an unknown one is UTC, with a
// warning.
func (d *Deliverer) location(name string, log *slog.Logger) *time.Location {
	d.mu.Lock()
	defer d.mu.Unlock()
	if loc, ok := d.zones[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		log.Warn("unknown time zone; using UTC for business hours", "time_zone", name, "error", err)
		loc = time.UTC
	}
	d.zones[name] = loc
	return loc
}
