package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// editEnv is an env with one account type and one account (id 1).
func editEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	for _, c := range []struct{ path, body string }{
		{"/api/v1/account-types", residential},
		{"/api/v1/accounts", `{"name":"Jane","company_name":"Doe Farms","email":"jane@example.net","account_type_id":1,"currency":"USD","delivery":"email"}`},
	} {
		if r := e.do("POST", c.path, adminToken, "setup-"+c.path, c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	return e
}

func (e *env) patch(key, ifMatch, body string) response {
	e.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + billingToken, "Idempotency-Key": key}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	return e.doHeader("PATCH", "/api/v1/accounts/1", body, h)
}

func TestAccountEditWithIfMatch(t *testing.T) {
	t.Parallel()
	e := editEnv(t)
	r := e.do("GET", "/api/v1/accounts/1", readerToken, "", "")
	if r.status != 200 || r.header.Get("ETag") != `"1"` || r.json(t)["version"].(float64) != 1 {
		t.Fatalf("get: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	edit := `{"email":"jane.roe@example.net","company_name":"Roe LLC","reason":"customer called"}`

	// Without If-Match: 428, nothing written.
	if r := e.patch("e0", "", edit); r.status != 428 || !strings.Contains(string(r.body), "If-Match") {
		t.Fatalf("no If-Match: %d %s", r.status, r.body)
	}
	// Bad input: 422 naming the field, nothing written.
	for _, c := range []struct{ body, field string }{
		{`{"email":"not an address"}`, "email"},
		{`{"locale":"fr-FR"}`, "locale"},
		{`{"delivery":"fax"}`, "delivery"},
		{`{"name":""}`, "name"},
		{`{"billing_day":40}`, "billing_day"},
		{`{"account_type_id":99}`, "account_type_id"},
	} {
		if r := e.patch("bad-"+c.field, `"1"`, c.body); r.status != 422 || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.body, r.status, r.body, c.field)
		}
	}
	// The edit.
	r = e.patch("e1", `"1"`, edit)
	if r.status != 200 || r.header.Get("ETag") != `"2"` {
		t.Fatalf("edit: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	var res struct {
		Account struct {
			Email, CompanyName string
			Version            int64
		}
		Changed bool
		Change  struct {
			Actor         string
			Before, After map[string]any
		}
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(r.body), "company_name", "companyname")), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Account.Version != 2 || res.Account.CompanyName != "Roe LLC" || res.Change.Actor != "user:clerk" ||
		res.Change.Before["email"] != "jane@example.net" || res.Change.Before["companyname"] != "Doe Farms" || res.Change.After["email"] != "jane.roe@example.net" || len(res.Change.After) != 2 {
		t.Errorf("edit answered %s", r.body)
	}
	// The same key and body again: the first response, replayed.
	if again := e.patch("e1", `"1"`, edit); again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(r.body) {
		t.Errorf("replay: %d %q %s", again.status, again.header.Get("Idempotent-Replayed"), again.body)
	}
	// A stale version: 412 with the current one; nothing written.
	r = e.patch("e2", `"1"`, `{"phone":"555-0100"}`)
	if r.status != 412 || r.header.Get("ETag") != `"2"` || !strings.Contains(string(r.body), "version 2, not 1") {
		t.Fatalf("stale: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	if r := e.do("GET", "/api/v1/accounts/1", readerToken, "", ""); r.header.Get("ETag") != `"2"` || r.json(t)["phone"] != "" {
		t.Errorf("after the stale edit: ETag %q %s", r.header.Get("ETag"), r.body)
	}
	// A reader may not edit; an unknown account is 404.
	if r := e.doHeader("PATCH", "/api/v1/accounts/1", edit, map[string]string{"Authorization": "Bearer " + readerToken, "Idempotency-Key": "r1", "If-Match": `"2"`}); r.status != 403 {
		t.Errorf("reader: %d", r.status)
	}
	if r := e.doHeader("PATCH", "/api/v1/accounts/9", edit, map[string]string{"Authorization": "Bearer " + billingToken, "Idempotency-Key": "n1", "If-Match": `"2"`}); r.status != 404 {
		t.Errorf("unknown account: %d %s", r.status, r.body)
	}
	// A type change says when it applies.
	if r := e.do("POST", "/api/v1/account-types", adminToken, "t2", strings.Replace(residential, `"residential"`, `"business"`, 1)); r.status != 200 {
		t.Fatalf("second type: %d %s", r.status, r.body)
	}
	r = e.patch("e3", `W/"2"`, `{"account_type_id":2}`)
	if r.status != 200 || !strings.Contains(string(r.body), "account_type_from_next_period") || !strings.Contains(string(r.body), "next billing period") {
		t.Errorf("type change: %d %s", r.status, r.body)
	}
}

func TestAccountHistoryMergesEditsAndStatusChanges(t *testing.T) {
	t.Parallel()
	e := editEnv(t)
	if r := e.patch("h1", `"1"`, `{"phone":"555-0100","reason":"new number"}`); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if _, err := e.db.SetExempt(context.Background(), 1, true, "hospital", "clerk", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/accounts/1/history", readerToken, "", "")
	var h struct {
		Items []struct {
			Kind, Actor, Summary string
		}
	}
	if err := json.Unmarshal(r.body, &h); r.status != 200 || err != nil {
		t.Fatalf("history: %d %v %s", r.status, err, r.body)
	}
	if len(h.Items) != 2 || h.Items[0].Kind != "status" || h.Items[1].Kind != "edit" ||
		h.Items[1].Summary != "changed phone: new number" || h.Items[1].Actor != "user:clerk" {
		t.Errorf("history %+v, want the exemption's status change, then the edit", h.Items)
	}
	if r := e.do("GET", "/api/v1/accounts/9/history", readerToken, "", ""); r.status != 404 {
		t.Errorf("unknown account: %d", r.status)
	}
}

// TestBillingDayEditPreviewsBothInvoices: moving a billed account's
// billing day (PATCH billing_day) answers with the transitional invoice
// (from the end of the invoiced month to the first 15th, prorated) and the
// first regular invoice on the new day: its dates and amount.
func TestBillingDayEditPreviewsBothInvoices(t *testing.T) {
	t.Parallel()
	e, today := lifecycleEnv(t)
	r := e.do("GET", "/api/v1/accounts/1", readerToken, "", "")
	if r.status != 200 {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	r = e.patch("day15", r.header.Get("ETag"), `{"billing_day":15,"reason":"paid on the 15th"}`)
	if r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	var got struct {
		Change struct {
			InvoicePeriod struct{ Start, End string } `json:"invoice_period"`
			Net           int64
			FirstRegular  *struct {
				Period   struct{ Start, End string }
				Lines    []struct{ Amount int64 }
				Subtotal int64
			} `json:"first_regular"`
		} `json:"billing_day_change"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	month := func(d billing.Date, n int) billing.Date {
		return billing.DateOf(time.Date(d.Year, d.Month+time.Month(n), d.Day, 12, 0, 0, 0, time.UTC))
	}
	// The run invoiced this month (and the next one too within the type's
	// lead days of it): the transition starts on the 1st after that.
	c := got.Change
	from, err := time.Parse(time.DateOnly, c.InvoicePeriod.Start)
	if err != nil {
		t.Fatalf("transitional invoice %+v: %v", c.InvoicePeriod, err)
	}
	nextMonth := billing.DateOf(from)
	if nextMonth.Day != 1 || !nextMonth.After(today) || nextMonth.After(month(today, 2)) {
		t.Fatalf("transitional invoice from %s; want the 1st after the invoiced month (today %s)", nextMonth, today)
	}
	day15 := billing.NewDate(nextMonth.Year, nextMonth.Month, 15)
	if c.InvoicePeriod.Start != nextMonth.String() || c.InvoicePeriod.End != day15.String() || c.Net <= 0 || c.Net >= 5000 {
		t.Fatalf("transitional invoice %+v (net %d); want %s..%s prorated: %s", c.InvoicePeriod, c.Net, nextMonth, day15, r.body)
	}
	f := c.FirstRegular
	if f == nil || f.Period.Start != day15.String() || f.Period.End != month(day15, 1).String() || f.Subtotal != 5000 ||
		len(f.Lines) != 1 || f.Lines[0].Amount != 5000 {
		t.Fatalf("first regular invoice %+v; want %s..%s charging 5000: %s", f, day15, month(day15, 1), r.body)
	}
}
