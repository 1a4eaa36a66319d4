package push_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/controller/push"
	"github.com/tollgate-isp/tollgate/internal/clock"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// TestReadBackTimesAreOnTheControllersClock runs the push server on a dev
// clock 30 days ahead of the real time; an agent (on the real clock) reports
// a read-back it made a minute ago. The recorded read-back time ("last
// confirmed") must be a minute before the controller's now, not 30 days
// before it.
func TestReadBackTimesAreOnTheControllersClock(t *testing.T) {
	clk := &clock.Offset{}
	clk.Advance(30 * 24 * time.Hour)
	feed := newFakeFeed()
	srv := push.NewServer(feed, push.NewHub(), clk, slog.New(slog.DiscardHandler), push.Config{HeartbeatInterval: 50 * time.Millisecond},
		push.NewMetrics(prometheus.NewRegistry()))
	g := grpc.NewServer(grpc.Creds(insecure.NewCredentials()))
	pb.RegisterEnforcementServer(g, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)

	c := dial(t, ln.Addr().String(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	agentObserved := time.Now().Add(-time.Minute) // the agent's real clock
	if err := r.Send(&pb.ReportRequest{Pop: "pop-1", AgentId: "agent-1", AppliedRevision: 1, Results: []*pb.ServiceResult{{
		ServiceId: "7", Revision: 1, Outcome: pb.Outcome_OUTCOME_APPLIED, ObservedState: pb.DesiredState_DESIRED_STATE_ACTIVE,
		ObservedAtUnixNano: agentObserved.UnixNano()}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if len(feed.reports) != 1 || len(feed.reports[0].Results) != 1 {
		t.Fatalf("reports: %+v", feed.reports)
	}
	got := feed.reports[0].Results[0].ObservedAt
	if age := clk.Now().Sub(got); age < 50*time.Second || age > 10*time.Minute {
		t.Fatalf("read-back recorded at %s, %s before the controller's now %s; want about a minute (on the controller's clock)",
			got, age, clk.Now())
	}
}
