package routeros_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// twoRouters is a POP with a healthy router and one to break, the driver
// giving up on a connection after 300ms of silence.
func twoRouters(t *testing.T) (good, bad *routerossim.Server, d *routeros.Driver) {
	good = startSim(t, routerossim.Config{})
	bad = startSim(t, routerossim.Config{})
	gc, bc := routerConfig(t, "good", good), routerConfig(t, "bad", bad)
	gc.Timeout, bc.Timeout = 300*time.Millisecond, 300*time.Millisecond
	return good, bad, newDriver(t, gc, bc)
}

func someTargets(device string, n int) []enforcement.Target {
	var out []enforcement.Target
	for i := range n {
		out = append(out, target(fmt.Sprintf("%s-%d", device, i), device, fmt.Sprintf("10.2.%d.%d", i>>8, i&255)))
	}
	return out
}

// suspendAll suspends ts concurrently and reports when each finished.
func suspendAll(ctx context.Context, d *routeros.Driver, ts []enforcement.Target) <-chan error {
	errs := make(chan error, len(ts))
	for _, tg := range ts {
		go func() { errs <- d.Suspend(ctx, tg) }()
	}
	return errs
}

func waitAll(t *testing.T, what string, errs <-chan error, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-deadline:
			t.Fatalf("%s: not done within %s", what, within)
		}
	}
}

func testFaultyRouter(t *testing.T, breakIt, fix func(*routerossim.Server)) {
	good, bad, d := twoRouters(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Both routers are in use before one breaks.
	waitAll(t, "warm-up", suspendAll(ctx, d, []enforcement.Target{target("w1", "good", "10.3.0.1"), target("w2", "bad", "10.3.0.2")}), 2, 5*time.Second)
	breakIt(bad)

	badErrs := suspendAll(ctx, d, someTargets("bad", 10))
	start := time.Now()
	waitAll(t, "suspends on the healthy router", suspendAll(ctx, d, someTargets("good", 10)), 10, 2*time.Second)
	t.Logf("healthy router done in %s", time.Since(start).Round(time.Millisecond))
	if n := good.Count(list); n != 11 {
		t.Fatalf("healthy router lists %d", n)
	}
	// A full reconcile: the healthy router is done long before the faulty
	// one comes back.
	want := targets(append(someTargets("good", 12), someTargets("bad", 12)...)...)
	recDone := make(chan error, 1)
	go func() { _, err := d.Reconcile(ctx, want); recDone <- err }()
	waitFor(t, "the healthy router's reconcile", 2*time.Second, func() bool { return good.Count(list) == 12 })
	select {
	case err := <-badErrs:
		t.Fatalf("a suspend on the faulty router finished while it is broken: %v", err)
	default:
	}
	time.Sleep(500 * time.Millisecond) // a few reconnect attempts
	fix(bad)
	waitAll(t, "suspends on the faulty router after it recovered", badErrs, 10, 10*time.Second)
	select {
	case err := <-recDone:
		if err != nil {
			t.Fatalf("reconcile: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reconcile did not finish after the router recovered")
	}
	if n := bad.Count(list); n != 12 {
		t.Fatalf("the recovered router lists %d, want 12", n)
	}
}

// A router that stops answering (its answers take longer than the
// driver's timeout) holds up nobody else; its changes are made when it
// answers again.
func TestSlowRouterDoesNotStallTheOthers(t *testing.T) {
	t.Parallel()
	testFaultyRouter(t,
		func(s *routerossim.Server) { s.SetFaults(routerossim.Faults{Latency: time.Hour}) },
		func(s *routerossim.Server) { s.SetFaults(routerossim.Faults{}) })
}

// The same with a router that drops every connection at its first command
// after login.
func TestDroppingRouterDoesNotStallTheOthers(t *testing.T) {
	t.Parallel()
	testFaultyRouter(t,
		func(s *routerossim.Server) { s.SetFaults(routerossim.Faults{DropAfter: 1}); s.DropConnections() },
		func(s *routerossim.Server) { s.SetFaults(routerossim.Faults{}) })
}

// And one that is down altogether.
func TestDownRouterDoesNotStallTheOthers(t *testing.T) {
	t.Parallel()
	testFaultyRouter(t,
		func(s *routerossim.Server) { s.SetFaults(routerossim.Faults{Down: true}) },
		func(s *routerossim.Server) { s.SetFaults(routerossim.Faults{}) })
}

// With the router down for longer than the caller waits, the error says
// why, wrapping the context's.
func TestDeadlineWhileDown(t *testing.T) {
	t.Parallel()
	sim := startSim(t, routerossim.Config{Users: map[string]string{user: password}})
	d := newDriver(t, routerConfig(t, "r", sim))
	sim.SetFaults(routerossim.Faults{Down: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := d.Suspend(ctx, target("x", "", "10.0.0.1"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "last attempt") {
		t.Fatalf("err %v", err)
	}
	sim.SetFaults(routerossim.Faults{})
	if err := d.Suspend(context.Background(), target("x", "", "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
}

// A dropped connection is made again without the caller noticing.
func TestReconnects(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r", sim))
	tg := target("x", "", "10.0.0.1")
	for i := range 3 {
		if err := d.Suspend(context.Background(), tg); err != nil {
			t.Fatal(err)
		}
		sim.DropConnections()
		if st, err := d.Observe(context.Background(), tg); err != nil || st != enforcement.Suspended {
			t.Fatalf("round %d: %s, %v", i, st, err)
		}
	}
	if st := sim.Stats(); st.Logins != 4 {
		t.Fatalf("%d logins, want 4 (one, then one after each drop)", st.Logins)
	}
}

// A command the router refuses is an error at once, not retried.
func TestTrapsAreErrors(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r", sim))
	sim.SetFaults(routerossim.Faults{Traps: map[string]string{"/ip/firewall/address-list/add": "failure: out of memory"}})
	start := time.Now()
	err := d.Suspend(context.Background(), target("x", "", "10.0.0.1"))
	if err == nil || !strings.Contains(err.Error(), "failure: out of memory") {
		t.Fatalf("err %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("took %s: a trap must not be retried", took)
	}
	rep, err := d.Reconcile(context.Background(), targets(target("y", "", "10.0.0.2")))
	if err == nil || rep.Routers[0].Failed != 1 || !strings.Contains(rep.Routers[0].Problems[0], "out of memory") {
		t.Fatalf("reconcile: %+v, %v", rep.Routers[0], err)
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	sim := startSim(t, routerossim.Config{})
	rc := routerConfig(t, "r", sim)
	rc.PasswordFile, rc.Password = "", "wrong"
	d := newDriver(t, rc)
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if _, err := d.Observe(ctx, target("x", "", "10.0.0.1")); err == nil || !strings.Contains(err.Error(), routerossim.MsgBadLogin) {
		t.Fatalf("bad password: %v", err)
	}
	d2 := newDriver(t, routerConfig(t, "r", sim))
	sim.SetFaults(routerossim.Faults{RefuseLogins: true})
	before := sim.Stats().Sentences
	ctx, cancel = context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	errs := make(chan error, 20)
	for range 20 {
		go func() { _, err := d2.Observe(ctx, target("x", "", "10.0.0.1")); errs <- err }()
	}
	for range 20 {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "login refused") {
			t.Fatalf("refused login: %v", err)
		}
	}
	// One login attempt per backoff (100ms, 200ms, 400ms, ...), however
	// many calls are waiting.
	if n := sim.Stats().Sentences - before; n > 6 {
		t.Fatalf("%d login attempts in 600ms", n)
	}
}

// The rate limit spaces commands out: 100/s with a burst of 100 makes
// 160 commands take at least 0.6s.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	sim := startSim(t, routerossim.Config{})
	rc := routerConfig(t, "r", sim)
	rc.RateLimit = 100
	d := newDriver(t, rc)
	want := map[string]enforcement.Target{}
	for i := range 158 { // + login + the two prints
		id := fmt.Sprint(i)
		want[id] = target(id, "", fmt.Sprintf("10.4.0.%d", i))
	}
	start := time.Now()
	if _, err := d.Reconcile(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 550*time.Millisecond {
		t.Fatalf("161 commands in %s at 100/s after a burst of 100", took)
	}
}

func TestClose(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "r", sim))
	if err := d.Suspend(context.Background(), target("x", "", "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := d.Suspend(context.Background(), target("x", "", "10.0.0.1")); !errors.Is(err, routeros.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
