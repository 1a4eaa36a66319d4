package api_test

import (
	"context"
	"strings"
	"testing"
)

const residential = `{"name":"residential","billing_mode":"fixed_day","billing_day":1,"invoice_lead_days":3,"due_days":14,
	"grace_days":7,"time_zone":"America/Chicago","delinquency_weekdays":[1,2,3,4,5],"holiday_calendars":["US"],
	"exclusions":[{"date":"2026-12-24","yearly":true,"name":"Christmas Eve"}]}`

func TestBillingBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.do("POST", "/api/v1/account-types", adminToken, "t1", residential); r.status != 200 {
		t.Fatalf("account type: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/plans", adminToken, "p1", `{"name":"Fiber","price":4999,"currency":"USD"}`); r.status != 200 {
		t.Fatalf("plan: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name, path, body, field string
	}{
		{"negative price", "/api/v1/plans", `{"name":"Bad","price":-100,"currency":"USD"}`, "price"},
		{"unknown currency", "/api/v1/plans", `{"name":"Bad","price":100,"currency":"XYZ"}`, "currency"},
		{"invalid time zone", "/api/v1/account-types", strings.Replace(residential, "America/Chicago", "Mars/Olympus_Mons", 1), "time_zone"},
		{"unknown holiday calendar", "/api/v1/account-types", strings.Replace(residential, `["US"]`, `["XX"]`, 1), "holiday_calendars"},
		{"bad weekday", "/api/v1/account-types", strings.Replace(residential, "[1,2,3,4,5]", "[1,9]", 1), "delinquency_weekdays"},
		{"unknown account type", "/api/v1/accounts", `{"name":"Jane","email":"jane@example.net","account_type_id":99,"currency":"USD"}`, "account_type_id"},
		{"account unknown currency", "/api/v1/accounts", `{"name":"Jane","account_type_id":1,"currency":"ABC"}`, "currency"},
		{"malformed JSON", "/api/v1/plans", `{"name":"Bad","price":`, "body"},
		{"unknown field", "/api/v1/plans", `{"name":"Bad","price":1,"currency":"USD","colour":"red"}`, "colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, adminToken, "bad-"+tc.name, tc.body)
			if r.status < 400 || r.status >= 500 {
				t.Fatalf("status %d, want 4xx: %s", r.status, r.body)
			}
			if !strings.Contains(string(r.body), tc.field) {
				t.Fatalf("the error does not name %q: %s", tc.field, r.body)
			}
		})
	}
	var plans, types, accounts int
	ctx := context.Background()
	_ = e.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM plans), (SELECT count(*) FROM account_types), (SELECT count(*) FROM accounts)`).Scan(&plans, &types, &accounts)
	if plans != 1 || types != 1 || accounts != 0 {
		t.Fatalf("bad input wrote something: %d plans, %d account types, %d accounts", plans, types, accounts)
	}
}

func TestBillingRunPreviewAndStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ path, body string }{
		{"/api/v1/account-types", residential},
		{"/api/v1/plans", `{"name":"Fiber","price":5000,"currency":"USD"}`},
		{"/api/v1/accounts", `{"name":"Jane","email":"jane@example.net","account_type_id":1,"currency":"USD","anchor_date":"2026-12-01"}`},
		{"/api/v1/services", `{"pop":"p1","binding":{"method":"log"},"account_id":1,"plan_id":1,"start_date":"2026-12-01"}`},
	} {
		if r := e.do("POST", c.path, adminToken, "setup-"+c.path, c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	r := e.do("GET", "/api/v1/billing-runs/preview?date=2026-11-28", readerToken, "", "")
	if r.status != 200 {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	p := r.json(t)
	if p["invoices"].(float64) != 1 || p["total"].(float64) != 5000 {
		t.Fatalf("preview: %s", r.body)
	}
	item := p["items"].([]any)[0].(map[string]any)
	if why := item["why"].([]any); len(why) == 0 || !strings.Contains(why[0].(string), "issue date") {
		t.Fatalf("preview says nothing of why: %s", r.body)
	}
	var n int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM invoices`).Scan(&n)
	if n != 0 {
		t.Fatal("the preview wrote invoices")
	}
	if r := e.do("POST", "/api/v1/billing-runs", readerToken, "run", `{"date":"2026-11-28"}`); r.status != 403 {
		t.Fatalf("a reader started a billing run: %d", r.status)
	}
	r = e.do("POST", "/api/v1/billing-runs", adminToken, "run", `{"date":"2026-11-28"}`)
	if r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	run := r.json(t)["items"].([]any)[0].(map[string]any)
	if run["status"] != "running" || run["total_accounts"].(float64) != 1 || run["already_existed"] != nil {
		t.Fatalf("run: %s", r.body)
	}
	// Starting the date again (a new request, not a retry) starts nothing
	// and says so.
	r = e.do("POST", "/api/v1/billing-runs", adminToken, "run-again", `{"date":"2026-11-28"}`)
	if r.status != 200 {
		t.Fatalf("start again: %d %s", r.status, r.body)
	}
	again := r.json(t)["items"].([]any)[0].(map[string]any)
	if again["id"] != run["id"] || again["already_existed"] != true {
		t.Fatalf("second start for the same date: %s; want run %v with already_existed true", r.body, run["id"])
	}
}

func TestAccountEndpointsByID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ path, body string }{
		{"/api/v1/account-types", residential},
		{"/api/v1/accounts", `{"name":"Jane","email":"jane@example.net","account_type_id":1,"currency":"USD"}`},
	} {
		if r := e.do("POST", c.path, adminToken, "setup-"+c.path, c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v1/accounts/1/statement", readerToken, "", ""); r.status != 200 || r.json(t)["balance"].(float64) != 0 {
		t.Fatalf("empty statement: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/accounts/1/charges", billingToken, "c1", `{"description":"Installation","amount":9900,"taxable":true}`); r.status != 200 || r.json(t)["account_id"].(float64) != 1 {
		t.Fatalf("charge: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/accounts/1/credits", billingToken, "cr1", `{"amount":1500,"memo":"outage credit"}`); r.status != 200 {
		t.Fatalf("credit: %d %s", r.status, r.body)
	}
	r := e.do("GET", "/api/v1/accounts/1/statement", readerToken, "", "")
	if st := r.json(t); st["balance"].(float64) != -1500 || len(st["lines"].([]any)) != 1 {
		t.Fatalf("statement after a 15.00 credit: %s", r.body)
	}
	if r := e.do("POST", "/api/v1/accounts/2/credits", billingToken, "cr2", `{"amount":1500,"memo":"x"}`); r.status != 404 {
		t.Fatalf("credit to a missing account: %d %s", r.status, r.body)
	}
	upd := strings.Replace(residential, `"grace_days":7`, `"grace_days":10`, 1)
	if r := e.do("PUT", "/api/v1/account-types/1", adminToken, "u1", upd); r.status != 200 || r.json(t)["grace_days"].(float64) != 10 {
		t.Fatalf("update account type: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/invoices/77/void", billingToken, "v1", `{"reason":"test"}`); r.status != 404 {
		t.Fatalf("void a missing invoice: %d %s", r.status, r.body)
	}
}
