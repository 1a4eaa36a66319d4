package routeros_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

var (
	fiber100 = enforcement.Profile{Name: "fiber-100.v1", DownloadRate: 100_000_000, UploadRate: 20_000_000,
		DownloadBurstRate: 150_000_000, UploadBurstRate: 30_000_000, DownloadBurstThreshold: 80_000_000,
		UploadBurstThreshold: 16_000_000, BurstTime: 8, Priority: 5}
	fiber300  = enforcement.Profile{Name: "fiber 300 v2", DownloadRate: 300_000_000, UploadRate: 50_000_000}
	throttled = enforcement.Profile{Name: "throttle.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
)

func withProfile(t enforcement.Target, p enforcement.Profile) enforcement.Target {
	t.Profile = &p
	return t
}

// queueNamed returns the simulator's queue of that name.
func queueNamed(t *testing.T, sim *routerossim.Server, name string) (routerossim.SimpleQueue, bool) {
	t.Helper()
	for _, q := range sim.SimpleQueues() {
		if q.Name == name {
			return q, true
		}
	}
	return routerossim.SimpleQueue{}, false
}

// TestQueueIsWrittenInRouterOSOrder: the queue holds the profile as
// RouterOS keeps it, every pair upload/download (target-upload/
// target-download), the service's addresses as its target and a comment
// that names the service and the profile; a later profile that sets fewer
// fields puts the rest back to RouterOS's defaults.
func TestQueueIsWrittenInRouterOSOrder(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	ctx := context.Background()
	tg := target("7", "r1", "100.64.0.7", "2001:db8::7")
	if err := d.Restore(ctx, withProfile(tg, fiber100)); err != nil {
		t.Fatal(err)
	}
	q, ok := queueNamed(t, sim, "tollgate-svc-7")
	if !ok {
		t.Fatalf("no queue tollgate-svc-7: %+v", sim.SimpleQueues())
	}
	want := routerossim.SimpleQueue{ID: q.ID, Name: "tollgate-svc-7", Target: "100.64.0.7/32,2001:db8::7/128",
		MaxLimit: "20000000/100000000", BurstLimit: "30000000/150000000", BurstThreshold: "16000000/80000000",
		BurstTime: "8s/8s", Priority: "5/5", Comment: "tollgate:svc=7 profile=fiber-100.v1"}
	if q != want {
		t.Fatalf("queue\n got %+v\nwant %+v", q, want)
	}

	if err := d.Restore(ctx, withProfile(tg, fiber300)); err != nil {
		t.Fatal(err)
	}
	q, _ = queueNamed(t, sim, "tollgate-svc-7")
	want = routerossim.SimpleQueue{ID: q.ID, Name: "tollgate-svc-7", Target: "100.64.0.7/32,2001:db8::7/128",
		MaxLimit: "50000000/300000000", BurstLimit: "0/0", BurstThreshold: "0/0", BurstTime: "0s/0s", Priority: "8/8",
		Comment: "tollgate:svc=7 profile=fiber_300_v2"}
	if q != want {
		t.Fatalf("after an upgrade\n got %+v\nwant %+v", q, want)
	}
	got, err := d.ObserveProfile(ctx, withProfile(tg, fiber300))
	if err != nil {
		t.Fatal(err)
	}
	if !got.SameSpeed(&fiber300) || got.Name != "fiber_300_v2" {
		t.Fatalf("read back %+v, want fiber300's speed", got)
	}
	if n := len(sim.SimpleQueues()); n != 1 {
		t.Fatalf("%d queues after an update, want 1", n)
	}
}

// TestQueueHandEditsReadBack: a max-limit, a priority or a burst time
// edited by hand (one direction only) reads back as it is, and a queue
// disabled by hand reads back as none.
func TestQueueHandEditsReadBack(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	ctx := context.Background()
	tg := withProfile(target("8", "r1", "100.64.0.8"), fiber100)
	if err := d.Restore(ctx, tg); err != nil {
		t.Fatal(err)
	}
	for _, edit := range []map[string]string{
		{"max-limit": "20000000/90000000"},
		{"priority": "5/1"},
		{"burst-time": "8/30"},
		{"disabled": "yes"},
	} {
		if err := d.Restore(ctx, tg); err != nil {
			t.Fatal(err)
		}
		if err := sim.SetSimpleQueue("tollgate-svc-8", edit); err != nil {
			t.Fatal(err)
		}
		got, err := d.ObserveProfile(ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		if got.SameSpeed(&fiber100) {
			t.Fatalf("after the hand edit %v the read-back %+v still shows the profile", edit, got)
		}
	}
	if err := d.Restore(ctx, tg); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.ObserveProfile(ctx, tg); !got.SameSpeed(&fiber100) {
		t.Fatalf("after the repair: %+v", got)
	}
}

// TestForeignQueuesAreLeftAlone: a queue with the driver's name that the
// driver does not own is neither changed nor removed (applying a profile
// to it is an error naming it), and other queues are never touched.
func TestForeignQueuesAreLeftAlone(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	run := dialRouter(t, sim)
	run("/queue/simple/add", "=name=tollgate-svc-9", "=target=100.64.0.9", "=max-limit=5M/5M", "=comment=vip by hand")
	run("/queue/simple/add", "=name=uplink", "=target=100.64.1.0/24", "=max-limit=1G/1G")
	before := sim.SimpleQueues()
	ctx := context.Background()
	tg := target("9", "r1", "100.64.0.9")
	err := d.Restore(ctx, withProfile(tg, fiber100))
	if err == nil || !strings.Contains(err.Error(), "tollgate-svc-9") {
		t.Fatalf("restore onto a foreign queue of the driver's name: %v", err)
	}
	if err := d.Restore(ctx, tg); err != nil {
		t.Fatalf("restore without a profile next to a foreign queue: %v", err)
	}
	if p, err := d.ObserveProfile(ctx, tg); err != nil || p != nil {
		t.Fatalf("a foreign queue reads back as %+v, %v; want none of the driver's", p, err)
	}
	if _, err := d.ReconcileQueues(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if after := sim.SimpleQueues(); !slices.Equal(after, before) {
		t.Fatalf("foreign queues changed:\n%+v\n%+v", before, after)
	}
}

// TestThrottleList: a throttled service's addresses are in the throttle
// list (configurable) and not the suspended list; suspending it moves them
// to the suspended list; restoring takes them out of both.
func TestThrottleList(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	rc := routerConfig(t, "r1", sim)
	rc.ThrottleList = "slow-lane"
	d := newDriver(t, rc)
	ctx := context.Background()
	tg := target("11", "r1", "100.64.0.11")
	if err := d.Throttle(ctx, tg); err == nil {
		t.Fatal("throttling without a profile succeeded")
	}
	if err := d.Throttle(ctx, withProfile(tg, throttled)); err != nil {
		t.Fatal(err)
	}
	if got := listed(sim, "slow-lane"); !slices.Equal(got, []string{"100.64.0.11 tollgate:svc=11 reason=nonpayment"}) {
		t.Fatalf("throttle list %v", got)
	}
	if got := listed(sim, list); len(got) != 0 {
		t.Fatalf("suspended list %v while throttled", got)
	}
	if q, _ := queueNamed(t, sim, "tollgate-svc-11"); q.MaxLimit != "1000000/1000000" {
		t.Fatalf("throttled queue %+v", q)
	}
	if err := d.Suspend(ctx, tg); err != nil {
		t.Fatal(err)
	}
	if len(listed(sim, "slow-lane")) != 0 || len(listed(sim, list)) != 1 {
		t.Fatalf("after suspending: throttle list %v, suspended list %v", listed(sim, "slow-lane"), listed(sim, list))
	}
	if err := d.Restore(ctx, withProfile(tg, fiber100)); err != nil {
		t.Fatal(err)
	}
	if len(listed(sim, "slow-lane")) != 0 || len(listed(sim, list)) != 0 {
		t.Fatal("restore left list entries")
	}
	if st := observe(t, d, tg); st != enforcement.Active {
		t.Fatalf("restored service observed %s", st)
	}
	if _, err := routeros.New(routeros.Config{Routers: []routeros.RouterConfig{{Name: "x", Address: "127.0.0.1:1", Username: "u",
		AddressList: "same", ThrottleList: "same"}}}, nil); err == nil {
		t.Fatal("a throttle list that is the suspended list was accepted")
	}
}

// TestReconcileQueuesInBulk: one print of the queues, then the missing
// queue added, the hand-edited one set back, the one in place kept, the
// driver's orphan removed, a foreign queue left; a second run changes
// nothing.
func TestReconcileQueuesInBulk(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	ctx := context.Background()
	kept := withProfile(target("1", "r1", "100.64.0.1"), fiber100)
	edited := withProfile(target("2", "r1", "100.64.0.2"), fiber300)
	missing := withProfile(target("3", "r1", "100.64.0.3"), throttled)
	orphan := withProfile(target("4", "r1", "100.64.0.4"), fiber100)
	for _, tg := range []enforcement.Target{kept, edited, orphan} {
		if err := d.Restore(ctx, tg); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.SetSimpleQueue("tollgate-svc-2", map[string]string{"max-limit": "50000000/900000000"}); err != nil {
		t.Fatal(err)
	}
	dialRouter(t, sim)("/queue/simple/add", "=name=noc", "=target=100.64.9.0/24", "=max-limit=1G/1G")
	noProfile := target("5", "r1", "100.64.0.5") // wants no queue
	want := targets(kept, edited, missing, noProfile)
	sent := sim.Stats().Sentences
	rep, err := d.ReconcileQueues(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	rr := rep.Routers[0]
	if rr.Wanted != 3 || rr.Listed != 4 || rr.Added != 1 || rr.Updated != 1 || rr.Kept != 1 || rr.Removed != 1 || rr.Foreign != 1 || rr.Failed != 0 {
		t.Fatalf("report %+v", rr)
	}
	if n := sim.Stats().Sentences - sent; n != 4 { // one print, three changes
		t.Fatalf("%d commands, want 4 (one print and three changes)", n)
	}
	var names []string
	for _, q := range sim.SimpleQueues() {
		names = append(names, q.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"noc", "tollgate-svc-1", "tollgate-svc-2", "tollgate-svc-3"}) {
		t.Fatalf("queues after the reconcile: %v", names)
	}
	for _, tg := range []enforcement.Target{kept, edited, missing} {
		if p, err := d.ObserveProfile(ctx, tg); err != nil || !p.SameSpeed(tg.Profile) {
			t.Fatalf("service %s reads back %+v %v", tg.ServiceID, p, err)
		}
	}
	rep, err = d.ReconcileQueues(ctx, want)
	if err != nil || rep.Routers[0].Kept != 3 || rep.Routers[0].Added+rep.Routers[0].Updated+rep.Routers[0].Removed != 0 {
		t.Fatalf("second run %+v %v", rep.Routers[0], err)
	}
}

// TestReconcileThrottledInBulk: the throttle list is reconciled like the
// suspended list.
func TestReconcileThrottledInBulk(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	mustAdd(t, sim, routeros.DefaultThrottleList, "100.64.0.6", "tollgate:svc=6")
	rep, err := d.ReconcileThrottled(context.Background(), targets(target("7", "r1", "100.64.0.7")))
	if err != nil || rep.Routers[0].Added != 1 || rep.Routers[0].Removed != 1 {
		t.Fatalf("report %+v %v", rep.Routers[0], err)
	}
	if got := listed(sim, routeros.DefaultThrottleList); !slices.Equal(got, []string{"100.64.0.7 tollgate:svc=7 reason=nonpayment"}) {
		t.Fatalf("throttle list %v", got)
	}
}

// TestBulkObserveAnswersProfilesFromOneRead: between BeginReconcile and
// EndReconcile, Observe and ObserveProfile of many services cost no
// command; a service the driver changes meanwhile is read afresh.
func TestBulkObserveAnswersProfilesFromOneRead(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	ctx := context.Background()
	var ts []enforcement.Target
	for i := range 20 {
		tg := withProfile(target(fmt.Sprint(100+i), "r1", fmt.Sprintf("100.64.2.%d", i+1)), fiber100)
		ts = append(ts, tg)
		var err error
		if i%2 == 0 {
			err = d.Throttle(ctx, withProfile(tg, throttled))
		} else {
			err = d.Restore(ctx, tg)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := d.BeginReconcile(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.EndReconcile()
	sent := sim.Stats().Sentences
	for i, tg := range ts {
		wantState, wantSpeed := enforcement.Active, fiber100
		if i%2 == 0 {
			wantState, wantSpeed = enforcement.Throttled, throttled
		}
		if st := observe(t, d, tg); st != wantState {
			t.Fatalf("service %s observed %s, want %s", tg.ServiceID, st, wantState)
		}
		if p, err := d.ObserveProfile(ctx, withProfile(tg, wantSpeed)); err != nil || !p.SameSpeed(&wantSpeed) {
			t.Fatalf("service %s reads back %+v %v", tg.ServiceID, p, err)
		}
	}
	if n := sim.Stats().Sentences - sent; n != 0 {
		t.Fatalf("%d commands during the bulk read-back, want 0", n)
	}
	if err := d.Restore(ctx, ts[0]); err != nil {
		t.Fatal(err)
	}
	if p, err := d.ObserveProfile(ctx, ts[0]); err != nil || !p.SameSpeed(&fiber100) {
		t.Fatalf("a service changed during the reconcile reads back %+v %v", p, err)
	}
}

// TestQueueRoundTripsRandomProfiles: any profile (rates to 100 Gbit/s,
// bursts, burst times to an hour, every priority or none) written to a
// queue reads back at the same speed, and applying it again changes
// nothing.
func TestQueueRoundTripsRandomProfiles(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(17, 1))
	rate := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return rng.Int64N(1000) * 1_000_000
		case 2:
			return rng.Int64N(100_000) * 1_000
		}
		return rng.Int64N(100_000_000_000)
	}
	for i := range 200 {
		p := enforcement.Profile{Name: fmt.Sprintf("p%d", i), DownloadRate: rate(), UploadRate: rate(),
			DownloadBurstRate: rate(), UploadBurstRate: rate(), DownloadBurstThreshold: rate(), UploadBurstThreshold: rate(),
			BurstTime: rng.IntN(3601), Priority: rng.IntN(9)}
		tg := withProfile(target(fmt.Sprint(i%7), "r1", fmt.Sprintf("100.64.3.%d", i%7+1)), p)
		if err := d.Restore(ctx, tg); err != nil {
			t.Fatalf("profile %+v: %v", p, err)
		}
		got, err := d.ObserveProfile(ctx, tg)
		if err != nil || !got.SameSpeed(&p) {
			t.Fatalf("profile %+v reads back %+v, %v", p, got, err)
		}
		sent := sim.Stats().Sentences
		if err := d.Restore(ctx, tg); err != nil {
			t.Fatal(err)
		}
		if n := sim.Stats().Sentences - sent; n != 3 { // the lookups of both lists and the queue's print; no change
			t.Fatalf("applying profile %+v again sent %d commands, want 3 reads", p, n)
		}
	}
}
