package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

func fiber100() *billing.EdgeProfile {
	return &billing.EdgeProfile{ServiceProfile: billing.ServiceProfile{DownloadRate: 100_000_000, UploadRate: 20_000_000,
		DownloadBurstRate: 150_000_000, BurstTime: 8, Vendor: billing.VendorOverrides{FilterID: "fiber100"}}}
}

func throttling() billing.AccountType {
	t := residential()
	t.SuspendAction = billing.SuspendThrottle
	t.ThrottleProfile = &billing.EdgeProfile{ServiceProfile: billing.ServiceProfile{DownloadRate: 1_000_000, UploadRate: 1_000_000}}
	return t
}

// outboxProfiles is every outbox record of a service, oldest first, as
// "state:profile name" ("state:" without a profile).
func outboxProfiles(t *testing.T, db *postgres.DB, service int64) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT desired_state || ':' || coalesce(profile->>'name', '')
		FROM enforcement_changes WHERE service_id = $1 ORDER BY revision`, service)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestEveryRecordCarriesTheProfileOfItsState: created active on a plan
// with a profile, the record carries the plan's profile; throttled by the
// sweep of a throttling type, the type's throttle profile and a reason
// that says so; restored by a payment, the plan's profile again. Deltas
// and snapshots carry the same.
func TestEveryRecordCarriesTheProfileOfItsState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, throttling())
	plan, err := c.db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 5000, Currency: "USD", Profile: fiber100()}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Profile == nil || plan.Profile.Name != "fiber-100.v1" || plan.ProfileVersion != 1 {
		t.Fatalf("plan profile %+v version %d, want fiber-100.v1", plan.Profile, plan.ProfileVersion)
	}
	a, _, err := c.db.CreateAccount(ctx, billing.NewAccount{Name: "Sub", Email: "s@example.net", AccountTypeID: c.typ.ID, Currency: "USD"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	aid, pid := a.ID, plan.ID
	svc, err := c.db.CreateService(ctx, billing.NewService{POP: "pop-a", Binding: billing.Binding{Method: "routeros", Addresses: []string{"10.0.0.7"}},
		AccountID: &aid, PlanID: &pid, StartDate: billing.NewDate(2026, 11, 1)}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	c.owe(a.ID, billing.NewDate(2026, 11, 20), 5000)
	if res := c.sweep(local(12, 14, 6), billing.SuspensionGuard{Disabled: true}); res.Suspended != 1 {
		t.Fatalf("sweep suspended %d accounts, want 1", res.Suspended)
	}
	got, err := c.db.Service(ctx, svc.ID)
	if err != nil || got.DesiredState != billing.StateThrottled || !strings.Contains(got.StateReason, "slowed to 1 Mbit/s until the balance is paid") {
		t.Fatalf("after the sweep: %s %q (%v), want throttled and slowed to 1 Mbit/s", got.DesiredState, got.StateReason, err)
	}
	if got.Profile == nil || got.Profile.Name != "throttle-residential" || got.Profile.DownloadRate != 1_000_000 {
		t.Fatalf("throttled service's profile %+v, want throttle-residential at 1 Mbit/s", got.Profile)
	}
	_, snap, err := c.db.Snapshot(ctx, "pop-a")
	if err != nil || len(snap) != 1 || snap[0].Profile == nil || snap[0].Profile.Name != "throttle-residential" {
		t.Fatalf("snapshot %+v %v, want the throttle profile", snap, err)
	}
	if _, err := c.db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 5000}, "test", local(12, 14, 10)); err != nil {
		t.Fatal(err)
	}
	want := []string{"active:fiber-100.v1", "throttled:throttle-residential", "active:fiber-100.v1"}
	if got := outboxProfiles(t, c.db, svc.ID); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("outbox records %v, want %v", got, want)
	}
	changes, _, _, err := c.db.ChangesSince(ctx, "pop-a", 0, 10)
	if err != nil || len(changes) != 3 {
		t.Fatalf("ChangesSince: %d changes, %v", len(changes), err)
	}
	if p := changes[2].Profile; p == nil || *p != *plan.Profile {
		t.Fatalf("restored record's profile %+v, want the plan's %+v", p, plan.Profile)
	}
	// Each record's profile is its own (the throttle profile has no burst).
	if p := changes[1].Profile; p == nil || p.DownloadBurstRate != 0 || p.Vendor.FilterID != "" {
		t.Fatalf("throttled record's profile %+v holds another record's fields", p)
	}
}

// TestPlanProfileChangeFansOutInBatches: a profile change gives each
// active service on the plan one new revision carrying the new profile, in
// transactions of at most ProfileFanOutBatch services; suspended and SNMP
// services get none; nothing is held; a repair run finds nothing left.
func TestPlanProfileChangeFansOutInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, residential())
	db := c.db
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 5000, Currency: "USD", Profile: fiber100()}, t0)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sub", Email: "s@example.net", AccountTypeID: c.typ.ID, Currency: "USD"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	const active = 2*billing.ProfileFanOutBatch + 1
	if _, err := db.Pool.Exec(ctx, `INSERT INTO pops (id, created_at) VALUES ('pop-a', now()), ('pop-b', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO services (pop_id, method, desired_state, revision, created_at, updated_at, plan_id, account_id, start_date)
		SELECT CASE WHEN g % 2 = 0 THEN 'pop-a' ELSE 'pop-b' END, 'log', 'active', 0, now(), now(), $1::bigint, $3::bigint, '2026-11-01'::date
			FROM generate_series(1, $2) g
		UNION ALL SELECT 'pop-a', 'log', 'suspended', 0, now(), now(), $1, $3, '2026-11-01'
		UNION ALL SELECT 'pop-a', 'snmp', 'active', 0, now(), now(), $1, $3, '2026-11-01'`, plan.ID, active, a.ID); err != nil {
		t.Fatal(err)
	}
	faster := fiber100().ServiceProfile
	faster.DownloadRate, faster.DownloadBurstRate = 200_000_000, 250_000_000
	req := billing.ProfileChangeRequest{NewProfile: &faster, Actor: "staff:ana", Now: t0, Reason: "speed upgrade"}
	if _, err := db.ChangePlanProfile(ctx, plan.ID, req, false); billing.ErrorCode(err) != billing.EINVALID ||
		!strings.Contains(billing.ErrorMessage(err), "1 services bound with snmp") || count(t, db, "plan_profile_versions WHERE version = 2") != 0 {
		t.Fatalf("a profile over an SNMP service without allow_access_only: %v, want EINVALID naming it and nothing written", err)
	}
	req.AllowAccessOnly = true
	preview, err := db.ChangePlanProfile(ctx, plan.ID, req, true)
	if err != nil || len(preview.FanOut) != active || preview.Later != 1 || len(preview.AccessOnly) != 1 {
		t.Fatalf("preview: fan-out %d, later %d, access-only %v (%v); want %d, 1, one", len(preview.FanOut), preview.Later, preview.AccessOnly, err, active)
	}
	if n := count(t, db, "enforcement_changes") + count(t, db, "plan_profile_versions WHERE version = 2"); n != 0 {
		t.Fatalf("a preview wrote %d rows", n)
	}
	change, err := db.ChangePlanProfile(ctx, plan.ID, req, false)
	if err != nil {
		t.Fatal(err)
	}
	if change.Version.Version != 2 || change.Version.Profile.Name != "fiber-100.v2" {
		t.Fatalf("version %+v, want fiber-100.v2", change.Version)
	}
	var records, transactions, wrongProfile int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT xmin::text), count(*) FILTER (WHERE profile->>'name' <> 'fiber-100.v2'
			OR (profile->>'download_rate')::bigint <> 200000000 OR desired_state <> 'active')
		FROM enforcement_changes`).Scan(&records, &transactions, &wrongProfile); err != nil {
		t.Fatal(err)
	}
	if records != active || transactions != 3 || wrongProfile != 0 {
		t.Fatalf("%d records in %d transactions, %d with another profile; want %d in 3, 0", records, transactions, wrongProfile, active)
	}
	if n := count(t, db, "suspension_batches"); n != 0 {
		t.Fatalf("%d suspension batches: a profile change is never held", n)
	}
	if n := count(t, db, "audit_log WHERE entity = 'plan'"); n != 1 {
		t.Fatalf("%d plan audit entries, want 1", n)
	}
	if n, err := db.FanOutPlanProfile(ctx, plan.ID, "staff:ana", t0); err != nil || n != 0 {
		t.Fatalf("repair after a complete fan-out changed %d services (%v), want 0", n, err)
	}
	// A crash that left services behind is repaired.
	if _, err := db.Pool.Exec(ctx, `UPDATE services SET profile = NULL WHERE id IN (SELECT id FROM services WHERE method = 'log' AND desired_state = 'active' LIMIT 7)`); err != nil {
		t.Fatal(err)
	}
	if n, err := db.FanOutPlanProfile(ctx, plan.ID, "staff:ana", t0); err != nil || n != 7 {
		t.Fatalf("repair changed %d services (%v), want 7", n, err)
	}
	vs, err := db.PlanProfileVersions(ctx, plan.ID)
	if err != nil || len(vs) != 2 || vs[1].Reason != "speed upgrade" || vs[1].Actor != "staff:ana" {
		t.Fatalf("versions %+v %v", vs, err)
	}
	if _, err := db.ChangePlanProfile(ctx, plan.ID, req, false); billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "already has this profile") {
		t.Fatalf("the same profile again: %v, want EINVALID already", err)
	}
}

// TestPlanChangeWritesTheProfileWithItsProration: the new plan's profile
// revision is written in the transaction of the proration; when that
// transaction fails after the proration insert, neither is there.
func TestPlanChangeWritesTheProfileWithItsProration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	if _, err := db.ChangePlanProfile(ctx, f.fib100.ID, billing.ProfileChangeRequest{NewProfile: &fiber100().ServiceProfile, Actor: "staff:ana", Now: t0}, false); err != nil {
		t.Fatal(err)
	}
	before := outboxProfiles(t, db, f.service.ID)
	// The outbox insert, written at commit after the proration's
	// one_time_charges, fails.
	if _, err := db.Pool.Exec(ctx, `CREATE FUNCTION fail_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'injected failure'; END $$;
		CREATE TRIGGER fail_outbox BEFORE INSERT ON enforcement_changes FOR EACH STATEMENT EXECUTE FUNCTION fail_outbox()`); err != nil {
		t.Fatal(err)
	}
	req := billing.ServiceChangeRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10))), NewPlan: billing.Plan{ID: f.fib100.ID}}
	if _, err := db.ChangeService(ctx, f.service.ID, 0, req, false); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("plan change with a failing outbox: %v, want the injected failure", err)
	}
	if n := count(t, db, "one_time_charges"); n != 0 {
		t.Fatalf("%d proration lines after the failed transaction, want 0", n)
	}
	if got := outboxProfiles(t, db, f.service.ID); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("outbox %v after the failed transaction, want %v", got, before)
	}
	if _, err := db.Pool.Exec(ctx, `DROP TRIGGER fail_outbox ON enforcement_changes`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ChangeService(ctx, f.service.ID, 0, req, false); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "one_time_charges"); n != 2 {
		t.Fatalf("%d proration lines, want 2", n)
	}
	want := append(before, "active:fiber-100.v1")
	if got := outboxProfiles(t, db, f.service.ID); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("outbox %v, want %v", got, want)
	}
}

// TestSNMPBindingsTakeNoSpeed: an SNMP-bound service cannot be created on,
// moved to, or changed to a plan with a profile, nor sit at an account of
// a throttling type; a plan's profile change leaves it access-only.
func TestSNMPBindingsTakeNoSpeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, residential())
	profiled, err := c.db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 5000, Currency: "USD", Profile: fiber100()}, t0)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.db.CreatePlan(ctx, billing.Plan{Name: "Copper", Price: 3000, Currency: "USD"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := c.db.CreateAccount(ctx, billing.NewAccount{Name: "Sub", Email: "s@example.net", AccountTypeID: c.typ.ID, Currency: "USD"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	aid, pp, cp := a.ID, profiled.ID, plain.ID
	snmp := billing.Binding{Method: "snmp", Device: "olt-1", IfIndex: 7}
	_, err = c.db.CreateService(ctx, billing.NewService{POP: "pop-a", Binding: snmp, AccountID: &aid, PlanID: &pp, StartDate: billing.NewDate(2026, 11, 1)}, "test", t0)
	if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "binding.method") || !strings.Contains(billing.ErrorMessage(err), "snmp") {
		t.Fatalf("SNMP service on a plan with a profile: %v, want EINVALID naming binding.method and snmp", err)
	}
	svc, err := c.db.CreateService(ctx, billing.NewService{POP: "pop-a", Binding: snmp, AccountID: &aid, PlanID: &cp, StartDate: billing.NewDate(2026, 11, 1)}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	req := billing.ServiceChangeRequest{Context: billing.LifecycleContext{Now: t0, Actor: "staff:ana"}, NewPlan: billing.Plan{ID: profiled.ID}}
	if _, err := c.db.ChangeService(ctx, svc.ID, 0, req, false); billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "plan_id") {
		t.Fatalf("plan change of an SNMP service to a profile: %v, want EINVALID naming plan_id", err)
	}
	typ := throttling()
	typ.ID = c.typ.ID
	if _, err := c.db.UpdateAccountType(ctx, typ); billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "suspend_action") {
		t.Fatalf("a throttling type over an SNMP service: %v, want EINVALID naming suspend_action", err)
	}
	other := throttling()
	other.Name = "throttled residential"
	other, err = c.db.CreateAccountType(ctx, other, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.EditAccount(ctx, a.ID, 0, billing.AccountEdit{AccountTypeID: &other.ID}, "staff:ana", t0); billing.ErrorCode(err) != billing.EINVALID ||
		!strings.Contains(billing.ErrorMessage(err), "account_type_id") || !strings.Contains(billing.ErrorMessage(err), "snmp") {
		t.Fatalf("moving an account with an SNMP service to a throttling type: %v, want EINVALID naming account_type_id", err)
	}
	// The plan gains a profile: refused while it has an SNMP service, unless
	// staff accept that the service stays access-only.
	pr := billing.ProfileChangeRequest{NewProfile: &fiber100().ServiceProfile, Actor: "staff:ana", Now: t0}
	if _, err := c.db.ChangePlanProfile(ctx, plain.ID, pr, false); billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "allow_access_only") {
		t.Fatalf("a profile for a plan with an SNMP service: %v, want EINVALID naming allow_access_only", err)
	}
	pr.AllowAccessOnly = true
	ch, err := c.db.ChangePlanProfile(ctx, plain.ID, pr, false)
	if err != nil || len(ch.AccessOnly) != 1 || ch.AccessOnly[0] != svc.ID || len(ch.FanOut) != 0 {
		t.Fatalf("profile change: access-only %v, fan-out %v (%v); want the SNMP service access-only", ch.AccessOnly, ch.FanOut, err)
	}
	if got := outboxProfiles(t, c.db, svc.ID); strings.Join(got, " ") != "active:" {
		t.Fatalf("SNMP service's outbox %v, want one record without a profile", got)
	}
}

// TestReportsRecordTheObservedProfile: a shaping agent's read-back names
// the profile; an agent without the feature, sent a throttled service as
// suspended, confirms it by reading back suspended.
func TestReportsRecordTheObservedProfile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, throttling())
	a, svc := c.account("pop-a")
	c.owe(a, billing.NewDate(2026, 11, 20), 5000)
	c.sweep(local(12, 14, 6), billing.SuspensionGuard{Disabled: true})
	s, err := c.db.Service(ctx, svc)
	if err != nil || s.DesiredState != billing.StateThrottled {
		t.Fatalf("service %s (%v), want throttled", s.DesiredState, err)
	}
	report := func(shapes bool, observed billing.DesiredState, profile string) billing.Service {
		t.Helper()
		if err := c.db.RecordReport(ctx, billing.AgentReport{POP: "pop-a", AgentID: "a", AppliedRevision: s.Revision, ReceivedAt: t0, Shapes: shapes,
			Results: []billing.ServiceResult{{ServiceID: svc, Revision: s.Revision, Applied: true, ObservedState: observed, ObservedProfile: profile}}}); err != nil {
			t.Fatal(err)
		}
		got, err := c.db.Service(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := report(true, billing.StateSuspended, ""); got.Confirmed() {
		t.Fatalf("a shaping agent's suspended read-back confirmed a throttled service")
	}
	if got := report(false, billing.StateSuspended, ""); !got.Confirmed() || got.Confirmation.ObservedState != billing.StateThrottled {
		t.Fatalf("an older agent's suspended read-back: confirmed %v, observed %s; want confirmed, throttled", got.Confirmed(), got.Confirmation.ObservedState)
	}
	got := report(true, billing.StateThrottled, "throttle-residential")
	if !got.Confirmed() || got.Confirmation.ObservedProfile != "throttle-residential" {
		t.Fatalf("shaping agent's read-back: confirmed %v, observed profile %q", got.Confirmed(), got.Confirmation.ObservedProfile)
	}
	st, err := c.db.AccountStanding(ctx, a, t0)
	if err != nil || len(st.Services) != 1 || st.Services[0].ObservedProfile != "throttle-residential" || st.Services[0].Profile == nil {
		t.Fatalf("standing's services %+v (%v), want the profile and the observed profile", st.Services, err)
	}
}

// TestFutureDatedPlanChangeMovesTheSpeedOnItsDate: a plan change made on
// Mar 10 for Apr 15 prorates at once but leaves the service's outbox
// record at the old plan's profile; the scheduled-enforcement job writes
// the new plan's profile at local midnight of Apr 15 (America/Chicago),
// not before, and only once.
func TestFutureDatedPlanChangeMovesTheSpeedOnItsDate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	fiber50 := billing.ServiceProfile{DownloadRate: 50_000_000, UploadRate: 10_000_000}
	for plan, p := range map[int64]*billing.ServiceProfile{f.fiber50.ID: &fiber50, f.fib100.ID: &fiber100().ServiceProfile} {
		if _, err := db.ChangePlanProfile(ctx, plan, billing.ProfileChangeRequest{NewProfile: p, Actor: "staff:ana", Now: t0}, false); err != nil {
			t.Fatal(err)
		}
	}
	before := outboxProfiles(t, db, f.service.ID)
	if len(before) == 0 || before[len(before)-1] != "active:fiber-50.v1" {
		t.Fatalf("outbox %v, want the service at Fiber 50's profile", before)
	}
	req := billing.ServiceChangeRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10))),
		NewPlan: billing.Plan{ID: f.fib100.ID}, EffectiveDate: billing.NewDate(2027, 4, 15)}
	plan, err := db.ChangeService(ctx, f.service.ID, 0, req, false)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Effective != billing.NewDate(2027, 4, 15) || !strings.Contains(strings.Join(plan.Why, "\n"), "Fiber 100's speed applies from") {
		t.Errorf("plan change effective %s, why %q", plan.Effective, plan.Why)
	}
	if got := outboxProfiles(t, db, f.service.ID); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("outbox %v right after a change dated Apr 15, want it unchanged %v", got, before)
	}
	// Until then the service has Fiber 50's speed: restored after a
	// suspension, and when Fiber 50's profile changes, it gets Fiber 50's.
	for _, state := range []billing.DesiredState{billing.StateSuspended, billing.StateActive} {
		if _, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: f.service.ID, State: state, Reason: "by hand", Actor: "staff", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	fiber50.DownloadRate = 60_000_000
	if _, err := db.ChangePlanProfile(ctx, f.fiber50.ID, billing.ProfileChangeRequest{NewProfile: &fiber50, Actor: "staff:ana", Now: t0}, false); err != nil {
		t.Fatal(err)
	}
	before = append(before, "suspended:", "active:fiber-50.v1", "active:fiber-50.v2")
	if got := outboxProfiles(t, db, f.service.ID); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("outbox %v before Apr 15, want %v", got, before)
	}
	// Apr 14, 23:59 in Chicago (04:59 UTC on the 15th): not yet.
	if n, err := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 4, 14)).Add(11*time.Hour+59*time.Minute)); err != nil || n != 0 {
		t.Fatalf("job on Apr 14: %d applied, %v; want 0", n, err)
	}
	if got := outboxProfiles(t, db, f.service.ID); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("outbox %v on Apr 14, want it unchanged %v", got, before)
	}
	// Apr 15, 00:01 in Chicago: the new speed, once.
	if n, err := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 4, 15)).Add(-11*time.Hour-59*time.Minute)); err != nil || n != 1 {
		t.Fatalf("job on Apr 15: %d applied, %v; want 1", n, err)
	}
	want := append(before, "active:fiber-100.v1")
	if got := outboxProfiles(t, db, f.service.ID); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("outbox %v after the job on Apr 15, want %v", got, want)
	}
	if n, err := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 4, 16))); err != nil || n != 0 {
		t.Fatalf("job on Apr 16: %d applied, %v; want 0", n, err)
	}
	if h := held(t, db, f.service.ID); h != "" {
		t.Errorf("the speed change left the hold %q, want none", h)
	}
	// From now on Fiber 100's profile changes reach it.
	if _, err := db.ChangePlanProfile(ctx, f.fib100.ID, billing.ProfileChangeRequest{NewProfile: &billing.ServiceProfile{DownloadRate: 200_000_000, UploadRate: 20_000_000},
		Actor: "staff:ana", Now: t0}, false); err != nil {
		t.Fatal(err)
	}
	if got := outboxProfiles(t, db, f.service.ID); got[len(got)-1] != "active:fiber-100.v2" {
		t.Fatalf("outbox %v after Fiber 100's profile change, want fiber-100.v2 last", got)
	}
}

// TestLaterPlanChangeReplacesTheScheduledSpeed: a change for Apr 15 to
// Fiber 100, replaced on Mar 12 by a change back to Fiber 50 from Apr 1,
// never puts Fiber 100's speed on the edge: the Apr 15 speed is
// superseded, and on Apr 1 the service already carries Fiber 50's.
func TestLaterPlanChangeReplacesTheScheduledSpeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	fiber50 := billing.ServiceProfile{DownloadRate: 50_000_000, UploadRate: 10_000_000}
	for plan, p := range map[int64]*billing.ServiceProfile{f.fiber50.ID: &fiber50, f.fib100.ID: &fiber100().ServiceProfile} {
		if _, err := db.ChangePlanProfile(ctx, plan, billing.ProfileChangeRequest{NewProfile: p, Actor: "staff:ana", Now: t0}, false); err != nil {
			t.Fatal(err)
		}
	}
	before := outboxProfiles(t, db, f.service.ID)
	for _, c := range []struct {
		on, from billing.Date
		to       int64
	}{{billing.NewDate(2027, 3, 10), billing.NewDate(2027, 4, 15), f.fib100.ID}, {billing.NewDate(2027, 3, 12), billing.NewDate(2027, 4, 1), f.fiber50.ID}} {
		req := billing.ServiceChangeRequest{Context: lifecycleCtx(chicagoNoon(c.on)), NewPlan: billing.Plan{ID: c.to}, EffectiveDate: c.from}
		if _, err := db.ChangeService(ctx, f.service.ID, 0, req, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, day := range []int{1, 15, 16} {
		if _, err := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 4, day))); err != nil {
			t.Fatal(err)
		}
		if got := outboxProfiles(t, db, f.service.ID); strings.Join(got, " ") != strings.Join(before, " ") {
			t.Fatalf("outbox %v on Apr %d, want it unchanged %v", got, day, before)
		}
	}
	if n := count(t, db, "scheduled_enforcement WHERE superseded"); n != 1 {
		t.Errorf("%d superseded scheduled changes, want the Apr 15 speed", n)
	}
}
