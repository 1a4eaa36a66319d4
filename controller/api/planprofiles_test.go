package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// outboxProfile is the profile name of the service's latest outbox record
// ("" for none).
func (e *env) outboxProfile(service int) string {
	e.t.Helper()
	var name string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT coalesce(profile->>'name', '') FROM enforcement_changes
		WHERE service_id = $1 ORDER BY created_at DESC, revision DESC LIMIT 1`, service).Scan(&name); err != nil {
		e.t.Fatal(err)
	}
	return name
}

// TestPlanProfilesThroughTheAPI: plans are created with a profile and
// given new profile versions (previewed, committed, listed), which reach
// their services' outbox records; a plan change brings the new plan's
// profile; SNMP bindings are refused a profile or a throttling type with a
// problem naming the field and the binding.
func TestPlanProfilesThroughTheAPI(t *testing.T) {
	t.Parallel()
	e, today := lifecycleEnv(t)
	admin := func(method, path, key, body string) response { return e.do(method, path, adminToken, key, body) }

	r := admin("POST", "/api/v1/plans", "p3", `{"name":"Fiber 300","price":9000,"currency":"USD","profile":{"download_rate":300000000,"upload_rate":50000000}}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"name":"fiber-300.v1"`) || !strings.Contains(string(r.body), `"profile_version":1`) {
		t.Fatalf("create a plan with a profile: %d %s", r.status, r.body)
	}
	r = admin("POST", "/api/v1/plans", "bad", `{"name":"Fiber X","price":9000,"currency":"USD","profile":{"download_rate":300000000,"upload_rate":0}}`)
	if r.status != 422 || !strings.Contains(string(r.body), "upload_rate") {
		t.Fatalf("a plan with a bad profile: %d %s, want 422 naming upload_rate", r.status, r.body)
	}

	body := `{"profile":{"download_rate":50000000,"upload_rate":10000000},"reason":"speeds for Fiber 50"}`
	if r := e.do("POST", "/api/v1/plans/1/profile", billingToken, "clerk", body); r.status != 403 {
		t.Fatalf("billing staff changing a profile: %d, want 403", r.status)
	}
	r = admin("POST", "/api/v1/plans/1/profile?preview=true", "preview", body)
	if r.status != 200 || !strings.Contains(string(r.body), `"preview":true`) || !strings.Contains(string(r.body), `"receive_now":1`) ||
		e.rows("plan_profile_versions WHERE plan_id = 1") != 0 {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	before := e.rows("enforcement_changes")
	r = admin("POST", "/api/v1/plans/1/profile", "commit", body)
	if r.status != 200 || !strings.Contains(string(r.body), `"name":"fiber-50.v1"`) || !strings.Contains(string(r.body), "does not hold them") ||
		!strings.Contains(string(r.body), `"fan_out_queued":true`) {
		t.Fatalf("profile change: %d %s", r.status, r.body)
	}
	// The fan-out is a job (this test's runner is not started): the repair
	// endpoint does its work.
	if e.rows("enforcement_changes") != before || e.rows("river_job WHERE kind = 'profile_fan_out'") != 1 {
		t.Fatalf("profile change wrote %d records and %d fan-out jobs in the request, want 0 and 1", e.rows("enforcement_changes")-before,
			e.rows("river_job WHERE kind = 'profile_fan_out'"))
	}
	if r := admin("POST", "/api/v1/plans/1/profile/fan-out", "fan-1", ""); r.status != 200 || !strings.Contains(string(r.body), `"services":1`) {
		t.Fatalf("fan-out of the queued change: %d %s", r.status, r.body)
	}
	if e.rows("enforcement_changes") != before+1 || e.outboxProfile(1) != "fiber-50.v1" {
		t.Fatalf("profile change wrote %d records, the latest with profile %q", e.rows("enforcement_changes")-before, e.outboxProfile(1))
	}
	if r := admin("POST", "/api/v1/plans/1/profile", "again", body); r.status != 422 || !strings.Contains(string(r.body), "already has this profile") {
		t.Fatalf("the same profile again: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/plans/1/profiles", readerToken, "", ""); r.status != 200 || !strings.Contains(string(r.body), `"reason":"speeds for Fiber 50"`) {
		t.Fatalf("list profile versions: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/services/1", readerToken, "", ""); r.status != 200 || !strings.Contains(string(r.body), `"name":"fiber-50.v1"`) {
		t.Fatalf("service shows no profile: %s", r.body)
	}
	if r := admin("POST", "/api/v1/plans/1/profile/fan-out", "fan", ""); r.status != 200 || !strings.Contains(string(r.body), `"services":0`) {
		t.Fatalf("repair after a complete fan-out: %d %s", r.status, r.body)
	}

	// A plan change brings the new plan's profile, with its proration.
	r = e.lifecycle("/api/v1/services/1/plan-change", "change", `"1"`, fmt.Sprintf(`{"plan_id":3,"effective_date":"%s"}`, today))
	if r.status != 200 {
		t.Fatalf("plan change: %d %s", r.status, r.body)
	}
	if got := e.outboxProfile(1); got != "fiber-300.v1" {
		t.Fatalf("after the plan change the latest record carries %q, want fiber-300.v1", got)
	}

	// SNMP: no profile, no throttling.
	start := today.String()
	snmp := func(plan int) string {
		return fmt.Sprintf(`{"pop":"p1","binding":{"method":"snmp","device":"olt-1","if_index":4},"account_id":1,"plan_id":%d,"start_date":"%s"}`, plan, start)
	}
	r = admin("POST", "/api/v1/services", "snmp-3", snmp(3))
	if r.status != 422 || !strings.Contains(string(r.body), "binding.method") || !strings.Contains(string(r.body), "snmp") ||
		!strings.Contains(r.header.Get("Content-Type"), "problem+json") {
		t.Fatalf("an SNMP service on a plan with a profile: %d %s, want a 422 problem naming binding.method and snmp", r.status, r.body)
	}
	if r := admin("POST", "/api/v1/services", "snmp-2", snmp(2)); r.status != 200 {
		t.Fatalf("an SNMP service on a plan without a profile: %d %s", r.status, r.body)
	}
	typ := strings.Replace(residential, `"time_zone"`, `"suspend_action":"throttle","throttle_profile":{"download_rate":1000000,"upload_rate":1000000},"time_zone"`, 1)
	if r := admin("PUT", "/api/v1/account-types/1", "throttle", typ); r.status != 422 || !strings.Contains(string(r.body), "suspend_action") ||
		!strings.Contains(string(r.body), "snmp") {
		t.Fatalf("a throttling type over an SNMP service: %d %s, want 422 naming suspend_action and snmp", r.status, r.body)
	}
	// A profile for a plan with an SNMP service: refused, naming it and
	// the way forward, unless allow_access_only says so.
	var snmpID int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT id FROM services WHERE method = 'snmp'`).Scan(&snmpID); err != nil {
		t.Fatal(err)
	}
	speed := `{"profile":{"download_rate":20000000,"upload_rate":5000000}`
	r = admin("POST", "/api/v1/plans/2/profile", "snmp-profile", speed+`}`)
	if r.status != 422 || !strings.Contains(r.header.Get("Content-Type"), "problem+json") || !strings.Contains(string(r.body), "1 services bound with snmp") ||
		!strings.Contains(string(r.body), fmt.Sprintf("(services %d)", snmpID)) || !strings.Contains(string(r.body), "allow_access_only") ||
		e.rows("plan_profile_versions WHERE plan_id = 2") != 0 {
		t.Fatalf("a profile over an SNMP service: %d %s, want a 422 problem naming service %d and allow_access_only", r.status, r.body, snmpID)
	}
	r = admin("POST", "/api/v1/plans/2/profile", "snmp-profile-allowed", speed+`,"allow_access_only":true}`)
	if r.status != 200 || !strings.Contains(string(r.body), fmt.Sprintf(`"access_only":[%d]`, snmpID)) ||
		!strings.Contains(string(r.body), "keep access-only enforcement") || e.rows("plan_profile_versions WHERE plan_id = 2") != 1 {
		t.Fatalf("a profile over an SNMP service, allowed: %d %s", r.status, r.body)
	}
}
