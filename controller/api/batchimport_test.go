package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func (e *env) doCSV(path, key, csv string) response {
	e.t.Helper()
	return e.doHeader("POST", path, csv, map[string]string{"Authorization": "Bearer " + billingToken, "Idempotency-Key": key, "Content-Type": "text/csv"})
}

// The server parses and validates a lockbox file: every problem of every row
// (format, unknown account, an amount the currency cannot hold, a control
// character) comes in one 422 and nothing is added; a good file is added
// whole, its duplicate checks (one payer's check on two accounts) reported as
// warnings; a dry run adds nothing; the same file with the same key adds
// nothing again.
func TestBatchImportEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	if r := e.do("POST", "/api/v1/accounts", adminToken, "acct-2", `{"name":"Bob","account_type_id":1,"currency":"USD","external_id":"legacy-2"}`); r.status != 200 {
		t.Fatalf("second account: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/payment-batches", billingToken, "b1", `{"deposit_date":"2026-12-05"}`); r.status != 200 {
		t.Fatalf("open batch: %d %s", r.status, r.body)
	}
	lines := func() int {
		r := e.do("GET", "/api/v1/payment-batches/1", readerToken, "", "")
		return len(r.json(t)["lines"].([]any))
	}

	bad := "account,method,amount,reference,payer,memo\n" +
		"A-000001,check,49.99,1001,Jane,\n" + // 2: fine
		"A-000001,check,12.3.4,1002,Jane,\n" + // 3: format
		"nobody,cash,10,,,\n" + // 4: unknown account
		"legacy-2,cash,1.234,,,\n" + // 5: three decimals for USD
		"legacy-2,cash,5,,,a\x00b\n" + // 6: NUL
		"legacy-2,check,7,,Bob,\n" // 7: a check without its number
	r := e.doCSV("/api/v1/payment-batches/1/import", "imp-bad", bad)
	if r.status != 422 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("bad file: %d %s", r.status, r.body)
	}
	var p struct {
		Errors []struct{ Location, Message string } `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range p.Errors {
		got = append(got, d.Location)
	}
	want := []string{"line 3/amount", "line 4/account", "line 5/amount", "line 6/memo", "line 7/reference"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems at %v, want %v: %s", got, want, r.body)
	}
	if n := lines(); n != 0 {
		t.Fatalf("a refused file added %d lines", n)
	}

	good := "account,amount,reference,payer\n" +
		"A-000001,49.99,1001,Jane Doe\n" +
		"legacy-2,120.00,1001,jane doe\n" + // the same check from the same payer, another account
		"legacy-2,5,5531,Bob\n"
	r = e.doCSV("/api/v1/payment-batches/1/import?dry_run=true", "imp-dry", good)
	if r.status != 200 || r.json(t)["added"] != float64(3) || lines() != 0 {
		t.Fatalf("dry run: %d %s (lines %d)", r.status, r.body, lines())
	}
	r = e.doCSV("/api/v1/payment-batches/1/import", "imp-good", good)
	if r.status != 200 {
		t.Fatalf("good file: %d %s", r.status, r.body)
	}
	res := r.json(t)
	warnings, _ := json.Marshal(res["warnings"])
	if res["added"] != float64(3) || !strings.Contains(string(warnings), `"line":3`) || !strings.Contains(string(warnings), "one check pays once") {
		t.Errorf("good file: %s", r.body)
	}
	if r := e.doCSV("/api/v1/payment-batches/1/import", "imp-good", good); r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("re-sent file: %d %s", r.status, r.body)
	}
	if n := lines(); n != 3 {
		t.Fatalf("batch has %d lines after importing the file twice with one key, want 3", n)
	}
	r = e.do("GET", "/api/v1/payment-batches/1/validation", readerToken, "", "")
	if !strings.Contains(string(r.body), "one check pays once") {
		t.Errorf("validation does not flag one payer's check on two accounts: %s", r.body)
	}
}
