package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCloseAndReopenAccount: close needs If-Match (428), refuses a stale
// one (412 with the current ETag) and refund_credit (422); billing staff
// close the account (its service cancelled, the account closed at version
// 2), a replay answers the same; only an admin reopens it.
func TestCloseAndReopenAccount(t *testing.T) {
	t.Parallel()
	e, _ := lifecycleEnv(t)
	if r := e.lifecycle("/api/v1/accounts/1/close", "k0", "", `{}`); r.status != 428 {
		t.Fatalf("no If-Match: %d %s", r.status, r.body)
	}
	if r := e.lifecycle("/api/v1/accounts/1/close", "k1", `"9"`, `{}`); r.status != 412 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("stale: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	if r := e.lifecycle("/api/v1/accounts/1/close", "k2", `"1"`, `{"refund_credit":true}`); r.status != 422 || !strings.Contains(string(r.body), "refund_credit") {
		t.Fatalf("refund: %d %s", r.status, r.body)
	}
	var answer struct {
		Account struct {
			Status  string
			Version int64
		}
		Plan struct {
			Cancels []struct{ Kind string }
		}
	}
	r := e.lifecycle("/api/v1/accounts/1/close", "k3", `"1"`, `{"reason":"moving away"}`)
	if err := json.Unmarshal(r.body, &answer); r.status != 200 || err != nil || answer.Account.Status != "closed" || answer.Account.Version != 2 ||
		len(answer.Plan.Cancels) != 1 || answer.Plan.Cancels[0].Kind != "cancel" || r.header.Get("ETag") != `"2"` {
		t.Fatalf("close: %d %v %s", r.status, err, r.body)
	}
	if again := e.lifecycle("/api/v1/accounts/1/close", "k3", `"1"`, `{"reason":"moving away"}`); again.status != 200 || string(again.body) != string(r.body) {
		t.Fatalf("replay: %d %s", again.status, again.body)
	}
	if r := e.do("GET", "/api/v1/services/1", readerToken, "", ""); !strings.Contains(string(r.body), `"end_date"`) {
		t.Fatalf("the service was not cancelled: %s", r.body)
	}
	if r := e.lifecycle("/api/v1/accounts/1/reopen", "k4", `"2"`, `{}`); r.status != 403 {
		t.Fatalf("billing staff reopened: %d %s", r.status, r.body)
	}
	r = e.doHeader("POST", "/api/v1/accounts/1/reopen", `{"reason":"came back"}`,
		map[string]string{"Authorization": "Bearer " + adminToken, "Idempotency-Key": "k5", "If-Match": `"2"`})
	if err := json.Unmarshal(r.body, &answer); r.status != 200 || err != nil || answer.Account.Status != "current" || r.header.Get("ETag") != `"3"` {
		t.Fatalf("reopen: %d %v %s", r.status, err, r.body)
	}
}
