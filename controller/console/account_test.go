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

func (e *env) count(query string) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func itoa(v int64) string { return strconvItoa(v) }
