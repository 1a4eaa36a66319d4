package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestPoolUsageMetrics: /metrics reports each pool's used ratio (bound
// and quarantined blocks over its capacity) and capacity.
func TestPoolUsageMetrics(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	if _, err := db.CreateAddressPool(ctx, billing.AddressPool{POP: "north-1", Name: "tiny", Prefix: "100.64.5.0/29", Gateway: "100.64.5.1"}, now); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := db.CreateService(ctx, billing.NewService{POP: "north-1", Binding: billing.Binding{Method: billing.MethodRouterOS}, Allocate: "tiny"}, "test", now); err != nil {
			t.Fatal(err)
		}
	}
	want := `
# HELP tollgate_address_pool_capacity Blocks (addresses, or delegated IPv6 prefixes) an address pool can hand out: excluded ones, the gateway and an IPv4 pool's network and broadcast addresses not counted.
# TYPE tollgate_address_pool_capacity gauge
tollgate_address_pool_capacity{pool="tiny",pop="north-1"} 5
# HELP tollgate_address_pool_used_ratio Share (0-1) of an address pool's blocks that are bound to services or wait out their quarantine.
# TYPE tollgate_address_pool_used_ratio gauge
tollgate_address_pool_used_ratio{pool="tiny",pop="north-1"} 0.8
`
	if err := testutil.CollectAndCompare(&poolUsageCollector{db: db, clock: clock.NewFixed(now)}, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
