package agent_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	goros "github.com/go-routeros/routeros/v3"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// TestReconcileRemovesOrphansOnTheRouter: the routeros driver's queue and
// throttle-list entry of a service the agent does not know (left on the
// router by the driver, as a crash between the router's change and the
// agent's record leaves them, or a service removed while the agent was
// away) and its suspended-list entry of another such service are removed
// by the agent's full reconcile; the queues and entries of the services
// the agent knows (active with a profile, suspended, throttled) stay, and
// so do a technician's own queue and address-list entry.
func TestReconcileRemovesOrphansOnTheRouter(t *testing.T) {
	t.Parallel()
	sim, err := routerossim.Start(routerossim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	ros, err := routeros.New(routeros.Config{Routers: []routeros.RouterConfig{{Name: "edge-router", Address: sim.Addr(), Username: "admin"}}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ros.Close() })
	ctx := context.Background()
	bind := func(s *pb.Service, addr string) *pb.Service {
		s.Binding = &pb.Binding{Method: "routeros", Device: "edge-router", Addresses: []string{addr}}
		return s
	}
	target := func(id, addr string, p *enforcement.Profile) enforcement.Target {
		return enforcement.Target{ServiceID: id, Reason: "gone", Profile: p,
			Binding: enforcement.Binding{Method: "routeros", Device: "edge-router", Addresses: []string{addr}}}
	}

	// The orphans: the driver's own, of services 90 (throttled) and 91
	// (suspended, after a queue), which the agent will not know.
	speed := &enforcement.Profile{Name: "throttle.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
	if err := ros.Throttle(ctx, target("90", "100.64.8.90", speed)); err != nil {
		t.Fatal(err)
	}
	if err := ros.Restore(ctx, target("91", "100.64.8.91", speed)); err != nil {
		t.Fatal(err)
	}
	if err := ros.Suspend(ctx, target("91", "100.64.8.91", nil)); err != nil {
		t.Fatal(err)
	}
	// A technician's own queue and entry: not the driver's.
	c, err := goros.DialTimeout(sim.Addr(), "admin", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run("/queue/simple/add", "=name=office-uplink", "=target=10.9.9.9/32", "=max-limit=5M/5M", "=comment=hand made"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run("/queue/simple/add", "=name=tollgate-svc-92", "=target=10.9.9.92/32", "=max-limit=5M/5M"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := sim.AddEntry(routeros.DefaultAddressList, "10.9.9.10", "blocked by hand"); err != nil {
		t.Fatal(err)
	}

	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgentWith(t, ctrl.addr, "pop-orphans", filepath.Join(t.TempDir(), "state.db"), map[string]enforcement.Driver{"routeros": ros})
	ctrl.waitWatch(t)
	// Before the controller's snapshot the agent knows nothing and removes
	// nothing.
	if _, err := a.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.SimpleQueues()); n != 4 {
		t.Fatalf("an agent without a snapshot changed the queues: %+v", sim.SimpleQueues())
	}

	ctrl.out <- snapshot(1,
		bind(profiled(1, pbActive, 1, fiber100), "100.64.8.1"),
		bind(profiled(2, pbThrottled, 1, throttle), "100.64.8.2"),
		bind(profiled(3, pbActive, 1, fiber100), "100.64.8.3"))
	waitFor(t, "revision 1", func() bool { return a.AppliedRevision() == 1 })
	ctrl.out <- delta(2, bind(&pb.Service{ServiceId: "3", DesiredState: pbSuspended, Revision: 2}, "100.64.8.3"))
	waitFor(t, "revision 2", func() bool { return a.AppliedRevision() == 2 })

	rep, err := a.Reconcile(ctx)
	if err != nil || rep.Errors != 0 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	var queues []string
	for _, q := range sim.SimpleQueues() {
		queues = append(queues, q.Name)
	}
	slices.Sort(queues)
	if want := []string{"office-uplink", "tollgate-svc-1", "tollgate-svc-2", "tollgate-svc-3", "tollgate-svc-92"}; !slices.Equal(queues, want) {
		t.Errorf("after the reconcile the router's queues are %v, want %v (the orphans 90 and 91 gone)", queues, want)
	}
	addrs := func(list string) []string {
		var out []string
		for _, e := range sim.Entries(list) {
			out = append(out, e.Address)
		}
		slices.Sort(out)
		return out
	}
	if got, want := addrs(routeros.DefaultThrottleList), []string{"100.64.8.2"}; !slices.Equal(got, want) {
		t.Errorf("throttle list %v, want %v", got, want)
	}
	if got, want := addrs(routeros.DefaultAddressList), []string{"10.9.9.10", "100.64.8.3"}; !slices.Equal(got, want) {
		t.Errorf("suspended list %v, want %v", got, want)
	}
	// Nothing more to remove: the next reconcile changes nothing.
	before := len(sim.SimpleQueues())
	if rep, err := a.Reconcile(ctx); err != nil || rep.Errors != 0 || rep.Drifted != 0 || len(sim.SimpleQueues()) != before {
		t.Fatalf("second reconcile %+v %v, %d queues", rep, err, len(sim.SimpleQueues()))
	}
}

var _ agent.OrphanRemover = (*routeros.Driver)(nil)
