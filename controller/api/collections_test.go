package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// collectionsEnv is the API with the collections endpoints on a fresh
// database, at a fixed time: Tuesday 2026-12-15, noon in Chicago. The
// account type "residential" auto-suspends; invoices due 2026-12-01 are
// past their delinquency date (7 days' grace) by then. The guard holds more
// than one suspension at a POP.
type collectionsEnv struct {
	*env
	typ billing.AccountType
}

var collectionsNow = time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC)

func newCollectionsEnv(t *testing.T) *collectionsEnv {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tokens := []api.Token{
		api.NewToken("root", api.RoleAdmin, adminToken),
		api.NewToken("clerk", api.RoleBilling, billingToken),
		api.NewToken("viewer", api.RoleReader, readerToken),
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv := api.NewServer(api.Config{SuspensionGuard: billing.SuspensionGuard{MinServices: 1}},
		api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Collections: db},
		tokens, clock.NewFixed(collectionsNow), log, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago", AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue}, collectionsNow)
	if err != nil {
		t.Fatal(err)
	}
	return &collectionsEnv{env: &env{t: t, url: hs.URL, db: db, logs: logs}, typ: typ}
}

// owingAccount creates an account with one service at pop and an invoice
// of amount due on due, posted to the ledger (so the balance is what it
// owes). It returns the account's and the service's ids.
func (e *collectionsEnv) owingAccount(pop string, due billing.Date, amount int64) (account, service int64) {
	e.t.Helper()
	ctx := context.Background()
	a, _, err := e.db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber", Email: "sub@example.net", AccountTypeID: e.typ.ID, Currency: "USD"}, collectionsNow)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.db.CreateService(ctx, billing.NewService{POP: pop, Name: "fiber", Binding: billing.Binding{Method: "log"}, AccountID: &a.ID}, "test", collectionsNow)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.db.Pool.Exec(ctx, `WITH i AS (
			INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, created_at)
			SELECT n, 'INV-' || n, $1, $2::date - 14, $2::date + 16, $2::date - 14, $2, $2::date + 7, 'USD', $3, 0, $3, now()
			FROM nextval('invoices_id_seq') n RETURNING id, issue_date
		), t AS (
			INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
		)
		INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
			(VALUES (1::smallint, 'accounts_receivable', $3::bigint), (2::smallint, 'service_revenue', -$3::bigint)) u(no, ledger, amount)`,
		a.ID, due.String(), amount)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID, s.ID
}

func (e *collectionsEnv) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *collectionsEnv) status(account int64) billing.AccountStatus {
	e.t.Helper()
	a, err := e.db.Account(context.Background(), account)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Status
}

// ok does a request that must answer 200 and returns its JSON object.
func (e *collectionsEnv) ok(method, path, token, key, body string) map[string]any {
	e.t.Helper()
	r := e.do(method, path, token, key, body)
	if r.status != 200 {
		e.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	return r.json(e.t)
}

func (e *collectionsEnv) want(status int, method, path, token, key, body string) {
	e.t.Helper()
	if r := e.do(method, path, token, key, body); r.status != status {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, status)
	}
}

func joinedWhy(m map[string]any) string {
	var lines []string
	for _, l := range m["why"].([]any) {
		lines = append(lines, l.(string))
	}
	return strings.Join(lines, "\n")
}

func TestAccountStandingPromiseAndExemption(t *testing.T) {
	t.Parallel()
	e := newCollectionsEnv(t)
	acct, svc := e.owingAccount("north-1", billing.NewDate(2026, 12, 1), 4999)
	base := fmt.Sprintf("/api/v1/accounts/%d", acct)

	st := e.ok("GET", base+"/standing", readerToken, "", "")
	why := joinedWhy(st)
	if st["status"] != "current" || st["balance"] != 4999.0 || st["past_due"] != 4999.0 || st["overdue"] != 4999.0 ||
		st["delinquency_date"] != "2026-12-08" || st["currency"] != "USD" {
		t.Fatalf("standing: %v", st)
	}
	for _, frag := range []string{"was due on", "USD 49.99", "The next delinquency sweep will suspend its services"} {
		if !strings.Contains(why, frag) {
			t.Errorf("why lacks %q:\n%s", frag, why)
		}
	}
	svcs := st["services"].([]any)
	if len(svcs) != 1 {
		t.Fatalf("services: %v", svcs)
	}
	if s := svcs[0].(map[string]any); s["id"] != float64(svc) || s["pop"] != "north-1" || s["desired_state"] != "active" {
		t.Fatalf("service standing: %v", s)
	}
	e.want(404, "GET", "/api/v1/accounts/4242/standing", readerToken, "", "")
	e.want(401, "GET", base+"/standing", "", "", "")

	// A promise to pay: readers may not, a date in the past or none is
	// refused, the promise holds the account and is cleared by DELETE.
	e.want(403, "PUT", base+"/promise-to-pay", readerToken, "p0", `{"until":"2026-12-22"}`)
	e.want(422, "PUT", base+"/promise-to-pay", billingToken, "p1", `{"until":"2026-12-14"}`)
	e.want(422, "PUT", base+"/promise-to-pay", billingToken, "p2", `{"note":"no date"}`)
	e.want(422, "PUT", base+"/promise-to-pay", billingToken, "p3", `{"until":"someday"}`)
	e.want(400, "PUT", base+"/promise-to-pay", billingToken, "", `{"until":"2026-12-22"}`) // no Idempotency-Key
	e.want(404, "PUT", "/api/v1/accounts/4242/promise-to-pay", billingToken, "p4", `{"until":"2026-12-22"}`)
	st = e.ok("PUT", base+"/promise-to-pay", billingToken, "p5", `{"until":"2026-12-22","note":"pays Friday by phone"}`)
	if st["promise_until"] != "2026-12-22" || st["promise_note"] != "pays Friday by phone" || st["status"] != "past_due" ||
		!strings.Contains(joinedWhy(st), "A promise to pay holds the account until") {
		t.Fatalf("standing with a promise: %v", st)
	}
	st = e.ok("DELETE", base+"/promise-to-pay", billingToken, "p6", "")
	if st["promise_until"] != nil || st["promise_note"] != "" {
		t.Fatalf("standing after clearing the promise: %v", st)
	}

	// An exemption needs a reason.
	e.want(403, "PUT", base+"/exemption", readerToken, "x0", `{"reason":"hospital"}`)
	e.want(422, "PUT", base+"/exemption", billingToken, "x1", `{}`)
	e.want(422, "PUT", base+"/exemption", billingToken, "x2", `{"reason":"   "}`)
	st = e.ok("PUT", base+"/exemption", billingToken, "x3", `{"reason":"county hospital"}`)
	if st["exempt"] != true || st["exempt_reason"] != "county hospital" || !strings.Contains(joinedWhy(st), "exempt from suspension (county hospital)") {
		t.Fatalf("exempt standing: %v", st)
	}
	st = e.ok("DELETE", base+"/exemption", billingToken, "x4", "")
	if st["exempt"] != false || st["exempt_reason"] != "" {
		t.Fatalf("standing after the exemption: %v", st)
	}

	// Every change is in the status history, newest first, with who did it.
	h := e.ok("GET", base+"/status-history", readerToken, "", "")
	var causes []string
	for _, it := range h["items"].([]any) {
		c := it.(map[string]any)
		if c["actor"] != "user:clerk" {
			t.Errorf("history entry by %v, want user:clerk: %v", c["actor"], c)
		}
		causes = append(causes, c["cause"].(string))
	}
	if len(causes) < 4 || causes[0] != "exemption" || causes[len(causes)-1] != "promise" {
		t.Fatalf("status history causes (newest first): %v\n%v", causes, h)
	}
	if items := e.ok("GET", base+"/status-history", readerToken, "", "")["items"].([]any); len(items) != len(causes) {
		t.Fatalf("history changed on reading: %d entries", len(items))
	}
	e.want(404, "GET", "/api/v1/accounts/4242/status-history", readerToken, "", "")
	// An account without history answers an empty list.
	other, _ := e.owingAccount("north-1", billing.NewDate(2026, 12, 1), 100)
	if items := e.ok("GET", fmt.Sprintf("/api/v1/accounts/%d/status-history", other), readerToken, "", "")["items"].([]any); len(items) != 0 {
		t.Fatalf("history of an untouched account: %v", items)
	}
}

func TestSweepPreviewHeldBatchApproval(t *testing.T) {
	t.Parallel()
	e := newCollectionsEnv(t)
	var accounts, services []int64
	for range 3 {
		a, s := e.owingAccount("north-1", billing.NewDate(2026, 12, 1), 4999)
		accounts, services = append(accounts, a), append(services, s)
	}
	ctx := context.Background()
	typ := fmt.Sprint(e.typ.ID)
	nothingWritten := func(when string) {
		t.Helper()
		for _, a := range accounts {
			if s := e.status(a); s != billing.AccountCurrent {
				t.Fatalf("%s: account %d is %s", when, a, s)
			}
		}
		if n := e.count(`SELECT (SELECT count(*) FROM delinquency_sweeps) + (SELECT count(*) FROM suspension_batches) +
				(SELECT count(*) FROM account_status_changes) + (SELECT count(*) FROM notices)`); n != 0 {
			t.Fatalf("%s: %d rows written", when, n)
		}
	}
	checkHeld := func(r map[string]any, dry bool) {
		t.Helper()
		if r["dry_run"] != dry || r["held"] != 3.0 || r["suspended"] != 0.0 || r["examined"] != 3.0 || r["local_date"] != "2026-12-15" {
			t.Fatalf("sweep result: %v", r)
		}
		if reasons := fmt.Sprint(r["held_reasons"]); !strings.Contains(reasons, "POP north-1: 3 suspensions exceed the limit") {
			t.Fatalf("held reasons: %s", reasons)
		}
		sus := r["suspensions"].([]any)
		if len(sus) != 3 {
			t.Fatalf("suspensions: %v", sus)
		}
		for _, s := range sus {
			if s := s.(map[string]any); s["held"] != true || fmt.Sprint(s["pops"]) != "[north-1]" {
				t.Fatalf("planned suspension: %v", s)
			}
		}
	}

	// The preview (a GET, for readers) and a dry run write nothing.
	e.want(403, "POST", "/api/v1/delinquency/sweeps", readerToken, "s0", `{"account_type_id":`+typ+`}`)
	e.want(422, "GET", "/api/v1/delinquency/preview", readerToken, "", "")
	e.want(404, "GET", "/api/v1/delinquency/preview?account_type_id=4242", readerToken, "", "")
	e.want(404, "POST", "/api/v1/delinquency/sweeps", billingToken, "s1", `{"account_type_id":4242}`)
	// No account type (tollgatectl sends none for --type 0) or a negative one.
	e.want(422, "POST", "/api/v1/delinquency/sweeps", billingToken, "s-none", `{}`)
	e.want(422, "GET", "/api/v1/delinquency/preview?account_type_id=-1", readerToken, "", "")
	r := e.ok("GET", "/api/v1/delinquency/preview?account_type_id="+typ, readerToken, "", "")
	checkHeld(r, true)
	if r["held_batch_id"] != nil || r["id"] != nil {
		t.Fatalf("a preview names a sweep or batch: %v", r)
	}
	nothingWritten("after the preview")
	checkHeld(e.ok("POST", "/api/v1/delinquency/sweeps", billingToken, "s2", `{"account_type_id":`+typ+`,"dry_run":true}`), true)
	nothingWritten("after the dry run")

	// The sweep holds the three suspensions in a batch.
	r = e.ok("POST", "/api/v1/delinquency/sweeps", billingToken, "s3", `{"account_type_id":`+typ+`}`)
	checkHeld(r, false)
	batch := int64(r["held_batch_id"].(float64))
	if batch == 0 || r["trigger"] != "manual" {
		t.Fatalf("sweep: %v", r)
	}
	if n := e.count(`SELECT count(*) FROM delinquency_sweeps WHERE actor = 'user:clerk' AND trigger = 'manual'`); n != 1 {
		t.Fatalf("%d sweeps recorded as user:clerk's", n)
	}
	for _, a := range accounts {
		if s := e.status(a); s != billing.AccountDelinquent {
			t.Fatalf("held account %d is %s, want delinquent", a, s)
		}
	}
	bpath := fmt.Sprintf("/api/v1/suspension-batches/%d", batch)
	list := e.ok("GET", "/api/v1/suspension-batches?status=pending", readerToken, "", "")["items"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["pending"] != 3.0 || list[0].(map[string]any)["id"] != float64(batch) {
		t.Fatalf("pending batches: %v", list)
	}
	e.want(422, "GET", "/api/v1/suspension-batches?status=open", readerToken, "", "")
	b := e.ok("GET", bpath, readerToken, "", "")
	if items := b["items"].([]any); b["status"] != "pending" || len(items) != 3 || items[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("batch: %v", b)
	}
	st := e.ok("GET", fmt.Sprintf("/api/v1/accounts/%d/standing", accounts[0]), readerToken, "", "")
	if st["status"] != "delinquent" || st["held_in_batch"] != float64(batch) {
		t.Fatalf("standing of a held account: %v", st)
	}

	// Readers may not decide; billing approves one account, then cancels
	// the rest.
	e.want(403, "POST", bpath+"/approve", readerToken, "a0", "")
	e.want(403, "POST", bpath+"/cancel", readerToken, "c0", "")
	e.want(404, "POST", "/api/v1/suspension-batches/4242/approve", billingToken, "a1", "")
	e.want(422, "POST", bpath+"/approve", billingToken, "a2", `{"account_ids":[4242]}`)
	b = e.ok("POST", bpath+"/approve", billingToken, "a3", fmt.Sprintf(`{"account_ids":[%d]}`, accounts[0]))
	if b["status"] != "pending" || b["pending"] != 2.0 {
		t.Fatalf("batch after approving one account: %v", b)
	}
	for _, it := range b["items"].([]any) {
		it := it.(map[string]any)
		want := "pending"
		if it["account_id"] == float64(accounts[0]) {
			want = "approved"
			if it["decided_by"] != "user:clerk" {
				t.Errorf("approved by %v", it["decided_by"])
			}
		}
		if it["status"] != want {
			t.Errorf("item %v: %v, want %s", it["account_id"], it["status"], want)
		}
	}
	if s := e.status(accounts[0]); s != billing.AccountSuspended {
		t.Fatalf("approved account is %s", s)
	}
	if svc, _ := e.db.Service(ctx, services[0]); svc.DesiredState != billing.StateSuspended {
		t.Fatalf("approved account's service is %s", svc.DesiredState)
	}
	b = e.ok("POST", bpath+"/cancel", billingToken, "c1", "")
	if b["status"] != "decided" || b["pending"] != 0.0 || b["decided_by"] != "user:clerk" {
		t.Fatalf("batch after cancelling the rest: %v", b)
	}
	for i, a := range accounts[1:] {
		if s := e.status(a); s != billing.AccountDelinquent {
			t.Errorf("cancelled account %d is %s", a, s)
		}
		if svc, _ := e.db.Service(ctx, services[i+1]); svc.DesiredState != billing.StateActive {
			t.Errorf("cancelled account's service is %s", svc.DesiredState)
		}
	}
	e.want(409, "POST", bpath+"/approve", billingToken, "a4", "")
	if list := e.ok("GET", "/api/v1/suspension-batches?status=decided", readerToken, "", "")["items"].([]any); len(list) != 1 {
		t.Fatalf("decided batches: %v", list)
	}
	if list := e.ok("GET", "/api/v1/suspension-batches?status=pending", readerToken, "", "")["items"].([]any); len(list) != 0 {
		t.Fatalf("pending batches after the decision: %v", list)
	}

	// The suspension queued a notice; once sent, it can be sent again.
	ns := e.ok("GET", fmt.Sprintf("/api/v1/notices?account_id=%d", accounts[0]), readerToken, "", "")["items"].([]any)
	if len(ns) != 1 {
		t.Fatalf("notices of the suspended account: %v", ns)
	}
	n := ns[0].(map[string]any)
	if n["kind"] != "suspended" || n["status"] != "queued" || n["to"] != "sub@example.net" {
		t.Fatalf("notice: %v", n)
	}
	id := int64(n["id"].(float64))
	if err := e.db.MarkNoticeSent(ctx, id, collectionsNow); err != nil {
		t.Fatal(err)
	}
	if got := e.ok("GET", "/api/v1/notices?status=sent&kind=suspended", readerToken, "", "")["items"].([]any); len(got) != 1 {
		t.Fatalf("sent suspension notices: %v", got)
	}
	e.want(422, "GET", "/api/v1/notices?kind=letter", readerToken, "", "")
	e.want(403, "POST", fmt.Sprintf("/api/v1/notices/%d/resend", id), readerToken, "r0", "")
	e.want(404, "POST", "/api/v1/notices/4242/resend", billingToken, "r1", "")
	n = e.ok("POST", fmt.Sprintf("/api/v1/notices/%d/resend", id), billingToken, "r2", "")
	if n["status"] != "queued" || n["attempts"] != 0.0 || n["sent_at"] != nil {
		t.Fatalf("resent notice: %v", n)
	}
}

// The collections endpoints are documented only when served.
func TestCollectionsInOpenAPI(t *testing.T) {
	t.Parallel()
	e := newCollectionsEnv(t)
	doc := string(e.do("GET", "/api/v1/openapi.json", "", "", "").body)
	for _, p := range []string{"/api/v1/accounts/{id}/standing", "/api/v1/accounts/{id}/promise-to-pay", "/api/v1/delinquency/preview",
		"/api/v1/suspension-batches/{id}/approve", "/api/v1/notices/{id}/resend"} {
		if !strings.Contains(doc, `"`+p+`"`) {
			t.Errorf("the OpenAPI document lacks %s", p)
		}
	}
	plain := api.NewServer(api.Config{}, api.Deps{Services: e.db, Idempotency: e.db}, nil, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if _, ok := plain.OpenAPI().Paths["/api/v1/accounts/{id}/standing"]; ok {
		t.Error("collections served without a CollectionStore")
	}
}

// TestPaymentThroughTheAPIRestoresBeforeItReturns: the restore is in the
// enforcement outbox the moment the payment call returns.
func TestPaymentThroughTheAPIRestoresBeforeItReturns(t *testing.T) {
	e := newCollectionsEnv(t)
	a, svc := e.owingAccount("pop-r", billing.NewDate(2026, 12, 1), 4999)
	e.ok("POST", "/api/v1/delinquency/sweeps", billingToken, "sweep-1", fmt.Sprintf(`{"account_type_id": %d}`, e.typ.ID))
	if e.status(a) != billing.AccountSuspended {
		t.Fatalf("account is %s after the sweep", e.status(a))
	}
	// A partial payment leaves it suspended.
	e.ok("POST", fmt.Sprintf("/api/v1/accounts/%d/payments", a), billingToken, "pay-1", `{"method": "cash", "amount": 2000}`)
	if n := e.count(`SELECT count(*) FROM enforcement_changes WHERE service_id = $1 AND desired_state = 'active'`, svc); n != 1 {
		t.Fatalf("%d active entries after a partial payment, want only the creation's", n)
	}
	e.ok("POST", fmt.Sprintf("/api/v1/accounts/%d/payments", a), billingToken, "pay-2", `{"method": "cash", "amount": 2999}`)
	var last string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT desired_state FROM enforcement_changes WHERE service_id = $1
		ORDER BY revision DESC LIMIT 1`, svc).Scan(&last); err != nil || last != "active" {
		t.Fatalf("latest outbox entry right after the payment returned: %q %v", last, err)
	}
	if e.status(a) != billing.AccountCurrent {
		t.Fatalf("account is %s after paying the past-due amount", e.status(a))
	}
}

// TestAccountLocaleAndStandingReasons: staff set a subscriber's locale
// (an unsupported one is refused, naming it, and changes nothing); the
// standing carries the structured reasons beside the staff's precise
// sentences, and the locale the subscriber reads.
func TestAccountLocaleAndStandingReasons(t *testing.T) {
	e := newCollectionsEnv(t)
	acct, _ := e.owingAccount("pop-1", billing.NewDate(2026, 12, 1), 5311)
	base := fmt.Sprintf("/api/v1/accounts/%d", acct)
	want := func(status int, method, path, token, key, body string) response {
		t.Helper()
		r := e.do(method, path, token, key, body)
		if r.status != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, status)
		}
		return r
	}
	e.want(403, "PUT", base+"/locale", readerToken, "l0", `{"locale":"de-DE"}`)
	r := want(422, "PUT", base+"/locale", billingToken, "l1", `{"locale":"xx-YY"}`)
	if !strings.Contains(string(r.body), `locale \"xx-YY\" is not supported`) {
		t.Fatalf("refusal does not name the locale: %s", r.body)
	}
	if a, _ := e.db.Account(context.Background(), acct); a.Locale != "" {
		t.Fatalf("a refused locale changed the account: %q", a.Locale)
	}
	if m := want(200, "PUT", base+"/locale", billingToken, "l2", `{"locale":"de_de"}`).json(t); m["locale"] != "de-DE" {
		t.Fatalf("set locale: %v", m)
	}
	st := want(200, "GET", base+"/standing", readerToken, "", "").json(t)
	reasons, _ := st["reasons"].([]any)
	why, _ := st["why"].([]any)
	if st["locale"] != "de-DE" || len(reasons) == 0 || len(reasons) != len(why) {
		t.Fatalf("standing: locale %v, %d reasons, %d why lines", st["locale"], len(reasons), len(why))
	}
	first, _ := reasons[0].(map[string]any)
	if first["kind"] != "invoice_past_due" || first["amount"] != float64(5311) || first["date"] != "2026-12-01" ||
		!strings.Contains(fmt.Sprint(why[0]), "USD 53.11") {
		t.Fatalf("first reason %v, why %q", first, why[0])
	}
}
