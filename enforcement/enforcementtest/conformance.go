package enforcementtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// Peer is the device side of a conformance run.
type Peer interface {
	// Targets returns n distinct targets that start active on the device and
	// that the driver under test can act on.
	Targets(t *testing.T, n int) []enforcement.Target
	// Tamper puts a target into state on the device behind the driver's back
	// (a technician's hand-made change), for the drift cases.
	Tamper(t *testing.T, target enforcement.Target, state enforcement.State)
}

// Run runs the conformance suite: every case as a subtest.
func Run(t *testing.T, d enforcement.Driver, p Peer) {
	t.Helper()
	ctx := context.Background()
	observe := func(t *testing.T, target enforcement.Target, want enforcement.State, when string) {
		t.Helper()
		got, err := d.Observe(ctx, target)
		if err != nil {
			t.Fatalf("%s: observe %s: %v", when, target.ServiceID, err)
		}
		if got != want {
			t.Fatalf("%s: service %s observed %q, want %q", when, target.ServiceID, got, want)
		}
	}

	t.Run("SuspendAndRestoreAreIdempotent", func(t *testing.T) {
		target := p.Targets(t, 1)[0]
		observe(t, target, enforcement.Active, "before anything")
		for i := range 2 {
			if err := d.Suspend(ctx, target); err != nil {
				t.Fatalf("suspend #%d: %v", i+1, err)
			}
			observe(t, target, enforcement.Suspended, fmt.Sprintf("after suspend #%d", i+1))
		}
		for i := range 2 {
			if err := d.Restore(ctx, target); err != nil {
				t.Fatalf("restore #%d: %v", i+1, err)
			}
			observe(t, target, enforcement.Active, fmt.Sprintf("after restore #%d", i+1))
		}
	})

	t.Run("ServicesAreIndependent", func(t *testing.T) {
		ts := p.Targets(t, 3)
		if err := d.Suspend(ctx, ts[1]); err != nil {
			t.Fatal(err)
		}
		observe(t, ts[0], enforcement.Active, "a neighbour of the suspended service")
		observe(t, ts[1], enforcement.Suspended, "the suspended service")
		observe(t, ts[2], enforcement.Active, "another neighbour")
		if err := d.Restore(ctx, ts[0]); err != nil { // restoring an active one changes nothing
			t.Fatal(err)
		}
		observe(t, ts[1], enforcement.Suspended, "after restoring a neighbour")
	})

	t.Run("ConcurrentUse", func(t *testing.T) {
		ts := p.Targets(t, 20)
		for _, op := range []struct {
			name string
			do   func(context.Context, enforcement.Target) error
			want enforcement.State
		}{{"suspend", d.Suspend, enforcement.Suspended}, {"restore", d.Restore, enforcement.Active}} {
			var wg sync.WaitGroup
			errs := make(chan error, len(ts))
			for _, target := range ts {
				wg.Go(func() {
					if err := op.do(ctx, target); err != nil {
						errs <- fmt.Errorf("%s %s: %w", op.name, target.ServiceID, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for _, target := range ts {
				observe(t, target, op.want, "after concurrent "+op.name)
			}
		}
	})

	t.Run("ObserveReadsTheDevice", func(t *testing.T) {
		ts := p.Targets(t, 2)
		// Drift one way: suspended by the driver, restored by hand.
		if err := d.Suspend(ctx, ts[0]); err != nil {
			t.Fatal(err)
		}
		p.Tamper(t, ts[0], enforcement.Active)
		observe(t, ts[0], enforcement.Active, "after a hand-made restore")
		if err := d.Suspend(ctx, ts[0]); err != nil {
			t.Fatal(err)
		}
		observe(t, ts[0], enforcement.Suspended, "after repairing the drift")
		// And the other: suspended by hand.
		p.Tamper(t, ts[1], enforcement.Suspended)
		observe(t, ts[1], enforcement.Suspended, "after a hand-made suspension")
		if err := d.Restore(ctx, ts[1]); err != nil {
			t.Fatal(err)
		}
		observe(t, ts[1], enforcement.Active, "after repairing the drift")
	})

	t.Run("CancelledContext", func(t *testing.T) {
		target := p.Targets(t, 1)[0]
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		err := d.Suspend(cctx, target)
		if err == nil {
			// A driver may have nothing to wait for; it must not have acted.
			observe(t, target, enforcement.Active, "after a suspend with a cancelled context that reported success")
			t.Fatal("suspend with a cancelled context succeeded")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("suspend with a cancelled context: %v, want an error wrapping context.Canceled", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("suspend with a cancelled context took %s", took)
		}
	})
}
