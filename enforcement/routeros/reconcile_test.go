package routeros_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

func target(id, device string, addrs ...string) enforcement.Target {
	return enforcement.Target{ServiceID: id, Reason: "nonpayment", Binding: enforcement.Binding{Method: "routeros", Device: device, Addresses: addrs}}
}

func targets(ts ...enforcement.Target) map[string]enforcement.Target {
	m := map[string]enforcement.Target{}
	for _, t := range ts {
		m[t.ServiceID] = t
	}
	return m
}

// listed renders a list as "address comment[ (disabled)]" lines, sorted.
func listed(sim *routerossim.Server, name string) []string {
	var out []string
	for _, e := range sim.Entries(name) {
		s := e.Address + " " + e.Comment
		if e.Disabled {
			s += " (disabled)"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func mustAdd(t *testing.T, sim *routerossim.Server, l, addr, cmt string) {
	t.Helper()
	if _, err := sim.AddEntry(l, addr, cmt); err != nil {
		t.Fatal(err)
	}
}

func TestReconcile(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	// What the router holds before.
	mustAdd(t, sim, list, "10.0.0.1", "tollgate:svc=a reason=nonpayment") // wanted, correct
	mustAdd(t, sim, list, "10.0.0.2", "tollgate:svc=old")                 // wanted for b: relabelled
	mustAdd(t, sim, list, "10.0.0.3", "tollgate:svc=c")                   // wanted, disabled: enabled
	sim.SetEntryDisabled(list, "10.0.0.3", true)
	mustAdd(t, sim, list, "10.0.0.4", "blocked by noc") // wanted, foreign: left, counts as listed
	mustAdd(t, sim, list, "10.0.0.5", "")               // foreign, not wanted: left
	mustAdd(t, sim, list, "10.0.0.6", "tollgate:svc=gone")
	mustAdd(t, sim, list, "10.0.0.7", "tollgate:") // owned, names no service, not wanted: removed
	mustAdd(t, sim, list, "2001:db8::66", "tollgate:svc=gone6")
	mustAdd(t, sim, list, "abuse.example.net", "dns entry by hand")
	mustAdd(t, sim, list, "198.51.100.0/24", "tollgate:svc=net-gone")
	mustAdd(t, sim, "other-list", "10.0.0.9", "tollgate:svc=i") // another list: not looked at

	want := targets(
		target("a", "", "10.0.0.1"),
		target("b", "", "10.0.0.2"),
		target("c", "", "10.0.0.3"),
		target("d", "", "10.0.0.4"),
		target("i", "", "10.0.0.9/32", "2001:db8::9"),
		target("n", "", "203.0.113.0/29"),
	)
	rep, err := d.Reconcile(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Routers[0]
	got := fmt.Sprintf("wanted %d listed %d added %d removed %d updated %d kept %d foreign %d/%d failed %d",
		r.Wanted, r.Listed, r.Added, r.Removed, r.Updated, r.Kept, r.Foreign, r.ForeignWanted, r.Failed)
	if want := "wanted 7 listed 10 added 3 removed 4 updated 2 kept 1 foreign 3/1 failed 0"; got != want {
		t.Errorf("report: %s\n          want: %s", got, want)
	}
	wantList := []string{
		"10.0.0.1 tollgate:svc=a reason=nonpayment",
		"10.0.0.2 tollgate:svc=b reason=nonpayment",
		"10.0.0.3 tollgate:svc=c",
		"10.0.0.4 blocked by noc",
		"10.0.0.5 ",
		"10.0.0.9 tollgate:svc=i reason=nonpayment",
		"2001:db8::9/128 tollgate:svc=i reason=nonpayment",
		"203.0.113.0/29 tollgate:svc=n reason=nonpayment",
		"abuse.example.net dns entry by hand",
	}
	if got := listed(sim, list); !slices.Equal(got, wantList) {
		t.Fatalf("list after reconcile:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantList, "\n"))
	}
	if got := listed(sim, "other-list"); len(got) != 1 {
		t.Fatalf("the other list changed: %q", got)
	}

	// A second pass changes nothing.
	rep, err = d.Reconcile(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Routers[0]; r.Added+r.Removed+r.Updated != 0 || r.Kept != 6 || r.ForeignWanted != 1 {
		t.Fatalf("second pass: %+v", r)
	}

	// Nothing wanted: the driver's entries go, the others stay.
	if _, err := d.Reconcile(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := listed(sim, list); !slices.Equal(got, []string{"10.0.0.4 blocked by noc", "10.0.0.5 ", "abuse.example.net dns entry by hand"}) {
		t.Fatalf("after reconciling to nothing: %q", got)
	}
}

// Drift: entries removed or disabled by hand are back after the next
// reconcile.
func TestReconcileRepairsDrift(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	want := map[string]enforcement.Target{}
	for i := range 50 {
		id := fmt.Sprintf("s%d", i)
		want[id] = target(id, "r1", fmt.Sprintf("10.1.0.%d", i))
	}
	if _, err := d.Reconcile(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if !sim.RemoveEntry(list, "10.1.0.7") || !sim.RemoveEntry(list, "10.1.0.8") || !sim.SetEntryDisabled(list, "10.1.0.9", true) {
		t.Fatal("tampering failed")
	}
	if st, err := d.Observe(context.Background(), want["s7"]); err != nil || st != enforcement.Active {
		t.Fatalf("observe after removal by hand: %s, %v", st, err)
	}
	if st, err := d.Observe(context.Background(), want["s9"]); err != nil || st != enforcement.Active {
		t.Fatalf("observe after disabling by hand: %s, %v", st, err)
	}
	rep, err := d.Reconcile(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Routers[0]; r.Added != 2 || r.Updated != 1 || r.Removed != 0 {
		t.Fatalf("repair: %+v", r)
	}
	for _, id := range []string{"s7", "s8", "s9"} {
		if st, err := d.Observe(context.Background(), want[id]); err != nil || st != enforcement.Suspended {
			t.Fatalf("%s after the repair: %s, %v", id, st, err)
		}
	}
	if n := len(sim.Entries(list)); n != 50 {
		t.Fatalf("%d entries", n)
	}
}

func TestReconcileSeveralRoutersAndBadTargets(t *testing.T) {
	a := startSim(t, routerossim.Config{})
	b := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "a", a), routerConfig(t, "b", b))
	mustAdd(t, b, list, "10.9.9.9", "tollgate:svc=stale")
	want := targets(
		target("1", "a", "10.0.0.1"),
		target("2", "b", "10.0.0.2"),
		target("3", "b", "10.0.0.2"),       // the same address for two services
		target("4", "", "10.0.0.4"),        // no device, two routers
		target("5", "c", "10.0.0.5"),       // no such router
		target("6", "a", "not-an-address"), // bad address
		target("7", "a"),                   // no address
	)
	rep, err := d.Reconcile(context.Background(), want)
	if err == nil || !errors.Is(err, routeros.ErrBadTarget) {
		t.Fatalf("err %v, want the invalid targets reported", err)
	}
	if len(rep.Invalid) != 4 {
		t.Fatalf("invalid %q", rep.Invalid)
	}
	if got := listed(a, list); !slices.Equal(got, []string{"10.0.0.1 tollgate:svc=1 reason=nonpayment"}) {
		t.Fatalf("a: %q", got)
	}
	if got := listed(b, list); !slices.Equal(got, []string{"10.0.0.2 tollgate:svc=2 reason=nonpayment"}) {
		t.Fatalf("b: %q", got)
	}
	if rb := rep.Routers[1]; rb.Router != "b" || len(rb.Problems) != 1 || !strings.Contains(rb.Problems[0], "10.0.0.2") {
		t.Fatalf("b's report %+v", rb)
	}

	// One router at a time.
	rr, err := d.ReconcileRouter(context.Background(), "a", targets(target("8", "a", "10.0.0.8")))
	if err != nil || rr.Added != 1 || rr.Removed != 1 {
		t.Fatalf("ReconcileRouter: %+v, %v", rr, err)
	}
	if _, err := d.ReconcileRouter(context.Background(), "zz", nil); !errors.Is(err, routeros.ErrBadTarget) {
		t.Fatalf("unknown router: %v", err)
	}
}

// A foreign disabled entry for a wanted address cannot be fixed: it is
// reported, and Suspend says so too.
func TestForeignDisabledEntry(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	mustAdd(t, sim, list, "10.0.0.1", "paused by noc")
	sim.SetEntryDisabled(list, "10.0.0.1", true)
	tg := target("x", "", "10.0.0.1")
	rep, err := d.Reconcile(context.Background(), targets(tg))
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Routers[0]; len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "disabled entry the driver does not own") {
		t.Fatalf("report %+v", r)
	}
	if err := d.Suspend(context.Background(), tg); err == nil || !strings.Contains(err.Error(), "does not own") {
		t.Fatalf("suspend: %v", err)
	}
	if got := listed(sim, list); !slices.Equal(got, []string{"10.0.0.1 paused by noc (disabled)"}) {
		t.Fatalf("the foreign entry changed: %q", got)
	}
	// Restore leaves foreign entries alone, and Observe tells the truth.
	sim.SetEntryDisabled(list, "10.0.0.1", false)
	if err := d.Restore(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Observe(context.Background(), tg); st != enforcement.Suspended {
		t.Fatalf("observed %s with a foreign entry listing the address", st)
	}
}

// Suspend enables a disabled entry of the driver's own and relabels one
// naming another service; a service with several addresses is suspended
// only when all are listed.
func TestSuspendRepairsPartialState(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r1", sim))
	tg := target("m", "", "10.0.0.1", "10.0.0.2", "2001:db8::2")
	mustAdd(t, sim, list, "10.0.0.1", "tollgate:svc=m")
	sim.SetEntryDisabled(list, "10.0.0.1", true)
	mustAdd(t, sim, list, "10.0.0.2", "tollgate:svc=previous-holder")
	if st, _ := d.Observe(context.Background(), tg); st != enforcement.Active {
		t.Fatalf("partly listed: observed %s", st)
	}
	if err := d.Suspend(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Observe(context.Background(), tg); st != enforcement.Suspended {
		t.Fatalf("after suspend: observed %s", st)
	}
	for _, e := range sim.Entries(list) {
		if e.Disabled || !strings.HasPrefix(e.Comment, "tollgate:svc=m") {
			t.Fatalf("entry %+v: want it enabled and naming m", e)
		}
	}
}
