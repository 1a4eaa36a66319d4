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

// Store is the notice record the [Deliverer] reads and writes
// (*postgres.DB implements it).
type Store interface {
	// NoticeToSend returns queued notice id, with its account type's time
	// zone and business hours and the account's current standing, and
	// records jobID as its job; ENOTFOUND if no queued notice id exists.
	NoticeToSend(ctx context.Context, id, jobID int64) (billing.Notice, error)
	// MarkNoticeSent records that notice id was accepted at at.
	MarkNoticeSent(ctx context.Context, id int64, at time.Time) error
	// MarkNoticeSuperseded records that queued notice id is no longer
	// true (why) and is never to be sent.
	MarkNoticeSuperseded(ctx context.Context, id int64, why string) error
	// RescheduleNotice records that notice id is tried next at next,
	// without counting an attempt.
	RescheduleNotice(ctx context.Context, id int64, next time.Time) error
	// MarkNoticeAttemptFailed records a failed attempt (attempts so far);
	// final makes the notice failed, otherwise it is tried again at next.
	MarkNoticeAttemptFailed(ctx context.Context, id int64, attempts int, next time.Time, errText string, final bool) error
}

// DelivererConfig tunes notice delivery; zero values take the defaults
// named here.
type DelivererConfig struct {
	// BatchSize is no longer used (each notice is its own River job); it
	// is accepted so that existing configurations still load.
	BatchSize int `yaml:"batch_size"`
	// MaxAttempts is how many times a notice is tried before it is marked
	// failed. Default 8.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait after each failed attempt: the first entry after
	// the first failure, and so on; the last entry repeats. Default 1m, 5m,
	// 15m, 1h, 2h, 4h, 8h (with 8 attempts, the last try is about 16 hours
	// after the first).
	Backoff []time.Duration `yaml:"backoff"`
	// Concurrency is how many messages are sent at once: the workers of
	// the River queue of notice jobs, per controller replica. Default 4.
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

// Deliverer sends one notice at a time for the job that sends it
// ([Deliverer.Send], called by controller/jobs' notice worker): it checks the
// notice against the account's current standing, keeps to business hours
// and records each outcome on the notice. It has no loop and claims
// nothing: the notice's River job retries it ([Deliverer.RetryAfter]) and
// runs it once at a time.
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

// Outcome is what became of one attempt to send a notice.
type Outcome int

// Outcomes of [Deliverer.Send].
const (
	// Sent: accepted by the mail server, recorded as sent.
	Sent Outcome = iota
	// Superseded: no longer true; recorded, never sent.
	Superseded
	// Deferred: outside business hours; to be tried at Result.Until (no
	// attempt counted).
	Deferred
	// Retry: a temporary failure, recorded; to be tried again after
	// [Deliverer.RetryAfter].
	Retry
	// Failed: given up (a permanent rejection or the last attempt);
	// recorded as failed.
	Failed
	// Gone: the notice is no longer queued (sent, failed or superseded
	// meanwhile, or never stored); nothing was done.
	Gone
)

// Result of [Deliverer.Send].
type Result struct {
	Outcome Outcome
	// Until is when a Deferred notice is to be tried next.
	Until time.Time
	// Err is the send error of Retry and Failed.
	Err error
}

// MaxAttempts is how many sends of a notice are tried before it fails.
func (d *Deliverer) MaxAttempts() int { return d.cfg.MaxAttempts }

// RetryAfter is the wait after the attempts'th failed attempt (1 for the
// first): the configured backoff, whose last entry repeats.
func (d *Deliverer) RetryAfter(attempts int) time.Duration {
	return d.cfg.Backoff[min(max(attempts, 1), len(d.cfg.Backoff))-1]
}

// Send makes one attempt at notice id for its job jobID. The notice is first
// checked against the account's current standing
// ([billing.NoticeStillTrue]): one no longer true is recorded as superseded
// and not sent. A notice outside its business hours is Deferred to the
// window's next start (recorded as its next attempt); send errors are
// recorded and Retry, or Failed for good after MaxAttempts or on
// [ErrPermanent]. The error is a store error (nothing is known to have been
// recorded; the caller tries again) or ctx's; send errors are in the
// Result, logged and counted, not returned.
func (d *Deliverer) Send(ctx context.Context, id, jobID int64) (Result, error) {
	n, err := d.store.NoticeToSend(ctx, id, jobID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return Result{Outcome: Gone}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("notify: reading notice %d: %w", id, err)
	}
	now := d.clock.Now()
	log := d.log.With("notice_id", n.ID, "kind", n.Kind, "account_id", n.AccountID, "job_id", jobID)
	loc := d.location(n.TimeZone, log)
	today := billing.DateIn(now, loc)
	cur := n.Current
	cur.Today = today
	if ok, why := billing.NoticeStillTrue(n, cur); !ok {
		d.m.superseded.WithLabelValues(string(n.Kind)).Inc()
		log.Info("notice superseded; not sending it", "why", why)
		if err := d.store.MarkNoticeSuperseded(ctx, n.ID, why); err != nil {
			return Result{}, fmt.Errorf("notify: mark notice %d superseded: %w", n.ID, err)
		}
		return Result{Outcome: Superseded}, nil
	}
	if n.BusinessHours {
		if next := billing.NextSendTime(now, loc, n.Hours); next.After(now) {
			d.m.deferred.Inc()
			log.Debug("notice deferred to business hours", "until", next)
			if err := d.store.RescheduleNotice(ctx, n.ID, next); err != nil {
				return Result{}, fmt.Errorf("notify: reschedule notice %d: %w", n.ID, err)
			}
			return Result{Outcome: Deferred, Until: next}, nil
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
		// Recorded even when ctx ends now: it went out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := d.store.MarkNoticeSent(rctx, n.ID, d.clock.Now()); err != nil {
			// Sent, but not recorded: the job's retry sends it again.
			return Result{}, fmt.Errorf("notify: mark notice %d sent: %w", n.ID, err)
		}
		return Result{Outcome: Sent}, nil
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}

	d.m.errors.Inc()
	attempts := n.Attempts + 1
	final := errors.Is(err, ErrPermanent) || attempts >= d.cfg.MaxAttempts
	res := Result{Outcome: Failed, Err: err}
	next := now
	if final {
		d.m.failed.WithLabelValues(string(n.Kind)).Inc()
		log.Error("notice failed; not retrying", "attempts", attempts, "error", err)
	} else {
		next, res.Outcome = now.Add(d.RetryAfter(attempts)), Retry
		log.Warn("notice not sent; will retry", "attempts", attempts, "retry_at", next, "error", err)
	}
	if err := d.store.MarkNoticeAttemptFailed(ctx, n.ID, attempts, next, err.Error(), final); err != nil {
		return Result{}, fmt.Errorf("notify: record failed attempt of notice %d: %w", n.ID, err)
	}
	return res, nil
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
