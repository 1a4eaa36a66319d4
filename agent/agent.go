package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

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
	// StateFile is the bbolt file that holds the desired and applied state
	// across restarts (see [Store]). Empty: a temporary file, removed when
	// Run returns, so the agent forgets everything on exit (tests and
	// benchmarks only).
	StateFile string
	// BackoffMin and BackoffMax bound the jittered exponential backoff
	// between reconnect attempts. Defaults 200ms and 30s.
	BackoffMin, BackoffMax time.Duration
	// RetryInterval is how often services whose last apply failed are tried
	// again, connected to the controller or not. Default 10s.
	RetryInterval time.Duration
	// DriverTimeout bounds one driver call. Default 10s.
	DriverTimeout time.Duration
	// ReconcileInterval is how often every applied service is read back
	// from its device and drift repaired (see [Agent.Reconcile]). Default
	// 5m; negative turns it off.
	ReconcileInterval time.Duration
	// Leases, with a File, is the DHCP lease file the agent learns its
	// services' addresses from (see [LeaseConfig]; checked by its Check).
	Leases LeaseConfig
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
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = 5 * time.Minute
	}
	return c
}

const (
	// chunkSize is the most services stored in one transaction, and the
	// most results sent in one report.
	chunkSize = 1000
	// contactInterval is how often a heartbeat's arrival is written to the
	// store (deltas and snapshots always are).
	contactInterval = time.Minute
)

// Agent follows one POP's desired state. Create it with [New] and call
// [Agent.Run] once.
type Agent struct {
	cfg     Config
	client  pb.EnforcementClient
	drivers map[string]enforcement.Driver
	log     *slog.Logger
	clock   clock.Clock
	metrics *Metrics
	store   *Store
	tempDir string // holds a temporary store; removed when Run returns

	// applyMu serialises applying the controller's messages and retries.
	applyMu sync.Mutex

	// pending holds the latest result per service not yet sent to the
	// controller; it survives reconnects.
	mu      sync.Mutex
	pending map[string]*pb.ServiceResult
	wake    chan struct{} // signals new pending results
	// Addresses learned from the lease file and from RADIUS accounting
	// (learn.go).
	learnDHCP, learnRADIUS learnState
	radiusFramed           FramedAddresses
	radiusInterval         time.Duration

	lastMessage atomic.Int64 // Unix nanoseconds
}

// New returns an agent that talks to the controller over conn and enforces
// through drivers, keyed by binding method. It opens the state file (see
// [OpenStore]: a file that belongs to another POP is refused). metrics may
// be nil.
func New(cfg Config, conn grpc.ClientConnInterface, drivers map[string]enforcement.Driver, log *slog.Logger, clk clock.Clock, metrics *Metrics) (*Agent, error) {
	if cfg.POP == "" {
		return nil, errors.New("agent: pop is required")
	}
	if len(drivers) == 0 {
		return nil, errors.New("agent: no enforcement drivers registered")
	}
	if err := cfg.Leases.Check(); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	a := &Agent{
		cfg:     cfg.withDefaults(),
		client:  pb.NewEnforcementClient(conn),
		drivers: drivers,
		log:     log.With("pop", cfg.POP),
		clock:   clk,
		metrics: metrics,
		pending: make(map[string]*pb.ServiceResult),
		wake:    make(chan struct{}, 1),
	}
	path := cfg.StateFile
	if path == "" {
		dir, err := os.MkdirTemp("", "tollgate-agent-state-")
		if err != nil {
			return nil, err
		}
		a.tempDir, path = dir, filepath.Join(dir, "state.db")
	}
	began := time.Now()
	st, err := OpenStore(path, cfg.POP)
	if err != nil {
		if a.tempDir != "" {
			os.RemoveAll(a.tempDir)
		}
		return nil, err
	}
	a.store = st
	a.log.Info("state loaded", "state_file", path, "revision", st.Revision(), "services", st.Len(),
		"failed", st.FailedCount(), "took", time.Since(began).Round(time.Millisecond))
	last := st.LastContact()
	if last.IsZero() {
		last = clk.Now()
	}
	a.lastMessage.Store(last.UnixNano())
	metrics.attach(a)
	a.updateMetrics()
	for method, d := range drivers {
		if err := a.preload(method, d); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

// Preloader is implemented by drivers that answer for the desired state
// outside Suspend and Restore, from their own memory (the radius driver's
// authorize endpoint): the agent tells them, when the driver is
// registered, the stored desired state of every service bound to them, so
// that after a restart they answer at once, before any message from the
// controller. Optional.
type Preloader interface {
	// Preload records t's desired state without touching any device.
	Preload(t enforcement.Target, st enforcement.State)
}

// AddDriver registers d for binding method after [New] and before
// [Agent.Run] (for a driver that needs the agent's store, such as the
// radius driver's session table), preloading it like the drivers given to
// New. It fails for a method already registered, or when the store cannot
// be read.
func (a *Agent) AddDriver(method string, d enforcement.Driver) error {
	if _, dup := a.drivers[method]; dup {
		return fmt.Errorf("agent: a driver for method %q is already registered", method)
	}
	if err := a.preload(method, d); err != nil {
		return err
	}
	a.drivers[method] = d
	return nil
}

// preload tells a [Preloader] driver the stored desired state of the
// services bound to it: suspended, throttled or active as last received
// (a removed service is active; a throttled one the driver cannot
// throttle is suspended, see [Agent.effectiveState]), with the profile.
func (a *Agent) preload(method string, d enforcement.Driver) error {
	p, ok := d.(Preloader)
	if !ok {
		return nil
	}
	n := 0
	err := a.store.ForEach(func(_ string, r *Record) error {
		if r.Desired.GetBinding().GetMethod() != method {
			return nil
		}
		st := a.effectiveState(r.Desired)
		if st != pb.DesiredState_DESIRED_STATE_ACTIVE {
			n++
		}
		p.Preload(a.targetFor(r.Desired, st), enforcementState(st))
		return nil
	})
	if err != nil {
		return fmt.Errorf("agent: preloading the %s driver from the state file: %w", method, err)
	}
	a.log.Info("driver preloaded with the stored desired state", "method", method, "suspended_or_throttled", n)
	return nil
}

// AppliedRevision returns the highest revision the agent has applied and
// stored.
func (a *Agent) AppliedRevision() int64 { return a.store.Revision() }

// Store returns the agent's state store (for inspection; the agent owns it
// and closes it when Run returns).
func (a *Agent) Store() *Store { return a.store }

// Run follows the controller until ctx is done, reconnecting with jittered
// exponential backoff, and retries failed services meanwhile, connected or
// not. Until the controller answers it changes nothing else: the devices
// keep the state last applied (fail static). It returns nil when ctx is
// cancelled, after closing the state file.
func (a *Agent) Run(ctx context.Context) error {
	defer a.close()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { a.retryLoop(ctx) })
	wg.Go(func() { a.reconcileLoop(ctx) })
	if a.cfg.Leases.File != "" {
		wg.Go(func() { a.leaseLoop(ctx) })
	}
	if a.radiusFramed != nil {
		wg.Go(func() { a.radiusLoop(ctx) })
	}

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
		a.log.Warn("controller stream ended; keeping the last known state and reconnecting", "err", err, "retry_in", wait.Round(time.Millisecond).String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, a.cfg.BackoffMax)
	}
}

func (a *Agent) close() {
	a.metrics.connected.Set(0)
	if err := a.store.Close(); err != nil {
		a.log.Error("closing the state file", "err", err)
	}
	if a.tempDir != "" {
		os.RemoveAll(a.tempDir)
	}
}

func (a *Agent) retryLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.RetryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.retryFailed(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("retrying failed services", "err", err)
			}
		}
	}
}

// stream runs one Watch + Report session. A message received whole is
// applied whole even if the stream breaks meanwhile: driver calls run under
// runCtx, which only the agent's shutdown cancels.
func (a *Agent) stream(runCtx context.Context) error {
	ctx, cancel := context.WithCancelCause(runCtx)
	defer cancel(nil)

	since := a.AppliedRevision()
	watch, err := a.client.Watch(ctx, &pb.WatchRequest{Pop: a.cfg.POP, SinceRevision: since, AgentId: a.cfg.AgentID, AgentVersion: a.cfg.Version, Features: features})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	report, err := a.client.Report(ctx)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		// Close the report stream so the controller records what was sent,
		// but do not wait long for a controller that stopped answering.
		closed := make(chan struct{})
		go func() { _, _ = report.CloseAndRecv(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			cancel(errors.New("closing the report stream timed out"))
			<-closed
		}
	}()
	a.log.Info("watching controller", "since_revision", since)
	a.resendLearned()

	raw := make(chan *pb.WatchResponse, msgBuffer)
	go func() {
		for {
			m, err := watch.Recv()
			if err != nil {
				cancel(err)
				return
			}
			select {
			case raw <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	msgs := make(chan *pb.WatchResponse)
	go coalesce(ctx, raw, msgs)

	// Reconnect after two missed heartbeats; the interval comes from the
	// controller's heartbeats, 5s until the first arrives.
	interval := 5 * time.Second
	watchdog := time.NewTimer(3 * interval)
	defer watchdog.Stop()
	flush := func(always bool) error { return a.flush(report, always) }

	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-watchdog.C:
			return fmt.Errorf("no message from the controller for %s (two heartbeats missed)", 2*interval)
		case <-a.wake:
			if err := flush(false); err != nil {
				return err
			}
		case m := <-msgs:
			now := a.clock.Now()
			a.lastMessage.Store(now.UnixNano())
			a.metrics.connected.Set(1)
			var err error
			switch msg := m.Message.(type) {
			case *pb.WatchResponse_Snapshot:
				err = a.applySnapshot(runCtx, msg.Snapshot, flush)
			case *pb.WatchResponse_Delta:
				err = a.applyDelta(runCtx, msg.Delta, flush)
			case *pb.WatchResponse_Redirect:
				a.applyRedirect(msg.Redirect)
			case *pb.WatchResponse_Heartbeat:
				if ms := msg.Heartbeat.GetIntervalMs(); ms > 0 {
					interval = time.Duration(ms) * time.Millisecond
				}
				if err := a.store.noteContact(now); err != nil {
					a.log.Warn("recording the controller's heartbeat in the state file", "err", err)
				}
			}
			if err != nil {
				return err
			}
			watchdog.Reset(2*interval + interval/2)
			if err := flush(true); err != nil {
				return err
			}
		}
	}
}

// msgBuffer is how many messages the stream reader may run ahead of the
// applier.
const msgBuffer = 256

// coalesce passes the controller's messages from in to out in order,
// merging deltas that queue up while the applier is busy into one (up to
// chunkSize changes): under a burst of changes (a run of payments, each
// restoring a service) the agent then stores, applies and acknowledges them
// in a few transactions instead of one per change, and keeps up. Merging is
// exact: a delta carries the changes after the previous message's revision
// up to its own, so consecutive deltas concatenate.
func coalesce(ctx context.Context, in <-chan *pb.WatchResponse, out chan<- *pb.WatchResponse) {
	var queue []*pb.WatchResponse
	for {
		var head *pb.WatchResponse
		var send chan<- *pb.WatchResponse
		if len(queue) > 0 {
			head, send = queue[0], out
		}
		select {
		case <-ctx.Done():
			return
		case send <- head:
			queue[0] = nil
			queue = queue[1:]
		case m := <-in:
			if n := len(queue); n > 0 && mergeDelta(queue[n-1], m) {
				continue
			}
			queue = append(queue, m)
		}
	}
}

// mergeDelta appends m's changes to tail when both are deltas and the
// result stays within chunkSize changes.
func mergeDelta(tail, m *pb.WatchResponse) bool {
	td, ok1 := tail.Message.(*pb.WatchResponse_Delta)
	md, ok2 := m.Message.(*pb.WatchResponse_Delta)
	if !ok1 || !ok2 || len(td.Delta.Changes)+len(md.Delta.Changes) > chunkSize {
		return false
	}
	td.Delta.Changes = append(td.Delta.Changes, md.Delta.Changes...)
	td.Delta.Revision = md.Delta.Revision
	return true
}

// flush sends the pending results, at most chunkSize per report, with the
// stored revision as the acknowledgement. With always, it sends a report
// (an ack) even when no result is pending. Results stay pending until they
// have been sent.
func (a *Agent) flush(report pb.Enforcement_ReportClient, always bool) error {
	a.mu.Lock()
	results := make([]*pb.ServiceResult, 0, len(a.pending))
	for _, r := range a.pending {
		results = append(results, r)
	}
	a.mu.Unlock()
	rev := a.AppliedRevision()
	if err := a.flushLearned(report, rev); err != nil {
		return err
	}
	if len(results) == 0 && !always {
		return nil
	}
	slices.SortFunc(results, func(x, y *pb.ServiceResult) int { return compareIDs(x.ServiceId, y.ServiceId) })
	for i := 0; i == 0 || i < len(results); i += chunkSize {
		part := results[i:min(i+chunkSize, len(results))]
		if err := report.Send(&pb.ReportRequest{Pop: a.cfg.POP, AgentId: a.cfg.AgentID, AppliedRevision: rev, Results: part}); err != nil {
			return fmt.Errorf("send report: %w", err)
		}
		a.mu.Lock()
		for _, r := range part {
			if a.pending[r.ServiceId] == r {
				delete(a.pending, r.ServiceId)
			}
		}
		a.mu.Unlock()
	}
	return nil
}

// compareIDs orders numeric ids numerically, others after them by text.
func compareIDs(x, y string) int {
	if len(x) != len(y) {
		return len(x) - len(y)
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func (a *Agent) addPending(results []*pb.ServiceResult) {
	if len(results) == 0 {
		return
	}
	a.mu.Lock()
	for _, r := range results {
		a.pending[r.ServiceId] = r
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// applySnapshot makes the applied state match the snapshot as a diff
// against the store: only services whose desired state or binding differs
// from what is applied (or whose last apply failed) reach a driver, and
// services the snapshot no longer lists are restored and forgotten.
func (a *Agent) applySnapshot(ctx context.Context, snap *pb.Snapshot, flush func(bool) error) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	listed := make(map[string]struct{}, len(snap.Services))
	for _, s := range snap.Services {
		listed[s.ServiceId] = struct{}{}
	}
	gone, err := a.store.absent(listed)
	if err != nil {
		return err
	}
	work := snap.Services
	for _, r := range gone {
		work = append(work, &pb.Service{ServiceId: r.Desired.GetServiceId(), Revision: snap.Revision, Removed: true,
			DesiredState: pb.DesiredState_DESIRED_STATE_ACTIVE, Reason: "no longer in the controller's snapshot", Binding: r.Desired.GetBinding()})
	}
	a.log.Info("snapshot received", "revision", snap.Revision, "services", len(snap.Services), "no_longer_listed", len(gone), "stored_revision", a.AppliedRevision())
	changed, err := a.applyWork(ctx, work, setRevision, snap.Revision, flush)
	a.log.Info("snapshot applied as a diff", "revision", snap.Revision, "services_changed", changed)
	return err
}

func (a *Agent) applyDelta(ctx context.Context, d *pb.Delta, flush func(bool) error) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
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
	_, err := a.applyWork(ctx, work, advanceRevision, d.Revision, flush)
	return err
}

// retryChunk is how many failed services one retry step takes on; the
// controller's messages get their turn between steps.
const retryChunk = 100

// retryFailed re-applies the stored desired state of the services whose
// last apply failed.
func (a *Agent) retryFailed(ctx context.Context) error {
	ids := a.store.Failed()
	if len(ids) == 0 {
		return nil
	}
	a.log.Info("retrying services whose last apply failed", "services", len(ids))
	for i := 0; i < len(ids) && ctx.Err() == nil; i += retryChunk {
		if err := a.retry(ctx, ids[i:min(i+retryChunk, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

func (a *Agent) retry(ctx context.Context, ids []string) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	recs, err := a.store.lookup(ids)
	if err != nil {
		return err
	}
	work := make([]*pb.Service, 0, len(recs))
	for _, id := range ids {
		// A message applied since the list was taken may have settled it.
		if r := recs[id]; r != nil && r.Error != "" {
			work = append(work, r.Desired)
		}
	}
	if len(work) == 0 {
		return nil
	}
	_, err = a.applyWork(ctx, work, keepRevision, 0, nil)
	return err
}

// applyWork applies work chunk by chunk: it reads a chunk's records, calls
// the drivers for the services that need it, and stores the chunk's new
// records in one transaction; the revision is stored (per mode) with the
// last chunk. Results are queued for the controller only once stored, and
// flush, if not nil, sends them after each chunk but the last. When ctx is
// cancelled (the agent is stopping) it stores what it has done, without the
// revision, and returns ctx's error. It returns the number of services that
// reached a driver.
func (a *Agent) applyWork(ctx context.Context, work []*pb.Service, mode revisionMode, rev int64, flush func(bool) error) (int, error) {
	changed := 0
	for i := 0; i == 0 || i < len(work); i += chunkSize {
		if err := ctx.Err(); err != nil {
			return changed, err
		}
		part := work[i:min(i+chunkSize, len(work))]
		ids := make([]string, len(part))
		for j, s := range part {
			ids[j] = s.ServiceId
		}
		prev, err := a.store.lookup(ids)
		if err != nil {
			return changed, err
		}
		var b batch
		var results []*pb.ServiceResult
		stopped := false
		for j, s := range part {
			if ctx.Err() != nil {
				stopped = true
				break
			}
			if r, called := a.apply(ctx, s, prev[s.ServiceId], &b); r != nil {
				results = append(results, r)
				if called {
					changed++
				}
			}
			part[j] = nil // the store has it now; let the message go
		}
		lastChunk := i+chunkSize >= len(work)
		m, contact := keepRevision, time.Time{}
		if lastChunk && !stopped && mode != keepRevision {
			m, contact = mode, a.clock.Now()
		}
		if err := a.store.commit(&b, m, rev, contact); err != nil {
			a.metrics.storeErrors.Inc()
			return changed, err
		}
		a.addPending(results)
		a.updateMetrics()
		if stopped {
			return changed, ctx.Err()
		}
		if !lastChunk && flush != nil {
			if err := flush(false); err != nil {
				// The stream broke; the results stay pending for the next one,
				// and the message is applied to the end all the same.
				a.log.Debug("sending results during a large message failed", "err", err)
				flush = nil
			}
		}
	}
	return changed, nil
}

// apply makes one service's device state match s, given what the store
// holds for it (rec, nil if nothing), and adds the service's new record to
// b. It returns the result to report (nil when there is nothing to say) and
// whether a driver was called. What is applied is s's effective state and
// the profile its driver is to hold (see profile.go): a service whose
// state, binding and profile are in place reaches no driver.
func (a *Agent) apply(ctx context.Context, s *pb.Service, rec *Record, b *batch) (*pb.ServiceResult, bool) {
	want := a.effectiveState(s)
	profile := a.shapedProfile(s, want)
	if rec == nil && s.Removed {
		return nil, false // never enforced here: nothing to release
	}
	if rec != nil && rec.Error == "" && rec.Applied == want && sameBinding(rec.AppliedBinding, s.Binding) &&
		(want == pb.DesiredState_DESIRED_STATE_SUSPENDED || sameProfile(rec.AppliedProfile, profile)) {
		// Already in place: no driver call, no churn.
		if s.Removed {
			b.deletes = append(b.deletes, s.ServiceId)
			return nil, false
		}
		if proto.Equal(rec.Desired, s) {
			return nil, false
		}
		// Same state, binding and profile at a newer revision (or another
		// reason): store it, and confirm the newer revision from the last
		// read-back.
		nr := *rec
		nr.Desired = s
		var res *pb.ServiceResult
		if s.Revision > rec.AppliedRevision {
			nr.AppliedRevision = s.Revision
			res = &pb.ServiceResult{ServiceId: s.ServiceId, Revision: s.Revision, Outcome: pb.Outcome_OUTCOME_APPLIED,
				ObservedState: rec.Observed, ObservedAtUnixNano: unixNano(rec.ObservedAt), ObservedProfile: rec.ObservedProfile}
			if why := a.pendingReason(s, want); why != "" {
				res.Outcome, res.PendingReason = pb.Outcome_OUTCOME_PENDING, why
			}
		}
		b.puts = append(b.puts, &nr)
		return res, false
	}
	nr := &Record{Desired: s}
	if rec != nil {
		nr.Applied, nr.AppliedBinding, nr.AppliedRevision, nr.AppliedProfile = rec.Applied, rec.AppliedBinding, rec.AppliedRevision, rec.AppliedProfile
		// A changed binding (new address, other device) means the old one
		// must be released first: its address-list entries; and its speed
		// when the service leaves the driver or device that holds it (on
		// the same device the queue is the service's, and the apply
		// retargets it).
		if !sameBinding(rec.AppliedBinding, s.Binding) && (rec.Applied == pb.DesiredState_DESIRED_STATE_SUSPENDED ||
			rec.Applied == pb.DesiredState_DESIRED_STATE_THROTTLED || rec.AppliedProfile != nil && !sameDevice(rec.AppliedBinding, s.Binding)) {
			old := &pb.Service{ServiceId: s.ServiceId, Reason: s.Reason, Binding: rec.AppliedBinding}
			if _, err := a.enforce(ctx, old, pb.DesiredState_DESIRED_STATE_ACTIVE, nil); err != nil {
				a.log.Warn("releasing the previous binding failed", "service_id", s.ServiceId, "err", err)
			}
		}
	}
	if s.DesiredState == pb.DesiredState_DESIRED_STATE_THROTTLED && want == pb.DesiredState_DESIRED_STATE_SUSPENDED && !s.Removed {
		why := "its driver cannot throttle"
		if s.GetProfile() == nil {
			why = "the controller sent no throttle profile"
		}
		a.log.Warn("throttled service suspended instead (fail safe): "+why, "service_id", s.ServiceId, "method", s.GetBinding().GetMethod())
	}
	rb, err := a.enforce(ctx, s, want, profile)
	now := a.clock.Now()
	nr.Observed, nr.ObservedAt, nr.ObservedProfile = rb.state, now, rb.profile
	res := &pb.ServiceResult{ServiceId: s.ServiceId, Revision: s.Revision, ObservedState: rb.state, ObservedAtUnixNano: now.UnixNano(),
		ObservedProfile: rb.profile}
	if err != nil {
		res.Outcome, res.Error = pb.Outcome_OUTCOME_FAILED, err.Error()
		nr.Error = err.Error()
		a.metrics.applyErrors.Inc()
		a.log.Error("apply failed; will retry", "service_id", s.ServiceId, "revision", s.Revision, "err", err)
		b.puts = append(b.puts, nr)
		return res, true
	}
	res.Outcome = pb.Outcome_OUTCOME_APPLIED
	if rb.pending != "" {
		res.Outcome, res.PendingReason = pb.Outcome_OUTCOME_PENDING, rb.pending
	}
	nr.Applied, nr.AppliedBinding, nr.AppliedRevision, nr.AppliedProfile = want, s.Binding, s.Revision, profile
	if s.Removed {
		b.deletes = append(b.deletes, s.ServiceId)
	} else {
		b.puts = append(b.puts, nr)
	}
	return res, true
}

// readBack is what enforce read from the device after applying.
type readBack struct {
	state pb.DesiredState
	// profile is the name of the profile read back ("" for none); see
	// observedProfileName.
	profile string
	// pending is the driver's reason why the state, though in place, has
	// not reached the subscriber yet ("" when it has; see
	// [enforcement.PendingReporter]).
	pending string
}

// enforce drives the device to want (an effective state, see
// [Agent.effectiveState]) with profile (see [Agent.shapedProfile]; nil
// for a driver that is not a Shaper) and reads both back.
func (a *Agent) enforce(ctx context.Context, s *pb.Service, want pb.DesiredState, profile *pb.ServiceProfile) (rb readBack, err error) {
	method := s.GetBinding().GetMethod()
	d, ok := a.drivers[method]
	if !ok {
		return rb, fmt.Errorf("%w: %q", enforcement.ErrUnknownMethod, method)
	}
	sh, shapes := d.(enforcement.Shaper)
	t := targetOf(s)
	t.Profile = profileOf(profile)
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DriverTimeout)
	defer cancel()
	start := time.Now()
	switch {
	case want == pb.DesiredState_DESIRED_STATE_SUSPENDED:
		err = d.Suspend(ctx, t)
	case want == pb.DesiredState_DESIRED_STATE_THROTTLED && shapes:
		err = sh.Throttle(ctx, t)
	default:
		err = d.Restore(ctx, t)
	}
	a.metrics.driverSeconds.WithLabelValues(method).Observe(time.Since(start).Seconds())
	if err != nil {
		return rb, err
	}
	got, err := d.Observe(ctx, t)
	if err != nil {
		return rb, fmt.Errorf("read back: %w", err)
	}
	rb.state = desiredState(got)
	if rb.state != want {
		return rb, fmt.Errorf("read back %s after applying %s", got, stateName(want))
	}
	rb.pending = a.pendingReason(s, want)
	if shapes && want != pb.DesiredState_DESIRED_STATE_SUSPENDED {
		speed, err := sh.ObserveProfile(ctx, t)
		if err != nil {
			return rb, fmt.Errorf("read back the speed: %w", err)
		}
		rb.profile = observedProfileName(speed, profile)
		// A pending state (a RADIUS service with no session) takes its
		// speed at the next login too: nothing holds it now to read.
		if !speed.SameSpeed(t.Profile) && rb.pending == "" {
			return rb, fmt.Errorf("read back speed %s after applying %s", speedString(speed), speedString(t.Profile))
		}
	}
	return rb, nil
}

// speedString describes a profile's speed for errors and logs.
func speedString(p *enforcement.Profile) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("%q down %d up %d bit/s (burst %d/%d, threshold %d/%d, %ds, priority %d)", p.Name,
		p.DownloadRate, p.UploadRate, p.DownloadBurstRate, p.UploadBurstRate, p.DownloadBurstThreshold, p.UploadBurstThreshold,
		p.BurstTime, p.Priority)
}

// pendingReason asks the service's driver, if it reports pending states,
// whether st has yet to reach the subscriber.
func (a *Agent) pendingReason(s *pb.Service, st pb.DesiredState) string {
	pr, ok := a.drivers[s.GetBinding().GetMethod()].(enforcement.PendingReporter)
	if !ok {
		return ""
	}
	return pr.Pending(a.targetFor(s, st), enforcementState(st))
}

func (a *Agent) updateMetrics() {
	a.metrics.appliedRevision.Set(float64(a.store.Revision()))
	for state, n := range a.store.Counts() {
		a.metrics.services.WithLabelValues(state).Set(float64(n))
	}
	a.metrics.failedServices.Set(float64(a.store.FailedCount()))
}

// sameDevice reports whether x and y are enforced by the same driver on
// the same device.
func sameDevice(x, y *pb.Binding) bool {
	return x.GetMethod() == y.GetMethod() && x.GetDevice() == y.GetDevice()
}

func sameBinding(x, y *pb.Binding) bool {
	return x.GetMethod() == y.GetMethod() && slices.Equal(x.GetAddresses(), y.GetAddresses()) &&
		x.GetRadiusUsername() == y.GetRadiusUsername() && x.GetDevice() == y.GetDevice() && x.GetIfIndex() == y.GetIfIndex()
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func stateName(s pb.DesiredState) string { return string(enforcementState(s)) }
