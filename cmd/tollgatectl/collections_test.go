package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
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

// collectionsNow is Tuesday 2026-12-15, noon in Chicago.
var collectionsNow = time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC)

// newCollectionsController serves the admin API with the collections
// endpoints on a fresh database at collectionsNow, with a guard that holds
// more than one suspension at a POP: account type 1 "residential"
// (auto-suspends, 7 days' grace) and two accounts, each with a service at
// north-1 and an invoice of USD 49.99 due 2026-12-01 (delinquent since
// 2026-12-08). "test-token" is an admin's, "reader-token" a reader's.
func newCollectionsController(t *testing.T) (db *postgres.DB, url string, accounts []billing.Account) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(api.Config{SuspensionGuard: billing.SuspensionGuard{MinServices: 1}},
		api.Deps{Services: db, Idempotency: db, Billing: db, Collections: db, Accounts: db, AccountClose: db},
		[]api.Token{api.NewToken("root", api.RoleAdmin, "test-token"), api.NewToken("viewer", api.RoleReader, "reader-token")},
		clock.NewFixed(collectionsNow), quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago", AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue}, collectionsNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Jane Doe", "Bob Smith"} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: name, Email: "sub@example.net", AccountTypeID: typ.ID, Currency: "USD"}, collectionsNow)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateService(ctx, billing.NewService{POP: "north-1", Name: name, Binding: billing.Binding{Method: "log"}, AccountID: &a.ID},
			"test", collectionsNow); err != nil {
			t.Fatal(err)
		}
		// An invoice and its journal transaction: the ledger balance is what
		// is owed.
		if _, err := db.Pool.Exec(ctx, `WITH i AS (
				INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
					currency, subtotal, tax, total, created_at)
				SELECT n, 'INV-' || n, $1, '2026-11-17', '2026-12-17', '2026-11-17', '2026-12-01', '2026-12-08', 'USD', 4999, 0, 4999, now()
				FROM nextval('invoices_id_seq') n RETURNING id, issue_date
			), t AS (
				INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
				SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
			)
			INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
				(VALUES (1::smallint, 'accounts_receivable', 4999), (2::smallint, 'service_revenue', -4999)) u(no, ledger, amount)`, a.ID); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, a)
	}
	return db, hs.URL, accounts
}

func TestCollectionCommandsEndToEnd(t *testing.T) {
	db, url, accts := newCollectionsController(t)
	c := cli{t, url}
	jane, bob := jsonInt(accts[0].ID), jsonInt(accts[1].ID)

	// Standing before any sweep: owed, past its delinquency date.
	out := c.ok("account", "standing", jane)
	expectOut(t, out, "Account:", "A-000001 (id "+jane+")", "Status:", "current", "Balance:", "USD 49.99", "Past due:",
		"Delinquency date:", "2026-12-08", "Promise to pay:", "Exempt:", "no",
		"Why:\n  - Invoice INV-1 for USD 49.99 was due on Tue 2026-12-01.", "  - The next delinquency sweep will suspend its services",
		"Services:", "DESIRED", "OBSERVED", "LAST CONFIRMED")
	expectRow(t, out, "1", "north-1", "active", "-", "never")

	// The preview and the dry run show the held suspensions and change
	// nothing; readers may preview.
	out = c.ok("--token", "reader-token", "sweep", "preview", "--type", "1")
	expectOut(t, out, "Dry run of the delinquency sweep of account type 1 for 2026-12-15: nothing was changed.",
		"Held for approval:", "2 accounts (a suspension batch would hold them for approval)",
		"Held by the blast-radius guard:", "POP north-1: 2 suspensions exceed the limit", "Suspensions:")
	expectRow(t, out, jane, "A-000001", "1", "north-1", "yes")
	c.fails("403", "--token", "reader-token", "sweep", "run", "--type", "1")
	c.ok("sweep", "run", "--type", "1", "--dry-run")
	if n := queryInt(t, db, `SELECT count(*) FROM suspension_batches`); n != 0 {
		t.Fatalf("the dry run wrote %d suspension batches", n)
	}

	// The sweep holds both in a batch (the dry runs used up ids).
	out = c.ok("sweep", "run", "--type", "1")
	sweep, batch := jsonInt(queryInt(t, db, `SELECT id FROM delinquency_sweeps`)), jsonInt(queryInt(t, db, `SELECT id FROM suspension_batches`))
	expectOut(t, out, "Delinquency sweep "+sweep+" of account type 1 for 2026-12-15 (manual).", "Status changes:", "2",
		"2 accounts in suspension batch "+batch, "Review with: tollgatectl suspensions show "+batch)
	expectRow(t, c.ok("suspensions", "list", "--status", "pending"), batch, sweep, "pending", "2")
	out = c.ok("suspensions", "show", batch)
	expectOut(t, out, "Suspension batch:", batch+" (sweep "+sweep+")", "pending, 2 of 2 accounts pending", "Held because:", "POP north-1")
	expectRow(t, out, jane, "A-000001", "pending", "1", "north-1", "-")
	expectOut(t, c.ok("account", "standing", jane), "delinquent", "Suspension held:", "in suspension batch "+batch)

	// Readers may not approve; an admin approves Jane, then cancels Bob.
	c.fails("403", "--token", "reader-token", "suspensions", "approve", batch)
	out = c.ok("suspensions", "approve", batch, "--account", jane)
	expectOut(t, out, "suspension batch "+batch+": of the accounts named, 1 approved; 1 still pending in the batch")
	expectRow(t, out, jane, "A-000001", "approved", "1", "north-1", "user:root")
	expectRow(t, out, bob, "A-000002", "pending")
	out = c.ok("account", "standing", jane)
	expectOut(t, out, "suspended")
	expectRow(t, out, "1", "north-1", "suspended", "-", "never")
	expectOut(t, out, "account A-000001 delinquent: USD 49.99 past its delinquency date 2026-12-08 (approved by user:root)")
	out = c.ok("suspensions", "cancel", batch)
	expectOut(t, out, "1 approved, 1 cancelled; the batch is decided")
	c.fails("409", "suspensions", "approve", batch)

	// A promise to pay restores Jane at once; an exemption holds Bob.
	out = c.ok("account", "promise", jane, "--until", "2026-12-22", "--note", "pays Friday")
	expectOut(t, out, "account A-000001: promise to pay recorded until 2026-12-22; status past_due", "until 2026-12-22 (pays Friday)")
	expectRow(t, out, "1", "north-1", "active")
	c.fails("is in the past", "account", "promise", jane, "--until", "2026-12-01")
	out = c.ok("account", "promise", jane, "--clear")
	expectOut(t, out, "promise to pay cleared")
	expectRow(t, out, "Promise to pay:", "-")
	expectOut(t, c.ok("account", "exempt", bob, "--reason", "county hospital"), "exempt from suspension; status past_due", "yes (county hospital)")
	expectOut(t, c.ok("account", "exempt", bob, "--clear"), "exemption ended", "Exempt:")

	out = c.ok("account", "history", jane)
	expectOut(t, out, "KIND", "WHAT", "ACTOR", "promise to pay until 2026-12-22: pays Friday", "(sweep "+sweep+")", "user:root")
	expectOut(t, c.ok("account", "history", bob), "exemption", "exempt from suspension: county hospital", "exemption ended")

	// Notices: Jane's suspension and restore; resend one once sent.
	out = c.ok("notices", "list", "--account", jane)
	expectOut(t, out, "suspended", "restored", "sub@example.net")
	var id int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT min(id) FROM notices WHERE account_id = $1`, accts[0].ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkNoticeSent(context.Background(), id, collectionsNow); err != nil {
		t.Fatal(err)
	}
	expectRow(t, c.ok("notices", "list", "--status", "sent"), jsonInt(id), jane, "suspended", "sent")
	expectOut(t, c.ok("notices", "resend", jsonInt(id)), "notice "+jsonInt(id)+" (suspended to sub@example.net) is queued")
	if n := queryInt(t, db, `SELECT count(*) FROM notices WHERE status = 'sent'`); n != 0 {
		t.Fatalf("%d notices still sent after the resend", n)
	}
}

func TestCollectionCommandsSend(t *testing.T) {
	standing := `{"account_id":7,"number":"A-000007","status":"past_due","currency":"USD","why":["x"],"services":[]}`
	batch := `{"id":3,"sweep_id":1,"status":"pending","reasons":[],"pending":1,"items":[]}`
	f, url := newFakeAPI(t, map[string][]string{
		"PUT /api/v1/accounts/7/promise-to-pay":     {standing},
		"DELETE /api/v1/accounts/7/promise-to-pay":  {standing},
		"PUT /api/v1/accounts/7/exemption":          {standing},
		"DELETE /api/v1/accounts/7/exemption":       {standing},
		"POST /api/v1/suspension-batches/3/approve": {batch},
		"POST /api/v1/suspension-batches/3/cancel":  {batch},
		"POST /api/v1/delinquency/sweeps":           {`{"account_type_id":2,"local_date":"2026-12-15","dry_run":true,"suspensions":[]}`},
		"GET /api/v1/delinquency/preview":           {`{"account_type_id":2,"local_date":"2026-12-15","dry_run":true,"suspensions":[]}`},
	})
	for _, args := range [][]string{
		{"account", "promise", "7", "--until", "2026-12-22", "--note", " by phone "},
		{"account", "promise", "7", "--clear"},
		{"account", "exempt", "7", "--reason", "hospital"},
		{"account", "exempt", "7", "--clear"},
		{"suspensions", "approve", "3", "--account", "4", "--account", "5,6"},
		{"suspensions", "cancel", "3"},
		{"sweep", "run", "--type", "2", "--dry-run", "--idempotency-key", "k-sweep"},
		{"sweep", "preview", "--type", "2"},
	} {
		if out, _, err := run(t, url, args...); err != nil {
			t.Fatalf("tollgatectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	want := []struct{ method, path, query, body string }{
		{"PUT", "/api/v1/accounts/7/promise-to-pay", "", `{"note":"by phone","until":"2026-12-22"}`},
		{"DELETE", "/api/v1/accounts/7/promise-to-pay", "", ``},
		{"PUT", "/api/v1/accounts/7/exemption", "", `{"reason":"hospital"}`},
		{"DELETE", "/api/v1/accounts/7/exemption", "", ``},
		{"POST", "/api/v1/suspension-batches/3/approve", "", `{"account_ids":[4,5,6]}`},
		{"POST", "/api/v1/suspension-batches/3/cancel", "", ``},
		{"POST", "/api/v1/delinquency/sweeps", "", `{"account_type_id":2,"dry_run":true}`},
		{"GET", "/api/v1/delinquency/preview", "account_type_id=2", ``},
	}
	calls := f.calls()
	if len(calls) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(calls), len(want), calls)
	}
	for i, w := range want {
		c := calls[i]
		if c.method != w.method || c.path != w.path || c.query != w.query || string(bytes.TrimSpace(c.body)) != w.body {
			t.Errorf("request %d: %s %s?%s %s; want %s %s?%s %s", i, c.method, c.path, c.query, c.body, w.method, w.path, w.query, w.body)
		}
		if (c.method == http.MethodGet) != (c.key == "") {
			t.Errorf("request %d (%s %s): Idempotency-Key %q", i, c.method, c.path, c.key)
		}
		if c.path == "/api/v1/delinquency/sweeps" && c.key != "k-sweep" {
			t.Errorf("--idempotency-key not sent: %q", c.key)
		}
	}
}

func TestCollectionCommandArgumentErrors(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{})
	for _, tc := range []struct {
		args []string
		frag string
	}{
		{[]string{"account", "standing", "0"}, `account id "0" is not a positive number`},
		{[]string{"account", "history"}, `accepts 1 arg(s), received 0`},
		// A blank --reason and --type 0 are the controller's to refuse
		// (controller/api TestAccountStandingPromiseAndExemption,
		// TestSweepPreviewHeldBatchApproval).
		{[]string{"account", "promise", "7"}, `at least one of the flags in the group [until clear] is required`},
		{[]string{"account", "promise", "7", "--clear", "--until", "2026-12-22"}, `[clear until] were all set`},
		{[]string{"account", "promise", "7", "--clear", "--note", "x"}, `[clear note] were all set`},
		{[]string{"account", "exempt", "7"}, `at least one of the flags in the group [reason clear] is required`},
		{[]string{"account", "exempt", "7", "--clear", "--reason", "x"}, `[clear reason] were all set`},
		{[]string{"sweep", "run"}, `required flag(s) "type" not set`},
		{[]string{"sweep", "preview"}, `required flag(s) "type" not set`},
		{[]string{"suspensions", "show", "0"}, `suspension batch id "0" is not a positive number`},
		{[]string{"suspensions", "approve", "3", "--account", "0"}, `--account 0 is not an account id`},
		{[]string{"suspensions", "cancel", "3", "--account", "-3"}, `--account -3 is not an account id`},
		{[]string{"notices", "resend", "abc"}, `notice id "abc" is not a positive number`},
	} {
		_, _, err := run(t, url, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.frag) {
			t.Errorf("tollgatectl %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.frag)
		}
	}
	if calls := f.calls(); len(calls) != 0 {
		t.Errorf("commands with bad arguments sent %+v", calls)
	}
}

// TestAccountLocaleCommand: staff set the locale a subscriber reads; the
// account shows it; the controller refuses an unsupported one.
func TestAccountLocaleCommand(t *testing.T) {
	_, url, accts := newCollectionsController(t)
	c := cli{t, url}
	jane := jsonInt(accts[0].ID)
	expectOut(t, c.ok("account", "locale", jane, "de_DE"), "Locale:", "de-DE")
	expectOut(t, c.ok("account", "show", jane), "de-DE")
	c.fails(`locale "klingon" is not supported (supported: en-US, en-CA, en-GB, de-DE, de-AT)`, "account", "locale", jane, "klingon")
	out := c.ok("account", "locale", jane, "")
	if strings.Contains(out, "de-DE") {
		t.Fatalf("locale not cleared:\n%s", out)
	}
}
