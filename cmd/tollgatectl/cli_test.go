package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeAPI records requests and answers them from a table of canned
// responses by "METHOD path".
type fakeAPI struct {
	mu       sync.Mutex
	requests []recorded
	answers  map[string][]string // bodies served in turn; the last repeats
}

type recorded struct {
	method, path, query, key, contentType string
	body                                  []byte
}

func newFakeAPI(t *testing.T, answers map[string][]string) (*fakeAPI, string) {
	f := &fakeAPI{answers: answers}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), body})
		k := r.Method + " " + r.URL.Path
		bodies := f.answers[k]
		if len(bodies) == 0 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"status":404,"title":"Not Found","detail":"fake API has no answer for %s"}`, k)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, bodies[0])
		if len(bodies) > 1 {
			f.answers[k] = bodies[1:]
		}
	}))
	t.Cleanup(s.Close)
	return f, s.URL
}

func (f *fakeAPI) calls() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// run executes tollgatectl with args and returns stdout, stderr and the
// error.
func run(t *testing.T, server string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"--server", server, "--token", "test-token"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestPlanCreateSendsThePriceAsTyped: the controller reads "49.99" in the
// plan's currency (controller/api TestDecimalAmounts).
func TestPlanCreateSendsThePriceAsTyped(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"POST /api/v1/plans": {`{"id":3,"name":"Fiber 100","price":4999,"currency":"USD","interval":"monthly","taxable":true}`},
	})
	out, _, err := run(t, url, "plan", "create", "--name", "Fiber 100", "--price", "49.99", "--currency", "USD", "--taxable")
	if err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 1 || calls[0].key == "" {
		t.Fatalf("requests %+v: want one POST with an Idempotency-Key", calls)
	}
	// No --interval: the controller bills monthly.
	if want := `{"currency":"USD","name":"Fiber 100","price":"49.99","taxable":true}`; string(bytes.TrimSpace(calls[0].body)) != want {
		t.Fatalf("sent %s, want %s", calls[0].body, want)
	}
	if !strings.Contains(out, "USD 49.99") || !strings.Contains(out, "Fiber 100") {
		t.Errorf("output:\n%s", out)
	}
}

// TestCreateSendsNestedFields: dotted param keys build the nested body
// fields (binding, address), with the flags' defaults and lists.
func TestCreateSendsNestedFields(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"POST /api/v1/services": {`{"id":5,"pop":"north-1","binding":{"method":"log"},"desired_state":"active"}`},
		"POST /api/v1/accounts": {`{"id":8,"number":"A-000008","name":"Jane","currency":"USD"}`},
	})
	if _, _, err := run(t, url, "service", "create", "--pop", "north-1", "--address", "100.64.1.20", "--address", "100.64.1.21", "--if-index", "3"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, url, "account", "create", "--name", "Jane", "--type", "1", "--currency", "USD", "--city", "Springfield"); err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	for i, want := range []string{`{"binding":{"addresses":["100.64.1.20","100.64.1.21"],"if_index":3,"method":"log"},"pop":"north-1","state":"active"}`,
		`{"account_type_id":1,"address":{"city":"Springfield"},"currency":"USD","name":"Jane"}`} {
		if len(calls) != 2 || string(bytes.TrimSpace(calls[i].body)) != want {
			t.Fatalf("requests %+v: want %s", calls, want)
		}
	}
}

func TestCommandArgumentErrors(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"GET /api/v1/accounts/7": {`{"id":7,"number":"A-000007","currency":"JPY"}`},
	})
	for _, tc := range []struct {
		args []string
		frag string
	}{
		{[]string{"plan", "create", "--price", "1", "--currency", "USD"}, `required flag(s) "name" not set`},
		{[]string{"account", "show", " "}, `ACCOUNT is empty: give an account id, number (A-000042) or external id`},
		{[]string{"invoice", "show", "0"}, `invoice id "0" is not a positive number`},
		{[]string{"dev", "advance"}, `accepts 1 arg(s), received 0`},
		{[]string{"import", "accounts", "/nonexistent/file.csv"}, `no such file`},
		{[]string{"import", "accounts", "x.csv", "--chunk-size", "0"}, `--chunk-size 0`},
		{[]string{"account-type", "create"}, `required flag(s) "file" not set`},
		{[]string{"-o", "yaml", "plan", "list"}, `--output "yaml" is not one of table, json`},
	} {
		_, _, err := run(t, url, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.frag) {
			t.Errorf("tollgatectl %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.frag)
		}
	}
	for _, c := range f.calls() {
		if c.method != http.MethodGet {
			t.Errorf("a command with bad arguments sent %s %s", c.method, c.path)
		}
	}
}

// TestCommandsSendPathIDs checks what the commands that act on one thing
// send, amounts in the account's currency included.
func TestCommandsSendPathIDs(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"GET /api/v1/accounts/7":          {`{"id":7,"number":"A-000007","currency":"KWD","balance":0}`},
		"POST /api/v1/accounts/7/charges": {`{"id":1,"account_id":7,"description":"Router","amount":25500,"charge_date":"2025-01-02"}`},
		"POST /api/v1/accounts/7/credits": {`{"id":9,"account_id":7,"memo":"outage","effective_date":"2025-01-03","currency":"KWD"}`},
		"POST /api/v1/invoices/12/void":   {`{"id":12,"number":"I-12","status":"void","total":100,"currency":"USD"}`},
		"PUT /api/v1/account-types/3":     {`{"id":3,"name":"biz","due_days":21}`},
		"GET /api/v1/accounts/7/statement": {`{"balance":-1250,"lines":[` +
			`{"tx_id":4,"kind":"invoice","effective_date":"2025-01-01","memo":"invoice I-1","invoice_number":"I-1","amount":25500,"running_balance":25500},` +
			`{"tx_id":9,"kind":"credit","effective_date":"2025-01-03","memo":"outage","amount":-26750,"running_balance":-1250}]}`},
	})
	typeFile := filepath.Join(t.TempDir(), "t.json")
	if err := os.WriteFile(typeFile, []byte(`{"name":"biz","due_days":21}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"charge", "add", "7", "--description", "Router", "--amount", "25.5", "--date", "2025-01-02", "--idempotency-key", "k-charge"},
		{"credit", "add", "7", "--amount", "1.250", "--memo", "outage"},
		{"invoice", "void", "12", "--reason", "duplicate"},
		{"account-type", "update", "3", "--file", typeFile},
	} {
		if out, _, err := run(t, url, args...); err != nil {
			t.Fatalf("tollgatectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, _, err := run(t, url, "account", "statement", "7")
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{"Account A-000007", "invoice I-1", "25.500", "-26.750", "-1.250", "Balance: KWD -1.250"} {
		if !strings.Contains(out, frag) {
			t.Errorf("statement lacks %q:\n%s", frag, out)
		}
	}
	want := map[string]string{
		// Amounts go as typed; the controller reads them in the account's
		// currency (controller/api TestDecimalAmounts).
		"POST /api/v1/accounts/7/charges": `{"amount":"25.5","charge_date":"2025-01-02","description":"Router"}`,
		"POST /api/v1/accounts/7/credits": `{"amount":"1.250","memo":"outage"}`,
		"POST /api/v1/invoices/12/void":   `{"reason":"duplicate"}`,
	}
	for _, c := range f.calls() {
		k := c.method + " " + c.path
		if c.method != http.MethodGet && c.key == "" {
			t.Errorf("%s without an Idempotency-Key", k)
		}
		if w, ok := want[k]; ok && string(bytes.TrimSpace(c.body)) != w {
			t.Errorf("%s sent %s, want %s", k, c.body, w)
		}
		if k == "POST /api/v1/accounts/7/charges" && c.key != "k-charge" {
			t.Errorf("--idempotency-key not sent: %q", c.key)
		}
		if k == "PUT /api/v1/account-types/3" && !strings.Contains(string(c.body), `"due_days":21`) {
			t.Errorf("update sent %s", c.body)
		}
	}
}

// TestAccountTypeFileIsSentAsIs: a YAML or JSON settings file goes to the
// controller as it is, typed by its name or content; the controller reads
// YAML and refuses a misspelt setting (controller/api
// TestYAMLRequestBodies).
func TestAccountTypeFileIsSentAsIs(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{"POST /api/v1/account-types": {`{"id":1,"name":"residential"}`}})
	dir := t.TempDir()
	for name, content := range map[string]string{"type.yaml": "name: residential\nbilling_day: 1\n", "type.json": `{"name":"residential"}`, "type.txt": `{"name":"r"}`} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, _, err := run(t, url, "account-type", "create", "--file", path); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		calls := f.calls()
		last := calls[len(calls)-1]
		want := map[string]string{"type.yaml": "application/yaml", "type.json": "application/json", "type.txt": "application/json"}[name]
		if string(last.body) != content || last.contentType != want {
			t.Errorf("%s: sent %q as %s; want it as is, as %s", name, last.body, last.contentType, want)
		}
	}
}

func TestBillingRunStartWaitsWithProgress(t *testing.T) {
	run1 := func(status string, done, inv int) string {
		return fmt.Sprintf(`{"id":5,"account_type_id":1,"date":"2025-04-01","status":%q,"total_accounts":10,"done_accounts":%d,"invoices_created":%d,"created_at":"2025-04-01T00:00:00Z"}`, status, done, inv)
	}
	f, url := newFakeAPI(t, map[string][]string{
		"POST /api/v1/billing-runs":  {`{"items":[` + run1("running", 0, 0) + `],"next_after":0}`},
		"GET /api/v1/billing-runs/5": {run1("running", 4, 3), run1("running", 8, 7), run1("completed", 10, 9)},
	})
	out, errOut, err := run(t, url, "billing-run", "start", "--type", "1", "--date", "2025-04-01", "--wait")
	if err != nil {
		t.Fatal(err)
	}
	var gets int
	for _, c := range f.calls() {
		if c.method == http.MethodGet {
			gets++
		}
		if c.method == http.MethodPost && !strings.Contains(string(c.body), `"account_type_id":1`) {
			t.Errorf("start sent %s", c.body)
		}
	}
	if gets != 3 {
		t.Errorf("polled %d times, want 3 (until completed)", gets)
	}
	// stderr is not a terminal here: progress lines, the last one complete.
	if !strings.Contains(errOut, "[====================] 100%  10/10 accounts  9 invoices") || strings.Contains(errOut, "\r") {
		t.Errorf("progress:\n%q", errOut)
	}
	if !strings.Contains(out, "completed") || !strings.Contains(out, "10/10") {
		t.Errorf("output:\n%s", out)
	}
}
