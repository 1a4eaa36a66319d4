package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDashboardSummaries: a reader reads the dashboard's totals, each
// computed from what was posted: receivables (what the owing account owes,
// the credit the other holds, the net), the payments posted today (and
// none on another day; a bad time zone is refused naming it), notices by
// kind and status, and the services their agents have not confirmed, by
// POP.
func TestDashboardSummaries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range []struct{ path, body string }{
		{"/api/v1/account-types", residential},
		{"/api/v1/plans", `{"name":"Fiber","price":5000,"currency":"USD"}`},
		{"/api/v1/accounts", `{"name":"Jane","email":"jane@example.net","account_type_id":1,"currency":"USD","anchor_date":"2026-12-01"}`},
		{"/api/v1/accounts", `{"name":"Joe","email":"joe@example.net","account_type_id":1,"currency":"USD","anchor_date":"2026-12-01"}`},
		{"/api/v1/services", `{"pop":"p1","binding":{"method":"log"},"account_id":1,"plan_id":1,"start_date":"2026-12-01"}`},
	} {
		if r := e.do("POST", c.path, adminToken, "setup-"+c.path+c.body[:20], c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	r := e.do("POST", "/api/v1/billing-runs", adminToken, "run", `{"date":"2026-11-28"}`)
	if r.status != 200 {
		t.Fatalf("run: %d %s", r.status, r.body)
	}
	runID := int64(r.json(t)["items"].([]any)[0].(map[string]any)["id"].(float64))
	if res, err := e.db.RunBillingBatch(ctx, runID, 0, time.Now()); err != nil || res.Invoices != 1 {
		t.Fatalf("billing Jane: %+v %v", res, err)
	}
	pay := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-jane", `{"method":"cash","amount":1000}`)
	if pay.status != 200 {
		t.Fatalf("Jane's payment: %d %s", pay.status, pay.body)
	}
	if r := e.do("POST", "/api/v1/accounts/2/payments", billingToken, "pay-joe", `{"method":"check","amount":2000,"reference":"1001"}`); r.status != 200 {
		t.Fatalf("Joe's payment: %d %s", r.status, r.body)
	}
	postedAt, err := time.Parse(time.RFC3339Nano, pay.json(t)["posted_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := e.db.OpenTicket(ctx, 2, "Receipt", "Did my check arrive?", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ReplyTicket(ctx, 0, tk.ID, "staff", "clerk", "Yes, posted today.", time.Now()); err != nil {
		t.Fatal(err)
	}

	get := func(path string, out any) {
		t.Helper()
		r := e.do("GET", path, readerToken, "", "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, r.body)
		}
	}
	var ar []map[string]any
	get("/api/v1/receivables/summary", &ar)
	if len(ar) != 1 || ar[0]["currency"] != "USD" || ar[0]["owed"].(float64) != 4000 || ar[0]["accounts_owing"].(float64) != 1 ||
		ar[0]["credit"].(float64) != 2000 || ar[0]["accounts_in_credit"].(float64) != 1 || ar[0]["net"].(float64) != 2000 {
		t.Fatalf("receivables: %+v; want USD owed 4000 by 1, credit 2000 of 1, net 2000", ar)
	}

	var paid struct {
		Date     string `json:"date"`
		TimeZone string `json:"time_zone"`
		Totals   []struct {
			Currency string `json:"currency"`
			Count    int64  `json:"count"`
			Amount   int64  `json:"amount"`
		} `json:"totals"`
	}
	day := postedAt.In(time.FixedZone("Chicago-ish", -6*3600))
	get("/api/v1/payments/summary?time_zone=America/Chicago&date="+day.Format("2006-01-02"), &paid)
	if paid.TimeZone != "America/Chicago" || len(paid.Totals) != 1 || paid.Totals[0].Count != 2 || paid.Totals[0].Amount != 3000 {
		t.Fatalf("payments posted on %s: %+v; want 2 USD payments of 3000", day.Format("2006-01-02"), paid)
	}
	get("/api/v1/payments/summary?date=2026-01-01", &paid)
	if len(paid.Totals) != 0 {
		t.Fatalf("payments on 2026-01-01: %+v, want none", paid)
	}
	if r := e.do("GET", "/api/v1/payments/summary?time_zone=Mars/Olympus", readerToken, "", ""); r.status != 422 || !strings.Contains(string(r.body), "time_zone") {
		t.Fatalf("a bad time zone: %d %s", r.status, r.body)
	}

	var notices []map[string]any
	get("/api/v1/notices/summary", &notices)
	if len(notices) != 1 || notices[0]["kind"] != "ticket_reply" || notices[0]["status"] != "queued" || notices[0]["count"].(float64) != 1 {
		t.Fatalf("notices: %+v; want one queued ticket_reply", notices)
	}

	var unconfirmed struct {
		Unconfirmed int64 `json:"unconfirmed"`
		POPs        []struct {
			POP         string `json:"pop"`
			Unconfirmed int64  `json:"unconfirmed"`
		} `json:"pops"`
	}
	get("/api/v1/services/unconfirmed", &unconfirmed)
	if unconfirmed.Unconfirmed != 1 || len(unconfirmed.POPs) != 1 || unconfirmed.POPs[0].POP != "p1" || unconfirmed.POPs[0].Unconfirmed != 1 {
		t.Fatalf("unconfirmed services: %+v; want p1's one service", unconfirmed)
	}
}
