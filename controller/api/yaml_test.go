package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestYAMLRequestBodies: an account type's settings may be sent as YAML,
// converted value by value (numbers and booleans stay, dates become
// strings); a misspelt setting is refused naming it, as in JSON, and bad
// YAML is refused naming its line.
func TestYAMLRequestBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	send := func(method, path, key, body string) (int, string) {
		req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	doc := `name: residential
billing_mode: fixed_day
billing_day: 1
due_days: 14
delinquency_weekdays: [1, 2, 3]
exclusions:
  - {date: 2025-12-24, yearly: true, name: Christmas Eve}
time_zone: America/Chicago
late_fee: {kind: percent, percent: "1.5", after_days: 0}
auto_suspend: true
`
	status, body := send("POST", "/api/v1/account-types", "yaml-1", doc)
	for _, want := range []string{`"name":"residential"`, `"billing_day":1`, `"due_days":14`, `"delinquency_weekdays":[1,2,3]`,
		`"date":"2025-12-24"`, `"yearly":true`, `"percent":"1.5"`, `"auto_suspend":true`} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("create from YAML: %d %s; want %s", status, body, want)
		}
	}
	status, body = send("PUT", "/api/v1/account-types/1", "yaml-2", strings.Replace(doc, "due_days: 14", "due_days: 21", 1))
	if status != 200 || !strings.Contains(body, `"due_days":21`) {
		t.Errorf("update from YAML: %d %s", status, body)
	}
	status, body = send("POST", "/api/v1/account-types", "yaml-3", "name: x\nbiling_mode: fixed_day\n")
	if status != 422 || !strings.Contains(body, "biling_mode") {
		t.Errorf("a misspelt setting: %d %s", status, body)
	}
	status, body = send("POST", "/api/v1/account-types", "yaml-4", "name: [x\n")
	if status != 422 || !strings.Contains(body, "line") || !strings.Contains(body, `"location":"body"`) {
		t.Errorf("bad YAML: %d %s", status, body)
	}
	if r := e.do("GET", "/api/v1/account-types", readerToken, "", ""); strings.Count(string(r.body), `"id":`) != 1 {
		t.Errorf("account types after the refused documents: %s", r.body)
	}
}
