package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// newAllocationEnv is the API with the payment and allocation endpoints at
// collectionsNow, and one account (id returned) owing two invoices of
// 50.00: INV-<n> due 2026-12-01 and another due 2027-01-01 (numbers
// returned, oldest first).
func newAllocationEnv(t *testing.T) (*env, int64, []string) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tokens := []api.Token{api.NewToken("clerk", api.RoleBilling, billingToken), api.NewToken("viewer", api.RoleReader, readerToken)}
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Allocations: db},
		tokens, clock.NewFixed(collectionsNow), slog.New(slog.DiscardHandler), nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago"}, collectionsNow)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber", Email: "sub@example.net", AccountTypeID: typ.ID, Currency: "USD"}, collectionsNow)
	if err != nil {
		t.Fatal(err)
	}
	numbers := twoInvoices(t, db, a.ID)
	return &env{t: t, url: hs.URL, db: db, logs: &syncBuffer{}}, a.ID, numbers
}

// twoInvoices issues account two invoices of 50.00 (due 2026-12-01 and
// 2027-01-01), posted to the ledger, and returns their numbers.
func twoInvoices(t *testing.T, db *postgres.DB, account int64) []string {
	t.Helper()
	ctx := context.Background()
	var numbers []string
	for _, due := range []string{"2026-12-01", "2027-01-01"} {
		var n string
		err := db.Pool.QueryRow(ctx, `WITH i AS (
				INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
					currency, subtotal, tax, total, created_at)
				SELECT n, 'INV-' || n, $1, $2::date - 14, $2::date + 16, $2::date - 14, $2, $2::date + 7, 'USD', 5000, 0, 5000, now()
				FROM nextval('invoices_id_seq') n RETURNING id, number, issue_date
			), t AS (
				INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
				SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
			), e AS (
				INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
				SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
					(VALUES (1::smallint, 'accounts_receivable', 5000::bigint), (2::smallint, 'service_revenue', -5000::bigint)) u(no, ledger, amount)
			) SELECT number FROM i`, account, due).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, n)
	}
	return numbers
}

func TestPaymentApplyToAndReallocate(t *testing.T) {
	t.Parallel()
	e, account, inv := newAllocationEnv(t)
	pay := fmt.Sprintf("/api/v1/accounts/%d/payments", account)

	// A bad choice is a 422 naming the field, and nothing is posted.
	for name, tc := range map[string]struct{ body, names string }{
		"unknown invoice": {`{"method":"cash","amount":"30.00","apply_to":[{"invoice":"INV-999","amount":"20.00"}]}`, "apply_to[0].invoice"},
		"more than due":   {`{"method":"cash","amount":"80.00","apply_to":[{"invoice":"` + inv[1] + `","amount":"50.01"}]}`, "apply_to[0].amount"},
		"bad decimal":     {`{"method":"cash","amount":"30.00","apply_to":[{"invoice":"` + inv[1] + `","amount":"1.234"}]}`, "body.apply_to[0].amount"},
		"beyond payment":  {`{"method":"cash","amount":"30.00","apply_to":[{"invoice":"` + inv[1] + `","amount":"30.01"}]}`, "apply_to[0].amount"},
	} {
		r := e.do("POST", pay, billingToken, "bad-"+name, tc.body)
		if r.status != 422 || !strings.Contains(string(r.body), tc.names) || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want a 422 problem naming %s", name, r.status, r.body, tc.names)
		}
	}
	var n int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payments`).Scan(&n)
	if n != 0 {
		t.Fatalf("refused payments posted %d", n)
	}

	// 30.00 with 20.00 ticked on the newer invoice: 10.00 pays the oldest.
	r := e.do("POST", pay, billingToken, "p1", `{"method":"cash","amount":"30.00","apply_to":[{"invoice":"`+inv[1]+`","amount":"20.00"}]}`)
	if r.status != 200 {
		t.Fatalf("payment: %d %s", r.status, r.body)
	}
	p := r.json(t)
	got := map[string]float64{}
	for _, a := range p["allocations"].([]any) {
		a := a.(map[string]any)
		got[a["invoice_number"].(string)] = a["amount"].(float64)
	}
	if got[inv[0]] != 1000 || got[inv[1]] != 2000 {
		t.Fatalf("allocations %v, want 1000 on %s and 2000 on %s", got, inv[0], inv[1])
	}
	id := int64(p["id"].(float64))
	re := fmt.Sprintf("/api/v1/payments/%d/reallocate", id)

	// Reallocation: role, field errors, then the move and its replay.
	if r := e.do("POST", re, readerToken, "r0", `{"from_invoice":"`+inv[1]+`","to_invoice":"`+inv[0]+`","amount":500}`); r.status != 403 {
		t.Errorf("reader reallocating: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/payments/999/reallocate", billingToken, "r404", `{"from_invoice":"1","to_invoice":"2","amount":1}`); r.status != 404 {
		t.Errorf("unknown payment: %d %s", r.status, r.body)
	}
	for name, tc := range map[string]struct{ body, names string }{
		"to itself":  {`{"from_invoice":"` + inv[1] + `","to_invoice":"` + inv[1] + `","amount":500}`, "to_invoice"},
		"too much":   {`{"from_invoice":"` + inv[1] + `","to_invoice":"` + inv[0] + `","amount":"20.01"}`, "amount"},
		"not paid":   {`{"from_invoice":"INV-999","to_invoice":"` + inv[0] + `","amount":500}`, "from_invoice"},
		"no to":      {`{"from_invoice":"` + inv[1] + `","amount":500}`, "to_invoice"},
		"bad amount": {`{"from_invoice":"` + inv[1] + `","to_invoice":"` + inv[0] + `","amount":"5.001"}`, "body.amount"},
	} {
		r := e.do("POST", re, billingToken, "rbad-"+name, tc.body)
		if r.status != 422 || !strings.Contains(string(r.body), tc.names) {
			t.Errorf("%s: %d %s, want 422 naming %s", name, r.status, r.body, tc.names)
		}
	}
	move := `{"from_invoice":"` + inv[1] + `","to_invoice":"` + inv[0] + `","amount":"15.00"}`
	r = e.do("POST", re, billingToken, "r1", move)
	if r.status != 200 {
		t.Fatalf("reallocate: %d %s", r.status, r.body)
	}
	again := e.do("POST", re, billingToken, "r1", move)
	if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(r.body) {
		t.Fatalf("replay: %d %q %s", again.status, again.header.Get("Idempotent-Replayed"), again.body)
	}
	if other := e.do("POST", re, billingToken, "r1", strings.Replace(move, "15.00", "1.00", 1)); other.status != 422 {
		t.Errorf("the key with another body: %d", other.status)
	}
	var events int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM allocation_events WHERE kind = 'reallocated'`).Scan(&events)
	if events != 2 {
		t.Fatalf("%d reallocation events after a move and its replay, want 2", events)
	}

	// The history: two applications and both sides of the move.
	r = e.do("GET", fmt.Sprintf("/api/v1/payments/%d/allocations", id), readerToken, "", "")
	if r.status != 200 {
		t.Fatalf("allocations: %d %s", r.status, r.body)
	}
	var lines []string
	for _, it := range r.json(t)["items"].([]any) {
		ev := it.(map[string]any)
		lines = append(lines, fmt.Sprintf("%s:%v:%s", ev["invoice_number"], ev["amount"], ev["kind"]))
	}
	want := []string{inv[1] + ":2000:applied", inv[0] + ":1000:applied", inv[1] + ":-1500:reallocated", inv[0] + ":1500:reallocated"}
	if strings.Join(lines, " ") != strings.Join(want, " ") {
		t.Fatalf("history %v, want %v", lines, want)
	}
	if r := e.do("GET", "/api/v1/payments/999/allocations", readerToken, "", ""); r.status != 404 {
		t.Errorf("history of an unknown payment: %d", r.status)
	}
	// The OpenAPI document lists both.
	doc := string(e.do("GET", "/api/v1/openapi.json", "", "", "").body)
	for _, path := range []string{"/api/v1/payments/{id}/reallocate", "/api/v1/payments/{id}/allocations", "apply_to"} {
		if !strings.Contains(doc, path) {
			t.Errorf("openapi.json does not list %s", path)
		}
	}
}

// A gateway charge's chosen invoices are paid first when it succeeds.
func TestGatewayChargeAppliedToChosenInvoices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	inv := twoInvoices(t, e.db, 1)
	tok := tokenize(t, e, "pm_card_visa")
	body := fmt.Sprintf(`{"token":%q,"kind":"card","brand":"visa","last4":"4242","exp_month":12,"exp_year":2030}`, tok["token"])
	if r := e.do("POST", "/api/v1/accounts/1/payment-methods", billingToken, "m1", body); r.status != 200 {
		t.Fatalf("add method: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/v1/accounts/1/gateway-payments", billingToken, "c0", `{"amount":"30.00","apply_to":[{"invoice":"`+inv[1]+`","amount":"30.01"}]}`)
	if r.status != 422 || !strings.Contains(string(r.body), "apply_to[0].amount") {
		t.Fatalf("chosen amounts beyond the charge: %d %s", r.status, r.body)
	}
	var attempts int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payment_attempts`).Scan(&attempts)
	if attempts != 0 {
		t.Fatalf("a refused charge wrote %d attempts", attempts)
	}
	r = e.do("POST", "/api/v1/accounts/1/gateway-payments", billingToken, "c1", `{"amount":"30.00","apply_to":[{"invoice":"`+inv[1]+`","amount":"20.00"}]}`)
	a := r.json(t)
	if r.status != 200 || a["status"] != "succeeded" || a["payment_id"] == nil {
		t.Fatalf("charge: %d %s", r.status, r.body)
	}
	p := e.do("GET", fmt.Sprintf("/api/v1/payments/%v", a["payment_id"]), readerToken, "", "").json(t)
	got := map[string]float64{}
	for _, al := range p["allocations"].([]any) {
		al := al.(map[string]any)
		got[al["invoice_number"].(string)] = al["amount"].(float64)
	}
	if got[inv[0]] != 1000 || got[inv[1]] != 2000 {
		t.Fatalf("allocations %v, want 2000 on the chosen %s and 1000 on %s", got, inv[1], inv[0])
	}
}

// TestBatchLineApplyTo: a deposit-batch line carries the invoices staff
// ticked (apply_to); a bad one is named at validation, and the batch posts
// the payment onto the ticked invoice first.
func TestBatchLineApplyTo(t *testing.T) {
	t.Parallel()
	e, _, inv := newAllocationEnv(t)
	if r := e.do("POST", "/api/v1/payment-batches", billingToken, "open", `{"deposit_date":"2026-12-05"}`); r.status != 200 {
		t.Fatalf("open batch: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/v1/payment-batches/1/lines", billingToken, "add", `{"lines":[{"account":"A-000001","method":"cash","amount":3000,"apply_to":[{"invoice":"`+inv[1]+`","amount":2000}]}]}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"apply_to":[{"invoice":"`+inv[1]+`","amount":2000}]`) {
		t.Fatalf("a line with apply_to: %d %s", r.status, r.body)
	}
	r = e.do("PUT", "/api/v1/payment-batches/1/lines/1", billingToken, "fix", `{"account":"A-000001","method":"cash","apply_to":[{"invoice":"INV-999","amount":2000}]}`)
	if r.status != 200 {
		t.Fatalf("correcting apply_to: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/payment-batches/1/validation", readerToken, "", ""); !strings.Contains(string(r.body), `"field":"apply_to"`) {
		t.Fatalf("validation of an unknown ticked invoice: %s", r.body)
	}
	e.do("PUT", "/api/v1/payment-batches/1/lines/1", billingToken, "fix2", `{"account":"A-000001","method":"cash","apply_to":[{"invoice":"`+inv[1]+`","amount":2000}]}`)
	if r := e.do("POST", "/api/v1/payment-batches/1/post", billingToken, "post", ""); r.status != 200 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	var paid0, paid1 int64
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT (SELECT paid FROM invoices WHERE number = $1), (SELECT paid FROM invoices WHERE number = $2)`, inv[0], inv[1]).Scan(&paid0, &paid1); err != nil {
		t.Fatal(err)
	}
	if paid0 != 1000 || paid1 != 2000 {
		t.Fatalf("paid %d on %s and %d on %s; want 1000 and 2000 (the ticked one first)", paid0, inv[0], paid1, inv[1])
	}
}

// A credit note's allocation events through the API: a payment pays the
// oldest invoice and a credit note of 30.00 is left unapplied; the
// payment reversed (through the API) reopens the oldest invoice, which the
// note's credit pays at once (oldest due first). GET
// /api/v1/invoices/{id}/allocations lists, for the note, the invoices it
// paid (amount, effective date, actor); for the reopened invoice, the
// payment's events and the note's; 404 for an unknown invoice.
func TestCreditNoteAllocationsListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, account, inv := newAllocationEnv(t)
	r := e.do("POST", fmt.Sprintf("/api/v1/accounts/%d/payments", account), billingToken, "p1", `{"method":"cash","amount":"50.00"}`)
	if r.status != 200 {
		t.Fatalf("payment: %d %s", r.status, r.body)
	}
	payment := int64(r.json(t)["id"].(float64))
	// A credit note of 30.00, not applied yet.
	var noteID int64
	var note string
	if err := e.db.Pool.QueryRow(ctx, `INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date,
			delinquency_date, currency, subtotal, tax, total, created_at)
		SELECT n, 'INV-' || n, $1, '2026-12-01', '2027-01-01', '2026-12-05', '2026-12-19', '2026-12-26', 'USD', -3000, 0, -3000, now()
		FROM nextval('invoices_id_seq') n RETURNING id, number`, account).Scan(&noteID, &note); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", fmt.Sprintf("/api/v1/payments/%d/reverse", payment), billingToken, "rev1", `{"reason":"nsf"}`)
	if r.status != 200 {
		t.Fatalf("reverse: %d %s", r.status, r.body)
	}
	list := func(id int64) []string {
		t.Helper()
		r := e.do("GET", fmt.Sprintf("/api/v1/invoices/%d/allocations", id), readerToken, "", "")
		if r.status != 200 {
			t.Fatalf("allocations of invoice %d: %d %s", id, r.status, r.body)
		}
		var out []string
		for _, it := range r.json(t)["items"].([]any) {
			ev := it.(map[string]any)
			from := fmt.Sprintf("payment %v", ev["payment_id"])
			if n, ok := ev["credit_note_number"]; ok {
				from = n.(string)
			}
			out = append(out, fmt.Sprintf("%s>%s:%v:%s@%s/%s", from, ev["invoice_number"], ev["amount"], ev["kind"], ev["effective_date"], ev["actor"]))
		}
		return out
	}
	var oldest int64
	if err := e.db.Pool.QueryRow(ctx, `SELECT id FROM invoices WHERE number = $1`, inv[0]).Scan(&oldest); err != nil {
		t.Fatal(err)
	}
	got := list(noteID)
	if len(got) != 1 || got[0] != note+">"+inv[0]+":3000:applied@2026-12-15/user:clerk" {
		t.Fatalf("credit note's events %v, want the reopened %s paid 3000 by the note, today (Dec 15 in Chicago), by user:clerk", got, inv[0])
	}
	got = list(oldest)
	if len(got) != 3 || !strings.HasPrefix(got[0], fmt.Sprintf("payment %d>%s:5000:applied", payment, inv[0])) ||
		!strings.HasPrefix(got[1], fmt.Sprintf("payment %d>%s:-5000:reversed", payment, inv[0])) || !strings.HasPrefix(got[2], note+">") {
		t.Fatalf("oldest invoice's events %v: want the payment applied, reversed, then the note", got)
	}
	if r := e.do("GET", "/api/v1/invoices/999999/allocations", readerToken, "", ""); r.status != 404 {
		t.Errorf("unknown invoice: %d %s", r.status, r.body)
	}
	if r := e.do("GET", fmt.Sprintf("/api/v1/invoices/%d/allocations", noteID), "", "", ""); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	if doc := string(e.do("GET", "/api/v1/openapi.json", "", "", "").body); !strings.Contains(doc, "/api/v1/invoices/{id}/allocations") {
		t.Errorf("openapi.json does not list /api/v1/invoices/{id}/allocations")
	}
}
