package jobs

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

// openDB opens a store on a fresh test database, closed when the test ends.
func openDB(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// storesOf is every port of the runner served by db, as the controller
// wires them.
func storesOf(db *postgres.DB) Stores {
	return Stores{Runs: db, Collections: db, Deliveries: db, Upkeep: db, Housekeeping: db, Gateway: db, DevClock: db, Lifecycle: db, Profiles: db}
}

// newRunner builds a runner on db and registers it with db as the inserter
// of notice and delivery jobs, as the controller does (controller/app).
func newRunner(t *testing.T, cfg Config, db *postgres.DB, clk clock.Clock, log *slog.Logger) *Runner {
	t.Helper()
	r, err := New(cfg, db.Pool, storesOf(db), clk, log)
	if err != nil {
		t.Fatal(err)
	}
	db.UseNoticeJobs(r)
	db.UseDeliveryJobs(r)
	db.UseProfileFanOutJobs(r)
	return r
}

// quietLog is a logger that writes nothing.
func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startMailingRunner starts a job runner (no schedule) whose notices go out
// through a real SMTP test server, and returns the server and a step that
// moves clk to now, ticks the scheduler and sends the notices due (River
// jobs; DeliverNotices wakes those waiting for business hours and waits).
func startMailingRunner(t *testing.T, db *postgres.DB, clk *clock.Fixed, quiet *slog.Logger) (*smtptest.Server, func(now time.Time)) {
	t.Helper()
	ctx := context.Background()
	srv := smtptest.Start(t)
	sender, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "Billing <billing@isp.example>", TLS: notify.TLSNone}, clk)
	if err != nil {
		t.Fatal(err)
	}
	d, err := notify.NewDeliverer(notify.DelivererConfig{PortalURL: "https://pay.isp.example", Company: "Prairie Fiber"}, db, sender,
		notify.DefaultTemplates(), clk, quiet, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, Config{DisableSchedule: true}, db, clk, quiet)
	r.UseNotifier(d)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	return srv, func(now time.Time) {
		t.Helper()
		clk.Set(now)
		if _, err := r.Tick(ctx, now); err != nil {
			t.Fatal(err)
		}
		if err := r.DeliverNotices(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
