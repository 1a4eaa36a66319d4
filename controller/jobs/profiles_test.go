package jobs

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestProfileChangeFansOutThroughAResumableJob: a plan's profile change
// commits its version with one fan-out job and changes no service in the
// request; the job, cut short after its first batch (the database refuses
// the second), leaves that batch committed; run again by River it gives
// every other service its revision, and no service gets two.
func TestProfileChangeFansOutThroughAResumableJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	r := newRunner(t, Config{DisableSchedule: true}, db, clock.NewFixed(now), quietLog())
	slow := billing.ServiceProfile{DownloadRate: 100_000_000, UploadRate: 20_000_000}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 5000, Currency: "USD",
		Profile: &billing.EdgeProfile{ServiceProfile: slow}}, now)
	if err != nil {
		t.Fatal(err)
	}
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, now)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sub", AccountTypeID: typ.ID, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	const services = 2*billing.ProfileFanOutBatch + 1
	if _, err := db.Pool.Exec(ctx, `INSERT INTO pops (id, created_at) VALUES ('pop-a', now());
		INSERT INTO services (pop_id, method, desired_state, revision, created_at, updated_at, plan_id, account_id, start_date)
		SELECT 'pop-a', 'log', 'active', 0, now(), now(), `+strconv.FormatInt(plan.ID, 10)+`, `+strconv.FormatInt(a.ID, 10)+`, '2026-11-01' FROM generate_series(1, `+strconv.Itoa(services)+`)`); err != nil {
		t.Fatal(err)
	}
	fast := slow
	fast.DownloadRate = 300_000_000
	change, err := db.ChangePlanProfile(ctx, plan.ID, billing.ProfileChangeRequest{NewProfile: &fast, Actor: "staff:ana", Now: now}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !change.FanOutQueued || change.ReceiveNow != services {
		t.Fatalf("change: queued %v, receive now %d; want a queued fan-out to %d services", change.FanOutQueued, change.ReceiveNow, services)
	}
	var jobs, records, versions int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM river_job WHERE kind = 'profile_fan_out' AND (args->>'plan_id')::bigint = $1
			AND (args->>'version')::int = 2 AND args->>'actor' = 'staff:ana'),
		(SELECT count(*) FROM enforcement_changes), (SELECT count(*) FROM plan_profile_versions WHERE plan_id = $1 AND version = 2)`, plan.ID).
		Scan(&jobs, &records, &versions); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 || records != 0 || versions != 1 {
		t.Fatalf("after the change: %d fan-out jobs, %d outbox records, %d versions; want 1, 0 (the job sends them), 1", jobs, records, versions)
	}

	// The first attempt is cut short after one batch.
	if _, err := db.Pool.Exec(ctx, `CREATE FUNCTION cut_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF (SELECT count(*) FROM enforcement_changes) > `+strconv.Itoa(billing.ProfileFanOutBatch)+` THEN
				RAISE EXCEPTION 'controller stopped';
			END IF;
			RETURN NULL;
		END $$;
		CREATE TRIGGER cut_fan_out AFTER INSERT ON enforcement_changes FOR EACH STATEMENT EXECUTE FUNCTION cut_fan_out()`); err != nil {
		t.Fatal(err)
	}
	list, err := r.river.JobList(ctx, river.NewJobListParams().Kinds(ProfileFanOutArgs{}.Kind()))
	if err != nil || len(list.Jobs) != 1 {
		t.Fatalf("fan-out jobs %v (%v), want one", list, err)
	}
	w := &profileFanOutWorker{r: r}
	first := &river.Job[ProfileFanOutArgs]{JobRow: list.Jobs[0], Args: ProfileFanOutArgs{PlanID: plan.ID, Version: 2, Actor: "staff:ana"}}
	if err := w.Work(ctx, first); err == nil {
		t.Fatal("the interrupted attempt succeeded")
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM enforcement_changes`).Scan(&records); err != nil {
		t.Fatal(err)
	}
	if n := records; n != billing.ProfileFanOutBatch {
		t.Fatalf("after the interrupted attempt: %d records, want the first batch's %d", n, billing.ProfileFanOutBatch)
	}
	if _, err := db.Pool.Exec(ctx, `DROP TRIGGER cut_fan_out ON enforcement_changes`); err != nil {
		t.Fatal(err)
	}

	// River runs the job (still waiting: the interrupted attempt above ran
	// outside River), which finishes the rest.
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		job, err := r.river.JobGet(waitCtx, list.Jobs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if job.State == rivertype.JobStateCompleted {
			break
		}
		select {
		case <-waitCtx.Done():
			t.Fatalf("the fan-out job is %s after 30 s (errors %v)", job.State, job.Errors)
		case <-time.After(20 * time.Millisecond):
		}
	}
	var distinct, wrong int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT service_id),
			count(*) FILTER (WHERE profile->>'name' <> 'fiber-100.v2' OR (profile->>'download_rate')::bigint <> 300000000)
		FROM enforcement_changes`).Scan(&records, &distinct, &wrong); err != nil {
		t.Fatal(err)
	}
	if records != services || distinct != services || wrong != 0 {
		t.Fatalf("after the job: %d records for %d services, %d with another profile; want %d for %d, 0", records, distinct, wrong, services, services)
	}
	if n, err := db.FanOutPlanProfile(ctx, plan.ID, "staff:ana", now); err != nil || n != 0 {
		t.Fatalf("a repair after the job changed %d services (%v), want 0", n, err)
	}
}
