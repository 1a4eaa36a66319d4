package main

import (
	"strings"
	"testing"
)

// The report commands pass their flags as the API's query parameters and
// print the CSV as the controller wrote it; close-month posts the month
// with an Idempotency-Key.
func TestReportCommands(t *testing.T) {
	csv := "Payment,Account,Method\n7,A-000001,check\n"
	f, url := newFakeAPI(t, map[string][]string{
		"GET /api/v1/reports/payments.csv": {csv},
		"GET /api/v1/reports/tax":          {`{"from":"2026-10-01","to":"2026-10-31","rows":[]}`},
		"POST /api/v1/period-closes":       {`{"through":"2026-10-31","closed_by":"user:clerk"}`},
		"POST /api/v1/accounting-exports":  {"Journal No,Journal Date,Account Name,Debits,Credits,Description,Name\n"},
	})
	out, _, err := run(t, url, "report", "payments", "--from", "2026-10-01", "--to", "2026-10-31", "--method", "check", "--batch-id", "4")
	if err != nil || out != csv {
		t.Fatalf("payments: %q %v", out, err)
	}
	out, _, err = run(t, url, "-o", "json", "report", "tax", "--from", "2026-10-01", "--to", "2026-10-31")
	if err != nil || !strings.Contains(out, `"from":"2026-10-01"`) {
		t.Fatalf("tax: %q %v", out, err)
	}
	out, _, err = run(t, url, "report", "close-month", "2026-10")
	if err != nil || out != "books closed through 2026-10-31\n" {
		t.Fatalf("close: %q %v", out, err)
	}
	out, _, err = run(t, url, "report", "export", "quickbooks-journal", "--from", "2026-10-01", "--to", "2026-10-31", "--all")
	if err != nil || !strings.HasPrefix(out, "Journal No,") {
		t.Fatalf("export: %q %v", out, err)
	}
	calls := f.calls()
	if len(calls) != 4 || string(calls[3].body) != `{"all":true,"from":"2026-10-01","target":"quickbooks-journal","to":"2026-10-31"}` || calls[3].key == "" || calls[0].query != "batch_id=4&from=2026-10-01&method=check&to=2026-10-31" || calls[1].query != "from=2026-10-01&to=2026-10-31" ||
		calls[2].key == "" || strings.TrimSpace(string(calls[2].body)) != `{"month":"2026-10"}` {
		t.Errorf("requests %+v", calls)
	}
}
