package routeros_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// The agent's Bulk interface, which its full reconcile uses when a driver
// has it.
type bulk interface {
	BeginReconcile(ctx context.Context) error
	EndReconcile()
}

func observe(t *testing.T, d enforcement.Driver, tg enforcement.Target) enforcement.State {
	t.Helper()
	st, err := d.Observe(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestBulkReconcileReadsEachListOnce(t *testing.T) {
	a := startSim(t, routerossim.Config{})
	b := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "a", a), routerConfig(t, "b", b))
	var _ bulk = d

	var ts []enforcement.Target
	for i := range 200 {
		dev, sim := "a", a
		if i%2 == 1 {
			dev, sim = "b", b
		}
		tg := target(fmt.Sprint(i), dev, fmt.Sprintf("10.5.%d.%d", i>>8, i&255), fmt.Sprintf("2001:db8:5::%x", i))
		ts = append(ts, tg)
		if i%4 < 2 { // every other service of each router is suspended
			for _, addr := range tg.Binding.Addresses {
				mustAdd(t, sim, list, addr, "tollgate:svc="+tg.ServiceID)
			}
		}
	}
	if err := d.BeginReconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := a.Stats().Sentences + b.Stats().Sentences
	for i, tg := range ts {
		want := enforcement.Active
		if i%4 < 2 {
			want = enforcement.Suspended
		}
		if got := observe(t, d, tg); got != want {
			t.Fatalf("service %d: %s, want %s", i, got, want)
		}
	}
	if n := a.Stats().Sentences + b.Stats().Sentences - before; n != 0 {
		t.Fatalf("200 observations during a bulk reconcile sent %d commands", n)
	}

	// A change through the driver is read back from the router.
	if err := d.Restore(context.Background(), ts[0]); err != nil {
		t.Fatal(err)
	}
	if got := observe(t, d, ts[0]); got != enforcement.Active {
		t.Fatalf("read-back after restore: %s", got)
	}
	if err := d.Suspend(context.Background(), ts[2]); err != nil {
		t.Fatal(err)
	}
	if got := observe(t, d, ts[2]); got != enforcement.Suspended {
		t.Fatalf("read-back after suspend: %s", got)
	}
	// A change by hand after the read waits for the next reconcile ...
	a.RemoveEntry(list, "10.5.0.4")
	if got := observe(t, d, ts[4]); got != enforcement.Suspended {
		t.Fatalf("from the snapshot: %s", got)
	}
	// ... and outside one, Observe reads the router.
	d.EndReconcile()
	if got := observe(t, d, ts[4]); got != enforcement.Active {
		t.Fatalf("after EndReconcile: %s", got)
	}
}

// A router that cannot be read gets no snapshot, and BeginReconcile does
// not wait for it longer than its timeouts.
func TestBulkReconcileWithARouterDown(t *testing.T) {
	good := startSim(t, routerossim.Config{})
	bad := startSim(t, routerossim.Config{})
	bc := routerConfig(t, "bad", bad)
	bc.Timeout = 100 * time.Millisecond
	d := newDriver(t, routerConfig(t, "good", good), bc)
	bad.SetFaults(routerossim.Faults{Down: true})
	start := time.Now()
	if err := d.BeginReconcile(context.Background()); err == nil {
		t.Fatal("no error for the router that is down")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("BeginReconcile took %s", took)
	}
	bad.SetFaults(routerossim.Faults{})
	mustAdd(t, bad, list, "10.6.0.1", "")
	if got := observe(t, d, target("x", "bad", "10.6.0.1")); got != enforcement.Suspended {
		t.Fatalf("observe on the router without a snapshot: %s", got)
	}
	d.EndReconcile()
}
