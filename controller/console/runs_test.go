package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestBillingRunPreviewIsTheConfirmationBeforeStarting: the clerk previews
// a run (what it would invoice and why, nothing written), starts it from
// the preview, and a double-posted start starts one run; the run's page
// refreshes its progress fragment while it runs. A reader sees the
// preview without the start button, and a reader's post is refused with
// nothing started.
func TestBillingRunPreviewIsTheConfirmationBeforeStarting(t *testing.T) {
	e := newEnv(t)
	typ := e.residentialType()
	jane := e.addSubscriber(typ, "Jane Prairie", "jane@example.net")
	clerk := e.signIn(e.addStaff("bill", staff.RoleBilling, false))
	reader := e.signIn(e.addStaff("rita", staff.RoleReader, false))

	p := clerk.get("/runs")
	pageHas(t, "runs page", p, "Preview a billing run", `<option value="`+fmt.Sprint(typ.ID)+`"`, "No billing runs yet.")

	previewPath := fmt.Sprintf("/runs/preview?account_type_id=%d&date=2026-12-01", typ.ID)
	p = clerk.get(previewPath)
	pageHas(t, "preview", p, jane.Number, "Jane Prairie", "USD 50.00", "issue date", "Start this billing run")
	if n := e.countRows(`SELECT count(*) FROM billing_runs`); n != 0 {
		t.Fatalf("the preview started %d runs", n)
	}
	future := clerk.get(fmt.Sprintf("/runs/preview?account_type_id=%d&date=2028-06-01", typ.ID))
	if future.status != http.StatusUnprocessableEntity || !strings.Contains(future.body, "(query.date)") || strings.Contains(future.body, "Start this billing run") {
		t.Fatalf("a preview too far ahead: %d, want 422 naming the date and no start button:\n%s", future.status, future.body)
	}
	if bad := clerk.get("/runs/preview?date=12/01/2026"); bad.status != http.StatusOK || !strings.Contains(bad.body, "Date:") {
		t.Fatalf("a malformed date: %d, want the page naming the date:\n%s", bad.status, bad.body)
	}

	// The reader: the preview, no start button; a forged post is refused.
	rp := reader.get(previewPath)
	pageHas(t, "reader's preview", rp, jane.Number, "may look at previews but not start runs")
	mustNotContain(t, "reader's preview", rp, "Start this billing run")
	refused := reader.do(http.MethodPost, "/runs", url2(t, rp, "account_type_id", fmt.Sprint(typ.ID), "date", "2026-12-01"))
	if refused.status != http.StatusForbidden || e.countRows(`SELECT count(*) FROM billing_runs`) != 0 {
		t.Fatalf("a reader's start: %d, %d runs; want 403 and none", refused.status, e.countRows(`SELECT count(*) FROM billing_runs`))
	}

	// Start from the preview, twice with the same form (a double click).
	f := form(t, p, "account_type_id", fmt.Sprint(typ.ID), "date", "2026-12-01")
	first := clerk.do(http.MethodPost, "/runs", f)
	second := clerk.do(http.MethodPost, "/runs", f)
	if first.status != http.StatusSeeOther || !strings.HasPrefix(first.location, "/staff/runs/") || second.location != first.location {
		t.Fatalf("start: %d %q, again %d %q", first.status, first.location, second.status, second.location)
	}
	if n := e.countRows(`SELECT count(*) FROM billing_runs`); n != 1 {
		t.Fatalf("%d runs after a double post, want 1", n)
	}
	var runID int64
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT id FROM billing_runs`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	if e.countRows(`SELECT count(*) FROM billing_runs WHERE requested_by = 'user:bill'`) != 1 {
		t.Fatal("the run does not name the clerk who started it")
	}

	runPath := strings.TrimPrefix(first.location, "/staff")
	p = clerk.get(runPath)
	pageHas(t, "running run", p, "The billing run has started.", `hx-trigger="every 2s"`, ">Refresh</a>", "0 of 1 done", "Running")
	frag := clerk.do(http.MethodGet, fmt.Sprintf("/runs/%d", runID), nil, "HX-Request", "true")
	if frag.status != http.StatusOK || strings.Contains(frag.body, "<html") || !strings.Contains(frag.body, `id="run-progress"`) {
		t.Fatalf("the progress fragment: %d\n%s", frag.status, frag.body)
	}

	// Worked: the results, and the fragment stops refreshing.
	if _, err := e.db.RunBillingBatch(context.Background(), runID, 0, testNow); err != nil {
		t.Fatal(err)
	}
	p = clerk.get(fmt.Sprintf("/runs/%d", runID))
	pageHas(t, "finished run", p, "Completed", "1 of 1 done", "50.00")
	mustNotContain(t, "finished run", p, `hx-trigger`)
	pageHas(t, "runs list", clerk.get("/runs"), fmt.Sprintf(`href="/staff/runs/%d"`, runID), "user:bill")
}

// TestRunDeliveriesResendAfterConfirmation: a run's failed deliveries are
// counted on its page; re-sending them asks first (saying how many), then
// queues them again once, even when the confirmation is posted twice; a
// reader sees no re-send button and is refused.
func TestRunDeliveriesResendAfterConfirmation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	typ := e.residentialType()
	e.addSubscriber(typ, "Jane Prairie", "jane@example.net")
	e.addSubscriber(typ, "Joe Prairie", "joe@example.net")
	e.addSubscriberWith(typ, "Ann Paper", map[string]any{"delivery": "mail",
		"address": map[string]any{"line1": "1 Main St", "city": "Lincoln", "region": "NE", "postal_code": "68508", "country": "US"}})
	run, _, err := e.db.OpenBillingRun(ctx, typ.ID, billing.NewDate(2026, 12, 1), billing.TriggerOnDemand, "test", 100, testNow,
		func(context.Context, pgx.Tx, billing.BillingRun) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.RunBillingBatch(ctx, run.ID, 0, testNow); err != nil {
		t.Fatal(err)
	}
	if _, n, err := e.db.QueueRunDeliveries(ctx, run.ID, []billing.DeliveryChannel{billing.ChannelEmail, billing.ChannelMail}, testNow); err != nil || n != 3 {
		t.Fatalf("queueing deliveries: %d, %v", n, err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE invoice_deliveries SET status = 'failed', last_error = '550 no such user' WHERE channel = 'email'`); err != nil {
		t.Fatal(err)
	}
	runPath := fmt.Sprintf("/runs/%d", run.ID)

	reader := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	rp := reader.get(runPath)
	pageHas(t, "reader's run page", rp, "Failed")
	mustNotContain(t, "reader's run page", rp, "failed deliveries again")
	if r := reader.do(http.MethodPost, runPath+"/deliveries/resend", url2(t, rp, "confirm", "yes")); r.status != http.StatusForbidden {
		t.Fatalf("a reader's re-send: %d, want 403", r.status)
	}
	if n := e.countRows(`SELECT count(*) FROM invoice_deliveries WHERE status = 'failed'`); n != 2 {
		t.Fatalf("after a reader's re-send, %d failed deliveries, want 2", n)
	}

	clerk := e.signIn(e.addStaff("bill", staff.RoleBilling, false))
	p := clerk.get(runPath)
	pageHas(t, "run page", p, "Send the 2 failed deliveries again")
	confirm := clerk.do(http.MethodPost, runPath+"/deliveries/resend", form(t, p))
	pageHas(t, "confirmation", confirm, "Send the failed deliveries again?", "This queues 2 failed deliveries", "Yes, send 2 again")
	if n := e.countRows(`SELECT count(*) FROM invoice_deliveries WHERE status = 'failed'`); n != 2 {
		t.Fatalf("the confirmation itself re-sent: %d failed left", n)
	}
	f := form(t, confirm, "confirm", "yes")
	done := clerk.do(http.MethodPost, runPath+"/deliveries/resend", f)
	again := clerk.do(http.MethodPost, runPath+"/deliveries/resend", f)
	if done.status != http.StatusSeeOther || !strings.Contains(done.location, "resent=2") || again.location != done.location {
		t.Fatalf("re-send: %d %q; again %d %q", done.status, done.location, again.status, again.location)
	}
	if n := e.countRows(`SELECT count(*) FROM invoice_deliveries WHERE status = 'queued' AND resends = 1`); n != 2 {
		t.Fatalf("%d deliveries queued again once, want 2", n)
	}
	if n := e.countRows(`SELECT count(*) FROM invoice_deliveries WHERE channel = 'mail' AND resends = 0`); n != 1 {
		t.Fatalf("the letter was re-sent too (%d untouched, want 1)", n)
	}
	pageHas(t, "after the re-send", clerk.get(strings.TrimPrefix(done.location, "/staff")), "Queued again: 2 failed deliveries.")

	// Ann gets hers by mail: the printed batch downloads, for a reader too.
	pageHas(t, "run with a letter", p, "Download the printed invoices")
	pdf := reader.get(runPath + "/printed-invoices.pdf")
	if pdf.status != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF-") {
		t.Fatalf("printed invoices: %d %.40q", pdf.status, pdf.body)
	}
	if r := reader.get(fmt.Sprintf("/runs/%d/printed-invoices.pdf", run.ID+1)); r.status != http.StatusNotFound {
		t.Fatalf("printed invoices of an unknown run: %d, want 404", r.status)
	}
}

// url2 is form without an Idempotency-Key check for pages that may have
// none (a reader's).
func url2(t *testing.T, p page, kv ...string) map[string][]string {
	t.Helper()
	f := map[string][]string{"csrf": {field(t, p.body, "csrf")}, "idem": {"reader-try"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = append(f[kv[i]], kv[i+1])
	}
	return f
}
