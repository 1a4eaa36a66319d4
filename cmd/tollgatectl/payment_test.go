package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

func TestPaymentAndBatchArgumentErrors(t *testing.T) {
	// Account 7 and payment 9 are in yen: no decimals. What the controller
	// checks (a method, an amount in the account's currency, a check's
	// number, a memo's length, a batch line) is tested there (controller/api
	// TestDecimalAmounts, TestManualPaymentIsChecked, TestBatchLinesAreChecked).
	f, url := newFakeAPI(t, map[string][]string{
		"GET /api/v1/accounts/7": {`{"id":7,"number":"A-000007","currency":"JPY"}`},
		"GET /api/v1/accounts":   {`{"items":[{"id":7,"number":"A-000007","external_id":"legacy-7","currency":"JPY"}],"next_after":0}`},
		"GET /api/v1/payments/9": {`{"id":9,"account_id":7,"method":"check","amount":5000,"currency":"JPY","status":"posted","unallocated":0}`},
	})
	csvFile := filepath.Join(t.TempDir(), "deposit.csv")
	if err := os.WriteFile(csvFile, []byte("account,amount\nA-000007,100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		frag string
	}{
		{[]string{"payment", "add", "7", "--method", "cash"}, `required flag(s) "amount" not set`},
		{[]string{"payment", "add", "--method", "cash", "--amount", "5"}, `accepts 1 arg(s), received 0`},
		{[]string{"payment", "add", "0", "--method", "cash", "--amount", "5"}, `account id "0" is not a positive number`},
		{[]string{"payment", "add", "A-000404", "--method", "cash", "--amount", "5"}, `account "A-000404": no account has this number or external id`},
		{[]string{"payment", "list", "--account", "-1"}, `--account -1 is not an account id`},
		{[]string{"payment", "show", "x"}, `payment id "x" is not a positive number`},
		{[]string{"payment", "reverse", "9"}, `required flag(s) "reason" not set`},
		{[]string{"batch", "open"}, `required flag(s) "date" not set`},
		{[]string{"batch", "show", "0"}, `batch id "0" is not a positive number`},
		{[]string{"batch", "add", "3", "--amount", "5"}, `required flag(s) "account" not set`},
		{[]string{"batch", "fix", "3", "2"}, `nothing to change`},
		{[]string{"batch", "fix", "3", "x", "--amount", "1"}, `line id "x" is not a positive number`},
		{[]string{"batch", "remove", "3"}, `accepts 2 arg(s), received 1`},
		{[]string{"batch", "validate", "abc"}, `batch id "abc" is not a positive number`},
		{[]string{"batch", "post", "-1"}, `unknown shorthand flag`},
		{[]string{"batch", "import", "/nonexistent/deposit.csv"}, `no such file`},
		{[]string{"batch", "import", csvFile, "--idempotency-key", strings.Repeat("k", 201)}, `--idempotency-key is longer than 200 characters`},
	} {
		_, _, err := run(t, url, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.frag) {
			t.Errorf("tollgatectl %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.frag)
		}
	}
	for _, c := range f.calls() {
		if c.method != http.MethodGet {
			t.Errorf("a command with bad arguments sent %s %s", c.method, c.path)
		}
	}
}

// TestBatchImportSendsTheFileAndStableKeys checks an import's requests: the
// file goes to the controller as it is (it parses and checks it), and a
// re-run repeats every key.
func TestBatchImportSendsTheFileAndStableKeys(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"POST /api/v1/payment-batches":          {`{"id":5,"status":"open","lines":[]}`},
		"GET /api/v1/payment-batches/5":         {`{"id":5,"status":"open","lines":[]}`},
		"POST /api/v1/payment-batches/5/import": {`{"batch_id":5,"rows":2,"added":2,"first_line":1,"errors":[],"warnings":[]}`},
	})
	file := "account,method,amount,reference\nA-000007,check,1500,88\nlegacy-7,cash,20,\n"
	path := filepath.Join(t.TempDir(), "lockbox.csv")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if out, _, err := run(t, url, "batch", "import", path, "--date", "2025-03-03", "--deposit-account", "First Bank ****1234"); err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
	}
	keys := map[string][]string{}
	for _, c := range f.calls() {
		if c.method == http.MethodGet {
			continue
		}
		keys[c.path] = append(keys[c.path], c.key)
		switch c.path {
		case "/api/v1/payment-batches":
			if want := `{"deposit_date":"2025-03-03","deposit_account":"First Bank ****1234"}`; string(bytes.TrimSpace(c.body)) != want {
				t.Errorf("open sent %s, want %s", c.body, want)
			}
		case "/api/v1/payment-batches/5/import":
			if string(c.body) != file {
				t.Errorf("import sent %q, want the file %q", c.body, file)
			}
		}
	}
	for path, ks := range keys {
		if len(ks) != 2 || ks[0] != ks[1] || !strings.HasPrefix(ks[0], "batch-import-") {
			t.Errorf("%s sent keys %q; want the same derived key twice", path, ks)
		}
	}
	if len(keys) != 2 {
		t.Errorf("requests that change something: %v; want open and import (no --post)", keys)
	}
}

// newPaymentController serves the admin API with payments on a fresh
// database: account type "residential" (billing on the 1st, 5 days ahead),
// plan "Fiber 100" (USD 49.99 a month), Jane (legacy-1) billed for
// December 2025 and January 2026, and Bob (legacy-2) with nothing due.
func newPaymentController(t *testing.T) (db *postgres.DB, url string, jane, bob billing.Account, invoices []billing.Invoice) {
	t.Helper()
	ctx, now := context.Background(), time.Now()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Allocations: db},
		[]api.Token{api.NewToken("root", api.RoleAdmin, "test-token"), api.NewToken("viewer", api.RoleReader, "reader-token")},
		clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, TimeZone: "America/Chicago"}, now)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 4999, Currency: "USD", Interval: billing.IntervalMonthly}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range []*billing.Account{&jane, &bob} {
		name := []string{"Jane Doe", "Bob Smith"}[i]
		if *a, _, err = db.CreateAccount(ctx, billing.NewAccount{Name: name, AccountTypeID: typ.ID, Currency: "USD",
			ExternalID: fmt.Sprintf("legacy-%d", i+1)}, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateService(ctx, billing.NewService{POP: "north-1", Binding: billing.Binding{Method: "log"},
		AccountID: &jane.ID, PlanID: &plan.ID, StartDate: billing.NewDate(2025, 12, 1)}, "test", now); err != nil {
		t.Fatal(err)
	}
	var runID int64
	var batches int
	if err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		r, _, err := postgres.CreateBillingRunTx(ctx, tx, typ.ID, billing.NewDate(2025, 12, 27), billing.TriggerOnDemand, "test", 10, now)
		runID, batches = r.ID, r.TotalBatches
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for b := range batches {
		if _, err := db.RunBillingBatch(ctx, runID, b, now); err != nil {
			t.Fatal(err)
		}
	}
	if invoices, err = db.Invoices(ctx, billing.InvoiceFilter{AccountID: jane.ID}); err != nil || len(invoices) != 2 ||
		invoices[0].Total != 4999 || invoices[1].Total != 4999 {
		t.Fatalf("Jane's invoices: %+v %v", invoices, err)
	}
	return db, hs.URL, jane, bob, invoices
}

func queryInt(t *testing.T, db *postgres.DB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// cli runs commands against url, failing the test on an error.
type cli struct {
	t   *testing.T
	url string
}

func (c cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, err := run(c.t, c.url, args...)
	if err != nil {
		c.t.Fatalf("tollgatectl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// fails runs a command that must fail with an error containing frag.
func (c cli) fails(frag string, args ...string) string {
	c.t.Helper()
	out, _, err := run(c.t, c.url, args...)
	if err == nil || !strings.Contains(err.Error(), frag) {
		c.t.Fatalf("tollgatectl %s: error %v, want one containing %q\n%s", strings.Join(args, " "), err, frag, out)
	}
	return out
}

func expectOut(t *testing.T, out string, frags ...string) {
	t.Helper()
	for _, f := range frags {
		if !strings.Contains(out, f) {
			t.Errorf("output lacks %q:\n%s", f, out)
		}
	}
}

// expectRow checks that out has a line starting with these cells (of a
// table), separated by blanks.
func expectRow(t *testing.T, out string, cells ...string) {
	t.Helper()
	quoted := make([]string, len(cells))
	for i, c := range cells {
		quoted[i] = regexp.QuoteMeta(c)
	}
	if !regexp.MustCompile(`(?m)^` + strings.Join(quoted, `[ \t]+`) + `([ \t]|$)`).MatchString(out) {
		t.Errorf("output lacks the row %q:\n%s", cells, out)
	}
}

func TestPaymentCommandsEndToEnd(t *testing.T) {
	db, url, jane, _, invs := newPaymentController(t)
	c := cli{t, url}
	id := jsonInt(jane.ID)

	// A check for more than the oldest invoice pays it and part of the next.
	out := c.ok("payment", "add", id, "--method", "check", "--amount", "60.00", "--reference", "1001", "--payer", "Jane Doe")
	expectOut(t, out, "A-000001 Jane Doe (id "+id+")", "USD 60.00", "Unapplied credit: USD 0.00")
	expectRow(t, out, invs[0].Number, jsonInt(invs[0].ID), "USD", "49.99")
	expectRow(t, out, invs[1].Number, jsonInt(invs[1].ID), "USD", "10.01")
	p1 := jsonInt(queryInt(t, db, `SELECT max(id) FROM payments`))

	// Cash by external id: the rest of the second invoice, the remainder is
	// credit.
	out = c.ok("payment", "add", "legacy-1", "--method", "cash", "--amount", "50", "--date", "2026-01-05", "--memo", "front desk")
	expectRow(t, out, invs[1].Number, jsonInt(invs[1].ID), "USD", "39.98")
	expectOut(t, out, "Received:", "2026-01-05", "Unapplied credit: USD 10.02 (stays on the account")
	p2 := jsonInt(queryInt(t, db, `SELECT max(id) FROM payments`))

	// Refunds come out of the credit only.
	expectOut(t, c.ok("payment", "refund", p2, "--amount", "5.00", "--memo", "refund check 5521"),
		"refunded USD 5.00 of payment "+p2+"; its unapplied credit is now USD 5.02")
	c.fails("more than payment "+p2+"'s unapplied credit (USD 5.02)", "payment", "refund", p2, "--amount", "6.00")

	// The check bounces: its invoices reopen, the remaining credit goes to
	// the oldest, and the fee is charged.
	out = c.ok("payment", "reverse", p1, "--reason", "nsf", "--fee", "25.00", "--memo", "returned by First Bank")
	expectOut(t, out, "payment "+p1+" (USD 60.00) reversed: nsf",
		"the invoices it paid are open again: "+invs[0].Number+" (USD 49.99), "+invs[1].Number+" (USD 10.01)",
		"returned-payment fee of USD 25.00 charged to the account", "Status:", "reversed on", "(nsf: returned by First Bank)")
	c.fails("409", "payment", "reverse", p1, "--reason", "nsf")
	// 99.98 billed - 60 - 50 paid + 5 refunded + 60 reversed + 25 fee.
	expectOut(t, c.ok("account", "show", id), "Balance:", "USD 79.98")
	expectRow(t, c.ok("payment", "show", p2), invs[0].Number, jsonInt(invs[0].ID), "USD", "5.02")

	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	out = c.ok("payment", "list", "--account", id)
	expectRow(t, out, p1, id, billing.DateIn(time.Now(), chicago).String(), "check", "1001", "Jane Doe", "USD", "60.00", "-", "reversed", "-")
	expectRow(t, out, p2, id, "2026-01-05", "cash", "-", "-", "USD", "50.00", "5.00", "posted", "-")
}

func TestBatchCommandsEndToEnd(t *testing.T) {
	db, url, jane, bob, _ := newPaymentController(t)
	c := cli{t, url}
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	count := func(table string) int64 { return queryInt(t, db, `SELECT count(*) FROM `+table) }
	memo := "\"front\ndesk\"" // a quoted memo on two lines: the file's lines and the batch's differ

	// Every problem is the controller's to find; a refused file adds
	// nothing, and the batch it opened stays open and empty.
	tooPrecise := write("precise.csv", "account,amount,reference\n"+jane.Number+",12.345,1001\n")
	out := c.fails("1 problem(s); nothing was added to batch 1", "batch", "import", tooPrecise, "--date", "2026-01-05",
		"--deposit-account", "First Bank ****1234")
	expectRow(t, out, "2", "amount", `amount "12.345" has 3 decimal places but USD has 2`)
	bad := write("bad.csv", "account,method,amount,reference,payer,memo\n"+
		jane.Number+",check,50.00,2001,Jane Doe,"+memo+"\n"+ // lines 2-3
		"A-999999,check,20.00,2002,Nobody,\n"+ // 4
		"legacy-2,cash,25.00,,Bob,\n"+ // 5
		"legacy-2,cash,2.5.0,,Bob,\n") // 6
	out = c.fails("2 problem(s); nothing was added to batch 1", "batch", "import", bad, "--batch", "1", "--post")
	expectRow(t, out, "4", "account", `no account has the number, external id or id "A-999999"`)
	expectRow(t, out, "6", "amount", `amount "2.5.0" is not a decimal number like 49.99`)
	if n, p := count("payment_batch_lines"), count("payments"); n != 0 || p != 0 {
		t.Fatalf("refused files added %d line(s), %d payment(s)", n, p)
	}

	// The corrected file, into the same batch, posted: totals by method.
	good := write("good.csv", strings.Replace(strings.Replace(readString(t, bad), "A-999999", bob.Number, 1), "legacy-2,cash,2.5.0,,Bob,\n", "", 1))
	out = c.ok("batch", "import", good, "--batch", "1", "--post")
	expectOut(t, out, "posted batch 1: 3 payment(s) from "+good+", received on 2026-01-05", "Deposit account:", "First Bank ****1234",
		"Total:", "USD 95.00")
	expectRow(t, out, "check", "2", "USD", "70.00")
	expectRow(t, out, "cash", "1", "USD", "25.00")
	expectRow(t, out, "all", "3", "USD", "95.00")
	if n, sum := count("payments"), queryInt(t, db, `SELECT sum(amount) FROM payments WHERE batch_id = 1`); n != 3 || sum != 9500 {
		t.Fatalf("posted %d payments totalling %d; want 3 totalling 9500", n, sum)
	}
	if memo := queryInt(t, db, `SELECT count(*) FROM payments WHERE memo = E'front\ndesk'`); memo != 1 {
		t.Errorf("the two-line memo: %d payments carry it", memo)
	}
	// Running the same import again enters nothing twice.
	_, errOut, err := run(t, url, "batch", "import", good, "--batch", "1", "--post")
	if err != nil || !strings.Contains(errOut, "already imported and posted as batch 1") || count("payments") != 3 || count("payment_batches") != 1 {
		t.Fatalf("re-import: %v %s; %d payments", err, errOut, count("payments"))
	}
	expectRow(t, c.ok("payment", "list", "--batch", "1"), "2", jsonInt(bob.ID), "2026-01-05", "check", "2002", "Nobody", "USD", "20.00", "-", "posted", "1")

	// A batch entered by hand: the warning that Jane's check was posted by
	// batch 1; fixed, a line removed, posted.
	expectOut(t, c.ok("batch", "open", "--date", "2026-01-05"), "opened batch 2")
	out = c.ok("batch", "add", "2", "--account", jane.Number, "--amount", "50.00", "--reference", "2001")
	expectOut(t, out, "check 2001 from this payer was already posted as payment 1")
	c.ok("batch", "add", "2", "--account", bob.Number, "--amount", "20.00", "--reference", "3002")
	c.ok("batch", "add", "2", "--account", "legacy-2", "--amount", "25.00", "--method", "cash")
	out = c.ok("batch", "validate", "2")
	expectRow(t, out, "1", "reference", "warning", "check 2001 from this payer was already posted as payment 1")
	c.ok("batch", "fix", "2", "1", "--reference", "3001", "--amount", "51.5")
	expectOut(t, c.ok("batch", "remove", "2", "3"), "removed line 3 of batch 2; it has 2 payment(s) left")
	expectOut(t, c.ok("batch", "validate", "2"), "batch 2: no errors or warnings; it can be posted")
	out = c.ok("batch", "post", "2")
	expectOut(t, out, "posted batch 2: 2 payment(s) received on 2026-01-05")
	expectRow(t, out, "check", "2", "USD", "71.50")
	c.fails("409", "batch", "fix", "2", "1", "--memo", "too late")

	// Entering a deposit by hand.
	out = c.ok("batch", "open", "--date", "2026-01-06", "--memo", "front desk")
	expectOut(t, out, "opened batch 3 for the deposit of 2026-01-06")
	c.fails(`account "A-404": no account has this number, external id or id`, "batch", "add", "3", "--account", "A-404", "--amount", "5", "--reference", "1")
	out = c.ok("batch", "add", "3", "--account", "legacy-1", "--amount", "10.00", "--reference", "3001")
	expectOut(t, out, "added line 1 of batch 3: legacy-1 ("+jane.Number+" Jane Doe), check 3001, USD 10.00",
		"line 1, reference: check 3001 from this payer was already posted as payment")
	out = c.ok("batch", "list")
	expectRow(t, out, "3", "2026-01-06", "-", "open", "1", "USD", "10.00")
	expectOut(t, c.ok("batch", "list", "--status", "posted"), "First Bank ****1234", "USD 95.00", "USD 71.50")
	out = c.ok("-o", "json", "batch", "show", "3")
	var b billing.PaymentBatch
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.Count != 1 || b.Lines[0].AccountID != jane.ID || b.Lines[0].Amount != 1000 {
		t.Fatalf("batch show -o json: %v\n%s", err, out)
	}
}

// TestBatchImportLargeFile imports a lockbox file of 1,200 rows in one
// request.
func TestBatchImportLargeFile(t *testing.T) {
	db, url, jane, bob, _ := newPaymentController(t)
	var f strings.Builder
	f.WriteString("account,method,amount\n")
	for i := range 1200 {
		fmt.Fprintf(&f, "%s,cash,%d.%02d\n", []string{jane.Number, bob.Number}[i%2], 1+i%7, i%100)
	}
	path := filepath.Join(t.TempDir(), "lockbox.csv")
	if err := os.WriteFile(path, []byte(f.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, url, "batch", "import", path, "--date", "2026-01-05", "--post")
	if err != nil {
		t.Fatalf("import: %v\n%s%s", err, out, errOut)
	}
	want := queryInt(t, db, `SELECT sum(amount) FROM payments`)
	expectOut(t, out, "posted batch 1: 1,200 payment(s)")
	expectRow(t, out, "all", "1,200", "USD", billing.FormatAmount(want, "USD"))
	if n := queryInt(t, db, `SELECT count(*) FROM payments WHERE batch_id = 1`); n != 1200 {
		t.Fatalf("%d payments posted, want 1200", n)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
