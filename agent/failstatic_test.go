package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/internal/clock"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// fakeController is an Enforcement server whose messages the test writes:
// it records each Watch request and report, and sends what is put on out.
type fakeController struct {
	pb.UnimplementedEnforcementServer
	addr string
	srv  *grpc.Server

	out      chan *pb.WatchResponse
	watching chan *pb.WatchRequest

	mu      sync.Mutex
	reports []*pb.ReportRequest
}

func startFake(t *testing.T, addr string) *fakeController {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeController{addr: ln.Addr().String(), srv: grpc.NewServer(),
		out: make(chan *pb.WatchResponse, 16), watching: make(chan *pb.WatchRequest, 16)}
	pb.RegisterEnforcementServer(f.srv, f)
	go func() { _ = f.srv.Serve(ln) }()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *fakeController) Watch(req *pb.WatchRequest, stream pb.Enforcement_WatchServer) error {
	f.watching <- req
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case m := <-f.out:
			if err := stream.Send(m); err != nil {
				return err
			}
		}
	}
}

func (f *fakeController) Report(stream pb.Enforcement_ReportServer) error {
	for {
		m, err := stream.Recv()
		if err != nil {
			return nil
		}
		f.mu.Lock()
		f.reports = append(f.reports, m)
		f.mu.Unlock()
	}
}

// results returns every result reported so far for id.
func (f *fakeController) results(id string) []*pb.ServiceResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*pb.ServiceResult
	for _, r := range f.reports {
		for _, res := range r.Results {
			if res.ServiceId == id {
				out = append(out, res)
			}
		}
	}
	return out
}

func (f *fakeController) waitWatch(t *testing.T) *pb.WatchRequest {
	t.Helper()
	select {
	case req := <-f.watching:
		return req
	case <-time.After(5 * time.Second):
		t.Fatal("the agent did not call Watch")
		return nil
	}
}

func snapshot(rev int64, services ...*pb.Service) *pb.WatchResponse {
	return &pb.WatchResponse{Message: &pb.WatchResponse_Snapshot{Snapshot: &pb.Snapshot{Revision: rev, Services: services}}}
}

func delta(rev int64, changes ...*pb.Service) *pb.WatchResponse {
	return &pb.WatchResponse{Message: &pb.WatchResponse_Delta{Delta: &pb.Delta{Revision: rev, Changes: changes}}}
}

const (
	pbActive    = pb.DesiredState_DESIRED_STATE_ACTIVE
	pbSuspended = pb.DesiredState_DESIRED_STATE_SUSPENDED
)

func service(id int, state pb.DesiredState, rev int64) *pb.Service {
	return &pb.Service{ServiceId: strconv.Itoa(id), DesiredState: state, Revision: rev, Reason: "test",
		Binding: &pb.Binding{Method: "log", Addresses: []string{fmt.Sprintf("100.64.%d.%d", id/250, id%250)}}}
}

// device is a counting fake driver standing for a POP's equipment: it keeps
// its state across agent restarts, counts every call, and fails services on
// request.
type device struct {
	mu     sync.Mutex
	state  map[string]enforcement.State
	calls  []string // "suspend 7", "restore 7"
	fail   map[string]bool
	onCall func(op, id string)
}

func newDevice() *device {
	return &device{state: map[string]enforcement.State{}, fail: map[string]bool{}}
}

func (d *device) do(ctx context.Context, op string, s enforcement.State, t enforcement.Target) error {
	if err := ctx.Err(); err != nil {
		return err // like a real device's client
	}
	d.mu.Lock()
	d.calls = append(d.calls, op+" "+t.ServiceID)
	fail, hook := d.fail[t.ServiceID], d.onCall
	if !fail {
		d.state[t.ServiceID] = s
	}
	d.mu.Unlock()
	if hook != nil {
		hook(op, t.ServiceID)
	}
	if fail {
		return errors.New("device refused")
	}
	return nil
}

func (d *device) Suspend(ctx context.Context, t enforcement.Target) error {
	return d.do(ctx, "suspend", enforcement.Suspended, t)
}

func (d *device) Restore(ctx context.Context, t enforcement.Target) error {
	return d.do(ctx, "restore", enforcement.Active, t)
}

func (d *device) Observe(_ context.Context, t enforcement.Target) (enforcement.State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.state[t.ServiceID]; ok {
		return s, nil
	}
	return enforcement.Active, nil
}

func (d *device) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

func (d *device) setFail(id string, fail bool) {
	d.mu.Lock()
	d.fail[id] = fail
	d.mu.Unlock()
}

type runningAgent struct {
	*agent.Agent
	reg  *prometheus.Registry
	stop func()
}

// runAgent runs an agent for pop with its state in stateFile, talking to
// addr, enforcing on dev. stop ends it and waits until its state file is
// closed.
func runAgent(t *testing.T, addr, pop, stateFile string, dev *device) *runningAgent {
	t.Helper()
	return runAgentWith(t, addr, pop, stateFile, map[string]enforcement.Driver{"log": dev})
}

// runAgentWith is runAgent with the given drivers.
func runAgentWith(t *testing.T, addr, pop, stateFile string, drivers map[string]enforcement.Driver) *runningAgent {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := agent.NewMetrics(reg)
	a, err := agent.New(agent.Config{POP: pop, AgentID: "test-agent", StateFile: stateFile, RetryInterval: 50 * time.Millisecond,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond},
		conn, drivers, quiet, clock.Real{}, m)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; conn.Close() }) }
	t.Cleanup(stop)
	return &runningAgent{Agent: a, reg: reg, stop: stop}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRestartWithoutControllerKeepsStateAndResumes: an agent restarted with
// its state file while the controller is unreachable loads its state,
// changes nothing on the device except retrying the one service whose apply
// had failed, and when the controller returns, asks for the changes after
// its stored revision and applies only those.
func TestRestartWithoutControllerKeepsStateAndResumes(t *testing.T) {
	t.Parallel()
	stateFile := filepath.Join(t.TempDir(), "state.db")
	dev := newDevice()
	dev.setFail("3", true)
	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgent(t, ctrl.addr, "pop-f", stateFile, dev)
	if req := ctrl.waitWatch(t); req.SinceRevision != 0 {
		t.Fatalf("a new agent asked for since_revision %d, want 0", req.SinceRevision)
	}
	ctrl.out <- snapshot(5, service(1, pbSuspended, 4), service(2, pbActive, 2), service(3, pbSuspended, 5))
	waitFor(t, "revision 5", func() bool { return a.AppliedRevision() == 5 })
	a.stop()
	ctrl.srv.Stop()
	before := len(dev.Calls())

	// Restart with the controller gone. The device recovers meanwhile.
	addr := deadAddr(t)
	dev.setFail("3", false)
	a = runAgent(t, addr, "pop-f", stateFile, dev)
	if a.AppliedRevision() != 5 || a.Store().Len() != 3 {
		t.Fatalf("restarted agent: revision %d, %d services", a.AppliedRevision(), a.Store().Len())
	}
	waitFor(t, "the failed service's retry", func() bool { return a.Store().FailedCount() == 0 })
	time.Sleep(300 * time.Millisecond) // several retry intervals and reconnect attempts
	if got := dev.Calls()[before:]; !slices.Equal(got, []string{"suspend 3"}) {
		t.Fatalf("without the controller the agent called the device %v; want only the retry of service 3", got)
	}
	if v := gauge(t, a.reg, "tollgate_agent_services", "suspended"); v != 2 {
		t.Errorf("tollgate_agent_services{desired_state=suspended} = %v, want 2", v)
	}

	// The controller returns: the agent resumes from revision 5, reports the
	// retry's result, and applies only the new change.
	ctrl = startFake(t, addr)
	if req := ctrl.waitWatch(t); req.SinceRevision != 5 {
		t.Fatalf("resumed with since_revision %d, want 5", req.SinceRevision)
	}
	ctrl.out <- delta(6, service(2, pbSuspended, 6))
	waitFor(t, "revision 6", func() bool { return a.AppliedRevision() == 6 })
	if got := dev.Calls()[before:]; !slices.Equal(got, []string{"suspend 3", "suspend 2"}) {
		t.Fatalf("after resuming the device saw %v", got)
	}
	waitFor(t, "the retried result to be reported", func() bool {
		rs := ctrl.results("3")
		return len(rs) > 0 && rs[len(rs)-1].Outcome == pb.Outcome_OUTCOME_APPLIED
	})
	if s := gauge(t, a.reg, "tollgate_agent_seconds_since_controller_message", ""); s < 0 || s > 5 {
		t.Errorf("seconds since the last controller message: %v", s)
	}
}

// TestSnapshotIsAppliedAsADiff: after a restart, a snapshot equal to what
// is stored reaches no driver; one that differs reaches the driver only for
// what differs, and a service it no longer lists is restored and forgotten.
func TestSnapshotIsAppliedAsADiff(t *testing.T) {
	t.Parallel()
	stateFile := filepath.Join(t.TempDir(), "state.db")
	dev := newDevice()
	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgent(t, ctrl.addr, "pop-d", stateFile, dev)
	ctrl.waitWatch(t)
	all := []*pb.Service{service(1, pbSuspended, 3), service(2, pbActive, 1), service(3, pbSuspended, 2)}
	ctrl.out <- snapshot(3, all...)
	waitFor(t, "revision 3", func() bool { return a.AppliedRevision() == 3 })
	a.stop()
	if got := dev.Calls(); len(got) != 3 {
		t.Fatalf("first snapshot: %v", got)
	}

	a = runAgent(t, ctrl.addr, "pop-d", stateFile, dev)
	if req := ctrl.waitWatch(t); req.SinceRevision != 3 {
		t.Fatalf("since_revision %d, want 3", req.SinceRevision)
	}
	// The controller compacted its history: a snapshot (at a later
	// revision, nothing changed for these services).
	ctrl.out <- snapshot(4, service(1, pbSuspended, 3), service(2, pbActive, 1), service(3, pbSuspended, 2))
	waitFor(t, "revision 4", func() bool { return a.AppliedRevision() == 4 })
	if got := dev.Calls()[3:]; len(got) != 0 {
		t.Fatalf("a snapshot equal to the store called the device: %v", got)
	}

	ctrl.out <- snapshot(6, service(1, pbSuspended, 3), service(2, pbSuspended, 6))
	waitFor(t, "revision 6", func() bool { return a.AppliedRevision() == 6 })
	if got := dev.Calls()[3:]; !slices.Equal(got, []string{"suspend 2", "restore 3"}) {
		t.Fatalf("changed snapshot: device calls %v, want suspend 2 and restore 3", got)
	}
	if r, _ := a.Store().Get("3"); r != nil || a.Store().Len() != 2 {
		t.Fatalf("service 3 is still stored (%+v), %d services", r, a.Store().Len())
	}
}

// TestLargeMessageRecordsItsRevisionLast: a snapshot is stored chunk by
// chunk and its revision only with the last chunk, so an agent that dies
// half-way resumes from the old revision with the first chunks' results
// already stored.
func TestLargeMessageRecordsItsRevisionLast(t *testing.T) {
	t.Parallel()
	const n = 2500
	dev := newDevice()
	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgent(t, ctrl.addr, "pop-l", filepath.Join(t.TempDir(), "state.db"), dev)
	type seen struct {
		rev    int64
		stored int
	}
	at := make(chan seen, 1)
	dev.onCall = func(op, id string) {
		if id == "1500" {
			at <- seen{a.AppliedRevision(), a.Store().Len()}
		}
	}
	ctrl.waitWatch(t)
	ctrl.out <- delta(10, service(5000, pbActive, 10))
	waitFor(t, "revision 10", func() bool { return a.AppliedRevision() == 10 })
	svcs := make([]*pb.Service, n)
	for i := range svcs {
		svcs[i] = service(i+1, pbSuspended, int64(i+11))
	}
	ctrl.out <- snapshot(n+10, svcs...)
	got := <-at
	if got.rev != 10 || got.stored != 1001 {
		t.Fatalf("half-way through the snapshot the store had revision %d and %d services; want 10 and 1001 (the first chunk)", got.rev, got.stored)
	}
	waitFor(t, "the snapshot", func() bool { return a.AppliedRevision() == n+10 })
	// The snapshot no longer lists service 5000, which is active: it is
	// forgotten without a device call.
	if a.Store().Len() != n || len(dev.Calls()) != n+1 {
		t.Fatalf("%d services stored, %d device calls", a.Store().Len(), len(dev.Calls()))
	}
	waitFor(t, "every result to be reported", func() bool { return len(ctrl.results("2500")) == 1 && len(ctrl.results("1")) == 1 })
	ctrl.mu.Lock()
	for _, r := range ctrl.reports {
		if len(r.Results) > 1000 {
			t.Errorf("a report carried %d results; want at most 1000", len(r.Results))
		}
	}
	ctrl.mu.Unlock()
}

// TestChangedBindingReleasesTheOldOne: a suspended service that moves to
// another address is restored at the old one and suspended at the new one.
func TestChangedBindingReleasesTheOldOne(t *testing.T) {
	t.Parallel()
	dev := newDevice()
	var addrs []string
	var mu sync.Mutex
	rec := &recorder{Driver: dev, log: func(op string, t enforcement.Target) {
		mu.Lock()
		addrs = append(addrs, op+" "+t.Binding.Addresses[0])
		mu.Unlock()
	}}
	ctrl := startFake(t, "127.0.0.1:0")
	conn, err := grpc.NewClient(ctrl.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	a, err := agent.New(agent.Config{POP: "pop-b", AgentID: "t"}, conn, map[string]enforcement.Driver{"log": rec}, quiet, clock.Real{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	ctrl.waitWatch(t)
	s := service(1, pbSuspended, 1)
	ctrl.out <- delta(1, s)
	// Applied at the old address first (deltas that arrive together are
	// merged, and then only the newest binding is ever enforced).
	waitFor(t, "revision 1", func() bool { return a.AppliedRevision() == 1 })
	moved := service(1, pbSuspended, 2)
	moved.Binding.Addresses = []string{"100.64.9.9"}
	ctrl.out <- delta(2, moved)
	waitFor(t, "revision 2", func() bool { return a.AppliedRevision() == 2 })
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"suspend 100.64.0.1", "restore 100.64.0.1", "suspend 100.64.9.9"}; !slices.Equal(addrs, want) {
		t.Fatalf("driver calls %v, want %v", addrs, want)
	}
}

type recorder struct {
	enforcement.Driver
	log func(op string, t enforcement.Target)
}

func (r *recorder) Suspend(ctx context.Context, t enforcement.Target) error {
	r.log("suspend", t)
	return r.Driver.Suspend(ctx, t)
}

func (r *recorder) Restore(ctx context.Context, t enforcement.Target) error {
	r.log("restore", t)
	return r.Driver.Restore(ctx, t)
}

func TestAgentRefusesAnotherPOPsStateFile(t *testing.T) {
	t.Parallel()
	stateFile := filepath.Join(t.TempDir(), "state.db")
	s, err := agent.OpenStore(stateFile, "pop-one")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = agent.New(agent.Config{POP: "pop-two", StateFile: stateFile}, nil, map[string]enforcement.Driver{"log": newDevice()}, quiet, clock.Real{}, nil)
	if !errors.Is(err, agent.ErrOtherPOP) {
		t.Fatalf("agent.New with another POP's state file: %v", err)
	}
}

// gauge reads a gauge from reg; label, if not empty, is the value of its
// only label.
func gauge(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no gauge %s{%s}", name, label)
	return 0
}

// TestStreamCutWhileApplyingFinishesTheMessage: a message received whole is
// applied whole, though the connection breaks half-way through applying it:
// no service fails for it, the revision is stored, and the results reach
// the controller on the next stream.
func TestStreamCutWhileApplyingFinishesTheMessage(t *testing.T) {
	t.Parallel()
	const n = 1500
	dev := newDevice()
	ctrl := startFake(t, "127.0.0.1:0")
	a := runAgent(t, ctrl.addr, "pop-c", filepath.Join(t.TempDir(), "state.db"), dev)
	cut := make(chan struct{})
	var once sync.Once
	dev.onCall = func(op, id string) {
		if id == "700" {
			once.Do(func() { go func() { ctrl.srv.Stop(); close(cut) }() })
			<-cut
		}
	}
	ctrl.waitWatch(t)
	svcs := make([]*pb.Service, n)
	for i := range svcs {
		svcs[i] = service(i+1, pbSuspended, 7)
	}
	ctrl.out <- snapshot(7, svcs...)
	waitFor(t, "revision 7", func() bool { return a.AppliedRevision() == 7 })
	if got := len(dev.Calls()); got != n || a.Store().FailedCount() != 0 {
		t.Fatalf("%d device calls for %d services, %d failed", got, n, a.Store().FailedCount())
	}
	next := startFake(t, ctrl.addr)
	if req := next.waitWatch(t); req.SinceRevision != 7 {
		t.Fatalf("since_revision %d, want 7", req.SinceRevision)
	}
	waitFor(t, "the results to be reported", func() bool { return len(next.results("1500")) == 1 })
	if len(dev.Calls()) != n {
		t.Fatalf("reconnecting called the device again: %d calls", len(dev.Calls()))
	}
}
