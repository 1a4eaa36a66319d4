package jobs

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

// scrape gathers reg as a Prometheus scrape would and returns every series
// as `name{label="value",...}` (labels sorted) -> value.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			sort.Strings(labels)
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[f.GetName()+"_count{"+strings.Join(labels, ",")+"}"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetricsMoveForFailedRunDeclineSupersededNoticeAndStuckJob drives, on
// a real database with the runner, the charge service and the notice
// deliverer sharing one registry: a billing run that finishes with an
// account it cannot bill and a batch job that fails its last attempt, an
// autopay charge the gateway declines (and its retry), a staff card charge
// and a cash payment, a queued notice that is no longer true when it is to
// be sent, and a job left waiting in its queue; after each, the named
// series read from a scrape of the registry have moved.
func TestMetricsMoveForFailedRunDeclineSupersededNoticeAndStuckJob(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	reg := prometheus.NewRegistry()
	r := newRunner(t, Config{DisableSchedule: true}, db, clk, quiet)
	r.UseMetrics(NewMetrics(reg, db, clk))
	sandbox := payments.NewSandbox()
	sandbox.SetClock(clk)
	sandbox.SetLogger(quiet)
	charger := charge.New(sandbox, db, clk, quiet)
	paymentMetrics := charge.NewMetrics(reg)
	charger.UseMetrics(paymentMetrics)
	db.ObservePayments(paymentMetrics)
	r.UseCharger(charger)
	srv := smtptest.Start(t)
	sender, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "Billing <billing@isp.example>", TLS: notify.TLSNone}, clk)
	if err != nil {
		t.Fatal(err)
	}
	deliverer, err := notify.NewDeliverer(notify.DelivererConfig{PortalURL: "https://pay.isp.example", Company: "Prairie Fiber"}, db, sender,
		notify.DefaultTemplates(), clk, quiet, reg)
	if err != nil {
		t.Fatal(err)
	}

	before := scrape(t, reg)
	const lastSuccess = `tollgate_billing_run_last_success_timestamp_seconds{account_type="residential"}`
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "UTC", AutopayRetryDays: []int{1}}, now)
	if err != nil {
		t.Fatal(err)
	}
	got := scrape(t, reg)
	if v, ok := got[lastSuccess]; !ok || v != 0 {
		t.Fatalf("%s = %v (present %v) before any run; want 0", lastSuccess, v, ok)
	}
	if v := got[`tollgate_billing_run_scheduled_timestamp_seconds{account_type="residential"}`]; v != float64(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Unix()) {
		t.Fatalf("scheduled timestamp %v; want the start of 2026-11-26 UTC", v)
	}

	// 1. A billing run that cannot bill one of its two accounts (its
	// service is on a plan in another currency, data that bypassed the
	// API's checks).
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber", Price: 5000, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	var accounts []int64
	for _, name := range []string{"Good", "Bad data"} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: name, AccountTypeID: typ.ID, Currency: "USD", AnchorDate: billing.NewDate(2026, 12, 1)}, now)
		if err != nil {
			t.Fatal(err)
		}
		aid, pid := a.ID, plan.ID
		if _, err := db.CreateService(ctx, billing.NewService{POP: "p1", Binding: billing.Binding{Method: "log"}, AccountID: &aid, PlanID: &pid,
			StartDate: billing.NewDate(2026, 12, 1)}, "test", now); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, a.ID)
	}
	if _, err := db.Pool.Exec(ctx, `WITH p AS (INSERT INTO plans (name, price, currency, interval, created_at) VALUES ('Euro plan', 100, 'EUR', 'monthly', now()) RETURNING id)
		UPDATE services SET plan_id = (SELECT id FROM p) WHERE account_id = $1`, accounts[1]); err != nil {
		t.Fatal(err)
	}
	run, created, err := r.StartRun(ctx, typ.ID, billing.NewDate(2026, 11, 26), billing.TriggerOnDemand, "test")
	if err != nil || !created || run.TotalBatches != 1 {
		t.Fatalf("start run: %+v created %v %v", run, created, err)
	}
	clk.Set(now.Add(90 * time.Second))
	if err := (&batchWorker{r: r}).Work(ctx, &river.Job[BillingBatchArgs]{Args: BillingBatchArgs{RunID: run.ID, BatchNo: 0}}); err != nil {
		t.Fatal(err)
	}
	got = scrape(t, reg)
	for series, want := range map[string]float64{
		`tollgate_billing_runs_started_total{account_type="residential",trigger="on_demand"}`:         1,
		`tollgate_billing_runs_finished_total{account_type="residential"}`:                            1,
		`tollgate_billing_runs_failed_total{account_type="residential",reason="accounts_not_billed"}`: 1,
		`tollgate_billing_run_accounts_total{account_type="residential"}`:                             2,
		`tollgate_billing_run_invoices_total{account_type="residential"}`:                             1,
		`tollgate_billing_run_duration_seconds_count{account_type="residential"}`:                     1,
		lastSuccess: float64(now.Add(90 * time.Second).Unix()),
	} {
		if got[series] != want {
			t.Errorf("after a run with an account it could not bill: %s = %v, want %v", series, got[series], want)
		}
	}

	// A batch whose job fails its last attempt: the run cannot finish.
	mw := &jobMetricsMiddleware{r: r}
	batchJob := &rivertype.JobRow{Kind: "billing_batch", Attempt: 25, MaxAttempts: 25, EncodedArgs: []byte(`{"run_id":` + strconv.FormatInt(run.ID, 10) + `,"batch_no":0}`)}
	failing := func(context.Context) error { return errors.New("connection reset") }
	if err := mw.Work(ctx, &rivertype.JobRow{Kind: "billing_batch", Attempt: 1, MaxAttempts: 25, EncodedArgs: batchJob.EncodedArgs}, failing); err == nil {
		t.Fatal("the middleware swallowed the job's error")
	}
	_ = mw.Work(ctx, batchJob, failing)
	snooze := func(context.Context) error { return river.JobSnooze(time.Minute) }
	_ = mw.Work(ctx, &rivertype.JobRow{Kind: "notice", Attempt: 1, MaxAttempts: 25}, snooze)
	got = scrape(t, reg)
	for series, want := range map[string]float64{
		`tollgate_job_errors_total{kind="billing_batch"}`:                                        2,
		`tollgate_jobs_given_up_total{kind="billing_batch"}`:                                     1,
		`tollgate_billing_runs_failed_total{account_type="residential",reason="batch_given_up"}`: 1,
		`tollgate_job_errors_total{kind="notice"}`:                                               0, // a snooze is no error
	} {
		if got[series] != want {
			t.Errorf("after a failing batch job: %s = %v, want %v", series, got[series], want)
		}
	}

	// 2. Autopay with a card that attaches but is declined: the first
	// attempt on the due date (2026-12-10), the retry a day later.
	pm, err := sandbox.Tokenize(ctx, payments.CardInput{Number: "4000000000000341", ExpMonth: 12, ExpYear: 2030})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := charger.AddToken(ctx, accounts[0], pm, true); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAutopay(ctx, accounts[0], true, now); err != nil {
		t.Fatal(err)
	}
	for _, d := range []billing.Date{billing.NewDate(2026, 12, 10), billing.NewDate(2026, 12, 11)} {
		clk.Set(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC))
		if err := (&autopayWorker{r: r}).Work(ctx, &river.Job[AutopayArgs]{Args: AutopayArgs{AccountTypeID: typ.ID, Date: d}}); err != nil {
			t.Fatal(err)
		}
	}
	got = scrape(t, reg)
	for series, want := range map[string]float64{
		`tollgate_payment_gateway_declines_total{code="card_declined",gateway="sandbox"}`:               2,
		`tollgate_payment_gateway_charges_total{gateway="sandbox",status="declined",trigger="autopay"}`: 2,
		`tollgate_autopay_attempts_total{attempt="first",result="declined"}`:                            1,
		`tollgate_autopay_attempts_total{attempt="retry",result="declined"}`:                            1,
		`tollgate_autopay_attempts_total{attempt="first",result="succeeded"}`:                           0,
		`tollgate_payments_posted_total{method="card"}`:                                                 0, // declined: nothing posted
	} {
		if got[series] != want {
			t.Errorf("after declined autopay: %s = %v, want %v", series, got[series], want)
		}
	}

	// A card charged by staff through the gateway posts a card payment.
	good, err := sandbox.Tokenize(ctx, payments.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030})
	if err != nil {
		t.Fatal(err)
	}
	gm, err := charger.AddToken(ctx, accounts[1], good, true)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := charger.Charge(ctx, accounts[1], gm.ID, 2500, billing.TriggerStaff, "staff-charge-1", nil, 1); err != nil || a.Status != "succeeded" {
		t.Fatalf("staff charge: %+v %v", a, err)
	}
	got = scrape(t, reg)
	for series, want := range map[string]float64{
		`tollgate_payment_gateway_charges_total{gateway="sandbox",status="succeeded",trigger="staff"}`: 1,
		`tollgate_payments_posted_total{method="card"}`:                                                1,
		`tollgate_payments_posted_minor_units_total{currency="USD",method="card"}`:                     2500,
	} {
		if got[series] != want {
			t.Errorf("after a staff card charge: %s = %v, want %v", series, got[series], want)
		}
	}

	// A cash payment posted by staff is counted with its amount.
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: accounts[0], Method: billing.PayCash, Amount: 1234}, "test", clk.Now()); err != nil {
		t.Fatal(err)
	}
	got = scrape(t, reg)
	for series, want := range map[string]float64{
		`tollgate_payments_posted_total{method="cash"}`:                            1,
		`tollgate_payments_posted_minor_units_total{currency="USD",method="cash"}`: 1234,
	} {
		if got[series] != want {
			t.Errorf("after a cash payment: %s = %v, want %v", series, got[series], want)
		}
	}

	// 3. A suspension notice queued for an account that is not suspended
	// (any more): superseded when it is to be sent, never sent.
	var noticeID int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO notices (account_id, kind, to_address, business_hours, next_attempt_at, created_at)
		VALUES ($1, 'suspended', 'good@example.net', false, now(), now()) RETURNING id`, accounts[0]).Scan(&noticeID); err != nil {
		t.Fatal(err)
	}
	if got := scrape(t, reg)[`tollgate_notices_queued{kind="suspended"}`]; got != 1 {
		t.Errorf("tollgate_notices_queued{kind=\"suspended\"} = %v with one queued, want 1", got)
	}
	res, err := deliverer.Send(ctx, noticeID, 0)
	if err != nil || res.Outcome != notify.Superseded {
		t.Fatalf("send: %+v %v; want superseded", res, err)
	}
	got = scrape(t, reg)
	for series, want := range map[string]float64{
		`tollgate_notices_superseded_total{kind="suspended"}`: 1,
		`tollgate_notices_sent_total{kind="suspended"}`:       0,
		`tollgate_notices_queued{kind="suspended"}`:           0,
	} {
		if got[series] != want {
			t.Errorf("after a superseded notice: %s = %v, want %v", series, got[series], want)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages sent for a superseded notice", n)
	}

	// 4. A job due an hour ago that nobody has started (the runner is not
	// running): the queue's oldest due job is an hour old.
	if _, err := r.river.Insert(ctx, PurgeArgs{}, &river.InsertOpts{ScheduledAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got = scrape(t, reg)
	if v := got[`tollgate_jobs_oldest_due_seconds{queue="default"}`]; v < 3500 {
		t.Errorf("tollgate_jobs_oldest_due_seconds{queue=\"default\"} = %v with a job due an hour ago; want about 3600", v)
	}
	// River inserts a job with a scheduled time as scheduled; its
	// scheduler (not running here) would make it available.
	if v := got[`tollgate_jobs{kind="idempotency_purge",queue="default",state="scheduled"}`]; v != 1 {
		t.Errorf("tollgate_jobs for the waiting purge job = %v, want 1", v)
	}
	if v := before[`tollgate_jobs_oldest_due_seconds{queue="default"}`]; v != 0 {
		t.Errorf("tollgate_jobs_oldest_due_seconds{queue=\"default\"} = %v on an empty queue, want 0", v)
	}
}

// fakeMetricsSource answers the scrape-time reads from fixed figures.
type fakeMetricsSource struct {
	runs []billing.LastBillingRun
	jobs []billing.JobQueueCount
	err  error
}

func (f fakeMetricsSource) JobQueueCounts(context.Context) ([]billing.JobQueueCount, error) {
	return f.jobs, f.err
}

func (f fakeMetricsSource) LastBillingRuns(context.Context) ([]billing.LastBillingRun, error) {
	return f.runs, nil
}

func (f fakeMetricsSource) QueuedNoticeCounts(context.Context) ([]billing.NoticeCount, error) {
	return nil, f.err
}

// The scheduled timestamp is the start of the account type's local day (a
// 23-hour DST day included); a failed read leaves its families out of the
// scrape without failing it; a sweep's changes are counted by kind.
func TestScrapeTimeMetricsAndSweeps(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	clk := clock.NewFixed(time.Date(2026, 3, 8, 20, 0, 0, 0, chicago)) // the day clocks go forward
	finished := time.Date(2026, 3, 8, 0, 2, 0, 0, chicago)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, fakeMetricsSource{runs: []billing.LastBillingRun{{AccountTypeID: 1, AccountType: "business", TimeZone: "America/Chicago", FinishedAt: &finished}},
		err: errors.New("database unreachable")}, clk)
	got := scrape(t, reg)
	if v := got[`tollgate_billing_run_scheduled_timestamp_seconds{account_type="business"}`]; v != float64(time.Date(2026, 3, 8, 0, 0, 0, 0, chicago).Unix()) {
		t.Errorf("scheduled %v, want Chicago's midnight of March 8", time.Unix(int64(v), 0).In(chicago))
	}
	if v := got[`tollgate_billing_run_last_success_timestamp_seconds{account_type="business"}`]; v != float64(finished.Unix()) {
		t.Errorf("last success %v, want %v", v, finished)
	}
	for series := range got {
		if strings.HasPrefix(series, "tollgate_jobs{") || strings.HasPrefix(series, "tollgate_notices_queued{") {
			t.Errorf("%s scraped although its read failed", series)
		}
	}

	m.swept(billing.SweepResult{StatusChanges: 5, Suspended: 2, Restored: 1, Held: 3, HeldBatchID: 9, Reminders: 4,
		StartedAt: clk.Now(), FinishedAt: clk.Now().Add(1500 * time.Millisecond)}, "business")
	m.swept(billing.SweepResult{AlreadyRan: true, Suspended: 7}, "business")
	got = scrape(t, reg)
	for series, want := range map[string]float64{
		`tollgate_sweep_changes_total{account_type="business",change="status"}`:               5,
		`tollgate_sweep_changes_total{account_type="business",change="suspended"}`:            2,
		`tollgate_sweep_changes_total{account_type="business",change="restored"}`:             1,
		`tollgate_sweep_changes_total{account_type="business",change="held"}`:                 3,
		`tollgate_sweep_changes_total{account_type="business",change="reminder"}`:             4,
		`tollgate_sweep_held_batches_total{account_type="business"}`:                          1,
		`tollgate_sweep_duration_seconds_count{account_type="business"}`:                      1,
		`tollgate_billing_runs_failed_total{account_type="business",reason="batch_given_up"}`: 0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
}
