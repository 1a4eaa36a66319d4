package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAddressPoolsAndAllocationThroughTheAPI: a pool is created (with an
// Idempotency-Key, replayed on retry), listed with its usage; a service
// created with "allocate": "auto" gets the pool's first free address; the
// same address bound by hand is refused 409 naming the first service; a
// pool in use cannot be deleted, an unused one can.
func TestAddressPoolsAndAllocationThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pool = `{"pop":"north-1","name":"north-v4","prefix":"100.64.1.0/24","gateway":"100.64.1.1","excluded":["100.64.1.2-100.64.1.19"]}`
	r := e.do(http.MethodPost, "/api/v1/address-pools", adminToken, "pool-1", pool)
	if r.status != http.StatusOK {
		t.Fatalf("create pool: %d %s", r.status, r.body)
	}
	id := int64(r.json(t)["id"].(float64))
	if again := e.do(http.MethodPost, "/api/v1/address-pools", adminToken, "pool-1", pool); again.status != http.StatusOK ||
		again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %v %s", again.status, again.header, again.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/address-pools", adminToken, "", pool); r.status != http.StatusBadRequest {
		t.Fatalf("no Idempotency-Key: %d", r.status)
	}
	if r := e.do(http.MethodPost, "/api/v1/address-pools", adminToken, "pool-bad", `{"pop":"north-1","name":"x","prefix":"100.64.9.5/24"}`); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.body), "host bits set") {
		t.Fatalf("bad prefix: %d %s", r.status, r.body)
	}

	r = e.do(http.MethodPost, "/api/v1/services", billingToken, "svc-1", `{"pop":"north-1","name":"Jane","binding":{"method":"routeros"},"allocate":"auto"}`)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"addresses":["100.64.1.20"]`) {
		t.Fatalf("create with allocate auto: %d %s", r.status, r.body)
	}
	first := int64(r.json(t)["id"].(float64))
	r = e.do(http.MethodPost, "/api/v1/services", billingToken, "svc-2", newService)
	if want := fmt.Sprintf("bound to service %d (Jane)", first); r.status != http.StatusConflict || !strings.Contains(string(r.body), want) {
		t.Fatalf("same address by hand: %d %s; want 409 naming %q", r.status, r.body, want)
	}

	r = e.do(http.MethodGet, "/api/v1/address-pools?pop=north-1", readerToken, "", "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"bound":1`) || !strings.Contains(string(r.body), `"capacity":235`) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	path := fmt.Sprintf("/api/v1/address-pools/%d", id)
	if r := e.do(http.MethodDelete, path, adminToken, "del-1", ""); r.status != http.StatusConflict {
		t.Fatalf("delete a pool in use: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/address-pools", billingToken, "pool-2", `{"pop":"north-1","name":"v6","prefix":"2001:db8::/48"}`); r.status != http.StatusForbidden {
		t.Fatalf("billing role creating a pool: %d", r.status)
	}
	r = e.do(http.MethodPost, "/api/v1/address-pools", adminToken, "pool-3", `{"pop":"north-1","name":"v6","prefix":"2001:db8::/48"}`)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"delegation_length":56`) {
		t.Fatalf("v6 pool: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, fmt.Sprintf("/api/v1/address-pools/%d", int64(r.json(t)["id"].(float64))), adminToken, "del-2", ""); r.status != http.StatusOK {
		t.Fatalf("delete an unused pool: %d %s", r.status, r.body)
	}
}

// TestAddressPoolUpdateThroughTheAPI: PATCH changes the fields it names
// (with an Idempotency-Key, replayed on retry) and keeps the others; the
// prefix cannot change; an exclusion or gateway covering an address a
// service holds is refused 409 naming the service, and nothing changes.
func TestAddressPoolUpdateThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodPost, "/api/v1/address-pools", adminToken, "pool-1",
		`{"pop":"north-1","name":"north-v4","prefix":"100.64.1.0/24","gateway":"100.64.1.1","excluded":["100.64.1.2-100.64.1.19"]}`)
	if r.status != http.StatusOK {
		t.Fatalf("create pool: %d %s", r.status, r.body)
	}
	path := fmt.Sprintf("/api/v1/address-pools/%d", int64(r.json(t)["id"].(float64)))
	r = e.do(http.MethodPost, "/api/v1/services", billingToken, "svc-1", `{"pop":"north-1","name":"Jane","binding":{"method":"routeros"},"allocate":"auto"}`)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"addresses":["100.64.1.20"]`) {
		t.Fatalf("create with allocate auto: %d %s", r.status, r.body)
	}
	jane := int64(r.json(t)["id"].(float64))

	edit := `{"name":"north-a","quarantine_hours":2,"excluded":["100.64.1.2-100.64.1.9"]}`
	if r := e.do(http.MethodPatch, path, adminToken, "", edit); r.status != http.StatusBadRequest {
		t.Fatalf("no Idempotency-Key: %d", r.status)
	}
	if r := e.do(http.MethodPatch, path, billingToken, "edit-clerk", edit); r.status != http.StatusForbidden {
		t.Fatalf("billing role editing a pool: %d", r.status)
	}
	r = e.do(http.MethodPatch, path, adminToken, "edit-1", edit)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"name":"north-a"`) || !strings.Contains(string(r.body), `"quarantine_hours":2`) ||
		!strings.Contains(string(r.body), `"excluded":["100.64.1.2-100.64.1.9"]`) || !strings.Contains(string(r.body), `"gateway":"100.64.1.1"`) ||
		!strings.Contains(string(r.body), `"capacity":245`) || !strings.Contains(string(r.body), `"bound":1`) {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if again := e.do(http.MethodPatch, path, adminToken, "edit-1", edit); again.status != http.StatusOK || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %v %s", again.status, again.header, again.body)
	}
	if n := e.rows("audit_log WHERE entity = 'address_pool'"); n != 1 {
		t.Fatalf("%d audit entries for the pool, want 1", n)
	}
	if r := e.do(http.MethodPatch, path, adminToken, "edit-prefix", `{"prefix":"100.64.2.0/24"}`); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.body), "prefix") {
		t.Fatalf("a prefix change: %d %s, want 422 naming prefix", r.status, r.body)
	}
	want := fmt.Sprintf("covers 100.64.1.20, bound to service %d (Jane)", jane)
	for key, body := range map[string]string{
		"edit-exclude": `{"excluded":["100.64.1.2-100.64.1.9","100.64.1.16/28"]}`,
		"edit-gateway": `{"gateway":"100.64.1.20","name":"renamed"}`,
	} {
		r := e.do(http.MethodPatch, path, adminToken, key, body)
		if r.status != http.StatusConflict || !strings.Contains(string(r.body), want) || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
			t.Fatalf("%s: %d %s; want a 409 problem naming %q", body, r.status, r.body, want)
		}
	}
	if r := e.do(http.MethodGet, path, readerToken, "", ""); !strings.Contains(string(r.body), `"name":"north-a"`) ||
		!strings.Contains(string(r.body), `"gateway":"100.64.1.1"`) || strings.Contains(string(r.body), "100.64.1.16/28") {
		t.Fatalf("a refused edit changed the pool: %s", r.body)
	}
	if r := e.do(http.MethodPatch, "/api/v1/address-pools/999", adminToken, "edit-404", edit); r.status != http.StatusNotFound {
		t.Fatalf("unknown pool: %d %s", r.status, r.body)
	}
}
