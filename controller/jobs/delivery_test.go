package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/printmailsim"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

// TestBillingRunIsDeliveredWhenItFinishes opens a billing run through the
// runner and waits: when its last batch is done a delivery job queues its
// invoices and delivers them, by email and through the print-and-mail
// vendor, with nothing else asking, one River job per delivery. A run that
// finished while no delivery was configured is picked up by the next
// delivery job, while the vendor is down: each letter's job is retried by
// River on the backoff until the vendor is back.
func TestBillingRunIsDeliveredWhenItFinishes(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "UTC", DefaultDelivery: billing.DeliveryBoth}, now)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber", Price: 5000, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ana", "Ben", "Chloe"} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: name, Email: name + "@example.net", AccountTypeID: typ.ID, Currency: "USD",
			Address: billing.Address{Line1: "1 Elm St", City: "Austin", Region: "TX", PostalCode: "78701"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		aid, pid := a.ID, plan.ID
		if _, err := db.CreateService(ctx, billing.NewService{POP: "p1", Binding: billing.Binding{Method: "log"}, AccountID: &aid, PlanID: &pid,
			StartDate: billing.NewDate(2026, 12, 1)}, "test", now); err != nil {
			t.Fatal(err)
		}
	}
	smtpSrv := smtptest.Start(t)
	sender, err := notify.NewSMTP(notify.SMTPConfig{Addr: smtpSrv.Addr(), From: "billing@isp.example", TLS: notify.TLSNone}, clk)
	if err != nil {
		t.Fatal(err)
	}
	sim := printmailsim.Start(t, printmailsim.Options{APIKey: "key"})
	pmCfg := delivery.PrintMailConfig{BaseURL: sim.URL(), APIKeyFile: "unused",
		From: delivery.PostalAddress{Company: "ISP", Line1: "1 Main St", City: "Austin", Region: "TX", PostalCode: "78701"}}
	pm, err := delivery.NewPrintMail(pmCfg, "key")
	if err != nil {
		t.Fatal(err)
	}
	wk, err := delivery.NewWorker(delivery.Config{Backoff: []time.Duration{time.Second}}, db, delivery.DocumentSource{Loader: db, Company: documents.Company{Name: "ISP"}},
		delivery.WorkerOptions{Email: sender, Vendor: pm, PrintMail: pmCfg}, clk, quiet)
	if err != nil {
		t.Fatal(err)
	}

	// A run that finishes before delivery is configured.
	early := newRunner(t, Config{DisableSchedule: true}, db, clk, quiet)
	if err := early.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := runAndWait(t, early, db, typ.ID, billing.NewDate(2026, 11, 26))
	if err := early.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ds, _ := db.Deliveries(ctx, billing.DeliveryFilter{}); len(ds) != 0 {
		t.Fatalf("%d deliveries queued without a deliverer", len(ds))
	}

	r := newRunner(t, Config{DisableSchedule: true}, db, clk, quiet)
	r.UseDeliverer(wk)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Stop(ctx) }()
	// The first run is picked up by the next periodic delivery job, while
	// the vendor is down: River retries its letters on the backoff.
	sim.SetMode(printmailsim.Unavailable)
	if _, err := r.river.Insert(ctx, DeliveryArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		failed := 0
		ds, err := db.Deliveries(ctx, billing.DeliveryFilter{RunID: first.ID, Channel: billing.ChannelMail})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Status == billing.DeliveryQueued && d.Attempts >= 1 && strings.Contains(d.LastError, "503") {
				failed++
			}
		}
		if failed == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 letters failed against the vendor that is down: %+v", failed, ds)
		}
	}
	sim.SetMode(printmailsim.Up)
	waitDelivered(t, db, first.ID, 6)
	letters, err := db.Deliveries(ctx, billing.DeliveryFilter{RunID: first.ID, Channel: billing.ChannelMail})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range letters {
		job, err := r.river.JobGet(ctx, d.JobID)
		// The job completes just after it recorded the letter as sent.
		for deadline := time.Now().Add(10 * time.Second); err == nil && job.FinalizedAt == nil && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			job, err = r.river.JobGet(ctx, d.JobID)
		}
		if err != nil || d.Attempts < 2 || job.State != rivertype.JobStateCompleted || len(job.Errors) != d.Attempts-1 {
			t.Fatalf("letter %d after the outage: %d attempts, job %+v, %v; want retried by its River job until sent", d.ID, d.Attempts, job, err)
		}
	}
	// The next month's run: delivered as it finishes.
	clk.Add(24 * time.Hour)
	second := runAndWait(t, r, db, typ.ID, billing.NewDate(2026, 12, 27))
	waitDelivered(t, db, second.ID, 6)
	if got := len(smtpSrv.WaitFor(t, 6, 10*time.Second)); got != 6 {
		t.Fatalf("%d emails, want 6", got)
	}
	if n := len(sim.Letters()); n != 6 {
		t.Fatalf("%d letters at the vendor, want 6", n)
	}
	// Each delivery was made by its own River job.
	ds, err := db.Deliveries(ctx, billing.DeliveryFilter{})
	if err != nil || len(ds) != 12 {
		t.Fatalf("%d deliveries, %v; want 12", len(ds), err)
	}
	jobIDs := map[int64]bool{}
	for _, d := range ds {
		if d.JobID == 0 || jobIDs[d.JobID] {
			t.Fatalf("delivery %d: job %d; want a job of its own", d.ID, d.JobID)
		}
		jobIDs[d.JobID] = true
	}
}

func runAndWait(t *testing.T, r *Runner, db *postgres.DB, typeID int64, date billing.Date) billing.BillingRun {
	t.Helper()
	ctx := context.Background()
	run, _, err := r.StartRun(ctx, typeID, date, billing.TriggerOnDemand, "test")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for run.Status == billing.RunRunning && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if run, err = db.BillingRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
	}
	if run.Status != billing.RunCompleted || run.InvoicesCreated != 3 {
		t.Fatalf("run: %+v", run)
	}
	return run
}

// waitDelivered waits until run's n deliveries are all out of the queue.
func waitDelivered(t *testing.T, db *postgres.DB, runID int64, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := db.Deliveries(context.Background(), billing.DeliveryFilter{RunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, d := range ds {
			if d.Status == billing.DeliverySent || d.Status == billing.DeliverySentToVendor {
				done++
			}
		}
		if len(ds) == n && done == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d: %d deliveries, %d delivered; want %d: %+v", runID, len(ds), done, n, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
