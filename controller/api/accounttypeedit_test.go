package api_test

import (
	"strings"
	"testing"
)

// TestAccountOverridesAndTypeImpact: an account's own billing settings and
// tax exemption go through the account edit (422 naming the field for a bad
// one), show on the account, and the preview of a type change counts the
// accounts that inherit each setting and those that override it.
func TestAccountOverridesAndTypeImpact(t *testing.T) {
	t.Parallel()
	e := editEnv(t)
	if r := e.do("POST", "/api/v1/accounts", adminToken, "a2", `{"name":"Bob","account_type_id":1,"currency":"USD","delivery":"mail"}`); r.status != 200 {
		t.Fatalf("second account: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ body, field string }{
		{`{"overrides":{"grace_days":-1}}`, "overrides.grace_days"},
		{`{"overrides":{"reactivation_rule":"never"}}`, "reactivation_rule"},
		{`{"tax_exempt":true}`, "exemption_certificate"},
	} {
		if r := e.patch("bad-"+c.field, `"1"`, c.body); r.status != 422 || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.body, r.status, r.body, c.field)
		}
	}
	r := e.patch("o1", `"1"`, `{"overrides":{"grace_days":14,"late_fee":false},"tax_exempt":true,"exemption_certificate":"TX-123","reason":"contract"}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"overrides"`) {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	got := e.do("GET", "/api/v1/accounts/1", readerToken, "", "").json(t)
	o, _ := got["overrides"].(map[string]any)
	if o["grace_days"] != float64(14) || o["late_fee"] != false || got["tax_exempt"] != true || got["exemption_certificate"] != "TX-123" {
		t.Errorf("account after the edit: %v", got)
	}
	r = e.do("GET", "/api/v1/account-types/1/impact?settings=grace_days,due_days", readerToken, "", "")
	if r.status != 200 {
		t.Fatalf("impact: %d %s", r.status, r.body)
	}
	body := strings.Join(strings.Fields(string(r.body)), "")
	for _, want := range []string{`"accounts":2`, `{"setting":"grace_days","inherit":1,"overrides":1}`, `{"setting":"due_days","inherit":2,"overrides":0}`} {
		if !strings.Contains(body, want) {
			t.Errorf("impact %s lacks %s", body, want)
		}
	}
	if r := e.do("GET", "/api/v1/account-types/9/impact", readerToken, "", ""); r.status != 404 {
		t.Errorf("unknown type: %d %s", r.status, r.body)
	}
}
