package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestAccountPage: a clerk sees an account's standing, services, invoices
// and payments; records a payment through the confirmation (once, though
// the confirmation is posted twice), the audit trail naming the clerk; a
// plan change shows the API's prorated lines before it is made; bad input
// names the field and changes nothing; a reader sees no actions and is
// refused.
func TestAccountPage(t *testing.T) {
	e := newEnv(t)
	c := e.customer("Jane Doe")
	clerk := e.signIn(e.addStaff("clerk", staff.RoleBilling, false))
	path := "/accounts/" + itoa(c.account.ID)

	p := clerk.get(path)
	for _, want := range []string{"Jane Doe", "USD 50.00", "100.64.0.10", "north", "Fiber 50 Jane Doe", "Record a payment", "not confirmed yet"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the account page lacks %q", want)
		}
	}
	if p.status != http.StatusOK {
		t.Fatalf("account page: %d\n%s", p.status, p.body)
	}

	// A payment: the review shows what will happen and writes nothing.
	review := clerk.post(path, path+"/act/payment", url.Values{"amount": {"20.00"}, "method": {"check"}, "reference": {"1042"}, "payer": {"Jane Doe"}})
	if review.status != http.StatusOK || !strings.Contains(review.body, "Record USD 20.00 received by check (reference 1042) from Jane Doe") ||
		!strings.Contains(review.body, "after USD 30.00") {
		t.Fatalf("payment review: %d\n%s", review.status, review.body)
	}
	if n := e.count(`SELECT count(*) FROM payments`); n != 0 {
		t.Fatalf("the review posted %d payments", n)
	}
	confirm := url.Values{}
	for _, f := range []string{"csrf", "idem", "step", "amount", "method", "reference", "payer"} {
		confirm.Set(f, field(t, review.body, f))
	}
	for i := 0; i < 2; i++ { // a double click
		if p := clerk.do(http.MethodPost, path+"/act/payment", confirm); p.status != http.StatusSeeOther || !strings.Contains(p.location, "done=payment") {
			t.Fatalf("payment apply %d: %d %q\n%s", i, p.status, p.location, p.body)
		}
	}
	if n := e.count(`SELECT count(*) FROM payments WHERE posted_by = 'user:clerk'`); n != 1 {
		t.Fatalf("want one payment posted by user:clerk, got %d", n)
	}
	if p := clerk.get(path + "?done=payment"); !strings.Contains(p.body, "Done: record a payment") || !strings.Contains(p.body, "USD 30.00") {
		t.Errorf("after the payment the page says so and shows the new balance:\n%s", p.body)
	}

	// Bad input: the error names the field, the form keeps what was typed.
	bad := clerk.post(path, path+"/act/payment", url.Values{"amount": {"twelve"}, "method": {"cash"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "amount: &#34;twelve&#34; is not an amount") || !strings.Contains(bad.body, `value="twelve"`) {
		t.Errorf("a bad amount: %d\n%s", bad.status, bad.body)
	}

	// A plan change: the preview is the API's prorated lines.
	pc := clerk.post(path, path+"/act/plan-change", url.Values{"service_id": {itoa(c.service.ID)}, "plan_id": {itoa(*c.service.PlanID + 1)}, "reason": {"upgrade"}})
	if pc.status != http.StatusOK || !strings.Contains(pc.body, "Prorated lines") || !strings.Contains(pc.body, "Net") {
		t.Fatalf("plan change preview: %d\n%s", pc.status, pc.body)
	}
	if n := e.count(`SELECT count(*) FROM services WHERE plan_id = ` + itoa(*c.service.PlanID)); n != 1 {
		t.Fatalf("the preview changed the plan")
	}
	apply := url.Values{}
	for _, f := range []string{"csrf", "idem", "step", "service_id", "plan_id", "reason"} {
		apply.Set(f, field(t, pc.body, f))
	}
	if p := clerk.do(http.MethodPost, path+"/act/plan-change", apply); p.status != http.StatusSeeOther {
		t.Fatalf("plan change apply: %d\n%s", p.status, p.body)
	}
	if n := e.count(`SELECT count(*) FROM services WHERE plan_id = ` + itoa(*c.service.PlanID+1)); n != 1 {
		t.Errorf("the plan change did not happen")
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE actor = 'user:clerk'`); n == 0 {
		t.Errorf("the audit log does not name the clerk")
	}

	// A reader: no actions, and refused.
	reader := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	if p := reader.get(path); p.status != http.StatusOK || strings.Contains(p.body, "Record a payment") || strings.Contains(p.body, "/act/") {
		t.Errorf("a reader's account page shows actions")
	}
	if p := reader.post(path, path+"/act/payment", url.Values{"amount": {"5"}, "method": {"cash"}, "step": {"apply"}}); p.status != http.StatusForbidden {
		t.Errorf("a reader's payment: %d, want 403", p.status)
	}
	if n := e.count(`SELECT count(*) FROM payments`); n != 1 {
		t.Errorf("payments: %d, want still 1", n)
	}
}

// TestAccountPaymentSplitsOverTicked: a payment smaller than the ticked
// invoices pays them in the order shown, each up to what it owes (the rule
// the batch screen follows, billing.SplitOverChosen), instead of asking
// the API for each ticked invoice's whole open amount.
func TestAccountPaymentSplitsOverTicked(t *testing.T) {
	e := newEnv(t)
	inv := e.batchAccounts(1) // A-000001: two invoices of USD 50.00, oldest first
	clerk := e.signIn(e.addStaff("clerk", staff.RoleBilling, false))
	var id int64
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT id FROM accounts WHERE number = 'A-000001'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	path := "/accounts/" + itoa(id)
	// The header says when it is next invoiced (the standing's date).
	if p := clerk.get(path); !strings.Contains(p.body, "<dt>Next bill</dt><dd>2027-01-17</dd>") {
		t.Errorf("the account page does not show the next bill date 2027-01-17:\n%s", p.body)
	}
	form := url.Values{"amount": {"30.00"}, "method": {"cash"}, "apply": {inv[1] + ":5000"}}
	review := clerk.post(path, path+"/act/payment", form)
	if review.status != http.StatusOK || !strings.Contains(review.body, "It pays "+inv[1]+" (USD 30.00) first") {
		t.Fatalf("payment review: %d\n%s", review.status, review.body)
	}
	confirm := url.Values{"apply": {inv[1] + ":5000"}}
	for _, f := range []string{"csrf", "idem", "step", "amount", "method"} {
		confirm.Set(f, field(t, review.body, f))
	}
	if p := clerk.do(http.MethodPost, path+"/act/payment", confirm); p.status != http.StatusSeeOther {
		t.Fatalf("payment apply: %d\n%s", p.status, p.body)
	}
	if n := e.count(`SELECT coalesce(sum(a.amount), 0) FROM payment_allocations a JOIN invoices i ON i.id = a.invoice_id WHERE i.number = '` + inv[1] + `'`); n != 3000 {
		t.Errorf("the ticked invoice got %d, want 3000", n)
	}
	if n := e.count(`SELECT count(*) FROM payment_allocations a JOIN invoices i ON i.id = a.invoice_id WHERE i.number = '` + inv[0] + `'`); n != 0 {
		t.Errorf("the older, unticked invoice got %d allocations; the payment was used up on the ticked one", n)
	}
}

func (e *env) count(query string) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func itoa(v int64) string { return strconvItoa(v) }

// TestAccountEditOverrides: an account's own billing settings, locale and
// tax exemption are edited from the console through the review; the
// settings left empty inherit the type's.
func TestAccountEditOverrides(t *testing.T) {
	e := newEnv(t)
	c := e.customer("Olga Override")
	clerk := e.signIn(e.addStaff("clerk", staff.RoleBilling, false))
	path := "/accounts/" + itoa(c.account.ID)
	form := url.Values{"name": {"Olga Override"}, "line1": {""}, "locale": {"de-DE"}, "tax_exempt": {"1"}, "exemption_certificate": {"TX-EX-991"},
		"ov_due_days": {"30"}, "ov_grace_days": {""}, "ov_reminder_days_before": {"none"}, "ov_auto_suspend": {"no"}, "reason": {"nonprofit"}}
	rv := clerk.post(path, path+"/act/edit", form)
	if rv.status != http.StatusOK || !strings.Contains(rv.body, "due days 30") || !strings.Contains(rv.body, "auto-suspend false") ||
		!strings.Contains(rv.body, "Tax exempt: false → true") || !strings.Contains(rv.body, "de-DE") {
		t.Fatalf("edit review: %d\n%s", rv.status, rv.body)
	}
	apply := url.Values{}
	for k := range form {
		apply.Set(k, optionalField(rv.body, k))
	}
	apply.Set("tax_exempt", "1")
	for _, f := range []string{"csrf", "idem", "step"} {
		apply.Set(f, field(t, rv.body, f))
	}
	if p := clerk.do(http.MethodPost, path+"/act/edit", apply); p.status != http.StatusSeeOther {
		t.Fatalf("edit apply: %d\n%s", p.status, p.body)
	}
	a, err := e.api.Account(context.Background(), c.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Overrides.DueDays == nil || *a.Overrides.DueDays != 30 || a.Overrides.GraceDays != nil || a.Overrides.AutoSuspend == nil || *a.Overrides.AutoSuspend ||
		a.Overrides.ReminderDaysBefore == nil || len(*a.Overrides.ReminderDaysBefore) != 0 || !a.TaxExempt || a.Locale != "de-DE" {
		t.Errorf("stored: %+v overrides %+v", a, a.Overrides)
	}
}
