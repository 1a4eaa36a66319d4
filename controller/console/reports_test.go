package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestReportsPage: the reports over the console — a payments report whose
// check is on no deposit slip, the aging with its CSV — and the month
// close: a reader sees no close form and is refused, a clerk must confirm,
// and a double post closes once; an export downloads its CSV.
func TestReportsPage(t *testing.T) {
	e := newEnv(t)
	typ := e.residentialType()
	jane := e.addSubscriber(typ, "Jane Prairie", "jane@example.net")
	if err := e.api.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/payments", jane.ID), nil, client.NewIdempotencyKey(),
		map[string]any{"method": "check", "amount": 4200, "reference": "3141", "received_date": "2026-11-10"}, nil); err != nil {
		t.Fatal(err)
	}
	clerk := e.signIn(e.addStaff("bill", staff.RoleBilling, false))
	reader := e.signIn(e.addStaff("rita", staff.RoleReader, false))

	p := clerk.get("/reports?report=payments&from=2026-11-01&to=2026-11-30")
	pageHas(t, "payments report", p, "Payments 2026-11-01 to 2026-11-30", "on no slip 42.00", "Received but on no deposit slip", "3141", jane.Number,
		`href="/staff/reports/csv/payments?from=2026-11-01&amp;to=2026-11-30"`, "Close the month")
	pageHas(t, "revenue", clerk.get("/reports?report=revenue&from=2026-12-01&to=2026-12-31"), "Revenue 2026-12-01 to 2026-12-31", "Monthly recurring revenue", "Billed by plan")
	pageHas(t, "collections", clerk.get("/reports?report=collections&from=2026-11-01&to=2026-11-30"), "Collections 2026-11-01 to 2026-11-30", "Became past due: 0.")
	p = clerk.get("/reports?report=ar-aging&as_of=2026-11-30")
	pageHas(t, "aging", p, "Aging as of 2026-11-30", jane.Number, "-42.00")
	csv := clerk.get("/reports/csv/ar-aging?as_of=2026-11-30")
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.body, "Scope,Account,Name,") || !strings.Contains(csv.body, jane.Number) {
		t.Fatalf("aging CSV: %d\n%s", csv.status, csv.body)
	}
	pageHas(t, "aging PDF link", p, `href="/staff/reports/pdf/ar-aging?as_of=2026-11-30"`)
	if pdf := reader.get("/reports/pdf/ar-aging?as_of=2026-11-30"); pdf.status != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF-") {
		t.Fatalf("aging PDF: %d %.60q", pdf.status, pdf.body)
	}
	if bad := clerk.get("/reports?report=tax&from=2026-11-30&to=2026-11-01"); bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "before from") {
		t.Fatalf("a backwards period: %d\n%s", bad.status, bad.body)
	}

	rp := reader.get("/reports")
	mustNotContain(t, "reader's reports", rp, "Close the month", `action="/staff/reports/export"`)
	if refused := reader.do(http.MethodPost, "/reports/close", url2(t, rp, "month", "2026-11", "confirm", "yes")); refused.status != http.StatusForbidden ||
		e.countRows(`SELECT count(*) FROM period_closes`) != 0 {
		t.Fatalf("a reader's close: %d", refused.status)
	}

	p = clerk.get("/reports")
	if unconfirmed := clerk.do(http.MethodPost, "/reports/close", form(t, p, "month", "2026-11")); unconfirmed.status != http.StatusUnprocessableEntity ||
		!strings.Contains(unconfirmed.body, "tick the box") || e.countRows(`SELECT count(*) FROM period_closes`) != 0 {
		t.Fatalf("an unconfirmed close: %d\n%s", unconfirmed.status, unconfirmed.body)
	}
	f := form(t, p, "month", "2026-11", "confirm", "yes")
	first, second := clerk.do(http.MethodPost, "/reports/close", f), clerk.do(http.MethodPost, "/reports/close", f)
	pageHas(t, "close", first, "The books are closed through 2026-11-30.")
	pageHas(t, "close again (same form)", second, "The books are closed through 2026-11-30.")
	if n := e.countRows(`SELECT count(*) FROM period_closes`); n != 1 {
		t.Fatalf("%d closes after a double post", n)
	}
	if early := clerk.do(http.MethodPost, "/reports/close", form(t, clerk.get("/reports"), "month", "2026-12", "confirm", "yes")); early.status != http.StatusUnprocessableEntity ||
		!strings.Contains(early.body, "has not ended") {
		t.Fatalf("closing the current month: %d\n%s", early.status, early.body)
	}

	exp := clerk.do(http.MethodPost, "/reports/export", form(t, clerk.get("/reports"), "target", "xero-bank", "from", "2026-11-01", "to", "2026-11-30"))
	if exp.status != http.StatusOK || !strings.HasPrefix(exp.body, "*Date,*Amount,Payee,Description,Reference,Cheque Number\n10/11/2026,42.00,Jane Prairie") {
		t.Fatalf("export: %d\n%s", exp.status, exp.body)
	}
	pageHas(t, "exports listed", clerk.get("/reports"), "xero-bank", "user:bill")
}
