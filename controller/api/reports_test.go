package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The reports over HTTP: JSON and CSV forms, a bad date named, the period
// close refused to a reader, then closing a month refuses a billing run
// dated in it and moves a payment dated in it to the first open day.
func TestReportsAndPeriodClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	if r := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-1", `{"method":"check","amount":2500,"reference":"101","received_date":"2026-10-05"}`); r.status != 200 {
		t.Fatalf("payment: %d %s", r.status, r.body)
	}
	r := e.do("GET", "/api/v1/reports/payments?from=2026-10-01&to=2026-10-31", readerToken, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"not_deposited_total":2500`) {
		t.Fatalf("payments report: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/reports/payments.csv?from=2026-10-01&to=2026-10-31", readerToken, "", "")
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 2 ||
		lines[0] != "Payment,Account,Method,Amount,Refunded,Currency,Reference,Payer,Received,Effective,Status,Batch,Gateway,Posted by" ||
		!strings.Contains(lines[1], ",check,25.00,0.00,USD,101,,2026-10-05,2026-10-05,posted,,,user:clerk") {
		t.Fatalf("payments CSV: %d %q", r.status, lines)
	}
	// The account's 25.00 of credit as of Oct 31, nothing as of Oct 1.
	r = e.do("GET", "/api/v1/reports/ar-aging?as_of=2026-10-31", readerToken, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"unapplied":-2500,"total":-2500`) {
		t.Fatalf("aging: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/reports/ar-aging.csv?as_of=2026-10-01", readerToken, "", ""); r.status != 200 ||
		strings.TrimSpace(string(r.body)) != "Scope,Account,Name,Account type,POP,Currency,Current,1-30,31-60,61-90,90+,Unapplied,Total" {
		t.Fatalf("aging CSV as of Oct 1: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/reports/ar-aging.pdf?as_of=2026-10-31", readerToken, "", ""); r.status != 200 ||
		r.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.body, []byte("%PDF-")) ||
		!strings.Contains(r.header.Get("Content-Disposition"), "ar-aging-2026-10-31.pdf") {
		t.Fatalf("aging PDF: %d %v %.40q", r.status, r.header, r.body)
	}
	if r = e.do("GET", "/api/v1/reports/ar-aging?as_of=2026-13-01", readerToken, "", ""); r.status != 422 || !strings.Contains(string(r.body), "as_of") {
		t.Errorf("bad as_of: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/reports/tax?from=2026-10-31&to=2026-10-01", readerToken, "", ""); r.status != 422 || !strings.Contains(string(r.body), "before from") {
		t.Errorf("backwards period: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/reports/tax.csv?from=2026-10-01&to=2026-10-31", readerToken, "", ""); r.status != 200 ||
		!strings.HasPrefix(string(r.body), "Jurisdiction,Rate,Currency,Taxable sales,Exempt sales,Tax charged,Credited sales,Credited tax,Voided sales,Voided tax,Net tax\n") {
		t.Errorf("tax CSV: %d %s", r.status, r.body)
	}

	if r = e.do("GET", "/api/v1/reports/revenue.csv?from=2026-10-01&to=2026-10-31", readerToken, "", ""); r.status != 200 ||
		string(r.body) != "Dimension,Key,Currency,Recurring,One-time,Fees,Credits,Total\n" {
		t.Errorf("revenue CSV: %d %q", r.status, r.body)
	}
	if r = e.do("POST", "/api/v1/period-closes", readerToken, "close-r", `{"month":"2026-10"}`); r.status != 403 {
		t.Errorf("a reader closed a month: %d %s", r.status, r.body)
	}
	if r = e.do("POST", "/api/v1/period-closes", billingToken, "close-1", `{"month":"2026-10"}`); r.status != 201 || !strings.Contains(string(r.body), `"through":"2026-10-31"`) {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	if r = e.do("POST", "/api/v1/period-closes", billingToken, "close-2", `{"month":"2026-09"}`); r.status != 409 {
		t.Errorf("closing September after October: %d %s", r.status, r.body)
	}
	if r = e.do("POST", "/api/v1/billing-runs", billingToken, "run-oct", `{"date":"2026-10-15"}`); r.status != 422 || !strings.Contains(string(r.body), "closed period") {
		t.Errorf("billing run in a closed month: %d %s", r.status, r.body)
	}
	if r = e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-2", `{"method":"cash","amount":1000,"received_date":"2026-10-20"}`); r.status != 200 {
		t.Fatalf("late payment: %d %s", r.status, r.body)
	}
	// The closed October still shows one payment; November has the cash
	// received Oct 20 on Nov 1.
	if r = e.do("GET", "/api/v1/reports/payments.csv?from=2026-10-01&to=2026-10-31", readerToken, "", ""); strings.Count(strings.TrimSpace(string(r.body)), "\n") != 1 {
		t.Errorf("closed October changed: %s", r.body)
	}
	if r = e.do("GET", "/api/v1/reports/payments.csv?from=2026-11-01&to=2026-11-30", readerToken, "", ""); !strings.Contains(string(r.body), ",cash,10.00,0.00,USD,,,2026-10-20,2026-11-01,posted,") {
		t.Errorf("November: %s", r.body)
	}
	if r = e.do("GET", "/api/v1/invoices?from=2026-13-01", readerToken, "", ""); r.status != 422 || !strings.Contains(string(r.body), "from") {
		t.Errorf("invoices with a bad from: %d %s", r.status, r.body)
	}
	// The accounts list shows the balance and what is past due.
	if r = e.do("GET", "/api/v1/accounts", readerToken, "", ""); r.status != 200 || !strings.Contains(string(r.body), `"balance":-3500,"past_due":0`) {
		t.Errorf("accounts list: %d %s", r.status, r.body)
	}
	// The payments list filters by method and received date.
	if r = e.do("GET", "/api/v1/payments?method=cash", readerToken, "", ""); r.status != 200 || strings.Count(string(r.body), `"method":`) != 1 || !strings.Contains(string(r.body), `"method":"cash"`) {
		t.Errorf("cash payments: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/payments?from=2026-10-01&to=2026-10-10", readerToken, "", ""); r.status != 200 || strings.Count(string(r.body), `"method":`) != 1 || !strings.Contains(string(r.body), `"reference":"101"`) {
		t.Errorf("payments received Oct 1 to 10: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/payments?from=10/01/2026", readerToken, "", ""); r.status != 422 || !strings.Contains(string(r.body), "from") {
		t.Errorf("a bad from: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/period-closes", readerToken, "", ""); r.status != 200 || !strings.Contains(string(r.body), `"closed_by":"user:clerk"`) {
		t.Errorf("closes: %d %s", r.status, r.body)
	}
}

// An export carries the period's documents once; the next carries nothing
// new; one with all carries them again with the same external ids; each
// is recorded.
func TestAccountingExportsOnceThenAllWithTheSameIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	if r := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-1", `{"method":"check","amount":2500,"reference":"101","received_date":"2026-10-05"}`); r.status != 200 {
		t.Fatalf("payment: %d %s", r.status, r.body)
	}
	export := func(key, body string) string {
		t.Helper()
		r := e.do("POST", "/api/v1/accounting-exports", billingToken, key, body)
		if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("export %s: %d %s", body, r.status, r.body)
		}
		return string(r.body)
	}
	first := export("x-1", `{"target":"quickbooks-journal","from":"2026-10-01","to":"2026-10-31"}`)
	const header = "Journal No,Journal Date,Account Name,Debits,Credits,Description,Name\n"
	if !strings.HasPrefix(first, header) || !strings.Contains(first, ",10/05/2026,Undeposited Funds,25.00,,") ||
		!strings.Contains(first, ",10/05/2026,Accounts Receivable (A/R),,25.00,") || strings.Count(first, "\n") != 3 {
		t.Fatalf("first export:\n%s", first)
	}
	if again := export("x-2", `{"target":"quickbooks-journal","from":"2026-10-01","to":"2026-10-31"}`); again != header {
		t.Errorf("second export carried documents again:\n%s", again)
	}
	if all := export("x-3", `{"target":"quickbooks-journal","from":"2026-10-01","to":"2026-10-31","all":true}`); all != first {
		t.Errorf("export with all:\n%s\nwant the first:\n%s", all, first)
	}
	if bank := export("x-4", `{"target":"xero-bank","from":"2026-10-01","to":"2026-10-31"}`); !strings.HasPrefix(bank, "*Date,*Amount,Payee,Description,Reference,Cheque Number\n05/10/2026,25.00,Jane (A-") ||
		!strings.HasSuffix(bank, ",101\n") {
		t.Errorf("xero bank statement:\n%s", bank)
	}
	if cust := export("x-5", `{"target":"quickbooks-customers","from":"2026-10-01","to":"2026-10-31"}`); !strings.Contains(cust, "\nJane (A-") {
		t.Errorf("customers:\n%s", cust)
	}
	r := e.do("GET", "/api/v1/accounting-exports", readerToken, "", "")
	if r.status != 200 || strings.Count(string(r.body), `"target":`) != 5 || !strings.Contains(string(r.body), `"documents":1`) || !strings.Contains(string(r.body), `"documents":0`) {
		t.Errorf("exports: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/accounting-exports", readerToken, "x-r", `{"target":"xero-bank","from":"2026-10-01","to":"2026-10-31"}`); r.status != 403 {
		t.Errorf("a reader exported: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/accounting-exports", billingToken, "x-6", `{"target":"sage","from":"2026-10-01","to":"2026-10-31"}`); r.status != 422 || !strings.Contains(string(r.body), "target") {
		t.Errorf("unknown target: %d %s", r.status, r.body)
	}
}

// The payments report reconciles the gateway's payouts: a card payment
// through the sandbox is paid out that day and found in the ledger.
func TestPaymentsReportReconcilesGatewayPayouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	good := tokenize(t, e, "pm_card_visa")
	body := fmt.Sprintf(`{"token":%q,"kind":"card","brand":"visa","last4":"4242","exp_month":12,"exp_year":2030}`, good["token"])
	if r := e.do("POST", "/api/v1/accounts/1/payment-methods", billingToken, "m1", body); r.status != 200 {
		t.Fatalf("add method: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/accounts/1/gateway-payments", billingToken, "charge-1", `{"amount":5311}`); r.status != 200 {
		t.Fatalf("charge: %d %s", r.status, r.body)
	}
	now := time.Now().UTC()
	q := "from=" + now.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + now.AddDate(0, 0, 1).Format("2006-01-02")
	r := e.do("GET", "/api/v1/reports/payments?"+q, readerToken, "", "")
	var rep struct {
		Payouts []struct {
			Gateway                              string
			Charges, Ledger, Difference, PaidOut int64
		} `json:"payouts"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &rep) != nil {
		t.Fatalf("payments report: %d %s", r.status, r.body)
	}
	var charges, ledger, diff int64
	for _, p := range rep.Payouts {
		charges, ledger, diff = charges+p.Charges, ledger+p.Ledger, diff+p.Difference
	}
	if len(rep.Payouts) == 0 || rep.Payouts[0].Gateway != "sandbox" || charges != 5311 || ledger != 5311 || diff != 0 {
		t.Errorf("payouts %+v", rep.Payouts)
	}
}

// The collections report judges a promise to pay whose day falls in the
// period.
func TestCollectionsReportJudgesPromises(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	today := time.Now().UTC()
	until := today.AddDate(0, 0, 5).Format("2006-01-02")
	untilDate, _ := billing.ParseDate(until)
	if _, err := e.db.SetPromise(context.Background(), 1, untilDate, "by phone", "user:clerk", today); err != nil {
		t.Fatal(err)
	}
	q := "from=" + today.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + today.AddDate(0, 0, 10).Format("2006-01-02")
	r := e.do("GET", "/api/v1/reports/collections?"+q, readerToken, "", "")
	var rep struct {
		Promises []struct {
			Until string `json:"until"`
			Kept  bool   `json:"kept"`
		} `json:"promises"`
		Kept   int `json:"promises_kept"`
		Broken int `json:"promises_broken"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &rep) != nil || len(rep.Promises) != 1 || rep.Promises[0].Until != until || rep.Kept != 0 || rep.Broken != 1 {
		t.Fatalf("collections before paying: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-1", `{"method":"cash","amount":1000,"received_date":"`+until+`"}`); r.status != 200 {
		t.Fatalf("payment on the promise's day: %d %s", r.status, r.body)
	}
	if c := e.do("GET", "/api/v1/reports/collections.csv?"+q, readerToken, "", ""); c.status != 200 || !strings.HasPrefix(string(c.body), "Event,Account,From,To,Cause,At\npromise kept,") {
		t.Errorf("collections CSV: %d %s", c.status, c.body)
	}
	r = e.do("GET", "/api/v1/reports/collections?"+q, readerToken, "", "")
	if r.status != 200 || json.Unmarshal(r.body, &rep) != nil || rep.Kept != 1 || rep.Broken != 0 || !rep.Promises[0].Kept {
		t.Errorf("collections after paying: %d %s", r.status, r.body)
	}
}
