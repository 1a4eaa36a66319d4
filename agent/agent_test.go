package agent_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/push"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/logdriver"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate))) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// controller is an in-process push service on a real database and a real
// loopback gRPC listener that can be stopped and started again.
type controller struct {
	t    *testing.T
	db   *postgres.DB
	hub  *push.Hub
	addr string
	srv  *grpc.Server

	metrics *push.Metrics
	opts    []push.Option
}

func startController(t *testing.T, opts ...push.Option) *controller {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	c := &controller{t: t, db: db, hub: push.NewHub(), addr: "127.0.0.1:0", metrics: push.NewMetrics(nil), opts: opts}
	go c.hub.Listen(ctx, url, postgres.NotifyChannel, quiet)
	<-c.hub.Ready()
	c.start()
	t.Cleanup(func() { c.srv.Stop() })
	return c
}

func (c *controller) start() {
	c.t.Helper()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	c.srv = grpc.NewServer()
	pb.RegisterEnforcementServer(c.srv, push.NewServer(c.db, c.hub, clock.Real{}, quiet, push.Config{HeartbeatInterval: 200 * time.Millisecond}, c.metrics, c.opts...))
	go func() { _ = c.srv.Serve(ln) }()
}

func startAgent(t *testing.T, c *controller, pop string) (*agent.Agent, *logdriver.Driver) {
	t.Helper()
	conn, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	drv := logdriver.New(quiet)
	a, err := agent.New(agent.Config{POP: pop, AgentID: "test-agent", BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond},
		conn, map[string]enforcement.Driver{"log": drv}, quiet, clock.Real{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return a, drv
}

func create(t *testing.T, db *postgres.DB, pop string) billing.Service {
	t.Helper()
	s, err := db.CreateService(context.Background(), billing.NewService{POP: pop, Binding: billing.Binding{Method: "log", Addresses: []string{"100.64.0.9"}}}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func set(t *testing.T, db *postgres.DB, id int64, state billing.DesiredState) billing.Service {
	t.Helper()
	s, _, err := db.SetDesiredState(context.Background(), billing.StateChange{ServiceID: id, State: state, Reason: "test", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitConfirmed waits until the controller has recorded the agent's
// confirmation of the service's current desired state.
func waitConfirmed(t *testing.T, db *postgres.DB, id int64, within time.Duration) billing.Service {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s, err := db.Service(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Confirmed() {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %d (%s at revision %d) not confirmed within %s: %+v", id, s.DesiredState, s.Revision, within, s.Confirmation)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitApplied(t *testing.T, a *agent.Agent, rev int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for a.AppliedRevision() < rev {
		if time.Now().After(deadline) {
			t.Fatalf("agent applied revision %d, want %d", a.AppliedRevision(), rev)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ops(d *logdriver.Driver) []string {
	var out []string
	for _, a := range d.Actions() {
		out = append(out, a.Op+" "+a.ServiceID)
	}
	return out
}

func TestAgentAppliesAndConfirmsChanges(t *testing.T) {
	t.Parallel()
	c := startController(t)
	s1 := create(t, c.db, "pop-a")
	s2 := create(t, c.db, "pop-a")
	create(t, c.db, "pop-b") // another POP's service is never sent here

	a, drv := startAgent(t, c, "pop-a")
	waitConfirmed(t, c.db, s1.ID, 5*time.Second)
	waitConfirmed(t, c.db, s2.ID, 5*time.Second)

	start := time.Now()
	s1 = set(t, c.db, s1.ID, billing.StateSuspended)
	got := waitConfirmed(t, c.db, s1.ID, time.Second)
	t.Logf("suspension committed -> confirmed in %s", time.Since(start))
	if got.Confirmation.ObservedState != billing.StateSuspended {
		t.Fatalf("observed %q", got.Confirmation.ObservedState)
	}
	set(t, c.db, s1.ID, billing.StateActive)
	waitConfirmed(t, c.db, s1.ID, time.Second)
	waitApplied(t, a, 4)

	id1, id2 := strconv.FormatInt(s1.ID, 10), strconv.FormatInt(s2.ID, 10)
	want := []string{"restore " + id1, "restore " + id2, "suspend " + id1, "restore " + id1}
	if !slices.Equal(ops(drv), want) {
		t.Fatalf("driver calls %v, want %v", ops(drv), want)
	}
}

func TestAgentReconnectAndSnapshotDoNotChurn(t *testing.T) {
	t.Parallel()
	c := startController(t)
	s1 := create(t, c.db, "pop-r")
	s2 := create(t, c.db, "pop-r")
	s1 = set(t, c.db, s1.ID, billing.StateSuspended)

	a, drv := startAgent(t, c, "pop-r")
	waitConfirmed(t, c.db, s1.ID, 5*time.Second)
	waitConfirmed(t, c.db, s2.ID, 5*time.Second)
	before := len(drv.Actions())

	// The controller goes away; a decision is made while the agent is cut
	// off. The agent keeps its state and gets the decision on reconnect.
	c.srv.Stop()
	time.Sleep(100 * time.Millisecond)
	s2 = set(t, c.db, s2.ID, billing.StateSuspended)
	c.start()
	waitConfirmed(t, c.db, s2.ID, 5*time.Second)
	if n := len(drv.Actions()) - before; n != 1 {
		t.Fatalf("reconnect: %d driver calls, want exactly 1 (the new suspension): %v", n, ops(drv)[before:])
	}

	// The history the agent is at gets compacted: the controller must send a
	// snapshot, and the agent must apply it as a diff, changing nothing.
	rev := s2.Revision
	c.srv.Stop()
	s3 := create(t, c.db, "pop-r") // revision rev+1, made while the agent is cut off
	if _, err := c.db.Pool.Exec(context.Background(), `UPDATE pops SET compacted_revision = revision WHERE id = 'pop-r'`); err != nil {
		t.Fatal(err)
	}
	snapshots := testutil.ToFloat64(c.metrics.Sent("pop-r", "snapshot"))
	mark := len(drv.Actions())
	c.start()
	waitApplied(t, a, rev+1)
	waitConfirmed(t, c.db, s3.ID, 5*time.Second)
	if n := testutil.ToFloat64(c.metrics.Sent("pop-r", "snapshot")) - snapshots; n != 1 {
		t.Fatalf("the controller sent %v snapshots after compaction, want 1", n)
	}
	if got := ops(drv)[mark:]; !slices.Equal(got, []string{"restore " + strconv.FormatInt(s3.ID, 10)}) {
		t.Fatalf("snapshot after compaction: driver calls %v, want only the new service's", got)
	}
}
