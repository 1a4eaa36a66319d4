package agent_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

const pbThrottled = pb.DesiredState_DESIRED_STATE_THROTTLED

var (
	fiber100 = &pb.ServiceProfile{Name: "fiber-100.v1", DownloadRate: 100_000_000, UploadRate: 20_000_000,
		DownloadBurstRate: 150_000_000, UploadBurstRate: 30_000_000, BurstTimeSeconds: 8, Priority: 5}
	fiber300 = &pb.ServiceProfile{Name: "fiber-300.v1", DownloadRate: 300_000_000, UploadRate: 50_000_000}
	throttle = &pb.ServiceProfile{Name: "throttle.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
)

// shaperDevice is a [device] that also shapes: it holds a speed per
// service (the queue a RouterOS router would hold), throttles, and lets a
// test edit a speed behind the agent's back.
type shaperDevice struct {
	*device
	speeds map[string]enforcement.Profile // guarded by device.mu
	// ignoreSpeed makes the device accept a speed and hold none (a broken
	// router), for the read-back.
	ignoreSpeed bool
}

var _ enforcement.Shaper = (*shaperDevice)(nil)

func newShaperDevice() *shaperDevice {
	return &shaperDevice{device: newDevice(), speeds: map[string]enforcement.Profile{}}
}

func (d *shaperDevice) hold(t enforcement.Target) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.Profile == nil || d.ignoreSpeed {
		delete(d.speeds, t.ServiceID)
		return
	}
	d.speeds[t.ServiceID] = *t.Profile
}

func (d *shaperDevice) Restore(ctx context.Context, t enforcement.Target) error {
	if err := d.do(ctx, "restore", enforcement.Active, t); err != nil {
		return err
	}
	d.hold(t)
	return nil
}

func (d *shaperDevice) Throttle(ctx context.Context, t enforcement.Target) error {
	if err := d.do(ctx, "throttle", enforcement.Throttled, t); err != nil {
		return err
	}
	d.hold(t)
	return nil
}

func (d *shaperDevice) ObserveProfile(_ context.Context, t enforcement.Target) (*enforcement.Profile, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.speeds[t.ServiceID]
	if !ok {
		return nil, nil
	}
	return &p, nil
}

func (d *shaperDevice) speed(id string) (enforcement.Profile, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.speeds[id]
	return p, ok
}

// tamper edits the speed the device holds for id, as a technician would.
func (d *shaperDevice) tamper(id string, download int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.speeds[id]
	p.DownloadRate = download
	d.speeds[id] = p
}

// profiled is service id bound to the "log" method (the test's driver)
// with profile p.
func profiled(id int, state pb.DesiredState, rev int64, p *pb.ServiceProfile) *pb.Service {
	s := service(id, state, rev)
	s.Profile = p
	return s
}

func lastResult(f *fakeController, id string) *pb.ServiceResult {
	rs := f.results(id)
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}

// TestAgentAnnouncesServiceProfiles: the controller learns from the Watch
// request that the agent enforces profiles and throttling.
func TestAgentAnnouncesServiceProfiles(t *testing.T) {
	t.Parallel()
	ctrl := startFake(t, "127.0.0.1:0")
	runAgent(t, ctrl.addr, "pop-feat", filepath.Join(t.TempDir(), "state.db"), newDevice())
	if req := ctrl.waitWatch(t); !slices.Contains(req.Features, "service-profiles") {
		t.Fatalf("Watch request features %q, want service-profiles", req.Features)
	}
}

// TestProfilesReachAShaper: a profile is applied with the state, read back
// and reported; the same profile again calls no driver; an upgrade alone is
// a change; a throttled service is throttled at its throttle profile and
// counted; paying restores the plan's profile; a profile removed is
// removed from the device.
func TestProfilesReachAShaper(t *testing.T) {
	t.Parallel()
	dev := newShaperDevice()
	ctrl := startFake(t, "127.0.0.1:0")
	a := runShaperAgent(t, ctrl.addr, "pop-sh", filepath.Join(t.TempDir(), "state.db"), dev)
	ctrl.waitWatch(t)

	ctrl.out <- snapshot(2, profiled(1, pbActive, 1, fiber100), service(2, pbActive, 2))
	waitFor(t, "revision 2", func() bool { return a.AppliedRevision() == 2 })
	if p, ok := dev.speed("1"); !ok || p.Name != "fiber-100.v1" || p.DownloadRate != 100_000_000 || p.UploadBurstRate != 30_000_000 || p.BurstTime != 8 || p.Priority != 5 {
		t.Fatalf("device speed of service 1: %+v (held %v)", p, ok)
	}
	if _, ok := dev.speed("2"); ok {
		t.Fatal("a service without a profile got a speed")
	}
	waitFor(t, "service 1 reported with its profile", func() bool {
		r := lastResult(ctrl, "1")
		return r != nil && r.Outcome == pb.Outcome_OUTCOME_APPLIED && r.ObservedProfile == "fiber-100.v1"
	})
	r, _ := a.Store().Get("1")
	if r.AppliedProfile.GetName() != "fiber-100.v1" || r.ObservedProfile != "fiber-100.v1" {
		t.Fatalf("stored record: applied profile %v, observed %q", r.AppliedProfile, r.ObservedProfile)
	}

	// The same desired state in a later snapshot reaches no driver.
	calls := len(dev.Calls())
	ctrl.out <- snapshot(3, profiled(1, pbActive, 1, fiber100), service(2, pbActive, 2))
	waitFor(t, "revision 3", func() bool { return a.AppliedRevision() == 3 })
	if got := dev.Calls()[calls:]; len(got) != 0 {
		t.Fatalf("an unchanged snapshot called the device: %v", got)
	}

	// An upgrade changes nothing but the profile: it is a change.
	ctrl.out <- delta(4, profiled(1, pbActive, 4, fiber300))
	waitFor(t, "revision 4", func() bool { return a.AppliedRevision() == 4 })
	if got := dev.Calls()[calls:]; !slices.Equal(got, []string{"restore 1"}) {
		t.Fatalf("an upgrade: device calls %v, want restore 1", got)
	}
	if p, _ := dev.speed("1"); p.DownloadRate != 300_000_000 || p.Priority != 0 {
		t.Fatalf("after the upgrade the device holds %+v", p)
	}
	waitFor(t, "the upgrade reported", func() bool {
		r := lastResult(ctrl, "1")
		return r.Revision == 4 && r.ObservedProfile == "fiber-300.v1"
	})

	// Throttled: the throttle profile, counted as throttled.
	ctrl.out <- delta(5, profiled(1, pbThrottled, 5, throttle))
	waitFor(t, "revision 5", func() bool { return a.AppliedRevision() == 5 })
	if got := dev.Calls()[calls:]; !slices.Equal(got, []string{"restore 1", "throttle 1"}) {
		t.Fatalf("throttling: device calls %v", got)
	}
	if p, _ := dev.speed("1"); p.Name != "throttle.v1" || p.DownloadRate != 1_000_000 {
		t.Fatalf("throttled service's speed %+v", p)
	}
	waitFor(t, "the throttle reported", func() bool {
		r := lastResult(ctrl, "1")
		return r.Revision == 5 && r.ObservedState == pbThrottled && r.ObservedProfile == "throttle.v1"
	})
	if v := gauge(t, a.reg, "tollgate_agent_services", "throttled"); v != 1 {
		t.Fatalf("tollgate_agent_services{desired_state=throttled} = %v, want 1", v)
	}

	// Paid: the plan's profile, not the throttle's.
	ctrl.out <- delta(6, profiled(1, pbActive, 6, fiber300))
	waitFor(t, "revision 6", func() bool { return a.AppliedRevision() == 6 })
	if p, _ := dev.speed("1"); p.Name != "fiber-300.v1" {
		t.Fatalf("after paying the device holds %+v", p)
	}
	if v := gauge(t, a.reg, "tollgate_agent_services", "throttled"); v != 0 {
		t.Fatalf("throttled gauge %v after restore", v)
	}

	// The plan loses its profile: the device's speed is taken away.
	ctrl.out <- delta(7, service(1, pbActive, 7))
	waitFor(t, "revision 7", func() bool { return a.AppliedRevision() == 7 })
	if p, ok := dev.speed("1"); ok {
		t.Fatalf("the profile was removed but the device holds %+v", p)
	}
	waitFor(t, "no profile reported", func() bool {
		r := lastResult(ctrl, "1")
		return r.Revision == 7 && r.Outcome == pb.Outcome_OUTCOME_APPLIED && r.ObservedProfile == ""
	})
}

// TestSpeedReadBackFails: a device that does not hold the speed applied
// fails the apply (retried), naming both speeds.
func TestSpeedReadBackFails(t *testing.T) {
	t.Parallel()
	dev := newShaperDevice()
	dev.ignoreSpeed = true
	ctrl := startFake(t, "127.0.0.1:0")
	a := runShaperAgent(t, ctrl.addr, "pop-rb", filepath.Join(t.TempDir(), "state.db"), dev)
	ctrl.waitWatch(t)
	ctrl.out <- delta(1, profiled(1, pbActive, 1, fiber100))
	waitFor(t, "the failure reported", func() bool {
		r := lastResult(ctrl, "1")
		return r != nil && r.Outcome == pb.Outcome_OUTCOME_FAILED
	})
	if r := lastResult(ctrl, "1"); r.Error == "" || a.Store().FailedCount() != 1 {
		t.Fatalf("result %+v, %d failed", r, a.Store().FailedCount())
	}
	dev.mu.Lock()
	dev.ignoreSpeed = false
	dev.mu.Unlock()
	waitFor(t, "the retry", func() bool { return a.Store().FailedCount() == 0 })
	if p, ok := dev.speed("1"); !ok || p.Name != "fiber-100.v1" {
		t.Fatalf("after the retry the device holds %+v", p)
	}
}

// TestProfilesIgnoredWithoutAShaper: a driver that does not shape gets no
// call for a profile change, and a throttled service is suspended (fail
// safe).
func TestProfilesIgnoredWithoutAShaper(t *testing.T) {
	t.Parallel()
	dev := newDevice()
	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgent(t, ctrl.addr, "pop-ns", filepath.Join(t.TempDir(), "state.db"), dev)
	ctrl.waitWatch(t)
	ctrl.out <- delta(1, profiled(1, pbActive, 1, fiber100))
	waitFor(t, "revision 1", func() bool { return a.AppliedRevision() == 1 })
	ctrl.out <- delta(2, profiled(1, pbActive, 2, fiber300))
	waitFor(t, "revision 2", func() bool { return a.AppliedRevision() == 2 })
	if got := dev.Calls(); !slices.Equal(got, []string{"restore 1"}) {
		t.Fatalf("a profile change on a driver that does not shape: device calls %v", got)
	}
	ctrl.out <- delta(3, profiled(1, pbThrottled, 3, throttle))
	waitFor(t, "revision 3", func() bool { return a.AppliedRevision() == 3 })
	if got := dev.Calls(); !slices.Equal(got, []string{"restore 1", "suspend 1"}) {
		t.Fatalf("throttled on a driver that cannot throttle: device calls %v, want a suspension", got)
	}
	waitFor(t, "the suspension reported", func() bool {
		r := lastResult(ctrl, "1")
		return r.Revision == 3 && r.Outcome == pb.Outcome_OUTCOME_APPLIED && r.ObservedState == pbSuspended
	})
	// Nothing to do the next time, and the reconcile finds no drift.
	ctrl.out <- snapshot(4, profiled(1, pbThrottled, 3, throttle))
	waitFor(t, "revision 4", func() bool { return a.AppliedRevision() == 4 })
	if rep, err := a.Reconcile(context.Background()); err != nil || rep.Drifted != 0 || rep.Checked != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if got := dev.Calls(); len(got) != 2 {
		t.Fatalf("device calls %v", got)
	}
}

// TestReconcileRepairsSpeedDriftWhileFailingStatic: with the controller
// gone and the agent restarted from its state file, nothing is applied
// again, and the full reconcile sets a speed edited on the device back to
// the profile applied.
func TestReconcileRepairsSpeedDriftWhileFailingStatic(t *testing.T) {
	t.Parallel()
	stateFile := filepath.Join(t.TempDir(), "state.db")
	dev := newShaperDevice()
	ctrl := startFake(t, "127.0.0.1:0")
	a := runShaperAgent(t, ctrl.addr, "pop-fs", stateFile, dev)
	ctrl.waitWatch(t)
	ctrl.out <- snapshot(3, profiled(1, pbActive, 1, fiber100), profiled(2, pbThrottled, 3, throttle), service(3, pbSuspended, 2))
	waitFor(t, "revision 3", func() bool { return a.AppliedRevision() == 3 })
	a.stop()
	ctrl.srv.Stop()
	calls := len(dev.Calls())

	a = runShaperAgent(t, deadAddr(t), "pop-fs", stateFile, dev)
	if a.AppliedRevision() != 3 {
		t.Fatalf("restarted at revision %d", a.AppliedRevision())
	}
	if r, _ := a.Store().Get("2"); r.Applied != pbThrottled || r.AppliedProfile.GetName() != "throttle.v1" {
		t.Fatalf("stored record of the throttled service: %+v", r)
	}
	if v := gauge(t, a.reg, "tollgate_agent_services", "throttled"); v != 1 {
		t.Fatalf("throttled gauge %v after restart", v)
	}
	dev.tamper("1", 500_000_000)
	dev.tamper("2", 50_000_000)
	rep, err := a.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 3 || rep.Drifted != 2 || rep.SpeedDrifted != 2 || rep.Repaired != 2 {
		t.Fatalf("reconcile %+v, want both speeds repaired", rep)
	}
	if p, _ := dev.speed("1"); p.DownloadRate != 100_000_000 {
		t.Fatalf("service 1 holds %+v after the repair", p)
	}
	if p, _ := dev.speed("2"); p.DownloadRate != 1_000_000 {
		t.Fatalf("service 2 holds %+v after the repair", p)
	}
	if got := dev.Calls()[calls:]; !slices.Equal(got, []string{"restore 1", "throttle 2"}) {
		t.Fatalf("device calls while failing static: %v, want only the two repairs", got)
	}
	if rep, err := a.Reconcile(context.Background()); err != nil || rep.Drifted != 0 {
		t.Fatalf("second reconcile %+v %v", rep, err)
	}
}

// runShaperAgent is runAgent with a shaping driver.
func runShaperAgent(t *testing.T, addr, pop, stateFile string, dev *shaperDevice) *runningAgent {
	t.Helper()
	return runAgentWith(t, addr, pop, stateFile, map[string]enforcement.Driver{"log": dev})
}

// TestProfilesOnTheRouterOSSimulator: through the real routeros driver and
// the RouterOS API simulator, a desired state with a profile from the
// controller's stream becomes the service's simple queue (max-limit in
// RouterOS's upload/download order); an upgrade changes the max-limit; a
// throttle puts the address in the throttle list at the throttle speed;
// a max-limit edited on the router is set back by the full reconcile; and
// the controller hears the profile read back. (The end-to-end test through
// the controller binary waits for the controller side of profiles.)
func TestProfilesOnTheRouterOSSimulator(t *testing.T) {
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
	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgentWith(t, ctrl.addr, "pop-ros", filepath.Join(t.TempDir(), "state.db"), map[string]enforcement.Driver{"routeros": ros})
	ctrl.waitWatch(t)

	bind := func(s *pb.Service) *pb.Service {
		s.Binding = &pb.Binding{Method: "routeros", Device: "edge-router", Addresses: []string{"100.64.7.1"}}
		return s
	}
	maxLimit := func() string {
		for _, q := range sim.SimpleQueues() {
			if q.Name == "tollgate-svc-1" {
				return q.MaxLimit
			}
		}
		return ""
	}
	ctrl.out <- snapshot(1, bind(profiled(1, pbActive, 1, fiber100)))
	waitFor(t, "revision 1", func() bool { return a.AppliedRevision() == 1 })
	if got := maxLimit(); got != "20000000/100000000" {
		t.Fatalf("max-limit %q, want 20000000/100000000 (upload/download)", got)
	}
	waitFor(t, "the profile reported", func() bool {
		r := lastResult(ctrl, "1")
		return r != nil && r.Outcome == pb.Outcome_OUTCOME_APPLIED && r.ObservedProfile == "fiber-100.v1"
	})

	ctrl.out <- delta(2, bind(profiled(1, pbActive, 2, fiber300)))
	waitFor(t, "revision 2", func() bool { return a.AppliedRevision() == 2 })
	if got := maxLimit(); got != "50000000/300000000" {
		t.Fatalf("after the upgrade max-limit %q", got)
	}

	ctrl.out <- delta(3, bind(profiled(1, pbThrottled, 3, throttle)))
	waitFor(t, "revision 3", func() bool { return a.AppliedRevision() == 3 })
	if got := maxLimit(); got != "1000000/1000000" {
		t.Fatalf("throttled max-limit %q", got)
	}
	if n := len(sim.Entries(routeros.DefaultThrottleList)); n != 1 || len(sim.Entries(routeros.DefaultAddressList)) != 0 {
		t.Fatalf("throttle list %d entries, suspended list %d", n, len(sim.Entries(routeros.DefaultAddressList)))
	}
	waitFor(t, "the throttle reported", func() bool {
		r := lastResult(ctrl, "1")
		return r.Revision == 3 && r.Outcome == pb.Outcome_OUTCOME_APPLIED && r.ObservedState == pbThrottled
	})

	ctrl.out <- delta(4, bind(profiled(1, pbActive, 4, fiber300)))
	waitFor(t, "revision 4", func() bool { return a.AppliedRevision() == 4 })
	if err := sim.SetSimpleQueue("tollgate-svc-1", map[string]string{"max-limit": "50M/900M"}); err != nil {
		t.Fatal(err)
	}
	rep, err := a.Reconcile(context.Background())
	if err != nil || rep.SpeedDrifted != 1 || rep.Repaired != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if got := maxLimit(); got != "50000000/300000000" {
		t.Fatalf("after the reconcile max-limit %q", got)
	}
	if len(sim.Entries(routeros.DefaultThrottleList)) != 0 {
		t.Fatal("restored service still in the throttle list")
	}
}

// pendingShaper is a shaper whose device holds no speed while a state is
// pending (a RADIUS service with no session: the speed comes with the next
// login).
type pendingShaper struct{ *shaperDevice }

func (p pendingShaper) Pending(enforcement.Target, enforcement.State) string {
	return "no active session; applies at next login"
}

func (p pendingShaper) ObserveProfile(context.Context, enforcement.Target) (*enforcement.Profile, error) {
	return nil, nil
}

// TestPendingSpeedIsNotAFailure: a profile applied to a service whose
// state is pending reads back no speed; that is neither a failure (no
// retry) nor drift (no repair): it is reported pending.
func TestPendingSpeedIsNotAFailure(t *testing.T) {
	t.Parallel()
	dev := pendingShaper{newShaperDevice()}
	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgentWith(t, ctrl.addr, "pop-pd", filepath.Join(t.TempDir(), "state.db"), map[string]enforcement.Driver{"log": dev})
	ctrl.waitWatch(t)
	ctrl.out <- delta(1, profiled(1, pbActive, 1, fiber100))
	waitFor(t, "revision 1", func() bool { return a.AppliedRevision() == 1 })
	waitFor(t, "the result", func() bool { return lastResult(ctrl, "1") != nil })
	if r := lastResult(ctrl, "1"); r.Outcome != pb.Outcome_OUTCOME_PENDING || a.Store().FailedCount() != 0 {
		t.Fatalf("result %+v, %d failed", r, a.Store().FailedCount())
	}
	if rep, err := a.Reconcile(context.Background()); err != nil || rep.Drifted != 0 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if got := dev.Calls(); len(got) != 1 {
		t.Fatalf("device calls %v, want the one restore", got)
	}
}

// TestMovedServiceTakesItsSpeedAlong: an active service with a profile
// that gets a new address on the same router has its queue retargeted
// (no release: it never goes without its speed); moved to another router,
// the old router's queue is removed.
func TestMovedServiceTakesItsSpeedAlong(t *testing.T) {
	t.Parallel()
	simA, err := routerossim.Start(routerossim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simA.Close() })
	simB, err := routerossim.Start(routerossim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simB.Close() })
	ros, err := routeros.New(routeros.Config{Routers: []routeros.RouterConfig{
		{Name: "a", Address: simA.Addr(), Username: "admin"}, {Name: "b", Address: simB.Addr(), Username: "admin"}}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ros.Close() })
	var removed []string
	var mu sync.Mutex
	stop := simA.OnChange(func(c routerossim.Change) {
		if c.Op == routerossim.OpRemove {
			mu.Lock()
			removed = append(removed, c.Path)
			mu.Unlock()
		}
	})
	t.Cleanup(stop)
	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgentWith(t, ctrl.addr, "pop-mv", filepath.Join(t.TempDir(), "state.db"), map[string]enforcement.Driver{"routeros": ros})
	ctrl.waitWatch(t)
	at := func(rev int64, device, addr string) *pb.Service {
		s := profiled(1, pbActive, rev, fiber100)
		s.Binding = &pb.Binding{Method: "routeros", Device: device, Addresses: []string{addr}}
		return s
	}
	ctrl.out <- delta(1, at(1, "a", "100.64.8.1"))
	waitFor(t, "revision 1", func() bool { return a.AppliedRevision() == 1 })
	ctrl.out <- delta(2, at(2, "a", "100.64.8.2"))
	waitFor(t, "revision 2", func() bool { return a.AppliedRevision() == 2 })
	if qs := simA.SimpleQueues(); len(qs) != 1 || qs[0].Target != "100.64.8.2/32" {
		t.Fatalf("router a's queues after a new address: %+v", qs)
	}
	mu.Lock()
	if len(removed) != 0 {
		t.Fatalf("a new address on the same router removed %v", removed)
	}
	mu.Unlock()
	ctrl.out <- delta(3, at(3, "b", "100.64.8.2"))
	waitFor(t, "revision 3", func() bool { return a.AppliedRevision() == 3 })
	if qs := simA.SimpleQueues(); len(qs) != 0 {
		t.Fatalf("router a still has %+v after the move", qs)
	}
	if qs := simB.SimpleQueues(); len(qs) != 1 || qs[0].MaxLimit != "20000000/100000000" {
		t.Fatalf("router b's queues %+v", qs)
	}
}
