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
