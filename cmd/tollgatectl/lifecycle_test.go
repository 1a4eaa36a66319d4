package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const changeAnswer = `{"preview":true,"plan":{"kind":"plan_change","currency":"USD","effective":"2027-03-10","net":2129,"invoicing":"next_invoice",
	"lines":[{"kind":"credit","description":"Fiber 50 → Fiber 100 from Mar 10: credit 22 of 31 days","period_start":"2027-03-10","period_end":"2027-04-01","amount":-3548},
	{"kind":"recurring","description":"Fiber 50 → Fiber 100 from Mar 10: charge 22 of 31 days","period_start":"2027-03-10","period_end":"2027-04-01","amount":5677}],
	"why":["Fiber 50 → Fiber 100 from Mar 10 (an upgrade)"]}}`

func TestServiceChangePreviewSendsTheChange(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{"POST /api/v1/services/7/plan-change": {changeAnswer}})
	out, _, err := run(t, url, "service", "change", "7", "--plan", "2", "--from", "2027-03-10", "--preview", "--reason", "upgrade")
	if err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 1 || calls[0].query != "preview=true" || calls[0].key == "" {
		t.Fatalf("requests %+v", calls)
	}
	var sent map[string]any
	if err := json.Unmarshal(calls[0].body, &sent); err != nil || sent["plan_id"] != float64(2) || sent["effective_date"] != "2027-03-10" || sent["reason"] != "upgrade" {
		t.Fatalf("sent %s (%v)", calls[0].body, err)
	}
	for _, want := range []string{"USD -35.48", "USD 56.77", "2027-03-10..2027-03-31", "nothing was changed", "USD 21.29 (next_invoice)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLifecycleCommandsRefuseBadFlagsWithoutSending(t *testing.T) {
	f, url := newFakeAPI(t, nil)
	for _, args := range [][]string{
		{"service", "pause", "7", "--from", "2027-03-10"},
		{"service", "change", "x", "--plan", "2"},
	} {
		if _, _, err := run(t, url, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if n := len(f.calls()); n != 0 {
		t.Errorf("bad flags sent %d requests", n)
	}
}

func TestPlanProfileSendsTheProfile(t *testing.T) {
	const answer = `{"preview":true,"change":{"version":{"plan_id":3,"version":2,"profile":{"name":"fiber-100.v2","download_rate":100000000,"upload_rate":20000000},
		"created_at":"2027-03-10T12:00:00Z"},"receive_now":41,"access_only":[7,9],"later":3,"why":["fiber-100.v1 → fiber-100.v2"]}}`
	f, url := newFakeAPI(t, map[string][]string{"POST /api/v1/plans/3/profile": {answer, answer}})
	out, _, err := run(t, url, "plan", "profile", "3", "--download", "100000000", "--upload", "20000000", "--burst-time", "8",
		"--filter-id", "fiber100", "--preview", "--reason", "faster")
	if err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	want := `{"profile":{"burst_time":8,"download_rate":100000000,"upload_rate":20000000,"vendor":{"filter_id":"fiber100"}},"reason":"faster"}`
	if len(calls) != 1 || calls[0].query != "preview=true" || calls[0].key == "" || strings.TrimSpace(string(calls[0].body)) != want {
		t.Fatalf("requests %+v, want body %s", calls, want)
	}
	for _, w := range []string{"fiber-100.v2: 100 Mbit/s down, 20 Mbit/s up", "41", "7, 9", "nothing was changed", "fiber-100.v1 → fiber-100.v2"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if _, _, err := run(t, url, "plan", "profile", "3", "--remove"); err != nil {
		t.Fatal(err)
	}
	if calls := f.calls(); len(calls) != 2 || calls[1].query != "" || strings.TrimSpace(string(calls[1].body)) != `{"remove":true}` {
		t.Fatalf("--remove sent %+v", calls[len(calls)-1])
	}
}
