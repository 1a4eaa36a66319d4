package console_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// batchAccounts creates n USD accounts (A-000001…) named "Subscriber i";
// the first gets two open invoices of 50.00 (due 2026-12-01 and
// 2027-01-01, numbers returned oldest first).
func (e *env) batchAccounts(n int) []string {
	e.t.Helper()
	ctx := context.Background()
	typ := e.residentialType()
	var first int64
	for i := range n {
		a, _, err := e.db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber " + string(rune('A'+i)), Email: "sub@example.net",
			AccountTypeID: typ.ID, Currency: "USD"}, testNow)
		if err != nil {
			e.t.Fatal(err)
		}
		if i == 0 {
			first = a.ID
		}
	}
	var numbers []string
	for _, due := range []string{"2026-12-01", "2027-01-01"} {
		var num string
		err := e.db.Pool.QueryRow(ctx, `WITH i AS (
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
			) SELECT number FROM i`, first, due).Scan(&num)
		if err != nil {
			e.t.Fatal(err)
		}
		numbers = append(numbers, num)
	}
	return numbers
}

func (e *env) batchLines(id string) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payment_batch_lines WHERE batch_id = $1`, id).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

var batchLocRE = regexp.MustCompile(`^/staff/batches/(\d+)$`)

func mustContain(t *testing.T, what string, p page, status int, want ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d:\n%s", what, p.status, status, p.body)
	}
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Fatalf("%s: the page does not say %q:\n%s", what, w, p.body)
		}
	}
}

// TestBatchEntryWithoutJavaScript: with plain form posts a clerk opens a
// batch with its control figures, picks an account by typing its number
// (the snapshot with its open invoices appears), adds a line applied to a
// ticked invoice, adds more, sees the running total and the difference,
// gets a duplicate-check warning and an invalid amount refused naming the
// field (nothing added), validates, confirms and posts, and downloads the
// deposit slip as a PDF. The ticked invoice is the one paid.
func TestBatchEntryWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	inv := e.batchAccounts(3)
	b := e.signIn(e.addStaff("clara", staff.RoleBilling, false))

	p := b.post("/batches", "/batches", url.Values{"control_count": {""}, "control_total": {"abc"}, "deposit_date": {"2026-12-15"}})
	mustContain(t, "open with bad control figures", p, http.StatusUnprocessableEntity, "The control count must be", "The control total must be", `id="control_count" name="control_count"`)
	p = b.post("/batches", "/batches", url.Values{"control_count": {"4"}, "control_total": {"180.00"}, "deposit_date": {"2026-12-15"}, "deposit_account": {"First Bank 000123456"}})
	m := batchLocRE.FindStringSubmatch(p.location)
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("open batch: %d %q\n%s", p.status, p.location, p.body)
	}
	id, path := m[1], "/batches/"+m[1]
	mustContain(t, "the new batch", b.get(path), http.StatusOK, "4 payments · 180.00", `id="account"`, "autofocus")

	// Enter in the account field: the account is picked, its snapshot shown.
	p = b.post(path, path+"/lines", url.Values{"account": {"a-000001"}, "go": {"enter"}})
	mustContain(t, "picking A-000001", p, http.StatusOK, "A-000001 · Subscriber A", "starting on day 1 of the month", inv[0], inv[1], `name="selected" value="A-000001"`, `id="invoice-0"`)
	if e.batchLines(id) != 0 {
		t.Fatal("picking an account added a line")
	}
	// The line, paying the newer invoice first.
	form := url.Values{"account": {"A-000001"}, "selected": {"A-000001"}, "invoice": {inv[1]}, "method": {"check"}, "reference": {"1001"}, "payer": {"Ann"}, "amount": {"50.00"}}
	form.Set("csrf", field(t, p.body, "csrf"))
	form.Set("idem", field(t, p.body, "idem"))
	p = b.do(http.MethodPost, path+"/lines", form)
	mustContain(t, "line 1", p, http.StatusOK, "Line 1: Check 50.00 from A-000001", "1 payments · 50.00", "130.00 still to enter, 3 payments", inv[1])
	if !strings.Contains(p.body, `id="account" name="account" value=""`) || !regexp.MustCompile(`id="account"[^>]*autofocus`).MatchString(p.body) {
		t.Fatalf("after adding, the account field is empty and has the focus:\n%s", p.body)
	}
	// The same form posted again (a double click, a reload) adds nothing.
	if p2 := b.do(http.MethodPost, path+"/lines", form); p2.status != http.StatusOK || e.batchLines(id) != 1 {
		t.Fatalf("a double-posted add: %d, %d lines\n%s", p2.status, e.batchLines(id), p2.body)
	}

	// A whole line typed at once (the account by number, no pick) is added.
	p = b.post(path, path+"/lines", url.Values{"account": {"A-000002"}, "method": {"check"}, "reference": {"2001"}, "payer": {"Bea"}, "amount": {"40.00"}})
	mustContain(t, "line 2", p, http.StatusOK, "2 payments · 90.00", "90.00 still to enter, 2 payments")
	// The same check number from the same account again: added, with a warning on the line.
	p = b.post(path, path+"/lines", url.Values{"account": {"A-000002"}, "method": {"check"}, "reference": {"2001"}, "payer": {"Bea"}, "amount": {"40.00"}})
	mustContain(t, "duplicate check", p, http.StatusOK, "3 payments · 130.00", "<strong>Warning:</strong> Line 3, check no.", "1 warning(s)")
	// A bad amount: refused, naming the field; nothing added.
	p = b.post(path, path+"/lines", url.Values{"account": {"A-000003"}, "method": {"cash"}, "amount": {"12.345"}})
	mustContain(t, "bad amount", p, http.StatusUnprocessableEntity, "The line was not added", `id="amount-err"`, `aria-invalid="true" aria-describedby="amount-err"`, `value="12.345"`)
	if !regexp.MustCompile(`id="amount"[^>]*autofocus`).MatchString(p.body) {
		t.Fatalf("the bad amount has the focus:\n%s", p.body)
	}
	if n := e.batchLines(id); n != 3 {
		t.Fatalf("a refused line was added: %d lines", n)
	}
	// The same with htmx: only the work area, 200 so that it is swapped in.
	from := b.get(path)
	p = b.do(http.MethodPost, path+"/lines", url.Values{"csrf": {field(t, from.body, "csrf")}, "idem": {field(t, from.body, "idem")},
		"account": {"A-000003"}, "method": {"cash"}, "amount": {"12.345"}}, "HX-Request", "true")
	mustContain(t, "bad amount (htmx)", p, http.StatusOK, `<div id="work">`, `id="amount-err"`)
	if strings.Contains(p.body, "<html") || e.batchLines(id) != 3 {
		t.Fatalf("htmx answer: a whole page, or a line added (%d):\n%s", e.batchLines(id), p.body)
	}
	// Search as you type: the matches, to pick from.
	p = b.do(http.MethodGet, path+"/accounts?account=subscriber", nil, "HX-Request", "true")
	mustContain(t, "matches", p, http.StatusOK, "3 matches", `name="pick" value="A-000001"`, `name="pick" value="A-000003"`)
	// An account no one has.
	p = b.post(path, path+"/lines", url.Values{"account": {"A-000404"}, "method": {"cash"}, "amount": {"50.00"}})
	mustContain(t, "unknown account", p, http.StatusUnprocessableEntity, `No account matches &#34;A-000404&#34;`, `id="account-err"`)
	// Part of a name matching several: the matches, to pick from.
	p = b.post(path, path+"/lines", url.Values{"account": {"Subscriber"}, "amount": {"50.00"}})
	mustContain(t, "ambiguous account", p, http.StatusUnprocessableEntity, "3 accounts match", `name="pick" value="A-000003"`)
	p = b.post(path, path+"/lines", url.Values{"account": {"Subscriber"}, "pick": {"A-000003"}})
	mustContain(t, "picked from the matches", p, http.StatusOK, `name="selected" value="A-000003"`, "No open invoices")
	p = b.post(path, path+"/lines", url.Values{"account": {"A-000003"}, "selected": {"A-000003"}, "method": {"cash"}, "amount": {"50.00"}})
	mustContain(t, "line 4", p, http.StatusOK, "4 payments · 180.00", "0 — balanced")
	if n := e.batchLines(id); n != 4 {
		t.Fatalf("want 4 lines, have %d", n)
	}

	// Validate, confirm, post.
	p = b.get(path + "/validation")
	mustContain(t, "validation", p, http.StatusOK, "Every line is valid, with 1 warning(s)", "Warning</strong>, line 3")
	p = b.get(path + "/post")
	mustContain(t, "confirmation", p, http.StatusOK, "Post batch #"+id+"?", "<strong>4 payments</strong>", "USD 180.00", "The batch matches them.", "Post 4 payments")
	p = b.post(path+"/post", path+"/post", nil)
	if p.status != http.StatusSeeOther || !strings.Contains(p.location, "done=posted") {
		t.Fatalf("post: %d %q\n%s", p.status, p.location, p.body)
	}
	p = b.get(path + "?done=posted")
	mustContain(t, "posted", p, http.StatusOK, "is posted: 4 payments", "deposit-slip.pdf")
	if strings.Contains(p.body, `id="entry"`) {
		t.Fatal("a posted batch still offers the entry line")
	}
	var paid int64
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT paid FROM invoices WHERE number = $1`, inv[1]).Scan(&paid); err != nil || paid != 5000 {
		t.Fatalf("the ticked invoice %s was paid %d (%v); want 5000", inv[1], paid, err)
	}
	slip := b.get(path + "/deposit-slip.pdf")
	if slip.status != http.StatusOK || !strings.HasPrefix(slip.body, "%PDF-") {
		t.Fatalf("deposit slip: %d %.200q", slip.status, slip.body)
	}
}

// TestBatchReaderCannotEnter: a reader sees a batch without the entry line,
// import or post, and a line posted anyway is refused with nothing added.
func TestBatchReaderCannotEnter(t *testing.T) {
	e := newEnv(t)
	e.batchAccounts(1)
	clerk := e.signIn(e.addStaff("clara", staff.RoleBilling, false))
	p := clerk.post("/batches", "/batches", url.Values{"control_count": {"1"}, "control_total": {"10.00"}, "deposit_date": {"2026-12-15"}})
	m := batchLocRE.FindStringSubmatch(p.location)
	if m == nil {
		t.Fatalf("open batch: %d %q", p.status, p.location)
	}
	path := "/batches/" + m[1]
	reader := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	p = reader.get(path)
	mustContain(t, "reader's batch page", p, http.StatusOK, "1 payments · 10.00", "Validate")
	for _, s := range []string{`id="entry"`, "Import file", "Post…", `name="control_total"`} {
		if strings.Contains(p.body, s) {
			t.Fatalf("a reader sees %q:\n%s", s, p.body)
		}
	}
	if p := reader.get("/batches"); strings.Contains(p.body, `name="control_total"`) || p.status != http.StatusOK {
		t.Fatalf("a reader's batch list offers to open one: %d", p.status)
	}
	p = reader.post(path, path+"/lines", url.Values{"account": {"A-000001"}, "method": {"cash"}, "amount": {"10.00"}})
	if p.status != http.StatusForbidden || e.batchLines(m[1]) != 0 {
		t.Fatalf("a reader's line: %d, %d lines\n%s", p.status, e.batchLines(m[1]), p.body)
	}
	if p := reader.post(path, path+"/post", nil); p.status != http.StatusForbidden {
		t.Fatalf("a reader's post: %d", p.status)
	}
}

// TestBatchImportEditRemove: a lockbox file with a bad row is refused with
// every problem listed and nothing added; a good one adds its rows (a
// duplicate check is a warning on its line); a line is corrected and
// another removed.
func TestBatchImportEditRemove(t *testing.T) {
	e := newEnv(t)
	e.batchAccounts(2)
	b := e.signIn(e.addStaff("clara", staff.RoleBilling, false))
	p := b.post("/batches", "/batches", url.Values{"control_count": {"2"}, "control_total": {"30.00"}, "deposit_date": {"2026-12-15"}})
	m := batchLocRE.FindStringSubmatch(p.location)
	if m == nil {
		t.Fatalf("open batch: %d %q", p.status, p.location)
	}
	id, path := m[1], "/batches/"+m[1]
	upload := func(csv string) page {
		t.Helper()
		from := b.get(path)
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		_ = w.WriteField("csrf", field(t, from.body, "csrf"))
		_ = w.WriteField("idem", regexp.MustCompile(`/import"[^>]*>\s*<input type="hidden" name="csrf" value="[^"]*"><input type="hidden" name="idem" value="([^"]+)"`).FindStringSubmatch(from.body)[1])
		fw, _ := w.CreateFormFile("file", "lockbox.csv")
		_, _ = fw.Write([]byte(csv))
		_ = w.Close()
		req, _ := http.NewRequest(http.MethodPost, e.url+path+"/import", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, err := b.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return page{status: resp.StatusCode, body: string(raw)}
	}
	p = upload("account,amount,method,reference\nA-000001,10.00,check,9001\nA-000404,5.00,check,9002\n")
	mustContain(t, "a bad file", p, http.StatusUnprocessableEntity, "nothing was added", "line 3", "A-000404")
	if n := e.batchLines(id); n != 0 {
		t.Fatalf("a refused file added %d lines", n)
	}
	p = upload("account,amount,method,reference\nA-000001,10.00,check,9001\nA-000001,25.00,check,9001\n")
	mustContain(t, "a good file", p, http.StatusOK, "Imported 2 payments", "2 payments · 35.00", "5.00 over the control total", "Warning:")

	// Correct line 2 to 20.00; the batch balances.
	p = b.get(path + "/lines/2")
	mustContain(t, "editing line 2", p, http.StatusOK, "Correct line 2", `value="25.00"`, `name="selected" value="A-000001"`)
	p = b.post(path+"/lines/2", path+"/lines/2", url.Values{"account": {"A-000001"}, "selected": {"A-000001"}, "method": {"check"}, "reference": {"9002"}, "amount": {"20.00"}})
	mustContain(t, "line 2 corrected", p, http.StatusOK, "Line 2 was corrected", "2 payments · 30.00", "0 — balanced")
	// Remove line 1.
	from := b.get(path)
	idem := regexp.MustCompile(`/lines/1/remove">\s*<input type="hidden" name="csrf" value="[^"]*"><input type="hidden" name="idem" value="([^"]+)"`).FindStringSubmatch(from.body)
	if idem == nil {
		t.Fatalf("no remove form for line 1:\n%s", from.body)
	}
	p = b.do(http.MethodPost, path+"/lines/1/remove", url.Values{"csrf": {field(t, from.body, "csrf")}, "idem": {idem[1]}})
	if p.status != http.StatusSeeOther || e.batchLines(id) != 1 {
		t.Fatalf("remove line 1: %d, %d lines", p.status, e.batchLines(id))
	}
	mustContain(t, "after the removal", b.get(path+"?done=removed"), http.StatusOK, "The line was removed", "1 payments · 20.00")
}
