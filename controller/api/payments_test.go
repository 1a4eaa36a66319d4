package api_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func setupAccount(t *testing.T, e *env) {
	t.Helper()
	for _, c := range []struct{ path, body string }{
		{"/api/v1/account-types", residential},
		{"/api/v1/accounts", `{"name":"Jane","email":"jane@example.net","account_type_id":1,"currency":"USD","external_id":"legacy-1"}`},
	} {
		if r := e.do("POST", c.path, adminToken, "setup-"+c.path, c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
}

// 100 concurrent clients post payments to one account, reusing keys at
// random (as retrying clients do): exactly one payment per distinct key,
// and the ledger agrees.
func TestConcurrentPaymentsOnePerKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	const clients, keys = 100, 37
	rng := rand.New(rand.NewPCG(1, 2))
	picks := make([]int, clients)
	used := map[int]bool{}
	for i := range picks {
		picks[i] = rng.IntN(keys)
		used[picks[i]] = true
	}
	var wg sync.WaitGroup
	ids := make([]string, clients)
	for i := range clients {
		wg.Go(func() {
			k := picks[i]
			body := fmt.Sprintf(`{"method":"cash","amount":%d,"memo":"key %d"}`, 100+k, k)
			// A duplicate of a request in flight waits for it: no 409.
			r := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-"+strconv.Itoa(k), body)
			if r.status != 200 {
				t.Errorf("client %d: %d %s", i, r.status, r.body)
				return
			}
			ids[i] = fmt.Sprint(r.json(t)["id"])
		})
	}
	wg.Wait()
	byKey := map[int]string{}
	for i, id := range ids {
		if prev, ok := byKey[picks[i]]; ok && prev != id {
			t.Fatalf("key %d answered with payments %s and %s", picks[i], prev, id)
		}
		byKey[picks[i]] = id
	}
	var payments, sum, balance int64
	ctx := context.Background()
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount), 0) FROM payments`).Scan(&payments, &sum); err != nil {
		t.Fatal(err)
	}
	var want int64
	for k := range used {
		want += int64(100 + k)
	}
	if payments != int64(len(used)) || sum != want {
		t.Fatalf("%d payments totalling %d; want %d payments totalling %d", payments, sum, len(used), want)
	}
	balance, _ = e.db.Balance(ctx, 1)
	var unbalanced int
	_ = e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT tx_id FROM journal_entries GROUP BY tx_id HAVING sum(amount) <> 0) s`).Scan(&unbalanced)
	if balance != -want || unbalanced != 0 {
		t.Fatalf("balance %d (want %d), %d unbalanced journal transactions", balance, -want, unbalanced)
	}
}

func TestBatchEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	r := e.do("POST", "/api/v1/payment-batches", billingToken, "b1", `{"deposit_date":"2026-12-05","deposit_account":"First Bank 1234"}`)
	if r.status != 200 {
		t.Fatalf("open batch: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/payment-batches/1/lines", billingToken, "l1", `{"lines":[
		{"account":"A-000001","method":"check","amount":5000,"reference":"1001","payer":"Jane"},
		{"account":"nobody","method":"check","amount":100,"reference":"9"},
		{"account":"legacy-1","method":"check","amount":2500}]}`)
	if r.status != 200 || len(r.json(t)["lines"].([]any)) != 3 {
		t.Fatalf("add lines: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/payment-batches/1/validation", readerToken, "", "")
	v := r.json(t)
	if v["ok"] != false || len(v["errors"].([]any)) != 2 {
		t.Fatalf("validation: %s", r.body)
	}
	r = e.do("POST", "/api/v1/payment-batches/1/post", billingToken, "p1", "")
	if r.status != 422 || !contains(r.body, "line 2") || !contains(r.body, "line 3") {
		t.Fatalf("posting a bad batch: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/payment-batches/1/lines/2", billingToken, "d2", ""); r.status != 200 {
		t.Fatalf("remove line: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/payment-batches/1/lines/3", billingToken, "u3", `{"account":"legacy-1","method":"cash","amount":2500}`); r.status != 200 {
		t.Fatalf("fix line: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/payment-batches/1/post", billingToken, "p2", "")
	if r.status != 200 || r.json(t)["status"] != "posted" {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	if bal, _ := e.db.Balance(context.Background(), 1); bal != -7500 {
		t.Fatalf("balance after the batch: %d", bal)
	}

	r = e.do("GET", "/api/v1/deposit-slips?batch=1&format=csv", readerToken, "", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!contains(r.body, "check,1001,Jane,A-000001,50.00") || !contains(r.body, "grand_total,,,,75.00") {
		t.Fatalf("deposit slip CSV: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/deposit-slips?batch=1", readerToken, "", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.body, []byte("%PDF")) {
		t.Fatalf("deposit slip PDF: %d %s", r.status, r.header)
	}
	text := pdfText(t, r.body)
	for _, want := range []string{"1001", "Jane", "50.00", "25.00", "75.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("the deposit slip PDF lacks %q:\n%s", want, text)
		}
	}
	// The batch's deposit account "First Bank 1234": the bank's name
	// printed, the (short) number masked whole.
	if !regexp.MustCompile(`Bank +First Bank\b`).MatchString(text) || !regexp.MustCompile(`Deposit account +\*\*\*\*\s`).MatchString(text) {
		t.Errorf("the deposit slip PDF does not show bank First Bank and account ****:\n%s", text)
	}
	e.do("POST", "/api/v1/payment-batches", billingToken, "b2", `{"deposit_date":"2026-12-06"}`)
	if r := e.do("GET", "/api/v1/deposit-slips?batch=2", readerToken, "", ""); r.status != 422 {
		t.Fatalf("deposit slip of an open batch: %d %s", r.status, r.body)
	}
}

// pdfText extracts a PDF's text with pdftotext (poppler-utils, installed
// by scripts/setup.sh).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is not installed; run `bash scripts/setup.sh` (it installs poppler-utils)")
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// A payment's response is stored with it, in its transaction: a retry gets
// the very same response, which is what reading the payment says.
func TestPaymentResponseIsStoredWithThePayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	body := `{"method":"check","amount":2500,"reference":"1001","payer":"Jane"}`
	first := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-1", body)
	if first.status != 200 || first.header.Get("Content-Type") != "application/json" || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("payment: %d %v %s", first.status, first.header, first.body)
	}
	again := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-1", body)
	if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" ||
		again.header.Get("Content-Type") != "application/json" || !bytes.Equal(again.body, first.body) {
		t.Fatalf("retry: %d %v %s, first %s", again.status, again.header, again.body, first.body)
	}
	id := fmt.Sprint(first.json(t)["id"])
	if read := e.do("GET", "/api/v1/payments/"+id, readerToken, "", ""); read.status != 200 || !bytes.Equal(read.body, first.body) {
		t.Fatalf("the payment reads\n%s\nbut was answered\n%s", read.body, first.body)
	}
	var payment, stored string
	ctx := context.Background()
	_ = e.db.Pool.QueryRow(ctx, `SELECT xmin::text FROM payments WHERE id = $1`, id).Scan(&payment)
	_ = e.db.Pool.QueryRow(ctx, `SELECT xmin::text FROM idempotency_keys WHERE key = 'pay-1' AND response_body = $1`, first.body).Scan(&stored)
	if payment == "" || payment != stored {
		t.Fatalf("payment written by transaction %q, its stored response by %q", payment, stored)
	}
	if r := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-1", strings.Replace(body, "2500", "2600", 1)); r.status != 422 {
		t.Fatalf("same key, other body: %d %s", r.status, r.body)
	}
	var n int
	_ = e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM payments`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d payments, want 1", n)
	}
}

// A payment refused or failed posts nothing, and its key keeps the answer
// as every other operation's does: a retry gets it again, the same key with
// a corrected body is refused.
func TestRefusedPaymentKeepsItsAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	for _, c := range []struct {
		name, path, body string
		status           int
	}{
		{"unknown account", "/api/v1/accounts/99/payments", `{"method":"cash","amount":100}`, 404},
		{"check without number", "/api/v1/accounts/1/payments", `{"method":"check","amount":100}`, 422},
		{"card by hand", "/api/v1/accounts/1/payments", `{"method":"card","amount":100}`, 422},
		{"schema", "/api/v1/accounts/1/payments", `{"method":"cash","amount":"a lot"}`, 422},
	} {
		first := e.do("POST", c.path, billingToken, c.name, c.body)
		again := e.do("POST", c.path, billingToken, c.name, c.body)
		if first.status != c.status || again.status != c.status || !bytes.Equal(first.body, again.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s: %d %s, then %d %v %s", c.name, first.status, first.body, again.status, again.header, again.body)
		}
		if r := e.do("POST", "/api/v1/accounts/1/payments", billingToken, c.name, `{"method":"cash","amount":100}`); r.status != 422 || !contains(r.body, "already used") {
			t.Errorf("%s: corrected body, same key: %d %s", c.name, r.status, r.body)
		}
	}
	var n int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payments`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d payments posted by refused requests", n)
	}
}
