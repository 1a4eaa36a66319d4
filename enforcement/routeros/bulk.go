package routeros

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// snapshotTTL bounds how long one read of a router's list answers Observe,
// should EndReconcile never come.
const snapshotTTL = 10 * time.Minute

// snapshot is one read of a router's address list, throttle list and
// simple queues, for the Observe and ObserveProfile calls of an agent's
// full reconcile.
type snapshot struct {
	taken     time.Time
	byKey     map[string][]entry // the address list (suspended)
	throttled map[string][]entry // the throttle list
	queues    map[string]queue   // by name
	// dirty are addresses and queue names ("queue:" + name) the driver has
	// changed since: Observe and ObserveProfile read them from the router.
	dirty map[string]bool
}

// BeginReconcile reads every router's address list and throttle list once
// (one print per list and address family) and its simple queues (one
// print), so that the Observe and ObserveProfile calls of an agent's full
// reconcile are answered from that read instead of one print each, until
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
			var lists, throttled [2][]entry
			var queues []queue
			errs[i] = r.do(ctx, func(ctx context.Context, s *session) error {
				var err error
				if lists, _, err = r.readLists(ctx, s, r.cfg.AddressList); err != nil {
					return err
				}
				if throttled, _, err = r.readLists(ctx, s, r.cfg.ThrottleList); err != nil {
					return err
				}
				queues, err = r.readQueues(ctx, s)
				return err
			})
			snap := &snapshot{taken: time.Now(), byKey: map[string][]entry{}, throttled: map[string][]entry{},
				queues: map[string]queue{}, dirty: map[string]bool{}}
			for _, l := range lists {
				for _, e := range l {
					snap.byKey[e.key] = append(snap.byKey[e.key], e)
				}
			}
			for _, l := range throttled {
				for _, e := range l {
					snap.throttled[e.key] = append(snap.throttled[e.key], e)
				}
			}
			for _, q := range queues {
				snap.queues[q.name] = q
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

// stateFromSnapshot answers Observe from the snapshot, if there is one
// that holds all of addrs unchanged.
func (r *router) stateFromSnapshot(addrs []address) (st enforcement.State, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snap == nil || time.Since(r.snap.taken) > snapshotTTL {
		return "", false
	}
	suspended, throttled := true, true
	enabled := func(e entry) bool { return !e.disabled }
	for _, a := range addrs {
		if r.snap.dirty[a.key] {
			return "", false
		}
		if !slices.ContainsFunc(r.snap.byKey[a.key], enabled) {
			suspended = false
		}
		if !slices.ContainsFunc(r.snap.throttled[a.key], enabled) {
			throttled = false
		}
	}
	switch {
	case suspended:
		return enforcement.Suspended, true
	case throttled:
		return enforcement.Throttled, true
	}
	return enforcement.Active, true
}

// queueFromSnapshot answers ObserveProfile from the snapshot, if there is
// one and the queue has not changed since: the queue named name, if the
// router had one.
func (r *router) queueFromSnapshot(name string) (q queue, found, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snap == nil || time.Since(r.snap.taken) > snapshotTTL || r.snap.dirty["queue:"+name] {
		return queue{}, false, false
	}
	q, found = r.snap.queues[name]
	return q, found, true
}

// changing marks addresses, and the queue of service id (if not ""), that
// the driver is about to change: Observe and ObserveProfile no longer
// answer them from a snapshot. nil addresses mark everything (a full
// reconcile).
func (r *router) changing(addrs []address, id string) {
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
	if id != "" {
		r.snap.dirty["queue:"+r.queueName(id)] = true
	}
}
