package api_test

import (
	"strings"
	"testing"
)

// TestBatchLinesAreChecked: a deposit-batch line may carry a decimal amount
// in its account's currency, and what staff typed is checked as a row of
// an import file is, with a 422 naming the field and nothing written (the
// checks tollgatectl's batch add and batch fix made before sending). A
// check without its number is added and left to validation. Correcting a
// line without an amount keeps its amount, unless the new account is
// billed in another currency. Account 1 is billed in yen, account 2 in
// Kuwaiti dinar.
func TestBatchLinesAreChecked(t *testing.T) {
	t.Parallel()
	e := newYenEnv(t)
	if r := e.do("POST", "/api/v1/payment-batches", billingToken, "open", `{"deposit_date":"2026-12-05"}`); r.status != 200 {
		t.Fatalf("open batch: %d %s", r.status, r.body)
	}
	for i, tc := range []struct{ line, location, msg string }{
		{`{"account":"A-000001","method":"cash","amount":"5.5"}`, "body.lines[0].amount", `amount \"5.5\" has 1 decimal places but JPY has 0`},
		{`{"account":"A-000001","method":"ach","amount":"5"}`, "body.lines[0].method", `method \"ach\" is charged through the payment gateway`},
		{`{"account":"A-000404","method":"cash","amount":"5"}`, "body.lines[0].account", `account \"A-000404\": no account has this number, external id or id`},
		{`{"account":"A-000001","method":"wire","amount":"abc"}`, "body.lines[0].amount", `amount \"abc\" is not a decimal number`},
		{`{"account":" ","method":"cash","amount":"5"}`, "body.lines[0].account", `the account (number, external id or id) is missing`},
		{`{"account":"A-000001","method":"cash"}`, "body.lines[0].amount", `amount is missing`},
		{`{"account":"A-000001","method":"cash","amount":"5","payer":"` + strings.Repeat("x", 201) + `"}`, "body.lines[0].payer", `payer`},
	} {
		r := e.do("POST", "/api/v1/payment-batches/1/lines", billingToken, "bad-"+string(rune('a'+i)), `{"lines":[`+tc.line+`]}`)
		if r.status != 422 || !contains(r.body, `"location":"`+tc.location+`"`) || !contains(r.body, tc.msg) {
			t.Errorf("add %s: %d %s; want 422 naming %s: %s", tc.line, r.status, r.body, tc.location, tc.msg)
		}
	}
	var n int
	if err := e.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM payment_batch_lines`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused lines wrote %d rows (%v)", n, err)
	}

	r := e.do("POST", "/api/v1/payment-batches/1/lines", billingToken, "good", `{"lines":[{"account":"A-000002","method":"cash","amount":"25.5"},{"account":"1","amount":"300"}]}`)
	if r.status != 200 || !contains(r.body, `"amount":25500`) || !contains(r.body, `"amount":300`) {
		t.Fatalf("add good lines: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/payment-batches/1/validation", readerToken, "", "")
	if !contains(r.body, "a check needs its check number") {
		t.Errorf("validation of a check without its number: %s", r.body)
	}

	r = e.do("PUT", "/api/v1/payment-batches/1/lines/1", billingToken, "fix-a", `{"account":"A-000001","method":"cash"}`)
	if r.status != 422 || !contains(r.body, `"location":"body.amount"`) || !contains(r.body, "line 1's amount was entered in KWD but A-000001 is billed in JPY") {
		t.Errorf("moving a line to an account in another currency without its amount: %d %s", r.status, r.body)
	}
	r = e.do("PUT", "/api/v1/payment-batches/1/lines/1", billingToken, "fix-b", `{"account":"A-000002","method":"wire","reference":"FT1"}`)
	if r.status != 200 || !contains(r.body, `"amount":25500`) || !contains(r.body, `"reference":"FT1"`) {
		t.Errorf("correcting a line without its amount keeps it: %d %s", r.status, r.body)
	}
	r = e.do("PUT", "/api/v1/payment-batches/1/lines/2", billingToken, "fix-c", `{"account":"A-000001","method":"cash","amount":"1.5"}`)
	if r.status != 422 || !contains(r.body, `"location":"body.amount"`) {
		t.Errorf("a corrected amount in the wrong currency: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/payment-batches/1/lines/9", billingToken, "fix-d", `{"account":"A-000001","amount":1}`); r.status != 404 {
		t.Errorf("correcting line 9 of 2: %d %s", r.status, r.body)
	}
}
