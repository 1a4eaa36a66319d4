package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestSettings: an admin adds a staff user (the TOTP secret shown once),
// a tax rate and a plan, previews and makes a price change, and edits an
// account type through a review that names the changed settings and shows
// the date rule on a calendar; a clerk cannot open the settings.
func TestSettings(t *testing.T) {
	e := newEnv(t)
	c := e.customer("Sam Settings")
	admin := e.signIn(e.addStaff("ada", staff.RoleAdmin, false))

	p := admin.post("/settings", "/settings/staff/add", url.Values{"login": {"newclerk"}, "name": {"New Clerk"}, "role": {"billing"},
		"password": {"a long enough password"}, "totp": {"1"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Second factor for newclerk") || !strings.Contains(p.body, "not shown again") {
		t.Fatalf("add staff: %d\n%s", p.status, p.body)
	}
	if n := e.count(`SELECT count(*) FROM staff_users WHERE login = 'newclerk' AND totp_secret <> ''`); n != 1 {
		t.Errorf("newclerk not stored with a TOTP secret")
	}
	if p := admin.post("/settings", "/settings/staff/add", url.Values{"login": {"Bad Login"}, "role": {"billing"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "login") {
		t.Errorf("a bad login: %d\n%s", p.status, p.body)
	}
	if p := admin.post("/settings", "/settings/staff/disable", url.Values{"login": {"newclerk"}}); p.status != http.StatusSeeOther {
		t.Errorf("disable: %d\n%s", p.status, p.body)
	}
	if p := admin.post("/settings", "/settings/tax-rates", url.Values{"jurisdiction": {"US-TX"}, "name": {"Texas sales tax"}, "rate": {"0.0625"}}); p.status != http.StatusSeeOther {
		t.Errorf("tax rate: %d\n%s", p.status, p.body)
	}
	if p := admin.post("/settings", "/settings/plans", url.Values{"name": {"Fiber 300"}, "price": {"99.00"}, "currency": {"USD"}, "interval": {"monthly"}}); p.status != http.StatusSeeOther {
		t.Errorf("plan: %d\n%s", p.status, p.body)
	}
	page := admin.get("/settings")
	for _, want := range []string{"Texas sales tax", "Fiber 300", "USD 99.00", "newclerk", "disabled"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the settings page lacks %q", want)
		}
	}

	// A price change: previewed, then made.
	plan := "/settings/plans/" + itoa(*c.service.PlanID)
	pv := admin.post(plan, plan+"/price", url.Values{"price": {"55.00"}, "effective_date": {"2027-01-01"}, "reason": {"costs"}})
	if pv.status != http.StatusOK || !strings.Contains(pv.body, "What will happen") || !strings.Contains(pv.body, "Confirm the new price") {
		t.Fatalf("price preview: %d\n%s", pv.status, pv.body)
	}
	apply := url.Values{}
	for _, f := range []string{"csrf", "idem", "step", "price", "effective_date", "reason"} {
		apply.Set(f, field(t, pv.body, f))
	}
	if p := admin.do(http.MethodPost, plan+"/price", apply); p.status != http.StatusSeeOther {
		t.Fatalf("price apply: %d\n%s", p.status, p.body)
	}
	if p := admin.get(plan); !strings.Contains(p.body, "USD 55.00") || !strings.Contains(p.body, "2027-01-01") {
		t.Errorf("the new price version is not listed:\n%s", p.body)
	}

	// An account type: the calendar, the review, the save.
	typ := "/settings/types/" + itoa(c.typ.ID)
	tp := admin.get(typ)
	if tp.status != http.StatusOK || !strings.Contains(tp.body, "is issued on") || !strings.Contains(tp.body, "Delinquent") {
		t.Fatalf("account type page: %d\n%s", tp.status, tp.body)
	}
	form := url.Values{"name": {"residential"}, "billing_mode": {"fixed_day"}, "billing_day": {"1"}, "invoice_lead_days": {"0"},
		"due_days": {"20"}, "grace_days": {"7"}, "time_zone": {"UTC"}, "weekday": {"1", "2", "3", "4", "5"}, "auto_suspend": {"1"},
		"reactivation_rule": {"past_due"}, "default_delivery": {"email"}, "late_fee_kind": {"none"}, "suspend_action": {"block"},
		"pending_payments": {"hold"}, "receipts_for_shown": {"1"}, "receipts_for": {"portal", "staff"}, "plan_change_timing": {"as_requested"}, "change_invoicing": {"next_invoice"}, "on_cancel": {"keep_suspended"}, "max_pause_days": {"30"},
		"immediate_invoice_minimum": {"0"}, "pause_hold_fee": {"0"}}
	rv := admin.post(typ, typ, form)
	if rv.status != http.StatusOK || !strings.Contains(rv.body, "What will change") || !strings.Contains(rv.body, "due_days") || strings.Contains(rv.body, "<li>suspend_action</li>") ||
		!strings.Contains(rv.body, "pending_payments") || !strings.Contains(rv.body, "receipts_for") || !strings.Contains(rv.body, "Saturday is not an allowed weekday") {
		t.Fatalf("type review: %d\n%s", rv.status, rv.body)
	}
	form.Set("csrf", field(t, rv.body, "csrf"))
	form.Set("idem", field(t, rv.body, "idem"))
	form.Set("step", "apply")
	if p := admin.do(http.MethodPost, typ, form); p.status != http.StatusSeeOther {
		t.Fatalf("type save: %d\n%s", p.status, p.body)
	}
	if n := e.count(`SELECT count(*) FROM account_types WHERE id = ` + itoa(c.typ.ID) + ` AND (settings->>'due_days')::int = 20 AND (settings->'lifecycle'->>'max_pause_days')::int = 30 AND settings->>'pending_payments' = 'hold'
		AND settings->'receipts_for' = '["portal", "staff"]'::jsonb`); n != 1 {
		t.Errorf("the type's due days, pending payments or receipts settings were not saved")
	}

	clerk := e.signIn(e.addStaff("clerk", staff.RoleBilling, false))
	if p := clerk.get("/settings"); p.status != http.StatusForbidden {
		t.Errorf("a clerk opening the settings: %d, want 403", p.status)
	}
}
