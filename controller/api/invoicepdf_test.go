package api_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// billNow runs billing for an account type on date through the store, as
// the jobs would, and returns the invoices' ids.
func billNow(t *testing.T, db *postgres.DB, typeID int64, date billing.Date) []int64 {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	var run billing.BillingRun
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		run, _, err = postgres.CreateBillingRunTx(ctx, tx, typeID, date, billing.TriggerOnDemand, "test", 100, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for b := range run.TotalBatches {
		if _, err := db.RunBillingBatch(ctx, run.ID, b, now); err != nil {
			t.Fatal(err)
		}
	}
	invs, err := db.Invoices(ctx, billing.InvoiceFilter{BillingRunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, inv := range invs {
		ids = append(ids, inv.ID)
	}
	return ids
}

func TestInvoiceAndStatementPDFs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	typ := strings.Replace(residential, `"name":"residential"`, `"name":"residential","remittance_slip":true,"invoice_message":"Closed on Thanksgiving Day."`, 1)
	for _, c := range []struct{ path, body string }{
		{"/api/v1/account-types", typ},
		{"/api/v1/plans", `{"name":"Fiber 100","price":4999,"currency":"USD"}`},
		{"/api/v1/accounts", `{"name":"Ana Muñoz","email":"ana@example.net","account_type_id":1,"currency":"USD","anchor_date":"2026-12-01",
			"address":{"line1":"12 Elm Street","city":"Peoria","region":"IL","postal_code":"61602"}}`},
		{"/api/v1/services", `{"pop":"p1","binding":{"method":"log"},"account_id":1,"plan_id":1,"start_date":"2026-12-01"}`},
	} {
		if r := e.do("POST", c.path, adminToken, "setup-"+c.path, c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	ids := billNow(t, e.db, 1, billing.NewDate(2026, 11, 28))
	if len(ids) != 1 {
		t.Fatalf("billing made %d invoices; want 1", len(ids))
	}
	inv, err := e.db.Invoice(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/invoices/%d/pdf", inv.ID)

	r := e.do("GET", path, readerToken, "", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.body, []byte("%PDF")) {
		t.Fatalf("invoice PDF: %d %v %.200s", r.status, r.header, r.body)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, inv.Number+".pdf") {
		t.Errorf("Content-Disposition %q does not name the invoice", cd)
	}
	text := pdfText(t, r.body)
	for _, want := range []string{inv.Number, "A-000001", "Ana Muñoz", "12 Elm Street", "Fiber 100", "49.99",
		"Closed on Thanksgiving Day.", "Please return this portion with your payment", "Amount enclosed"} {
		if !strings.Contains(text, want) {
			t.Errorf("invoice PDF lacks %q:\n%s", want, text)
		}
	}
	r = e.do("GET", path+"?message=Ask+about+our+new+500+Mbps+plan", readerToken, "", "")
	if text := pdfText(t, r.body); r.status != 200 || !strings.Contains(text, "Ask about our new 500 Mbps plan") || strings.Contains(text, "Thanksgiving") {
		t.Errorf("a message override is not printed instead of the type's: %d\n%s", r.status, text)
	}
	if r := e.do("GET", path, "", "", ""); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/invoices/999999/pdf", readerToken, "", ""); r.status != 404 {
		t.Errorf("missing invoice: %d %s", r.status, r.body)
	}

	// The statement.
	if r := e.do("POST", "/api/v1/accounts/1/credits", billingToken, "cr1", `{"amount":1000,"memo":"outage credit","effective_date":"2026-12-03"}`); r.status != 200 {
		t.Fatalf("credit: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/accounts/1/statement.pdf?from=2026-11-01&to=2026-12-31", readerToken, "", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("statement PDF: %d %s", r.status, r.body)
	}
	text = pdfText(t, r.body)
	for _, want := range []string{"STATEMENT", "A-000001", "Ana Muñoz", "Nov 1, 2026 - Dec 31, 2026", "Credit: outage credit", "-10.00", "39.99", inv.Number} {
		if !strings.Contains(text, want) {
			t.Errorf("statement PDF lacks %q:\n%s", want, text)
		}
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "statement-A-000001-2026-11-01-2026-12-31.pdf") {
		t.Errorf("Content-Disposition %q", cd)
	}
	// Default period: the 90 days to today.
	if r := e.do("GET", "/api/v1/accounts/1/statement.pdf", readerToken, "", ""); r.status != 200 {
		t.Errorf("statement with the default period: %d %s", r.status, r.body)
	}
	for q, want := range map[string]int{"?from=2026-13-01": 422, "?from=Jan+1": 422, "?to=Jan+1": 422, "?from=2026-12-31&to=2026-12-01": 422} {
		if r := e.do("GET", "/api/v1/accounts/1/statement.pdf"+q, readerToken, "", ""); r.status != want {
			t.Errorf("statement%s: %d %s; want %d", q, r.status, r.body, want)
		}
	}
	if r := e.do("GET", "/api/v1/accounts/99/statement.pdf", readerToken, "", ""); r.status != 404 {
		t.Errorf("statement of a missing account: %d %s", r.status, r.body)
	}
}
