package push_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/push"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pki"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// fakeFeed is an in-memory enforcement feed.
type fakeFeed struct {
	mu             sync.Mutex
	changes        map[string][]billing.EnforcementChange
	reports        []billing.AgentReport
	unconfirmed    map[string]billing.UnconfirmedCount
	unconfirmedErr error
}

func newFakeFeed() *fakeFeed { return &fakeFeed{changes: make(map[string][]billing.EnforcementChange)} }

func (f *fakeFeed) add(pop string, cs ...billing.EnforcementChange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes[pop] = append(f.changes[pop], cs...)
}

func (f *fakeFeed) latest(pop string) int64 {
	if cs := f.changes[pop]; len(cs) > 0 {
		return cs[len(cs)-1].Revision
	}
	return 0
}

func (f *fakeFeed) Snapshot(ctx context.Context, pop string) (int64, []billing.EnforcementChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	latest := make(map[int64]billing.EnforcementChange)
	for _, c := range f.changes[pop] {
		c.CommittedAt = time.Time{}
		latest[c.ServiceID] = c
	}
	var out []billing.EnforcementChange
	for _, c := range latest {
		out = append(out, c)
	}
	return f.latest(pop), out, nil
}

func (f *fakeFeed) ChangesSince(ctx context.Context, pop string, since int64, limit int) ([]billing.EnforcementChange, int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	latest := f.latest(pop)
	if since > latest {
		return nil, latest, true, nil
	}
	var out []billing.EnforcementChange
	for _, c := range f.changes[pop] {
		if c.Revision > since && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, latest, false, nil
}

func (f *fakeFeed) RecordReport(ctx context.Context, r billing.AgentReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, r)
	return nil
}

func (f *fakeFeed) reportPOPs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var pops []string
	for _, r := range f.reports {
		pops = append(pops, r.POP)
	}
	return pops
}

func (f *fakeFeed) UnconfirmedServices(ctx context.Context) (map[string]billing.UnconfirmedCount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unconfirmed, f.unconfirmedErr
}

type testServer struct {
	feed *fakeFeed
	hub  *push.Hub
	reg  *prometheus.Registry
	clk  *clock.Fixed
	addr string
}

// serve runs a push server on loopback with creds (nil: plaintext).
func serve(t *testing.T, creds credentials.TransportCredentials, opts ...push.Option) *testServer {
	t.Helper()
	ts := &testServer{feed: newFakeFeed(), hub: push.NewHub(), reg: prometheus.NewRegistry(), clk: clock.NewFixed(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))}
	srv := push.NewServer(ts.feed, ts.hub, ts.clk, slog.New(slog.DiscardHandler), push.Config{HeartbeatInterval: 50 * time.Millisecond},
		push.NewMetrics(ts.reg), opts...)
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	g := grpc.NewServer(grpc.Creds(creds))
	pb.RegisterEnforcementServer(g, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	ts.addr = ln.Addr().String()
	return ts
}

func dial(t *testing.T, addr string, creds credentials.TransportCredentials) pb.EnforcementClient {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewEnforcementClient(conn)
}

// scrape returns the value of series (name{labels} exactly as exposed) and
// whether it is there.
func (ts *testServer) scrape(t *testing.T, series string) (float64, bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(ts.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f, true
		}
	}
	return 0, false
}

func (ts *testServer) waitMetric(t *testing.T, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, ok := ts.scrape(t, series)
		if ok && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present %v), want %v", series, v, ok, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// --- mutual TLS and POP scoping ---

type testPKI struct {
	ca     *pki.CA
	server tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, err := pki.NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueServer([]string{"127.0.0.1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, server: cert}
}

func (p *testPKI) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	return pool
}

// serverCreds are what the controller uses (controller/app serverTLS).
func (p *testPKI) serverCreds() credentials.TransportCredentials {
	return credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool(),
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13})
}

// agentCreds are what an agent enrolled for pop uses (cmd/tollgate-agent);
// an empty pop presents no client certificate.
func (p *testPKI) agentCreds(t *testing.T, pop string, trust *testPKI) credentials.TransportCredentials {
	t.Helper()
	cfg := &tls.Config{RootCAs: trust.pool(), MinVersion: tls.VersionTLS13}
	if pop != "" {
		kp, err := p.ca.IssueAgent(pop, 0)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg)
}

func watchErr(t *testing.T, c pb.EnforcementClient, pop string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := c.Watch(ctx, &pb.WatchRequest{Pop: pop, AgentId: "agent-1"})
	if err != nil {
		return err
	}
	_, err = w.Recv()
	return err
}

func reportErr(t *testing.T, c pb.EnforcementClient, pops ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Report(ctx)
	if err != nil {
		return err
	}
	for _, pop := range pops {
		if err := r.Send(&pb.ReportRequest{Pop: pop, AgentId: "agent-1", AppliedRevision: 1}); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	_, err = r.CloseAndRecv()
	return err
}

func wantCode(t *testing.T, what string, err error, code codes.Code, frags ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
		return
	}
	for _, f := range frags {
		if !strings.Contains(status.Convert(err).Message(), f) {
			t.Errorf("%s: message %q lacks %q", what, status.Convert(err).Message(), f)
		}
	}
}

func TestMutualTLSScopesAgentsToTheirPOP(t *testing.T) {
	p := newTestPKI(t)
	ts := serve(t, p.serverCreds(), push.WithAuthorizer(push.AuthorizeClientCertificate))
	ts.feed.add("pop-a", billing.EnforcementChange{Revision: 1, ServiceID: 7, DesiredState: billing.StateSuspended, Binding: billing.Binding{Method: "log"}})
	ts.feed.add("pop-b", billing.EnforcementChange{Revision: 1, ServiceID: 8, DesiredState: billing.StateSuspended, Binding: billing.Binding{Method: "log"}})
	a := dial(t, ts.addr, p.agentCreds(t, "pop-a", p))

	// Its own POP: a snapshot.
	ctx, cancel := context.WithCancel(context.Background())
	w, err := a.Watch(ctx, &pb.WatchRequest{Pop: "pop-a", AgentId: "agent-1"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := w.Recv()
	if err != nil || m.GetSnapshot() == nil || len(m.GetSnapshot().Services) != 1 || m.GetSnapshot().Services[0].ServiceId != "7" {
		t.Fatalf("own POP: %v, %v", m, err)
	}
	cancel()
	if err := reportErr(t, a, "pop-a"); err != nil {
		t.Fatalf("report for its own POP: %v", err)
	}

	// Another POP: refused, naming both.
	wantCode(t, "watch another POP", watchErr(t, a, "pop-b"), codes.PermissionDenied, `"pop-a"`, `"pop-b"`)
	wantCode(t, "report for another POP", reportErr(t, a, "pop-b"), codes.PermissionDenied, `"pop-a"`, `"pop-b"`)
	wantCode(t, "report switching POPs", reportErr(t, a, "pop-a", "pop-b"), codes.PermissionDenied, `"pop-b"`)
	wantCode(t, "report without a POP", reportErr(t, a, ""), codes.InvalidArgument)
	if got := ts.feed.reportPOPs(); !slices.Equal(got, []string{"pop-a", "pop-a"}) {
		t.Errorf("reports recorded for %v, want pop-a's two only", got)
	}
	if _, ok := ts.scrape(t, `tollgate_push_connected_agents{pop="pop-b"}`); ok {
		t.Error("a refused watch shows as a connected agent of pop-b")
	}
	if v, _ := ts.scrape(t, `tollgate_push_messages_sent_total{pop="pop-b",type="snapshot"}`); v != 0 {
		t.Error("pop-b's snapshot was sent")
	}

	// A certificate from another CA, or none, fails the handshake.
	other := newTestPKI(t)
	wantCode(t, "another CA's certificate", watchErr(t, dial(t, ts.addr, other.agentCreds(t, "pop-a", p)), "pop-a"), codes.Unavailable)
	wantCode(t, "no client certificate", watchErr(t, dial(t, ts.addr, p.agentCreds(t, "", p)), "pop-a"), codes.Unavailable)
	// An agent that does not trust the controller's CA does not connect.
	wantCode(t, "untrusted controller", watchErr(t, dial(t, ts.addr, p.agentCreds(t, "pop-a", other)), "pop-a"), codes.Unavailable)
}

func TestAuthorizeClientCertificateNeedsAVerifiedCertificate(t *testing.T) {
	if err := push.AuthorizeClientCertificate(context.Background(), "pop-a"); err == nil {
		t.Error("a call without peer information was authorized")
	}
	// Over plaintext there is no certificate: the authorizer refuses (the
	// controller installs it only with TLS).
	ts := serve(t, nil, push.WithAuthorizer(push.AuthorizeClientCertificate))
	wantCode(t, "plaintext", watchErr(t, dial(t, ts.addr, nil), "pop-a"), codes.PermissionDenied, "not TLS")
	// Without an authorizer (grpc.insecure_plaintext), any POP is served.
	open := serve(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := dial(t, open.addr, nil).Watch(ctx, &pb.WatchRequest{Pop: "pop-z", AgentId: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatalf("plaintext without an authorizer: %v", err)
	}
}

// --- metrics ---

func TestAgentLagAndCommitToAckLatency(t *testing.T) {
	ts := serve(t, nil)
	c := dial(t, ts.addr, nil)
	t0 := ts.clk.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := c.Watch(ctx, &pb.WatchRequest{Pop: "p1", AgentId: "agent-1"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := w.Recv(); err != nil || m.GetSnapshot() == nil {
		t.Fatalf("first message: %v %v", m, err)
	}
	const lag = `tollgate_push_agent_lag_revisions{agent_id="agent-1",pop="p1"}`
	ts.waitMetric(t, lag, 0)

	// Three changes committed at t0, t0+1s, t0+2s arrive in one delta.
	for i := range 3 {
		ts.feed.add("p1", billing.EnforcementChange{Revision: int64(i + 1), ServiceID: int64(i + 1), DesiredState: billing.StateSuspended,
			Binding: billing.Binding{Method: "log"}, CommittedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	ts.hub.Notify("p1")
	for {
		m, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if d := m.GetDelta(); d != nil {
			if d.Revision != 3 || len(d.Changes) != 3 {
				t.Fatalf("delta %v", d)
			}
			break
		}
	}
	ts.waitMetric(t, lag, 3)

	// The agent acknowledges revision 2 at t0+10s, then 3.
	ts.clk.Set(t0.Add(10 * time.Second))
	r, err := c.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(&pb.ReportRequest{Pop: "p1", AgentId: "agent-1", AppliedRevision: 2}); err != nil {
		t.Fatal(err)
	}
	ts.waitMetric(t, lag, 1)
	ts.waitMetric(t, "tollgate_push_commit_to_ack_seconds_count", 2)
	ts.waitMetric(t, "tollgate_push_commit_to_ack_seconds_sum", 19) // 10 s + 9 s
	ts.waitMetric(t, `tollgate_push_commit_to_ack_seconds_bucket{le="10"}`, 2)
	ts.waitMetric(t, `tollgate_push_commit_to_ack_seconds_bucket{le="5"}`, 0)
	// An ack from an agent that does not watch here changes nothing.
	if err := r.Send(&pb.ReportRequest{Pop: "p1", AgentId: "agent-2", AppliedRevision: 3}); err != nil {
		t.Fatal(err)
	}
	if err := r.Send(&pb.ReportRequest{Pop: "p1", AgentId: "agent-1", AppliedRevision: 3}); err != nil {
		t.Fatal(err)
	}
	ts.waitMetric(t, lag, 0)
	ts.waitMetric(t, "tollgate_push_commit_to_ack_seconds_count", 3)
	ts.waitMetric(t, "tollgate_push_commit_to_ack_seconds_sum", 27)
	if _, ok := ts.scrape(t, `tollgate_push_agent_lag_revisions{agent_id="agent-2",pop="p1"}`); ok {
		t.Error("an agent without a Watch stream here has a lag series")
	}
	// Acknowledging again observes nothing twice.
	if err := r.Send(&pb.ReportRequest{Pop: "p1", AgentId: "agent-1", AppliedRevision: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	ts.waitMetric(t, "tollgate_push_commit_to_ack_seconds_count", 3)

	// A new change: the lag grows until acknowledged.
	ts.feed.add("p1", billing.EnforcementChange{Revision: 4, ServiceID: 1, DesiredState: billing.StateActive, Binding: billing.Binding{Method: "log"}, CommittedAt: t0})
	ts.hub.Notify("p1")
	ts.waitMetric(t, lag, 1)

	// The stream ends: the series goes.
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := ts.scrape(t, lag); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lag series outlived the agent's stream")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ts.waitMetric(t, `tollgate_push_connected_agents{pop="p1"}`, 0)
}

func TestCommitTimesOfAnAgentThatNeverAcksAreBounded(t *testing.T) {
	ts := serve(t, nil)
	c := dial(t, ts.addr, nil)
	t0 := ts.clk.Now()
	const n = 5000 // more than the server remembers per stream
	for i := range n {
		ts.feed.add("p1", billing.EnforcementChange{Revision: int64(i + 1), ServiceID: 1, DesiredState: billing.StateSuspended,
			Binding: billing.Binding{Method: "log"}, CommittedAt: t0})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := c.Watch(ctx, &pb.WatchRequest{Pop: "p1", AgentId: "slow", SinceRevision: 0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil { // the snapshot at revision n
		t.Fatal(err)
	}
	// Revisions sent in a snapshot carry no commit time: nothing to observe.
	r, err := c.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(&pb.ReportRequest{Pop: "p1", AgentId: "slow", AppliedRevision: n}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	ts.waitMetric(t, `tollgate_push_agent_lag_revisions{agent_id="slow",pop="p1"}`, 0)
	ts.waitMetric(t, "tollgate_push_commit_to_ack_seconds_count", 0)

	// Now deltas pile up unacknowledged (another agent, from revision 1);
	// an ack much later observes at most what was remembered.
	cancel()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	w, err = c.Watch(ctx2, &pb.WatchRequest{Pop: "p1", AgentId: "slow-2", SinceRevision: 1})
	if err != nil {
		t.Fatal(err)
	}
	last := int64(0)
	for last < n {
		m, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if d := m.GetDelta(); d != nil {
			last = d.Revision
		}
	}
	r, err = c.Report(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(&pb.ReportRequest{Pop: "p1", AgentId: "slow-2", AppliedRevision: n}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	ts.waitMetric(t, `tollgate_push_agent_lag_revisions{agent_id="slow-2",pop="p1"}`, 0)
	v, _ := ts.scrape(t, "tollgate_push_commit_to_ack_seconds_count")
	if v == 0 || v > 4096 {
		t.Errorf("observed %v commit→ack latencies for %d unacknowledged revisions, want 1..4096", v, n-1)
	}
}

func TestUnconfirmedServicesGauge(t *testing.T) {
	ts := serve(t, nil)
	ts.feed.mu.Lock()
	ts.feed.unconfirmed = map[string]billing.UnconfirmedCount{"p1": {Unconfirmed: 3, Pending: 2}, "p2": {}}
	ts.feed.mu.Unlock()
	ts.waitMetric(t, `tollgate_push_unconfirmed_services{pop="p1",state="unconfirmed"}`, 3)
	ts.waitMetric(t, `tollgate_push_unconfirmed_services{pop="p1",state="pending"}`, 2)
	ts.waitMetric(t, `tollgate_push_unconfirmed_services{pop="p2",state="unconfirmed"}`, 0)

	// A failing count leaves the series out but the scrape works.
	ts.feed.mu.Lock()
	ts.feed.unconfirmedErr = errors.New("database down")
	ts.feed.mu.Unlock()
	if _, ok := ts.scrape(t, `tollgate_push_unconfirmed_services{pop="p1",state="unconfirmed"}`); ok {
		t.Error("a failed count still shows a value")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHandshakeFailuresAreLogged(t *testing.T) {
	p, other := newTestPKI(t), newTestPKI(t)
	var logs syncBuffer
	ts := serve(t, push.LogHandshakeFailures(p.serverCreds(), slog.New(slog.NewTextHandler(&logs, nil))),
		push.WithAuthorizer(push.AuthorizeClientCertificate))
	for range 3 {
		wantCode(t, "another CA's certificate", watchErr(t, dial(t, ts.addr, other.agentCreds(t, "pop-a", p)), "pop-a"), codes.Unavailable)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "certificate signed by unknown authority") {
		if time.Now().After(deadline) {
			t.Fatalf("no handshake failure logged:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "agent TLS handshake failed"); n != 1 {
		t.Errorf("%d lines for three failures within a second, want 1:\n%s", n, logs.String())
	}
	time.Sleep(1100 * time.Millisecond)
	wantCode(t, "no certificate", watchErr(t, dial(t, ts.addr, p.agentCreds(t, "", p)), "pop-a"), codes.Unavailable)
	deadline = time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "agent TLS handshake failed") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the failure after a second was not logged:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "agent TLS handshake failed") {
			lines = append(lines, l)
		}
	}
	if !strings.Contains(lines[0], "failures_not_logged=0") || strings.Contains(lines[1], "failures_not_logged=0") {
		t.Errorf("the second line does not count the failures left out:\n%s", logs.String())
	}
	// A good agent is not logged.
	before := logs.String()
	ts.feed.add("pop-a", billing.EnforcementChange{Revision: 1, ServiceID: 1, DesiredState: billing.StateActive, Binding: billing.Binding{Method: "log"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := dial(t, ts.addr, p.agentCreds(t, "pop-a", p)).Watch(ctx, &pb.WatchRequest{Pop: "pop-a", AgentId: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	if logs.String() != before {
		t.Errorf("a good handshake was logged:\n%s", strings.TrimPrefix(logs.String(), before))
	}
}

// recv reads the next message of w, failing the test on an error.
func recv(t *testing.T, w pb.Enforcement_WatchClient) *pb.WatchResponse {
	t.Helper()
	m, err := w.Recv()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWatchSendsRedirectSettingsFirst(t *testing.T) {
	p := newTestPKI(t)
	master := []byte("0123456789abcdef0123456789abcdef")
	var mu sync.Mutex
	var asked []string
	settings := func(pop string) *pb.Redirect {
		mu.Lock()
		asked = append(asked, pop)
		mu.Unlock()
		if pop != "pop-a" {
			return nil // the portal is not configured for this POP
		}
		k := captive.DeriveKey(master, pop)
		return &pb.Redirect{PortalUrl: "https://pay.isp.example/portal", KeyId: k.ID, Key: k.Secret, TokenTtlSeconds: 120}
	}
	ts := serve(t, p.serverCreds(), push.WithAuthorizer(push.AuthorizeClientCertificate), push.WithRedirect(settings))
	ts.feed.add("pop-a", billing.EnforcementChange{Revision: 1, ServiceID: 7, DesiredState: billing.StateSuspended, Binding: billing.Binding{Method: "log"}})
	ts.feed.add("pop-c", billing.EnforcementChange{Revision: 1, ServiceID: 9, DesiredState: billing.StateActive, Binding: billing.Binding{Method: "log"}})
	want := settings("pop-a")
	mu.Lock()
	asked = nil
	mu.Unlock()

	a := dial(t, ts.addr, p.agentCreds(t, "pop-a", p))
	for _, since := range []int64{0, 1} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w, err := a.Watch(ctx, &pb.WatchRequest{Pop: "pop-a", AgentId: "agent-1", SinceRevision: since})
		if err != nil {
			t.Fatal(err)
		}
		if got := recv(t, w).GetRedirect(); !proto.Equal(got, want) {
			t.Fatalf("since %d: first message's redirect %v, want %v", since, got, want)
		}
		second := recv(t, w)
		if since == 0 && second.GetSnapshot() == nil {
			t.Fatalf("a new agent's second message is %v, want the snapshot", second)
		}
		if since == 1 && second.GetHeartbeat() == nil {
			t.Fatalf("an up-to-date agent's second message is %v, want a heartbeat", second)
		}
		cancel()
	}
	ts.waitMetric(t, `tollgate_push_messages_sent_total{pop="pop-a",type="redirect"}`, 2)

	// A POP without a portal gets no Redirect: the snapshot comes first.
	c := dial(t, ts.addr, p.agentCreds(t, "pop-c", p))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := c.Watch(ctx, &pb.WatchRequest{Pop: "pop-c", AgentId: "agent-c"})
	if err != nil {
		t.Fatal(err)
	}
	if m := recv(t, w); m.GetSnapshot() == nil {
		t.Fatalf("pop-c's first message is %v, want the snapshot", m)
	}

	// An agent refused another POP's stream is never handed its key.
	wantCode(t, "watch another POP", watchErr(t, a, "pop-c"), codes.PermissionDenied)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(asked, []string{"pop-a", "pop-a", "pop-c"}) {
		t.Fatalf("settings asked for %v, want pop-a twice and pop-c once (never for a refused stream)", asked)
	}
}

// TestPendingResultsAreRecordedAsPending: an agent's OUTCOME_PENDING result
// reaches the feed as pending with its reason (not applied, not failed),
// and is counted as outcome "pending".
func TestPendingResultsAreRecordedAsPending(t *testing.T) {
	ts := serve(t, nil)
	c := dial(t, ts.addr, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := c.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(&pb.ReportRequest{Pop: "p1", AgentId: "agent-1", AppliedRevision: 1, Results: []*pb.ServiceResult{
		{ServiceId: "7", Revision: 1, Outcome: pb.Outcome_OUTCOME_PENDING, PendingReason: "no active session; applies at next login",
			ObservedState: pb.DesiredState_DESIRED_STATE_SUSPENDED},
		{ServiceId: "8", Revision: 1, Outcome: pb.Outcome_OUTCOME_APPLIED, ObservedState: pb.DesiredState_DESIRED_STATE_ACTIVE},
	}}); err != nil {
		t.Fatal(err)
	}
	ts.waitMetric(t, `tollgate_push_service_results_total{outcome="pending",pop="p1"}`, 1)
	ts.feed.mu.Lock()
	defer ts.feed.mu.Unlock()
	var got []billing.ServiceResult
	for _, rep := range ts.feed.reports {
		got = append(got, rep.Results...)
	}
	if len(got) != 2 || got[0].Applied || got[0].Pending != "no active session; applies at next login" || got[0].Error != "" ||
		!got[1].Applied || got[1].Pending != "" {
		t.Fatalf("results %+v", got)
	}
}

// While an agent watches over mutual TLS, the controller exports the time
// left on its client certificate, on the server's clock; the series goes
// with the stream. A plaintext stream has none.
func TestAgentCertificateExpiryWhileWatching(t *testing.T) {
	p := newTestPKI(t)
	ts := serve(t, p.serverCreds(), push.WithAuthorizer(push.AuthorizeClientCertificate))
	kp, err := p.ca.IssueAgent("pop-a", 20*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	a := dial(t, ts.addr, credentials.NewTLS(&tls.Config{RootCAs: p.pool(), MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}))
	const series = `tollgate_push_agent_certificate_expiry_seconds{agent_id="agent-1",pop="pop-a"}`
	ctx, cancel := context.WithCancel(context.Background())
	w, err := a.Watch(ctx, &pb.WatchRequest{Pop: "pop-a", AgentId: "agent-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	want := cert.Leaf.NotAfter.Sub(ts.clk.Now()).Seconds()
	if v, ok := ts.scrape(t, series); !ok || v != want {
		t.Fatalf("%s = %v (present %v), want %v", series, v, ok, want)
	}
	ts.clk.Set(ts.clk.Now().Add(24 * time.Hour))
	if v, _ := ts.scrape(t, series); v != want-86400 {
		t.Fatalf("a day later %s = %v, want %v", series, v, want-86400)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := ts.scrape(t, series); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the certificate series stayed after the stream closed")
		}
		time.Sleep(10 * time.Millisecond)
	}

	plain := serve(t, nil)
	pc := dial(t, plain.addr, insecure.NewCredentials())
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	pw, err := pc.Watch(ctx, &pb.WatchRequest{Pop: "pop-a", AgentId: "agent-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Recv(); err != nil {
		t.Fatal(err)
	}
	if v, ok := plain.scrape(t, series); ok {
		t.Fatalf("a plaintext stream exports %s = %v", series, v)
	}
}
