package routeros

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// snapshotTTL bounds how long one read of a router's list answers Observe,
// should EndReconcile never come.
const snapshotTTL = 10 * time.Minute

// snapshot is one read of a router's whole address list, for the Observe
// calls of an agent's full reconcile.
type snapshot struct {
	taken time.Time
	byKey map[string][]entry
	// dirty are addresses the driver has changed since: Observe reads them
	// from the router.
	dirty map[string]bool
}

// BeginReconcile reads every router's address list once (one print per
// address family) so that the Observe calls of an agent's full reconcile
// are answered from that read instead of one print each, until
// EndReconcile. Addresses the driver changes meanwhile (Suspend, Restore,
// Reconcile) are read from the router again, so an apply's read-back is
// always fresh; a change made by hand after the read shows at the next
// reconcile. A router that cannot be read gets no snapshot (its Observe
// calls read the router) and its error is returned, joined with the
// others'. A context without a deadline gets 3×Timeout per router.
//
// With the agent's Bulk interface (BeginReconcile, EndReconcile).
func (d *Driver) BeginReconcile(ctx context.Context) error {
	errs := make([]error, len(d.names))
	var wg sync.WaitGroup
	for i, name := range d.names {
		r := d.routers[name]
		wg.Go(func() {
			ctx, cancel := opContext(ctx, r)
			defer cancel()
			var lists [2][]entry
			errs[i] = r.do(ctx, func(ctx context.Context, s *session) error {
				var err error
				lists, _, err = r.readLists(ctx, s)
				return err
			})
			snap := &snapshot{taken: time.Now(), byKey: map[string][]entry{}, dirty: map[string]bool{}}
			for _, l := range lists {
				for _, e := range l {
					snap.byKey[e.key] = append(snap.byKey[e.key], e)
				}
			}
			r.mu.Lock()
			if errs[i] == nil {
				r.snap = snap
			} else {
				r.snap = nil
			}
			r.mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// EndReconcile drops the reads BeginReconcile made: Observe reads the
// routers again.
func (d *Driver) EndReconcile() {
	for _, r := range d.routers {
		r.mu.Lock()
		r.snap = nil
		r.mu.Unlock()
	}
}

// fromSnapshot answers Observe from the snapshot, if there is one that
// holds all of addrs unchanged.
func (r *router) fromSnapshot(addrs []address) (suspended, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snap == nil || time.Since(r.snap.taken) > snapshotTTL {
		return false, false
	}
	suspended = true
	for _, a := range addrs {
		if r.snap.dirty[a.key] {
			return false, false
		}
		if !slices.ContainsFunc(r.snap.byKey[a.key], func(e entry) bool { return !e.disabled }) {
			suspended = false
		}
	}
	return suspended, true
}

// changing marks addresses the driver is about to change: Observe no longer
// answers them from a snapshot. nil marks everything (a full reconcile).
func (r *router) changing(addrs []address) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snap == nil {
		return
	}
	if addrs == nil {
		r.snap = nil
		return
	}
	for _, a := range addrs {
		r.snap.dirty[a.key] = true
	}
}
