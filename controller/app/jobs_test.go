package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestControllerRunsDueWorkThroughTheJobRunner starts a controller in dev
// mode (its clock from the database, the job runner wired onto the store's
// ports), lets the runner's start-up tick open the first day's billing run,
// and advances the clock two days through the admin API: each new day opens
// and finishes the account type's billing run, and the autopay and
// late-fee jobs have run before the clock moves on.
func TestControllerRunsDueWorkThroughTheJobRunner(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	migrated, token := false, "admin-token-for-the-dev-clock-test"
	start := time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC) // noon in Chicago
	ctrl, err := app.New(ctx, app.Config{
		DatabaseURL:    pgtest.NewDatabase(t),
		MigrateOnStart: &migrated, // the template is migrated
		HTTP:           app.HTTPConfig{Listen: "127.0.0.1:0"},
		GRPC:           app.GRPCConfig{Listen: "127.0.0.1:0", InsecurePlaintext: true},
		API:            app.APIConfig{Tokens: []app.TokenConfig{{Name: "root", Role: "admin", Token: token}}},
		Jobs:           app.JobsConfig{TickInterval: time.Hour}, // only the start-up tick, before the advance
		Dev:            app.DevConfig{ClockAPI: true, ClockStart: start.Format(time.RFC3339)},
	}, quiet, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := ctrl.DB()
	if _, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago",
		DelinquencyWeekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}, start); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for ticked, waited := 0, 0; ticked == 0; waited++ {
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'billing_tick' AND state = 'completed'`).Scan(&ticked); err != nil {
			t.Fatal(err)
		}
		if waited == 3000 {
			t.Fatal("the job runner's start-up tick did not complete within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ctrl.HTTPAddr()+"/api/v1/dev/clock/advance",
		strings.NewReader(`{"duration": "2d"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "advance-two-days")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("advance: %d %s", res.StatusCode, raw)
	}
	var out struct {
		Now  time.Time            `json:"now"`
		Runs []billing.BillingRun `json:"runs"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if d := out.Now.Sub(start.AddDate(0, 0, 2)); d < 0 || d > time.Minute {
		t.Errorf("clock at %s after advancing 2 days from %s", out.Now, start)
	}
	var dates []string
	for _, r := range out.Runs {
		dates = append(dates, r.Date.String())
		if r.Status != billing.RunCompleted {
			t.Errorf("run %d of %s is %s when the clock moved on, want completed", r.ID, r.Date, r.Status)
		}
	}
	if got := strings.Join(dates, " "); got != "2026-12-01 2026-12-02" {
		t.Fatalf("the advance opened the runs of %q, want those of 2026-12-01 and 2026-12-02 (2026-11-30's opened at start-up)", got)
	}
	var waiting int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job
		WHERE kind IN ('autopay', 'late_fees') AND state IN ('available', 'running', 'pending')`).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	var ran int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job
		WHERE kind IN ('autopay', 'late_fees') AND state = 'completed'`).Scan(&ran); err != nil {
		t.Fatal(err)
	}
	if waiting != 0 || ran != 6 {
		t.Errorf("after the advance: %d autopay and late-fee jobs waiting, %d completed; want 0 and 6 (one of each a day, three days)", waiting, ran)
	}
	offset, ok, err := db.DevClockOffset(ctx)
	if d := time.Now().Add(offset).Sub(out.Now); err != nil || !ok || d < 0 || d > time.Minute {
		t.Errorf("dev clock stored: offset %s (%v, %v); want the clock's, at %s", offset, ok, err, out.Now)
	}
}
