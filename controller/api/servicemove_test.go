package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// moveEnv is an env with a suspended RouterOS service (id 1) at pop-a and
// a service (id 2) at pop-b.
func moveEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	for i, body := range []string{
		`{"pop":"pop-a","name":"fiber","state":"suspended","binding":{"method":"routeros","device":"edge","addresses":["100.64.0.7"]}}`,
		`{"pop":"pop-b","name":"other","binding":{"method":"log"}}`,
	} {
		if r := e.do("POST", "/api/v1/services", billingToken, "setup-"+string(rune('a'+i)), body); r.status != 200 {
			t.Fatalf("service: %d %s", r.status, r.body)
		}
	}
	return e
}

func (e *env) serviceChange(method, path, key, ifMatch, body string) response {
	e.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + billingToken, "Idempotency-Key": key}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	return e.doHeader(method, path, body, h)
}

func TestServiceMoveWithIfMatch(t *testing.T) {
	t.Parallel()
	e := moveEnv(t)
	r := e.do("GET", "/api/v1/services/1", readerToken, "", "")
	if r.status != 200 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("get: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	move := `{"pop":"pop-b","binding":{"method":"routeros","device":"core","addresses":["100.64.9.7"]},"reason":"moved house"}`
	const path = "/api/v1/services/1/move"

	if r := e.serviceChange("POST", path, "m0", "", move); r.status != 428 || !strings.Contains(string(r.body), "If-Match") {
		t.Fatalf("no If-Match: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ body, names string }{
		{`{"pop":"pop-z","binding":{"method":"log"}}`, `pop \"pop-z\" does not exist`},
		{`{"pop":"Pop B","binding":{"method":"log"}}`, "pop"},
		{`{"pop":"pop-a","binding":{"method":"routeros","device":"edge","addresses":["100.64.0.7"]}}`, "binding"},
		{`{"pop":"pop-b","binding":{"method":"routeros"}}`, "binding"},
		{`{"pop":"pop-b","binding":{"method":"snmp","device":"olt","if_index":-3}}`, "binding"},
	} {
		r := e.serviceChange("POST", path, "bad-"+c.body, `"1"`, c.body)
		if r.status != 422 || !strings.Contains(string(r.body), c.names) || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %s, want a 422 problem naming %s", c.body, r.status, r.header.Get("Content-Type"), r.body, c.names)
		}
	}
	r = e.serviceChange("POST", path, "m1", `"1"`, move)
	if r.status != 200 || r.header.Get("ETag") != `"2"` {
		t.Fatalf("move: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	var res struct {
		Service struct {
			POP          string `json:"pop"`
			Version      int64  `json:"version"`
			Revision     int64  `json:"revision"`
			DesiredState string `json:"desired_state"`
		}
		Changed     bool
		RemovedFrom string `json:"removed_from"`
		Change      struct {
			Actor, Reason string
			Before, After map[string]any
		}
	}
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Service.POP != "pop-b" || res.Service.Version != 2 || res.Service.Revision != 2 || res.Service.DesiredState != "suspended" ||
		res.RemovedFrom != "pop-a" || res.Change.Actor != "clerk" || res.Change.Reason != "moved house" || res.Change.After["pop"] != "pop-b" {
		t.Errorf("move answered %s", r.body)
	}
	// The same key and body again: the first response, replayed; nothing
	// moved twice.
	if again := e.serviceChange("POST", path, "m1", `"1"`, move); again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(r.body) {
		t.Errorf("replay: %d %q %s", again.status, again.header.Get("Idempotent-Replayed"), again.body)
	}
	// A stale version: 412 with the current one.
	r = e.serviceChange("POST", path, "m2", `"1"`, `{"pop":"pop-a","binding":{"method":"log"}}`)
	if r.status != 412 || r.header.Get("ETag") != `"2"` || !strings.Contains(string(r.body), "version 2, not 1") {
		t.Fatalf("stale: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	if r := e.do("GET", "/api/v1/services/1", readerToken, "", ""); r.json(t)["pop"] != "pop-b" || r.header.Get("ETag") != `"2"` {
		t.Errorf("after the stale move: %s", r.body)
	}
	// Roles and unknown services.
	if r := e.doHeader("POST", path, move, map[string]string{"Authorization": "Bearer " + readerToken, "Idempotency-Key": "r1", "If-Match": `"2"`}); r.status != 403 {
		t.Errorf("reader: %d", r.status)
	}
	if r := e.serviceChange("POST", "/api/v1/services/9/move", "n1", `"1"`, move); r.status != 404 {
		t.Errorf("unknown service: %d %s", r.status, r.body)
	}
	// The history lists the move.
	r = e.do("GET", "/api/v1/services/1/history", readerToken, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"reason":"moved house"`) || strings.Count(string(r.body), `"entity":"service"`) != 1 {
		t.Errorf("history: %d %s", r.status, r.body)
	}
}

func TestServiceEditInPlace(t *testing.T) {
	t.Parallel()
	e := moveEnv(t)
	const path = "/api/v1/services/1"
	if r := e.serviceChange("PATCH", path, "e0", "", `{"name":"x"}`); r.status != 428 {
		t.Errorf("no If-Match: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ body, names string }{
		{`{"name":""}`, "name"},
		{`{"binding":{"addresses":["100.64.0.300"]}}`, "binding"},
		{`{"service_address":{"city":"` + strings.Repeat("x", 101) + `"}}`, "service_address.city"},
	} {
		if r := e.serviceChange("PATCH", path, "bad-"+c.body, `"1"`, c.body); r.status != 422 || !strings.Contains(string(r.body), c.names) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.body, r.status, r.body, c.names)
		}
	}
	r := e.serviceChange("PATCH", path, "e1", `"1"`, `{"binding":{"addresses":["100.64.0.8"]},"service_address":{"line1":"9 Oak St"},"reason":"typo"}`)
	m := r.json(t)
	svc, _ := m["service"].(map[string]any)
	if r.status != 200 || r.header.Get("ETag") != `"2"` || svc["revision"] != float64(2) || m["removed_from"] != nil ||
		svc["binding"].(map[string]any)["addresses"].([]any)[0] != "100.64.0.8" || svc["service_address"].(map[string]any)["line1"] != "9 Oak St" {
		t.Errorf("edit: %d %s", r.status, r.body)
	}
	if r := e.serviceChange("PATCH", path, "e2", `"1"`, `{"name":"y"}`); r.status != 412 || r.header.Get("ETag") != `"2"` {
		t.Errorf("stale: %d %s", r.status, r.body)
	}
	// Nothing changed: 200, changed false, the version stays.
	if r := e.serviceChange("PATCH", path, "e3", `"2"`, `{"name":"fiber"}`); r.status != 200 || r.json(t)["changed"] != false || r.header.Get("ETag") != `"2"` {
		t.Errorf("no-op: %d %s", r.status, r.body)
	}
}
