package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/internal/clock"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// Config is the agent's runtime configuration. Zero values take the
// documented defaults.
type Config struct {
	// POP is the id of the POP this agent enforces. Required.
	POP string
	// AgentID identifies this agent instance to the controller. Default: the
	// host name.
	AgentID string
	// Version is reported to the controller. Default "dev".
	Version string
	// BackoffMin and BackoffMax bound the jittered exponential backoff
	// between reconnect attempts. Defaults 200ms and 30s.
	BackoffMin, BackoffMax time.Duration
	// RetryInterval is how often services whose last apply failed are tried
	// again. Default 10s.
	RetryInterval time.Duration
	// DriverTimeout bounds one driver call. Default 10s.
	DriverTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 200 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 30 * time.Second
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = 10 * time.Second
	}
	if c.DriverTimeout <= 0 {
		c.DriverTimeout = 10 * time.Second
	}
	return c
}

// Agent follows one POP's desired state. Create it with [New] and call
// [Agent.Run].
type Agent struct {
	cfg     Config
	client  pb.EnforcementClient
	drivers map[string]enforcement.Driver
	log     *slog.Logger
	clock   clock.Clock
	metrics *Metrics

	mu       sync.Mutex
	applied  int64 // highest revision applied (or being retried)
	services map[string]*serviceState
}

// serviceState is what the agent knows of one service.
type serviceState struct {
	desired *pb.Service
	// applied is the desired state last applied successfully (nil: never).
	applied *pb.Service
	lastErr string
}

// New returns an agent that talks to the controller over conn and enforces
// through drivers, keyed by binding method. metrics may be nil.
func New(cfg Config, conn grpc.ClientConnInterface, drivers map[string]enforcement.Driver, log *slog.Logger, clk clock.Clock, metrics *Metrics) (*Agent, error) {
	if cfg.POP == "" {
		return nil, errors.New("agent: pop is required")
	}
	if len(drivers) == 0 {
		return nil, errors.New("agent: no enforcement drivers registered")
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	return &Agent{
		cfg:      cfg.withDefaults(),
		client:   pb.NewEnforcementClient(conn),
		drivers:  drivers,
		log:      log.With("pop", cfg.POP),
		clock:    clk,
		metrics:  metrics,
		services: make(map[string]*serviceState),
	}, nil
}

// AppliedRevision returns the highest revision the agent has applied.
func (a *Agent) AppliedRevision() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied
}

// Run follows the controller until ctx is done, reconnecting with jittered
// exponential backoff. It returns nil when ctx is cancelled.
func (a *Agent) Run(ctx context.Context) error {
	backoff := a.cfg.BackoffMin
	for {
		start := a.clock.Now()
		err := a.stream(ctx)
		if ctx.Err() != nil {
			return nil
		}
		a.metrics.connected.Set(0)
		if a.clock.Now().Sub(start) > time.Minute {
			backoff = a.cfg.BackoffMin // the last stream was healthy
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		a.log.Warn("controller stream ended; keeping the last known state and reconnecting", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, a.cfg.BackoffMax)
	}
}

// stream runs one Watch + Report session.
func (a *Agent) stream(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	since := a.AppliedRevision()
	watch, err := a.client.Watch(ctx, &pb.WatchRequest{Pop: a.cfg.POP, SinceRevision: since, AgentId: a.cfg.AgentID, AgentVersion: a.cfg.Version})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	report, err := a.client.Report(ctx)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() { _, _ = report.CloseAndRecv() }()
	a.log.Info("watching controller", "since_revision", since)

	msgs := make(chan *pb.WatchResponse)
	go func() {
		for {
			m, err := watch.Recv()
			if err != nil {
				cancel(err)
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()

	// Reconnect after two missed heartbeats; the interval comes from the
	// controller's heartbeats, 5s until the first arrives.
	interval := 5 * time.Second
	watchdog := time.NewTimer(3 * interval)
	defer watchdog.Stop()
	retry := time.NewTicker(a.cfg.RetryInterval)
	defer retry.Stop()

	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-watchdog.C:
			return fmt.Errorf("no message from the controller for %s (two heartbeats missed)", 2*interval)
		case <-retry.C:
			if results := a.retryFailed(ctx); len(results) > 0 {
				if err := a.sendReport(report, results); err != nil {
					return err
				}
			}
		case m := <-msgs:
			a.metrics.connected.Set(1)
			var results []*pb.ServiceResult
			switch msg := m.Message.(type) {
			case *pb.WatchResponse_Snapshot:
				results = a.applySnapshot(ctx, msg.Snapshot)
			case *pb.WatchResponse_Delta:
				results = a.applyDelta(ctx, msg.Delta)
			case *pb.WatchResponse_Heartbeat:
				if ms := msg.Heartbeat.GetIntervalMs(); ms > 0 {
					interval = time.Duration(ms) * time.Millisecond
				}
			}
			watchdog.Reset(2*interval + interval/2)
			if err := a.sendReport(report, results); err != nil {
				return err
			}
		}
	}
}

func (a *Agent) sendReport(report pb.Enforcement_ReportClient, results []*pb.ServiceResult) error {
	err := report.Send(&pb.ReportRequest{Pop: a.cfg.POP, AgentId: a.cfg.AgentID, AppliedRevision: a.AppliedRevision(), Results: results})
	if err != nil {
		return fmt.Errorf("send report: %w", err)
	}
	return nil
}

// applySnapshot makes the applied state match the snapshot, touching only
// services whose desired state or binding differs from what is applied.
func (a *Agent) applySnapshot(ctx context.Context, snap *pb.Snapshot) []*pb.ServiceResult {
	a.mu.Lock()
	var work []*pb.Service
	seen := make(map[string]bool, len(snap.Services))
	for _, s := range snap.Services {
		seen[s.ServiceId] = true
		work = append(work, s)
	}
	for id, st := range a.services {
		if !seen[id] {
			gone := &pb.Service{ServiceId: id, Revision: snap.Revision, Removed: true,
				DesiredState: pb.DesiredState_DESIRED_STATE_ACTIVE, Binding: st.desired.GetBinding()}
			work = append(work, gone)
		}
	}
	a.mu.Unlock()
	a.log.Info("snapshot received", "revision", snap.Revision, "services", len(snap.Services))
	results := a.applyAll(ctx, work)
	a.setApplied(snap.Revision)
	return results
}

func (a *Agent) applyDelta(ctx context.Context, d *pb.Delta) []*pb.ServiceResult {
	// Only the last change of each service matters.
	last := make(map[string]int, len(d.Changes))
	for i, c := range d.Changes {
		last[c.ServiceId] = i
	}
	work := make([]*pb.Service, 0, len(last))
	for i, c := range d.Changes {
		if last[c.ServiceId] == i {
			work = append(work, c)
		}
	}
	results := a.applyAll(ctx, work)
	a.setApplied(d.Revision)
	return results
}

func (a *Agent) setApplied(rev int64) {
	a.mu.Lock()
	if rev > a.applied {
		a.applied = rev
	}
	a.mu.Unlock()
	a.metrics.appliedRevision.Set(float64(rev))
}

func (a *Agent) applyAll(ctx context.Context, work []*pb.Service) []*pb.ServiceResult {
	var results []*pb.ServiceResult
	for _, s := range work {
		if r := a.apply(ctx, s); r != nil {
			results = append(results, r)
		}
	}
	return results
}

// apply enforces one service's desired state unless it is already applied.
// It returns the result to report, or nil when nothing needed doing.
func (a *Agent) apply(ctx context.Context, s *pb.Service) *pb.ServiceResult {
	a.mu.Lock()
	st := a.services[s.ServiceId]
	if st == nil {
		st = &serviceState{}
		if !s.Removed {
			a.services[s.ServiceId] = st
		}
	}
	prev := st.applied
	st.desired = s
	a.mu.Unlock()

	if prev != nil && prev.DesiredState == s.DesiredState && sameBinding(prev.Binding, s.Binding) && st.lastErr == "" {
		if s.Removed {
			a.forget(s.ServiceId)
		}
		return nil // already in place: no churn
	}
	if prev == nil && s.Removed {
		return nil
	}
	// A changed binding (new address, other device) means the old one must
	// be released first.
	if prev != nil && !sameBinding(prev.Binding, s.Binding) && prev.DesiredState == pb.DesiredState_DESIRED_STATE_SUSPENDED {
		if _, err := a.enforce(ctx, prev, pb.DesiredState_DESIRED_STATE_ACTIVE); err != nil {
			a.log.Warn("releasing the previous binding failed", "service_id", s.ServiceId, "err", err)
		}
	}
	want := s.DesiredState
	if s.Removed {
		want = pb.DesiredState_DESIRED_STATE_ACTIVE
	}
	observed, err := a.enforce(ctx, s, want)
	res := &pb.ServiceResult{ServiceId: s.ServiceId, Revision: s.Revision, ObservedState: observed, ObservedAtUnixNano: a.clock.Now().UnixNano()}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		res.Outcome, res.Error = pb.Outcome_OUTCOME_FAILED, err.Error()
		st.lastErr = err.Error()
		a.metrics.applyErrors.Inc()
		a.log.Error("apply failed; will retry", "service_id", s.ServiceId, "revision", s.Revision, "err", err)
		return res
	}
	res.Outcome = pb.Outcome_OUTCOME_APPLIED
	st.applied, st.lastErr = s, ""
	if s.Removed {
		delete(a.services, s.ServiceId)
	}
	return res
}

func (a *Agent) forget(id string) {
	a.mu.Lock()
	delete(a.services, id)
	a.mu.Unlock()
}

// enforce drives the device to want and reads it back.
func (a *Agent) enforce(ctx context.Context, s *pb.Service, want pb.DesiredState) (pb.DesiredState, error) {
	method := s.GetBinding().GetMethod()
	d, ok := a.drivers[method]
	if !ok {
		return pb.DesiredState_DESIRED_STATE_UNSPECIFIED, fmt.Errorf("%w: %q", enforcement.ErrUnknownMethod, method)
	}
	t := enforcement.Target{ServiceID: s.ServiceId, Reason: s.Reason, Binding: enforcement.Binding{
		Method: method, Addresses: s.GetBinding().GetAddresses(), RADIUSUsername: s.GetBinding().GetRadiusUsername(),
		Device: s.GetBinding().GetDevice(), IfIndex: s.GetBinding().GetIfIndex(),
	}}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DriverTimeout)
	defer cancel()
	start := time.Now()
	var err error
	if want == pb.DesiredState_DESIRED_STATE_SUSPENDED {
		err = d.Suspend(ctx, t)
	} else {
		err = d.Restore(ctx, t)
	}
	a.metrics.driverSeconds.WithLabelValues(method).Observe(time.Since(start).Seconds())
	if err != nil {
		return pb.DesiredState_DESIRED_STATE_UNSPECIFIED, err
	}
	got, err := d.Observe(ctx, t)
	if err != nil {
		return pb.DesiredState_DESIRED_STATE_UNSPECIFIED, fmt.Errorf("read back: %w", err)
	}
	observed := pb.DesiredState_DESIRED_STATE_ACTIVE
	if got == enforcement.Suspended {
		observed = pb.DesiredState_DESIRED_STATE_SUSPENDED
	}
	if observed != want {
		return observed, fmt.Errorf("read back %s after applying %s", got, stateName(want))
	}
	return observed, nil
}

// retryFailed re-applies services whose last apply failed.
func (a *Agent) retryFailed(ctx context.Context) []*pb.ServiceResult {
	a.mu.Lock()
	var work []*pb.Service
	for _, st := range a.services {
		if st.lastErr != "" {
			work = append(work, st.desired)
		}
	}
	a.mu.Unlock()
	return a.applyAll(ctx, work)
}

func sameBinding(x, y *pb.Binding) bool {
	return x.GetMethod() == y.GetMethod() && slices.Equal(x.GetAddresses(), y.GetAddresses()) &&
		x.GetRadiusUsername() == y.GetRadiusUsername() && x.GetDevice() == y.GetDevice() && x.GetIfIndex() == y.GetIfIndex()
}

func stateName(s pb.DesiredState) string {
	if s == pb.DesiredState_DESIRED_STATE_SUSPENDED {
		return "suspended"
	}
	return "active"
}
