package bench

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/logdriver"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// ackWatch tracks the highest revision agents have acknowledged.
type ackWatch struct {
	mu    sync.Mutex
	cond  *sync.Cond
	acked int64
	at    time.Time
}

func newAckWatch() *ackWatch {
	w := &ackWatch{}
	w.cond = sync.NewCond(&w.mu)
	return w
}

func (w *ackWatch) observe(r billing.AgentReport) {
	now := time.Now()
	w.mu.Lock()
	if r.AppliedRevision > w.acked {
		w.acked, w.at = r.AppliedRevision, now
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

// wait blocks until rev is acknowledged and returns when that was recorded.
func (w *ackWatch) wait(rev int64) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.acked < rev {
		w.cond.Wait()
	}
	return w.at
}

// BenchmarkPushCommitToAck measures, one change at a time, the time from a
// desired-state change's COMMIT to the controller having recorded the agent's
// acknowledgement of it: NOTIFY → hub → Watch delta → agent applies through
// the log driver and reads back → Report → recorded in PostgreSQL. Real
// PostgreSQL, real gRPC over loopback; controller and agent share a process.
// Run with -benchtime=1000x for the 1,000-change figure.
func BenchmarkPushCommitToAck(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	acks := newAckWatch()
	f := false
	cfg := app.Config{
		DatabaseURL:    pgtest.NewDatabase(b),
		MigrateOnStart: &f, // the template is migrated
		HTTP:           app.HTTPConfig{Listen: "127.0.0.1:0"},
		GRPC:           app.GRPCConfig{Listen: "127.0.0.1:0", InsecurePlaintext: true},
	}
	ctrl, err := app.New(ctx, cfg, quiet, app.Options{OnReport: acks.observe})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = ctrl.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	const pop, services = "bench-pop", 50
	db := ctrl.DB()
	ids := make([]int64, services)
	for i := range ids {
		s, err := db.CreateService(ctx, billing.NewService{POP: pop, Binding: billing.Binding{Method: "log", Addresses: []string{"100.64.0.1"}}}, "bench", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = s.ID
	}

	conn, err := grpc.NewClient(ctrl.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ag, err := agent.New(agent.Config{POP: pop, AgentID: "bench"}, conn,
		map[string]enforcement.Driver{"log": logdriver.New(quiet)}, quiet, clock.Real{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = ag.Run(ctx) }()
	acks.wait(services) // initial snapshot applied

	lat := make([]time.Duration, 0, b.N)
	state := billing.StateSuspended
	b.ResetTimer()
	for i := range b.N {
		id := ids[i%services]
		if i > 0 && i%services == 0 {
			state = map[billing.DesiredState]billing.DesiredState{billing.StateSuspended: billing.StateActive, billing.StateActive: billing.StateSuspended}[state]
		}
		s, changed, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: id, State: state, Reason: "bench", At: time.Now()})
		if err != nil || !changed {
			b.Fatalf("change %d: changed=%v err=%v", i, changed, err)
		}
		committed := time.Now()
		lat = append(lat, acks.wait(s.Revision).Sub(committed))
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(ms(0.50), "push_commit_to_ack_p50_ms")
	b.ReportMetric(ms(0.99), "push_commit_to_ack_p99_ms")
	b.ReportMetric(0, "ns/op") // latency, not throughput, is the figure
}
