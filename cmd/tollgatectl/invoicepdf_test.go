package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInvoiceAndStatementPDFCommands(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"GET /api/v1/invoices/12/pdf":          {"%PDF-1.3 invoice"},
		"GET /api/v1/accounts/7/statement.pdf": {"%PDF-1.3 statement"},
		"GET /api/v1/invoices/13/pdf":          {`{"not":"a pdf"}`},
	})
	dir := t.TempDir()
	inv, st := filepath.Join(dir, "inv.pdf"), filepath.Join(dir, "st.pdf")
	if out, _, err := run(t, url, "invoice", "pdf", "12", "--file", inv, "--message", "Reprint"); err != nil || !strings.Contains(out, "wrote "+inv) {
		t.Fatalf("invoice pdf: %v %s", err, out)
	}
	if out, _, err := run(t, url, "account", "statement", "7", "--from", "2026-01-01", "--to", "2026-03-31", "--file", st); err != nil || !strings.Contains(out, "wrote "+st) {
		t.Fatalf("account statement --file: %v %s", err, out)
	}
	if out, _, err := run(t, url, "invoice", "pdf", "12", "--file", "-"); err != nil || out != "%PDF-1.3 invoice" {
		t.Fatalf("invoice pdf --file -: %v %q", err, out)
	}
	for path, want := range map[string]string{inv: "%PDF-1.3 invoice", st: "%PDF-1.3 statement"} {
		if b, err := os.ReadFile(path); err != nil || string(b) != want {
			t.Errorf("%s holds %q (%v); want %q", path, b, err, want)
		}
	}
	queries := map[string]string{}
	for _, c := range f.calls() {
		queries[c.path] = c.query
	}
	if q := queries["/api/v1/invoices/12/pdf"]; q != "" && q != "message=Reprint" {
		t.Errorf("invoice pdf query %q", q)
	}
	if q := queries["/api/v1/accounts/7/statement.pdf"]; q != "from=2026-01-01&to=2026-03-31" {
		t.Errorf("statement query %q; want from and to", q)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"invoice", "pdf", "12"}, `required flag(s) "file" not set`},
		{[]string{"invoice", "pdf", "x", "--file", inv}, "invoice"},
		{[]string{"invoice", "pdf", "99", "--file", inv}, "404"},
		{[]string{"invoice", "pdf", "13", "--file", inv}, "not a PDF"},
		{[]string{"account", "statement", "7", "--from", "2026-01-01"}, "give --file too"},
	} {
		if _, _, err := run(t, url, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tollgatectl %s: %v; want an error with %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
