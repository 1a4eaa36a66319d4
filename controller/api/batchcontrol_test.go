package api_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// A batch opened with control figures returns them, its validation says
// how far the lines are from them, and it posts only once the lines match
// both; a batch without control figures posts as before.
func TestBatchControlFigures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	r := e.do("POST", "/api/v1/payment-batches", billingToken, "b1", `{"deposit_date":"2026-12-05","control_count":2,"control_total":7500}`)
	if b := r.json(t); r.status != 200 || b["control_count"] != float64(2) || b["control_total"] != float64(7500) {
		t.Fatalf("open batch with control figures: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`{"deposit_date":"2026-12-05","control_count":0}`, `{"deposit_date":"2026-12-05","control_total":-1}`} {
		if r := e.do("POST", "/api/v1/payment-batches", billingToken, "bad"+bad, bad); r.status != 422 || !contains(r.body, "control_") {
			t.Errorf("open batch %s: %d %s", bad, r.status, r.body)
		}
	}
	r = e.do("POST", "/api/v1/payment-batches/1/lines", billingToken, "l1", `{"lines":[{"account":"A-000001","method":"check","amount":5000,"reference":"1001"}]}`)
	if r.status != 200 {
		t.Fatalf("add line: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/payment-batches/1/validation", readerToken, "", "")
	v := r.json(t)
	ctl, _ := v["control"].(map[string]any)
	if v["ok"] != false || len(v["errors"].([]any)) != 0 || ctl["count_difference"] != float64(1) || ctl["total_difference"] != float64(2500) || ctl["balanced"] != false {
		t.Fatalf("validation of a batch short of its control figures: %s", r.body)
	}
	r = e.do("POST", "/api/v1/payment-batches/1/post", billingToken, "p1", "")
	if r.status != 422 || !contains(r.body, "1 payments") || !contains(r.body, "control_count 2") ||
		!contains(r.body, "total 50.00") || !contains(r.body, "control_total 75.00") {
		t.Fatalf("posting a batch short of its control figures: %d %s", r.status, r.body)
	}
	if bal, _ := e.db.Balance(context.Background(), 1); bal != 0 {
		t.Fatalf("a refused batch changed the balance: %d", bal)
	}
	r = e.do("POST", "/api/v1/payment-batches/1/lines", billingToken, "l2", `{"lines":[{"account":"A-000001","method":"cash","amount":2500}]}`)
	if r.status != 200 {
		t.Fatalf("add line: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/payment-batches?status=open", readerToken, "", "")
	if items := r.json(t)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["control_total"] != float64(7500) {
		t.Fatalf("list batches: %s", r.body)
	}
	if r := e.do("GET", "/api/v1/payment-batches/1/validation", readerToken, "", ""); r.json(t)["ok"] != true {
		t.Fatalf("validation of a balanced batch: %s", r.body)
	}
	if r := e.do("POST", "/api/v1/payment-batches/1/post", billingToken, "p2", ""); r.status != 200 || r.json(t)["status"] != "posted" {
		t.Fatalf("post a balanced batch: %d %s", r.status, r.body)
	}
}

// The standing says when the account is next invoiced: after the period
// it was last invoiced for began.
func TestStandingNextInvoiceDate(t *testing.T) {
	t.Parallel()
	e := newCollectionsEnv(t)
	acct, _ := e.owingAccount("north-1", billing.NewDate(2026, 12, 1), 4999)
	st := e.ok("GET", fmt.Sprintf("/api/v1/accounts/%d/standing", acct), readerToken, "", "")
	d, _ := st["next_invoice_date"].(string)
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(d) || d <= "2026-12-01" {
		t.Fatalf("standing's next_invoice_date %q: %v", d, st)
	}
}
