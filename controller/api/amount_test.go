package api_test

import (
	"strings"
	"testing"
)

// TestDecimalAmounts: every amount people type (a payment, a charge, a
// credit, a refund, a returned-payment fee, a gateway charge, a plan's
// price) may be sent as a decimal string in the currency of its account,
// payment or plan; the controller reads it with the currency's decimal
// places, and refuses a bad one with a 422 naming the field, writing
// nothing. Account 1 is billed in yen (no decimals), account 2 in Kuwaiti
// dinar (three).
func TestDecimalAmounts(t *testing.T) {
	t.Parallel()
	e := newYenEnv(t)
	for i, tc := range []struct{ path, body, location, msg string }{
		{"/api/v1/accounts/1/payments", `{"method":"cash","amount":"25.00"}`, "body.amount", `amount \"25.00\" has 2 decimal places but JPY has 0`},
		{"/api/v1/accounts/1/payments", `{"method":"cash","amount":"0"}`, "body.amount", `amount \"0\" must be more than zero`},
		{"/api/v1/accounts/1/payments", `{"method":"cash","amount":"1,000"}`, "body.amount", `amount \"1,000\" is not a decimal number like 49.99`},
		{"/api/v1/accounts/1/payments", `{"method":"cash","amount":"-5"}`, "body.amount", `amount \"-5\" must not be negative`},
		{"/api/v1/accounts/1/payments", `{"method":"cash","amount":"200000000000"}`, "body.amount", `larger than any amount Tollgate accepts`},
		{"/api/v1/accounts/1/charges", `{"description":"Router","amount":"25.00"}`, "body.amount", `amount \"25.00\" has 2 decimal places but JPY has 0`},
		{"/api/v1/accounts/1/credits", `{"memo":"outage","amount":"1.5"}`, "body.amount", `amount \"1.5\" has 1 decimal places but JPY has 0`},
		{"/api/v1/accounts/1/gateway-payments", `{"amount":"1.5"}`, "body.amount", `amount \"1.5\" has 1 decimal places but JPY has 0`},
		{"/api/v1/payments/1/refund", `{"amount":"1.5"}`, "body.amount", `amount \"1.5\" has 1 decimal places but JPY has 0`},
		{"/api/v1/payments/1/reverse", `{"reason":"nsf","fee":"2.5"}`, "body.fee", `amount \"2.5\" has 1 decimal places but JPY has 0`},
		{"/api/v1/plans", `{"name":"x","currency":"USD","interval":"monthly","price":"1.234"}`, "body.price", `amount \"1.234\" has 3 decimal places but USD has 2`},
	} {
		r := e.do("POST", tc.path, adminToken, "bad-"+string(rune('a'+i)), tc.body)
		if r.status != 422 || !contains(r.body, `"location":"`+tc.location+`"`) || !contains(r.body, tc.msg) {
			t.Errorf("POST %s %s: %d %s; want 422 naming %s: %s", tc.path, tc.body, r.status, r.body, tc.location, tc.msg)
		}
	}
	for table, want := range map[string]int{"payments": 1, "one_time_charges": 0, "plans": 0, "refunds": 0} {
		var n int
		if err := e.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d rows (%v); want %d", table, n, err, want)
		}
	}
	for i, tc := range []struct{ path, body, want string }{
		{"/api/v1/accounts/2/charges", `{"description":"Router","amount":"25.5","charge_date":"2025-01-02"}`, `"amount":25500`},
		{"/api/v1/accounts/2/credits", `{"memo":"outage","amount":"1.250"}`, `"amount":1250`},
		{"/api/v1/plans", `{"name":"Fiber 100","currency":"USD","interval":"monthly","price":"49.99"}`, `"price":4999`},
		{"/api/v1/accounts/2/credits", `{"memo":"minor units still work","amount":7}`, `"amount":7`},
	} {
		r := e.do("POST", tc.path, adminToken, "good-"+string(rune('a'+i)), tc.body)
		if r.status != 200 || (!contains(r.body, tc.want) && !strings.Contains(tc.path, "credits")) {
			t.Errorf("POST %s %s: %d %s; want %s", tc.path, tc.body, r.status, r.body, tc.want)
		}
	}
	// A credit answers with its journal transaction: the ledger has it.
	var credited int64
	if err := e.db.Pool.QueryRow(t.Context(), `SELECT coalesce(sum(amount), 0) FROM journal_entries WHERE account_id = 2 AND ledger = 'accounts_receivable' AND amount < 0`).Scan(&credited); err != nil || credited != -1257 {
		t.Errorf("credits of \"1.250\" and 7 fils: %d (%v); want -1257", credited, err)
	}
}

// newYenEnv serves the API with account 1 billed in yen (no decimals),
// account 2 in Kuwaiti dinar (three), and payment 1 of 5,000 yen.
func newYenEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	for i, c := range []struct{ path, body string }{
		{"/api/v1/account-types", residential},
		{"/api/v1/accounts", `{"name":"Yuki","account_type_id":1,"currency":"JPY"}`},
		{"/api/v1/accounts", `{"name":"Kareem","account_type_id":1,"currency":"KWD"}`},
		{"/api/v1/accounts/1/payments", `{"method":"cash","amount":"5000"}`},
	} {
		if r := e.do("POST", c.path, adminToken, "setup-"+string(rune('a'+i)), c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v1/payments/1", readerToken, "", ""); !contains(r.body, `"amount":5000`) {
		t.Fatalf("payment of \"5000\" yen: %s", r.body)
	}
	return e
}

// TestManualPaymentIsChecked: what staff type for a payment (its method, a
// check's number, the lengths of its text, a reversal's reason, a deposit
// batch's bank account; a plan's interval, a tax rate) is checked by the
// controller (a credit's memo too), which answers a 422 naming the problem and writes nothing;
// tollgatectl sends what it is given.
func TestManualPaymentIsChecked(t *testing.T) {
	t.Parallel()
	e := newYenEnv(t)
	for i, tc := range []struct{ path, body, msg string }{
		{"/api/v1/accounts/1/payments", `{"method":"card","amount":"1"}`, "charged through the payment gateway, not recorded by hand"},
		{"/api/v1/accounts/1/payments", `{"method":"chq","amount":"1"}`, `"location":"body.method"`},
		{"/api/v1/accounts/1/payments", `{"method":"check","amount":"1"}`, "reference (the check number) is required for a check"},
		{"/api/v1/accounts/1/payments", `{"method":"cash","amount":"1","memo":"` + strings.Repeat("m", 501) + `"}`, "memo is too long"},
		{"/api/v1/payments/1/reverse", `{"reason":"bounced"}`, `"location":"body.reason"`},
		{"/api/v1/payments/1/refund", `{"amount":"abc"}`, `amount \"abc\" is not a decimal number like 49.99`},
		{"/api/v1/plans", `{"name":"x","currency":"USD","interval":"weekly","price":"1"}`, `"location":"body.interval"`},
		{"/api/v1/payment-batches", `{"deposit_date":"2025-03-03","deposit_account":"` + strings.Repeat("x", 101) + `"}`, `"location":"body.deposit_account"`},
		{"/api/v1/tax-rates", `{"jurisdiction":"X","name":"Y","rate":"8.25"}`, `rate \"8.25\" is out of range`},
		{"/api/v1/accounts/1/credits", `{"amount":"1","memo":" "}`, `"location":"body.memo"`},
	} {
		r := e.do("POST", tc.path, adminToken, "bad-"+string(rune('a'+i)), tc.body)
		if r.status != 422 || !contains(r.body, tc.msg) {
			t.Errorf("POST %s %s: %d %s; want 422 with %s", tc.path, tc.body, r.status, r.body, tc.msg)
		}
	}
	var n int
	if err := e.db.Pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM payments) + (SELECT count(*) FROM plans) + (SELECT count(*) FROM refunds) +
		(SELECT count(*) FROM payment_batches) + (SELECT count(*) FROM tax_rates)`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d payments, plans, refunds, batches and tax rates (%v); want the one payment", n, err)
	}
}
