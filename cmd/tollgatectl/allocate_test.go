package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestServiceCreateAllocatesFromThePOPsPool: with a pool at the POP (made
// through the API), service create --allocate auto takes its first free
// address, and an address already bound is refused naming the service.
func TestServiceCreateAllocatesFromThePOPsPool(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, AddressPools: db},
		[]api.Token{api.NewToken("root", api.RoleAdmin, "test-token")}, clock.NewFixed(ticketsNow), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	err = client.New(hs.URL, "test-token").Do(ctx, http.MethodPost, "/api/v1/address-pools", nil, client.NewIdempotencyKey(),
		map[string]any{"pop": "north-1", "name": "north-v4", "prefix": "100.64.1.0/24", "gateway": "100.64.1.1", "excluded": []string{"100.64.1.2-100.64.1.9"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cli{t, hs.URL}
	if out := c.ok("service", "create", "--pop", "north-1", "--method", "routeros", "--allocate", "auto"); !strings.Contains(out, "100.64.1.10") {
		t.Fatalf("service create --allocate auto printed:\n%s", out)
	}
	c.fails("bound to service 1", "service", "create", "--pop", "north-1", "--method", "routeros", "--address", "100.64.1.10")
}
