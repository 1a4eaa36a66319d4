package agent

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// reconcileChunk is how many services one reconcile step reads back before
// the controller's messages get their turn.
const reconcileChunk = 100

// ReconcileReport is what one full reconcile found.
type ReconcileReport struct {
	// Checked services were read back from their device.
	Checked int
	// Drifted services were found in another state, or at another speed,
	// than the one applied (changed by hand on the device); Repaired of
	// them were put back. SpeedDrifted of them were at another speed (a
	// queue's max-limit edited by hand).
	Drifted, Repaired, SpeedDrifted int
	// Errors counts read-backs and repairs that failed (retried later).
	Errors int
}

// Bulk is implemented by drivers that can reconcile a whole device in a
// few requests (the routeros driver reads an address list in one print).
// The agent still reads every service back through Observe; Bulk only lets
// a driver prepare (e.g. cache one read of the device) for a reconcile.
// Optional.
type Bulk interface {
	// BeginReconcile is called before a full reconcile reads back the
	// services bound to the driver, EndReconcile after.
	BeginReconcile(ctx context.Context) error
	EndReconcile()
}

// OrphanRemover is implemented by drivers that can remove, in bulk, what
// they put on their devices for services the agent does not know (the
// routeros driver's simple queues and address-list entries of a service
// removed while the agent was away, or left by a crash between the
// router's change and the agent's record). known reports the services the
// agent knows; the driver keeps everything of theirs and everything that
// is not its own. A full reconcile calls it after the read-backs, holding
// the apply lock, once the agent has applied a snapshot from the
// controller (an agent that knows nothing yet removes nothing). Optional.
type OrphanRemover interface {
	RemoveOrphans(ctx context.Context, known func(serviceID string) bool) error
}

func (a *Agent) reconcileLoop(ctx context.Context) {
	if a.cfg.ReconcileInterval < 0 {
		return
	}
	t := time.NewTicker(a.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r, err := a.Reconcile(ctx)
			if err != nil && ctx.Err() == nil {
				a.log.Error("full reconcile", "err", err)
			}
			if r.Drifted > 0 || r.Errors > 0 {
				a.log.Warn("full reconcile found drift", "checked", r.Checked, "drifted", r.Drifted, "repaired", r.Repaired, "errors", r.Errors)
			} else {
				a.log.Debug("full reconcile", "checked", r.Checked)
			}
		}
	}
}

// Reconcile reads every applied service back from its device and repairs
// drift: a service found in another state than the one applied (an
// address-list entry removed by hand, a port brought up by hand), or,
// through a driver that is an [enforcement.Shaper], at another speed than
// the profile applied (a queue's max-limit edited by hand), is applied
// again. Every read-back goes to the controller as the service's observed
// state, so "last confirmed" stays fresh. Services whose last apply failed
// are left to the retry loop. It works in chunks, holding the apply lock
// for one chunk at a time, so the controller's changes interleave.
func (a *Agent) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	var ids []string
	err := a.store.ForEach(func(id string, r *Record) error {
		if r.Error == "" && r.Applied != pb.DesiredState_DESIRED_STATE_UNSPECIFIED && !r.Desired.GetRemoved() {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, d := range a.drivers {
		if b, ok := d.(Bulk); ok {
			if err := b.BeginReconcile(ctx); err != nil {
				a.log.Warn("preparing a driver for reconcile", "err", err)
			}
			defer b.EndReconcile()
		}
	}
	for i := 0; i < len(ids) && ctx.Err() == nil; i += reconcileChunk {
		if err := a.reconcileChunk(ctx, ids[i:min(i+reconcileChunk, len(ids))], &rep); err != nil {
			return rep, err
		}
	}
	if ctx.Err() == nil {
		if err := a.removeOrphans(ctx, &rep); err != nil {
			return rep, err
		}
	}
	a.metrics.reconcileDrift.Add(float64(rep.Drifted))
	return rep, ctx.Err()
}

// removeOrphans has every driver that is an [OrphanRemover] remove what
// it holds for services the store does not know (removed or not yet
// released services are known: the apply and retry loops release them).
// It holds the apply lock, so that no service is applied meanwhile whose
// record the known set lacks.
func (a *Agent) removeOrphans(ctx context.Context, rep *ReconcileReport) error {
	var removers []OrphanRemover
	for _, m := range slices.Sorted(maps.Keys(a.drivers)) {
		if o, ok := a.drivers[m].(OrphanRemover); ok {
			removers = append(removers, o)
		}
	}
	if len(removers) == 0 {
		return nil
	}
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	if a.AppliedRevision() == 0 {
		return nil // nothing from the controller yet: everything may be someone's
	}
	known := map[string]bool{}
	if err := a.store.ForEach(func(id string, _ *Record) error {
		known[id] = true
		return nil
	}); err != nil {
		return err
	}
	for _, o := range removers {
		if err := o.RemoveOrphans(ctx, func(id string) bool { return known[id] }); err != nil {
			rep.Errors++
			a.log.Warn("reconcile: removing orphans from the devices failed", "err", err)
		}
	}
	return nil
}

func (a *Agent) reconcileChunk(ctx context.Context, ids []string, rep *ReconcileReport) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	recs, err := a.store.lookup(ids)
	if err != nil {
		return err
	}
	var b batch
	var results []*pb.ServiceResult
	for _, id := range ids {
		rec := recs[id]
		if rec == nil || rec.Error != "" || rec.Desired.GetRemoved() {
			continue // changed since the list was taken
		}
		s := rec.Desired
		observed, speed, err := a.observe(ctx, s, rec)
		now := a.clock.Now()
		if err != nil {
			rep.Errors++
			a.log.Warn("reconcile: reading the device failed", "service_id", id, "err", err)
			continue
		}
		rep.Checked++
		// A pending state (a RADIUS service with no session) has no speed
		// in place to compare: it takes the profile at the next login.
		speedDrift := speed.checked && !speed.got.SameSpeed(profileOf(rec.AppliedProfile)) && a.pendingReason(s, observed) == ""
		if observed == rec.Applied && !speedDrift {
			nr := *rec
			nr.Observed, nr.ObservedAt = observed, now
			if speed.checked {
				nr.ObservedProfile = observedProfileName(speed.got, rec.AppliedProfile)
			}
			b.puts = append(b.puts, &nr)
			res := &pb.ServiceResult{ServiceId: id, Revision: rec.AppliedRevision, Outcome: pb.Outcome_OUTCOME_APPLIED,
				ObservedState: observed, ObservedAtUnixNano: now.UnixNano(), ObservedProfile: nr.ObservedProfile}
			if why := a.pendingReason(s, observed); why != "" {
				res.Outcome, res.PendingReason = pb.Outcome_OUTCOME_PENDING, why
			}
			results = append(results, res)
			continue
		}
		rep.Drifted++
		if speedDrift {
			rep.SpeedDrifted++
			a.log.Warn("drift: the device does not hold the applied speed; repairing", "service_id", id,
				"applied", speedString(profileOf(rec.AppliedProfile)), "observed", speedString(speed.got))
		} else {
			a.log.Warn("drift: the device does not hold the applied state; repairing", "service_id", id,
				"applied", stateName(rec.Applied), "observed", stateName(observed))
		}
		// Applied as if new, so apply does not take the record's word for it.
		r, _ := a.apply(ctx, s, nil, &b)
		if r != nil {
			if r.Outcome == pb.Outcome_OUTCOME_APPLIED {
				rep.Repaired++
			} else {
				rep.Errors++
			}
			results = append(results, r)
		}
	}
	if err := a.store.commit(&b, keepRevision, 0, time.Time{}); err != nil {
		a.metrics.storeErrors.Inc()
		return err
	}
	a.addPending(results)
	a.updateMetrics()
	return nil
}

// speedRead is the speed a reconcile read back for a service.
type speedRead struct {
	// checked: the driver is a Shaper and the applied state holds a speed
	// (active or throttled), so got was read.
	checked bool
	got     *enforcement.Profile
}

// observe reads one service's state from its device and, where the
// driver shapes and the applied state holds a speed, the speed.
func (a *Agent) observe(ctx context.Context, s *pb.Service, rec *Record) (pb.DesiredState, speedRead, error) {
	method := s.GetBinding().GetMethod()
	d, ok := a.drivers[method]
	if !ok {
		return pb.DesiredState_DESIRED_STATE_UNSPECIFIED, speedRead{}, fmt.Errorf("%w: %q", enforcement.ErrUnknownMethod, method)
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DriverTimeout)
	defer cancel()
	t := targetOf(s)
	t.Profile = profileOf(rec.AppliedProfile)
	got, err := d.Observe(ctx, t)
	if err != nil {
		return pb.DesiredState_DESIRED_STATE_UNSPECIFIED, speedRead{}, err
	}
	var speed speedRead
	if sh, ok := d.(enforcement.Shaper); ok && rec.Applied != pb.DesiredState_DESIRED_STATE_SUSPENDED {
		p, err := sh.ObserveProfile(ctx, t)
		if err != nil {
			return pb.DesiredState_DESIRED_STATE_UNSPECIFIED, speedRead{}, fmt.Errorf("reading the speed: %w", err)
		}
		speed = speedRead{checked: true, got: p}
	}
	return desiredState(got), speed, nil
}

// targetOf is the driver's view of a service, with the profile it carries.
func targetOf(s *pb.Service) enforcement.Target {
	return enforcement.Target{ServiceID: s.ServiceId, Reason: s.Reason, Binding: enforcement.Binding{
		Method: s.GetBinding().GetMethod(), Addresses: s.GetBinding().GetAddresses(), RADIUSUsername: s.GetBinding().GetRadiusUsername(),
		Device: s.GetBinding().GetDevice(), IfIndex: s.GetBinding().GetIfIndex(),
	}, Profile: profileOf(s.GetProfile())}
}

// targetFor is s's target with the profile its driver is to hold in state
// st (see [Agent.shapedProfile]).
func (a *Agent) targetFor(s *pb.Service, st pb.DesiredState) enforcement.Target {
	t := targetOf(s)
	t.Profile = profileOf(a.shapedProfile(s, st))
	return t
}
