package api_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/payments"
)

// tokenize stands for the processor's fields in a browser: the sandbox
// makes a payment method of one of Stripe's test method ids (the card
// number never reaches the API).
func tokenize(t *testing.T, e *env, testMethod string) map[string]any {
	t.Helper()
	pm, err := e.sandbox.RetrievePaymentMethod(context.Background(), testMethod)
	if err != nil {
		t.Fatalf("tokenize: %v", err)
	}
	return map[string]any{"token": pm.Token, "brand": pm.Brand, "last4": pm.Last4}
}

// Saving a processor's method through a SetupIntent: test ids, 3-D Secure
// (nothing stored until authenticated), and never a card number.
func TestSetupPaymentMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	r := e.do("POST", "/api/v1/accounts/1/payment-methods/setup", billingToken, "s1", `{"payment_method":"pm_card_visa","default":true}`)
	out := r.json(t)
	m, _ := out["method"].(map[string]any)
	if r.status != 200 || out["status"] != "succeeded" || m["last4"] != "4242" || m["default"] != true || !strings.HasPrefix(fmt.Sprint(out["setup_intent"]), "seti_") {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/accounts/1/payment-methods/setup", billingToken, "s2", `{"payment_method":"pm_card_authenticationRequired","return_url":"https://staff.example.net/staff/accounts/1"}`)
	if out := r.json(t); r.status != 200 || out["status"] != "requires_action" || out["method"] != nil || !strings.Contains(fmt.Sprint(out["next_action_url"]), "/authenticate/seti_") {
		t.Fatalf("3-D Secure setup: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/accounts/1/payment-methods/setup", billingToken, "s3", `{"payment_method":"pm_card_chargeDeclined"}`)
	if r.status != 422 || !strings.Contains(string(r.body), "payment_method") || !strings.Contains(string(r.body), "declined") {
		t.Fatalf("declined card: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/accounts/1/payment-methods/setup", billingToken, "s4", `{"payment_method":"4242 4242 4242 4242"}`)
	if r.status != 422 || !strings.Contains(string(r.body), "looks like a card number") {
		t.Fatalf("a card number: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/accounts/1/payment-methods/setup", readerToken, "s5", `{"payment_method":"pm_card_visa"}`); r.status != 403 {
		t.Fatalf("a reader saving a method: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/accounts/1/payment-methods", readerToken, "", ""); len(r.json(t)["items"].([]any)) != 1 {
		t.Fatalf("methods on file: %s", r.body)
	}
	assertNoCardNumbers(t, "server log", e.logs.String())
}

func TestCardPaymentsThroughTheSandbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	ctx := context.Background()

	good := tokenize(t, e, "pm_card_visa")
	if good["last4"] != "4242" || good["brand"] != "visa" || !strings.HasPrefix(good["token"].(string), "pm_") {
		t.Fatalf("token: %v", good)
	}
	body := fmt.Sprintf(`{"token":%q,"kind":"card","brand":"visa","last4":"4242","exp_month":12,"exp_year":2030}`, good["token"])
	if r := e.do("POST", "/api/v1/accounts/1/payment-methods", billingToken, "m1", body); r.status != 200 || r.json(t)["default"] != true {
		t.Fatalf("add method: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/accounts/1/autopay", billingToken, "ap1", `{"enabled":true}`); r.status != 204 && r.status != 200 {
		t.Fatalf("autopay on: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/v1/accounts/1/gateway-payments", billingToken, "charge-1", `{"amount":5311}`)
	attempt := r.json(t)
	if r.status != 200 || attempt["status"] != "succeeded" || attempt["payment_id"] == nil {
		t.Fatalf("charge: %d %s", r.status, r.body)
	}
	again := e.do("POST", "/api/v1/accounts/1/gateway-payments", billingToken, "charge-1", `{"amount":5311}`)
	if again.status != 200 || again.json(t)["id"] != attempt["id"] {
		t.Fatalf("retried charge: %d %s", again.status, again.body)
	}
	if bal, _ := e.db.Balance(ctx, 1); bal != -5311 {
		t.Fatalf("balance after one card payment: %d", bal)
	}
	// The whole payment is credit (there is no invoice): refund 10.00 of it
	// through the gateway.
	pid := fmt.Sprint(attempt["payment_id"])
	if r := e.do("POST", "/api/v1/payments/"+pid+"/refund", billingToken, "refund-1", `{"amount":1000,"memo":"goodwill"}`); r.status != 200 || r.json(t)["refunded"].(float64) != 1000 {
		t.Fatalf("card refund: %d %s", r.status, r.body)
	}
	if !strings.Contains(e.logs.String(), `"msg":"gateway refund"`) {
		t.Fatal("the card refund did not go through the gateway")
	}
	if r := e.do("POST", "/api/v1/payments/"+pid+"/refund", billingToken, "refund-2", `{"amount":999999}`); r.status != 422 {
		t.Fatalf("refund beyond the credit: %d %s", r.status, r.body)
	}

	// A card that attaches fine and fails on every charge: the attempt is
	// recorded, nothing is posted, the method is flagged for the subscriber.
	bad := tokenize(t, e, "pm_card_chargeCustomerFail")
	body = fmt.Sprintf(`{"token":%q,"kind":"card","brand":"visa","last4":"0341","exp_month":12,"exp_year":2030}`, bad["token"])
	r = e.do("POST", "/api/v1/accounts/1/payment-methods", billingToken, "m2", body)
	if r.status != 200 {
		t.Fatalf("add failing card: %d %s", r.status, r.body)
	}
	mid := r.json(t)["id"]
	r = e.do("POST", "/api/v1/accounts/1/gateway-payments", billingToken, "charge-2", fmt.Sprintf(`{"amount":1000,"payment_method_id":%v}`, mid))
	if r.status != 200 || r.json(t)["status"] != "failed" || r.json(t)["failure_code"] != "card_declined" {
		t.Fatalf("declined charge: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/accounts/1/payment-methods", readerToken, "", "")
	if !strings.Contains(string(r.body), `"status":"failing"`) {
		t.Fatalf("the declined card is not flagged: %s", r.body)
	}
	if r := e.do("GET", "/api/v1/accounts/1/payment-attempts", readerToken, "", ""); len(r.json(t)["items"].([]any)) != 2 {
		t.Fatalf("attempts: %s", r.body)
	}

	// The first charge is disputed: the webhook reverses it, once.
	ev := payments.Event{ID: "evt_dispute_1", Type: payments.EventChargeDisputeCreated, ChargeID: attempt["charge_id"].(string), Amount: 5311}
	payload, sig := e.sandbox.SignedEvent(ev, webhookSecret, time.Now())
	for i, want := range []string{`"reversed":true`, `"duplicate":true`} {
		r := e.doHeader("POST", "/api/v1/webhooks/sandbox", string(payload), map[string]string{"Stripe-Signature": sig})
		if r.status != 200 || !strings.Contains(string(r.body), want) {
			t.Fatalf("delivery %d: %d %s", i+1, r.status, r.body)
		}
	}
	if bal, _ := e.db.Balance(ctx, 1); bal != 0 {
		t.Fatalf("balance after the refund and the chargeback: %d", bal)
	}
	forged := e.doHeader("POST", "/api/v1/webhooks/sandbox", string(payload), map[string]string{"Stripe-Signature": "t=1,v1=00"})
	if forged.status != 400 {
		t.Fatalf("forged webhook: %d %s", forged.status, forged.body)
	}

	// No card number anywhere: not in the database, not in the logs.
	assertNoCardNumbers(t, "server log", e.logs.String())
	assertNoCardNumbers(t, "database", dumpDatabase(t, e))
}

var digitRuns = regexp.MustCompile(`\d(?:[ -]?\d){12,}`)

// assertNoCardNumbers fails if text holds a 13-19 digit Luhn-valid number
// (digits may be grouped by spaces or dashes, as people type them).
func assertNoCardNumbers(t *testing.T, where, text string) {
	t.Helper()
	if last4, n, found := findCardNumber(text); found {
		t.Errorf("%s holds a Luhn-valid %d-digit number (…%s)", where, n, last4)
	}
}

// findCardNumber returns the last four digits and length of the first
// 13-19 digit Luhn-valid number in text: a run of digits, possibly grouped
// by single spaces or dashes, as a whole (a card number is not a piece of a
// longer number).
func findCardNumber(text string) (last4 string, n int, found bool) {
	for _, run := range digitRuns.FindAllString(text, -1) {
		digits := strings.NewReplacer(" ", "", "-", "").Replace(run)
		if n := len(digits); n >= 13 && n <= 19 && luhn(digits) {
			return digits[n-4:], n, true
		}
	}
	return "", 0, false
}

func TestFindCardNumber(t *testing.T) {
	for text, want := range map[string]bool{
		"card 4242 4242 4242 4242 on file": true,
		"pan=4000-0000-0000-0341":          true,
		"amex 378282246310005.":            true,
		"phone +1-512-555-0001":            false,
		"check 1001 for 50.00":             false,
		"4242 4242 4242 4241":              false, // fails the Luhn check
	} {
		if _, _, got := findCardNumber(text); got != want {
			t.Errorf("%q: found=%v, want %v", text, got, want)
		}
	}
}

func luhn(d string) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// dumpDatabase renders every row of every table as JSON text. Binary
// columns are shown in escape format (printable bytes as themselves), so
// stored request and response bodies are scanned as the text they are.
func dumpDatabase(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	conn, err := e.db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET bytea_output = 'escape'`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		_ = rows.Scan(&name)
		tables = append(tables, name)
	}
	var sb strings.Builder
	for _, tbl := range tables {
		r, err := conn.Query(ctx, `SELECT row_to_json(x)::text FROM `+tbl+` x`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var s string
			_ = r.Scan(&s)
			sb.WriteString(s)
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// The repository's fixtures (example configs, demo data, test data) hold no
// card numbers either. Go test sources are not fixtures: they name the
// processors' public test card numbers on purpose.
func TestFixturesHoldNoCardNumbers(t *testing.T) {
	t.Parallel()
	root := "../.."
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if strings.HasPrefix(name, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		fixture := strings.HasPrefix(rel, "deploy"+string(filepath.Separator)) || strings.Contains(rel, string(filepath.Separator)+"testdata"+string(filepath.Separator))
		if !fixture || strings.HasSuffix(name, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		assertNoCardNumbers(t, rel, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned == 0 {
		t.Fatal("found no fixture files to scan; has the layout changed?")
	}
}
