package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Metrics are the job runner's Prometheus metrics, observed where the jobs
// run (billing runs, sweeps, autopay, every job's errors) or read from the
// store at scrape time (the job queue, the last finished billing runs, the
// queued notices):
//
//	tollgate_billing_runs_started_total{account_type,trigger}        runs opened by this replica
//	tollgate_billing_runs_finished_total{account_type}               runs whose last batch this replica finished
//	tollgate_billing_runs_failed_total{account_type,reason}          accounts_not_billed: finished with accounts it could not bill;
//	                                                                 batch_given_up: a batch's job failed its last attempt
//	tollgate_billing_run_duration_seconds{account_type}              opened to finished, per finished run
//	tollgate_billing_run_accounts_total{account_type}                accounts of finished runs
//	tollgate_billing_run_invoices_total{account_type}                invoices created by finished runs
//	tollgate_billing_run_last_success_timestamp_seconds{account_type} when the type's latest run finished (0: never; read at scrape)
//	tollgate_billing_run_scheduled_timestamp_seconds{account_type}   when the type's current run was due to open: the start of its local day (read at scrape)
//	tollgate_sweep_duration_seconds{account_type}                    scheduled delinquency sweeps
//	tollgate_sweep_changes_total{account_type,change}                status, suspended, restored, held, reminder (accounts)
//	tollgate_sweep_held_batches_total{account_type}                  suspension batches held by the blast-radius guard
//	tollgate_autopay_attempts_total{attempt,result}                  attempt first|retry; result succeeded|declined|error|processing|unsettled
//	tollgate_job_errors_total{kind}                                  failed job attempts (River retries them)
//	tollgate_jobs_given_up_total{kind}                               jobs that failed their last attempt
//	tollgate_jobs{queue,kind,state}                                  unfinished jobs now (read at scrape)
//	tollgate_jobs_oldest_due_seconds{queue}                          how long the queue's oldest due job has waited to start (read at scrape)
//	tollgate_notices_queued{kind}                                    notices waiting to be sent (read at scrape)
//
// Every replica reads the same scrape-time figures from the database; the
// counters are each replica's own (sum them).
type Metrics struct {
	runsStarted, runsFinished, runsFailed *prometheus.CounterVec
	runSeconds                            *prometheus.HistogramVec
	runAccounts, runInvoices              *prometheus.CounterVec
	sweepSeconds                          *prometheus.HistogramVec
	sweepChanges, sweepHeld               *prometheus.CounterVec
	autopay                               *prometheus.CounterVec
	jobErrors, jobsGivenUp                *prometheus.CounterVec
}

// MetricsSource is what the job runner's scrape-time metrics read from the
// store.
type MetricsSource interface {
	// JobQueueCounts counts the unfinished jobs by queue, kind and state,
	// with how long the oldest due one has waited. Errors: the database's
	// only.
	JobQueueCounts(ctx context.Context) ([]billing.JobQueueCount, error)
	// LastBillingRuns returns every account type with the time its latest
	// billing run finished. Errors: the database's only.
	LastBillingRuns(ctx context.Context) ([]billing.LastBillingRun, error)
	// QueuedNoticeCounts counts the queued notices by kind. Errors: the
	// database's only.
	QueuedNoticeCounts(ctx context.Context) ([]billing.NoticeCount, error)
}

// Results of tollgate_autopay_attempts_total.
const (
	autopaySucceeded  = "succeeded"
	autopayDeclined   = "declined"
	autopayError      = "error"
	autopayProcessing = "processing"
	autopayUnsettled  = "unsettled"
)

// Reasons of tollgate_billing_runs_failed_total.
const (
	runFailedAccounts = "accounts_not_billed"
	runFailedBatch    = "batch_given_up"
)

// Changes of tollgate_sweep_changes_total.
var sweepChangeKinds = []string{"status", "suspended", "restored", "held", "reminder"}

// RunDurationBuckets are the buckets of tollgate_billing_run_duration_seconds:
// 1 s to 2 h (a 1,000,000-account run takes about a minute and a half).
var RunDurationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200}

// NewMetrics creates the job runner's metrics and registers them with reg
// (nil: not registered); the scrape-time ones read source (nil: none) with
// clk for "now" (the controller's clock, so the dev clock's runs line up).
// Give them to the runner with [Runner.UseMetrics].
func NewMetrics(reg prometheus.Registerer, source MetricsSource, clk clock.Clock) *Metrics {
	byType := []string{"account_type"}
	m := &Metrics{
		runsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_billing_runs_started_total",
			Help: "Billing runs opened, by account type and trigger (schedule, on_demand, ...)."}, []string{"account_type", "trigger"}),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_billing_runs_finished_total",
			Help: "Billing runs finished (every batch done), by account type."}, byType),
		runsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_billing_runs_failed_total",
			Help: "Billing runs that failed, by account type and reason: accounts_not_billed (finished, but some accounts could not be " +
				"invoiced: the run's errors say why), batch_given_up (a batch's job failed its last attempt: the run cannot finish)."},
			[]string{"account_type", "reason"}),
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tollgate_billing_run_duration_seconds",
			Help: "Time from a billing run's opening to its last batch, by account type.", Buckets: RunDurationBuckets}, byType),
		runAccounts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_billing_run_accounts_total",
			Help: "Accounts processed by finished billing runs, by account type."}, byType),
		runInvoices: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_billing_run_invoices_total",
			Help: "Invoices created by finished billing runs, by account type."}, byType),
		sweepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tollgate_sweep_duration_seconds",
			Help: "Duration of scheduled delinquency sweeps, by account type.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, byType),
		sweepChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_sweep_changes_total",
			Help: "Accounts changed by scheduled delinquency sweeps, by account type and change: status (any status change), " +
				"suspended, restored, held (suspension held for approval by the blast-radius guard), reminder (reminder queued)."},
			[]string{"account_type", "change"}),
		sweepHeld: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_sweep_held_batches_total",
			Help: "Suspension batches held for approval by the blast-radius guard in scheduled sweeps, by account type."}, byType),
		autopay: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_autopay_attempts_total",
			Help: "Autopay charge attempts, by attempt (first: on the due date; retry: on the account type's retry schedule) and result " +
				"(succeeded, declined, error: the gateway refused the request, processing: an ACH debit settling, unsettled: the gateway's answer is unknown)."},
			[]string{"attempt", "result"}),
		jobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_job_errors_total",
			Help: "Background job attempts that failed, by job kind; River retries them with backoff."}, []string{"kind"}),
		jobsGivenUp: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_jobs_given_up_total",
			Help: "Background jobs that failed their last attempt (or were cancelled) and will not run again, by job kind."}, []string{"kind"}),
	}
	for _, attempt := range []string{"first", "retry"} {
		for _, r := range []string{autopaySucceeded, autopayDeclined, autopayError, autopayProcessing, autopayUnsettled} {
			m.autopay.WithLabelValues(attempt, r)
		}
	}
	if reg != nil {
		reg.MustRegister(m.runsStarted, m.runsFinished, m.runsFailed, m.runSeconds, m.runAccounts, m.runInvoices,
			m.sweepSeconds, m.sweepChanges, m.sweepHeld, m.autopay, m.jobErrors, m.jobsGivenUp)
		if source != nil {
			if clk == nil {
				clk = clock.Real{}
			}
			reg.MustRegister(&storeCollector{source: source, clock: clk, metrics: m})
		}
	}
	return m
}

// UseMetrics makes the runner observe its work in m. Call before Start.
func (r *Runner) UseMetrics(m *Metrics) { r.metrics = m }

func (m *Metrics) runStarted(run billing.BillingRun, typeName string) {
	if m == nil {
		return
	}
	m.runsStarted.WithLabelValues(typeName, string(run.Trigger)).Inc()
}

// runFinished observes a run whose every batch is done.
func (m *Metrics) runFinished(run billing.BillingRun, typeName string) {
	if m == nil {
		return
	}
	m.runsFinished.WithLabelValues(typeName).Inc()
	if run.FinishedAt != nil {
		m.runSeconds.WithLabelValues(typeName).Observe(max(run.FinishedAt.Sub(run.CreatedAt).Seconds(), 0))
	}
	m.runAccounts.WithLabelValues(typeName).Add(float64(run.DoneAccounts))
	m.runInvoices.WithLabelValues(typeName).Add(float64(run.InvoicesCreated))
	if run.FailedAccounts > 0 {
		m.runsFailed.WithLabelValues(typeName, runFailedAccounts).Inc()
	}
}

func (m *Metrics) runBatchGivenUp(typeName string) {
	if m == nil {
		return
	}
	m.runsFailed.WithLabelValues(typeName, runFailedBatch).Inc()
}

func (m *Metrics) swept(res billing.SweepResult, typeName string) {
	if m == nil || res.AlreadyRan || res.DryRun {
		return
	}
	m.sweepSeconds.WithLabelValues(typeName).Observe(max(res.FinishedAt.Sub(res.StartedAt).Seconds(), 0))
	for i, n := range []int{res.StatusChanges, res.Suspended, res.Restored, res.Held, res.Reminders} {
		m.sweepChanges.WithLabelValues(typeName, sweepChangeKinds[i]).Add(float64(n))
	}
	if res.HeldBatchID != 0 {
		m.sweepHeld.WithLabelValues(typeName).Inc()
	}
}

func (m *Metrics) autopayAttempt(attemptNo int, result string) {
	if m == nil {
		return
	}
	attempt := "first"
	if attemptNo > 1 {
		attempt = "retry"
	}
	m.autopay.WithLabelValues(attempt, result).Inc()
}

// jobMetricsMiddleware counts every job attempt that fails, by kind, and
// the jobs that will not run again. A snooze is not a failure.
type jobMetricsMiddleware struct {
	river.MiddlewareDefaults
	r *Runner
}

func (mw *jobMetricsMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	m := mw.r.metrics
	if err == nil || m == nil {
		return err
	}
	var snooze *rivertype.JobSnoozeError
	if errors.As(err, &snooze) {
		return err
	}
	m.jobErrors.WithLabelValues(job.Kind).Inc()
	var cancel *rivertype.JobCancelError
	if errors.As(err, &cancel) || job.Attempt >= job.MaxAttempts {
		m.jobsGivenUp.WithLabelValues(job.Kind).Inc()
		if job.Kind == (BillingBatchArgs{}).Kind() {
			mw.r.batchGivenUp(ctx, job)
		}
	}
	return err
}

var (
	lastSuccessDesc = prometheus.NewDesc("tollgate_billing_run_last_success_timestamp_seconds",
		"When the account type's latest billing run finished (every batch done), as a Unix time; 0 if none ever did.",
		[]string{"account_type"}, nil)
	scheduledDesc = prometheus.NewDesc("tollgate_billing_run_scheduled_timestamp_seconds",
		"When the account type's current billing run was due to open, as a Unix time: the start of the current day in the account type's "+
			"time zone (the scheduler opens each day's run when the local date changes). A run has not finished on schedule while "+
			"tollgate_billing_run_last_success_timestamp_seconds is older than this.",
		[]string{"account_type"}, nil)
	jobsDesc = prometheus.NewDesc("tollgate_jobs",
		"Background jobs not finished, by queue, kind and state (available, scheduled, retryable, running), now.",
		[]string{"queue", "kind", "state"}, nil)
	oldestDueDesc = prometheus.NewDesc("tollgate_jobs_oldest_due_seconds",
		"How long the queue's oldest due job (its scheduled time passed) has waited without being started; 0 when none waits.",
		[]string{"queue"}, nil)
	noticesQueuedDesc = prometheus.NewDesc("tollgate_notices_queued",
		"Notices waiting to be sent (or retried), by kind, now.", []string{"kind"}, nil)
)

// storeCollector reads the scrape-time figures from the store. A failed
// read leaves that family out of the scrape (rather than failing the whole
// scrape, which would look like a controller down) and reports the others
// as usual.
type storeCollector struct {
	source MetricsSource
	clock  clock.Clock
	// metrics gets, for every account type read, its finished and failed
	// series at 0 (from the next scrape on), so that the first failure shows
	// in increase() on every replica.
	metrics *Metrics
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lastSuccessDesc, scheduledDesc, jobsDesc, oldestDueDesc, noticesQueuedDesc} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	now := c.clock.Now()
	if runs, err := c.source.LastBillingRuns(ctx); err == nil {
		for _, r := range runs {
			var last float64
			if r.FinishedAt != nil {
				last = float64(r.FinishedAt.UnixMilli()) / 1000
			}
			ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, last, r.AccountType)
			c.metrics.runsFinished.WithLabelValues(r.AccountType)
			c.metrics.runsFailed.WithLabelValues(r.AccountType, runFailedAccounts)
			c.metrics.runsFailed.WithLabelValues(r.AccountType, runFailedBatch)
			if loc, err := time.LoadLocation(r.TimeZone); err == nil {
				start := billing.DateIn(now, loc).StartIn(loc)
				ch <- prometheus.MustNewConstMetric(scheduledDesc, prometheus.GaugeValue, float64(start.Unix()), r.AccountType)
			}
		}
	}
	if counts, err := c.source.JobQueueCounts(ctx); err == nil {
		oldest := map[string]time.Duration{}
		for _, q := range []string{river.QueueDefault, DeliveryQueue, NoticeQueue} {
			oldest[q] = 0
		}
		for _, k := range counts {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(k.Count), k.Queue, k.Kind, k.State)
			oldest[k.Queue] = max(oldest[k.Queue], k.OldestDue)
		}
		for q, d := range oldest {
			ch <- prometheus.MustNewConstMetric(oldestDueDesc, prometheus.GaugeValue, d.Seconds(), q)
		}
	}
	if counts, err := c.source.QueuedNoticeCounts(ctx); err == nil {
		n := map[billing.NoticeKind]int64{}
		for _, k := range counts {
			n[k.Kind] = k.Count
		}
		for _, k := range billing.NoticeKinds {
			ch <- prometheus.MustNewConstMetric(noticesQueuedDesc, prometheus.GaugeValue, float64(n[k]), string(k))
		}
	}
}
