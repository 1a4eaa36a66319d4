package routeros_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// TestReconcileOrphans: the driver's queues and suspended- and
// throttle-list entries (IPv4 and IPv6) of services known does not report
// are removed, on every router; those of known services stay, and so do
// entries and queues without the driver's comment prefix (a queue named
// like the driver's but not commented by it among them). A second sweep
// finds nothing.
func TestReconcileOrphans(t *testing.T) {
	simA, simB := startSim(t, routerossim.Config{}), startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "a", simA), routerConfig(t, "b", simB))
	ctx := context.Background()
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Known: 1 (active with a queue, on a), 2 (suspended after a queue, on b).
	mustDo(d.Restore(ctx, withProfile(target("1", "a", "100.64.0.1", "2001:db8::1"), fiber100)))
	mustDo(d.Restore(ctx, withProfile(target("2", "b", "100.64.0.2"), fiber100)))
	mustDo(d.Suspend(ctx, target("2", "b", "100.64.0.2")))
	// Orphans: 8 (throttled, dual stack, on a), 9 (suspended, on b).
	mustDo(d.Throttle(ctx, withProfile(target("8", "a", "100.64.0.8", "2001:db8::8"), fiber100)))
	mustDo(d.Suspend(ctx, target("9", "b", "100.64.0.9")))
	// Foreign.
	if _, err := simA.AddEntry(routeros.DefaultThrottleList, "10.0.0.8", "by hand svc=8"); err != nil {
		t.Fatal(err)
	}
	if _, err := simB.AddEntry(list, "10.0.0.9", ""); err != nil {
		t.Fatal(err)
	}
	dialRouter(t, simA)("/queue/simple/add", "=name=tollgate-svc-8x", "=target=10.0.0.80/32", "=max-limit=1M/1M")

	known := func(id string) bool { return id == "1" || id == "2" }
	rep, err := d.ReconcileOrphans(ctx, known)
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, rr := range rep.Routers {
		removed += rr.Removed
	}
	// 8: queue, two throttle entries; 9: one suspended entry.
	if removed != 4 {
		t.Errorf("removed %d, want 4: %+v", removed, rep)
	}
	names := func(sim *routerossim.Server) []string {
		var out []string
		for _, q := range sim.SimpleQueues() {
			out = append(out, q.Name)
		}
		slices.Sort(out)
		return out
	}
	addrs := func(sim *routerossim.Server, l string) []string {
		var out []string
		for _, e := range sim.Entries(l) {
			out = append(out, e.Address)
		}
		slices.Sort(out)
		return out
	}
	if got := names(simA); !slices.Equal(got, []string{"tollgate-svc-1", "tollgate-svc-8x"}) {
		t.Errorf("router a's queues %v", got)
	}
	if got := names(simB); !slices.Equal(got, []string{"tollgate-svc-2"}) {
		t.Errorf("router b's queues %v (a suspended known service keeps its queue)", got)
	}
	if got := addrs(simA, routeros.DefaultThrottleList); !slices.Equal(got, []string{"10.0.0.8"}) {
		t.Errorf("router a's throttle list %v", got)
	}
	if got := addrs(simB, list); !slices.Equal(got, []string{"10.0.0.9", "100.64.0.2"}) {
		t.Errorf("router b's suspended list %v", got)
	}
	rep, err = d.ReconcileOrphans(ctx, known)
	for _, rr := range rep.Routers {
		if err != nil || rr.Removed != 0 {
			t.Errorf("second sweep %+v %v", rr, err)
		}
	}
}
