package enforcementtest_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/enforcementtest"
)

// device is an in-memory device: the suite's own check that it passes a
// correct driver (real drivers run it against their real peers).
type device struct {
	mu        sync.Mutex
	suspended map[string]bool
	next      int
}

func (d *device) set(ctx context.Context, t enforcement.Target, s bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.suspended[t.ServiceID] = s
	return nil
}

func (d *device) Suspend(ctx context.Context, t enforcement.Target) error { return d.set(ctx, t, true) }
func (d *device) Restore(ctx context.Context, t enforcement.Target) error {
	return d.set(ctx, t, false)
}
func (d *device) Observe(ctx context.Context, t enforcement.Target) (enforcement.State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.suspended[t.ServiceID] {
		return enforcement.Suspended, nil
	}
	return enforcement.Active, nil
}

func (d *device) Targets(t *testing.T, n int) []enforcement.Target {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []enforcement.Target
	for range n {
		d.next++
		out = append(out, enforcement.Target{ServiceID: string(rune('a'+d.next%26)) + string(rune('0'+d.next/26))})
	}
	return out
}

func (d *device) Tamper(t *testing.T, target enforcement.Target, s enforcement.State) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.suspended[target.ServiceID] = s == enforcement.Suspended
}

func TestSuiteAcceptsACorrectDriver(t *testing.T) {
	d := &device{suspended: map[string]bool{}}
	enforcementtest.Run(t, d, d)
}
