package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestPoolCommands: pool create, list, show, update and delete against the
// API on PostgreSQL; a bad prefix or quarantine is refused naming it, an
// update changes only the flags given, and a deleted pool is gone.
func TestPoolCommands(t *testing.T) {
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
	c := cli{t, hs.URL}

	out := c.ok("pool", "create", "--pop", "north-1", "--name", "north-v4", "--prefix", "100.64.1.0/24", "--gateway", "100.64.1.1",
		"--exclude", "100.64.1.2-100.64.1.9", "--quarantine-hours", "0")
	for _, want := range []string{"north-v4", "100.64.1.0/24", "100.64.1.1", "100.64.1.2-100.64.1.9", "Quarantine hours:   0", "Delegation length:  32"} {
		if !strings.Contains(out, want) {
			t.Errorf("pool create printed no %q:\n%s", want, out)
		}
	}
	c.fails("prefix", "pool", "create", "--pop", "north-1", "--name", "bad", "--prefix", "100.64.2.1/24")
	c.ok("pool", "create", "--pop", "south-2", "--name", "south-v6", "--prefix", "2001:db8:100::/40")

	if out := c.ok("pool", "list", "--pop", "north-1"); !strings.Contains(out, "north-v4") || strings.Contains(out, "south-v6") ||
		!strings.Contains(out, "USED") || !strings.Contains(out, "0.0%") {
		t.Errorf("pool list --pop north-1:\n%s", out)
	}
	if out := c.ok("pool", "show", "2"); !strings.Contains(out, "south-v6") || !strings.Contains(out, "Delegation length:  56") ||
		!strings.Contains(out, "Quarantine hours:   24") {
		t.Errorf("pool show 2:\n%s", out)
	}
	out = c.ok("pool", "update", "1", "--name", "north-a", "--exclude", "100.64.1.2-100.64.1.19", "--quarantine-hours", "48")
	for _, want := range []string{"north-a", "100.64.1.2-100.64.1.19", "Quarantine hours:   48", "Gateway:            100.64.1.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("pool update printed no %q:\n%s", want, out)
		}
	}
	c.fails("quarantine_hours", "pool", "update", "1", "--quarantine-hours", "-1")
	if out := c.ok("pool", "delete", "1"); !strings.Contains(out, "address pool 1 (north-a, 100.64.1.0/24) deleted") {
		t.Errorf("pool delete 1:\n%s", out)
	}
	c.fails("404", "pool", "show", "1")
	if out := c.ok("pool", "list"); strings.Contains(out, "north-v4") || !strings.Contains(out, "south-v6") {
		t.Errorf("pool list after the delete:\n%s", out)
	}
}

// TestPoolUpdateSendsTheFlagsGiven: pool update PATCHes only the flags
// given, --quarantine-hours 0 and an empty --gateway included.
func TestPoolUpdateSendsTheFlagsGiven(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"PATCH /api/v1/address-pools/3": {`{"id":3,"pop":"north-1","name":"north-a","prefix":"100.64.1.0/24","delegation_length":32,"quarantine_hours":0}`},
	})
	out, _, err := run(t, url, "pool", "update", "3", "--name", "north-a", "--gateway", "", "--exclude", "100.64.1.2", "--quarantine-hours", "0")
	if err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if want := `{"excluded":["100.64.1.2"],"gateway":"","name":"north-a","quarantine_hours":0}`; len(calls) != 1 || calls[0].key == "" ||
		strings.TrimSpace(string(calls[0].body)) != want {
		t.Fatalf("requests %+v: want one PATCH with an Idempotency-Key and %s", calls, want)
	}
	if !strings.Contains(out, "north-a") {
		t.Errorf("output:\n%s", out)
	}
}
