package e2e

// Acceptance tests for the agent's fail-static behaviour (issue 6), with the
// real controller and agent binaries over loopback:
//
//   - the controller down for 60 s, then back;
//   - the agent restarted while the controller is down;
//   - the connection cut in the middle of a snapshot;
//   - an agent that never acknowledges anything, next to a real one.
//
// Each ends with the agent's applied state equal to the desired state
// (confirmed in the controller's database, and the last operation per
// service in the agents' log-driver lines), nothing applied twice, and no
// service changed while the controller was away. The log driver's
// structured lines ("msg":"log driver applied" with op and service_id) are
// the record of what an agent did to the network, across its restarts.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// fsController is a controller process at fixed addresses, so that it can
// be stopped and started again where its agents expect it.
type fsController struct {
	t        *testing.T
	name     string
	cfg      string
	base     string
	grpcAddr string
	proc     *process
	api      *client.Client
}

func newFSController(t *testing.T, name, dbURL string) *fsController {
	t.Helper()
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(t.TempDir(), name+".yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 500ms}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
`, dbURL, httpAddr, grpcAddr, adminToken)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + httpAddr
	return &fsController{t: t, name: name, cfg: cfg, base: base, grpcAddr: grpcAddr, api: client.New(base, adminToken)}
}

func (c *fsController) start() {
	c.t.Helper()
	c.proc = start(c.t, "tollgate-controller", nil, "--config", c.cfg)
	waitHTTP(c.t, c.base+"/readyz", 200, 60*time.Second)
}

// stop stops the process with SIGTERM and waits for it to exit.
func (c *fsController) stop() { c.t.Helper(); stopProcess(c.t, c.proc) }

func stopProcess(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop within 20s of SIGTERM", p.name)
	}
}

// fsAgent is a tollgate-agent for one POP with its own state file, which
// survives the agent's restarts.
type fsAgent struct {
	t           *testing.T
	pop         string
	cfg         string
	metricsAddr string
	stateFile   string
	runs        []*process
}

func newFSAgent(t *testing.T, pop, controllerAddr string) *fsAgent {
	t.Helper()
	dir := t.TempDir()
	a := &fsAgent{t: t, pop: pop, cfg: filepath.Join(dir, "agent.yaml"), metricsAddr: freeAddr(t), stateFile: filepath.Join(dir, "state.db")}
	a.writeConfig(pop, controllerAddr)
	return a
}

func (a *fsAgent) writeConfig(pop, controllerAddr string) {
	a.t.Helper()
	err := os.WriteFile(a.cfg, []byte(fmt.Sprintf(`
pop: %q
agent_id: %q
controller: {address: %q, insecure_plaintext: true}
metrics: {listen: %q}
state_file: %q
retry_interval: 1s
reconnect: {backoff_min: 100ms, backoff_max: 1s}
`, pop, "agent-"+a.pop, controllerAddr, a.metricsAddr, a.stateFile)), 0o600)
	if err != nil {
		a.t.Fatal(err)
	}
}

func (a *fsAgent) start() *process {
	a.t.Helper()
	p := start(a.t, "tollgate-agent", nil, "--config", a.cfg, "--init-state")
	a.runs = append(a.runs, p)
	waitHTTP(a.t, "http://"+a.metricsAddr+"/healthz", 200, 10*time.Second)
	return p
}

func (a *fsAgent) stop() { a.t.Helper(); stopProcess(a.t, a.runs[len(a.runs)-1]) }

func (a *fsAgent) metric(series string) float64 {
	a.t.Helper()
	return metric(a.t, "http://"+a.metricsAddr+"/metrics", series)
}

// logText is the log of every run so far, oldest first.
func (a *fsAgent) logText() string {
	var b strings.Builder
	for _, p := range a.runs {
		b.WriteString(p.logText())
	}
	return b.String()
}

// applied is one driver call, from a log driver line.
type applied struct {
	Op        string `json:"op"`
	ServiceID string `json:"service_id"`
}

// applies returns the agent's driver calls, across its runs, in order.
func (a *fsAgent) applies() []applied {
	var out []applied
	sc := bufio.NewScanner(strings.NewReader(a.logText()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"msg":"log driver applied"`) {
			continue
		}
		var ap applied
		if err := json.Unmarshal(line, &ap); err != nil {
			a.t.Fatalf("agent log line %s: %v", line, err)
		}
		out = append(out, ap)
	}
	return out
}

// popState is the controller's view of a POP's services.
type popState struct {
	desired     map[string]billing.DesiredState
	unconfirmed []string
}

func readPOP(t *testing.T, conn *pgx.Conn, pop string) popState {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT id, desired_state,
			confirmed_revision >= revision AND observed_state = desired_state
		FROM services WHERE pop_id = $1 ORDER BY id`, pop)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	st := popState{desired: map[string]billing.DesiredState{}}
	for rows.Next() {
		var id int64
		var desired string
		var confirmed bool
		if err := rows.Scan(&id, &desired, &confirmed); err != nil {
			t.Fatal(err)
		}
		sid := strconv.FormatInt(id, 10)
		st.desired[sid] = billing.DesiredState(desired)
		if !confirmed {
			st.unconfirmed = append(st.unconfirmed, sid)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitConverged waits until the controller has every service of the agent's
// POP confirmed, then checks the agent's own record: the last operation on
// each service is its desired state, no service got the same operation
// twice in a row (applied twice), and no service the controller does not
// know was touched.
func waitConverged(t *testing.T, conn *pgx.Conn, a *fsAgent, within time.Duration) popState {
	t.Helper()
	deadline := time.Now().Add(within)
	var st popState
	for {
		st = readPOP(t, conn, a.pop)
		if len(st.unconfirmed) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("POP %s: %d of %d services not confirmed within %s (first: %v)", a.pop, len(st.unconfirmed), len(st.desired), within, st.unconfirmed[:min(5, len(st.unconfirmed))])
		}
		time.Sleep(50 * time.Millisecond)
	}
	last := map[string]string{}
	twice := 0
	for _, ap := range a.applies() {
		if last[ap.ServiceID] == ap.Op {
			if twice++; twice <= 5 {
				t.Errorf("POP %s: service %s: %s applied twice in a row", a.pop, ap.ServiceID, ap.Op)
			}
		}
		last[ap.ServiceID] = ap.Op
	}
	if twice > 5 {
		t.Errorf("POP %s: %d operations applied twice in all", a.pop, twice)
	}
	wantOp := map[billing.DesiredState]string{billing.StateActive: "restore", billing.StateSuspended: "suspend"}
	for id, desired := range st.desired {
		if last[id] != wantOp[desired] {
			t.Errorf("POP %s: service %s is %s, but the agent's last operation on it was %q", a.pop, id, desired, last[id])
		}
	}
	for id := range last {
		if _, ok := st.desired[id]; !ok {
			t.Errorf("POP %s: the agent touched service %s, which is not the POP's", a.pop, id)
		}
	}
	return st
}

// metricOr0 is metric, but a series not (yet) exported reads as 0.
func metricOr0(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

func connectDB(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// createServices creates n services at pop through the API; every
// suspendEvery-th one starts suspended.
func createServices(t *testing.T, api *client.Client, pop string, n, suspendEvery int) []billing.Service {
	t.Helper()
	out := make([]billing.Service, n)
	for i := range out {
		in := billing.NewService{POP: pop, Name: fmt.Sprintf("%s subscriber %d", pop, i),
			Binding: billing.Binding{Method: "log", Addresses: []string{fmt.Sprintf("100.64.%d.%d", i/250, i%250+1)}}}
		if suspendEvery > 0 && i%suspendEvery == 0 {
			in.State = billing.StateSuspended
		}
		s, err := api.CreateService(context.Background(), client.NewIdempotencyKey(), in)
		if err != nil {
			t.Fatalf("create service at %s: %v", pop, err)
		}
		out[i] = s
	}
	return out
}

func setState(t *testing.T, api *client.Client, id int64, state billing.DesiredState, reason string) billing.Service {
	t.Helper()
	r, err := api.SetDesiredState(context.Background(), client.NewIdempotencyKey(), id, state, reason)
	if err != nil || !r.Changed {
		t.Fatalf("set service %d %s: changed=%v %v", id, state, r.Changed, err)
	}
	return r.Service
}

func flip(s billing.DesiredState) billing.DesiredState {
	if s == billing.StateSuspended {
		return billing.StateActive
	}
	return billing.StateSuspended
}

// TestFailStaticControllerDown60s: the controller is away for 60 seconds
// while staff keep working through another controller process on the same
// database. The agent changes nothing while its controller is away, keeps
// its state, and when the controller is back it catches up with exactly the
// changes committed meanwhile.
func TestFailStaticControllerDown60s(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	db := connectDB(t, dbURL)
	ctrl := newFSController(t, "controller", dbURL)
	ctrl.start()
	svcs := createServices(t, ctrl.api, "fs-down", 30, 5)
	agent := newFSAgent(t, "fs-down", ctrl.grpcAddr)
	agent.start()
	waitConverged(t, db, agent, 20*time.Second)
	setState(t, ctrl.api, svcs[1].ID, billing.StateSuspended, "past due")
	waitConverged(t, db, agent, 10*time.Second)
	rev := agent.metric("tollgate_agent_applied_revision")

	ctrl.stop()
	down := time.Now()
	mark := len(agent.applies())

	// Staff keep working: a second controller process on the same database
	// (the agent does not know its address) takes decisions.
	other := newFSController(t, "controller-2", dbURL)
	other.start()
	changed := map[string]billing.DesiredState{}
	for _, i := range []int{0, 2, 3, 7, 11} {
		s := setState(t, other.api, svcs[i].ID, flip(svcs[i].DesiredState), "decided while the agent's controller was away")
		changed[strconv.FormatInt(s.ID, 10)] = s.DesiredState
	}
	if _, err := other.api.CreateService(context.Background(), client.NewIdempotencyKey(), billing.NewService{POP: "fs-down", Name: "new subscriber",
		Binding: billing.Binding{Method: "log", Addresses: []string{"100.64.9.9"}}, State: billing.StateSuspended}); err != nil {
		t.Fatal(err)
	}
	other.stop()

	// Away for 60 seconds: the agent stays up, keeps its state, notices it is
	// cut off, and changes nothing.
	deadline := down.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-agent.runs[0].done:
			t.Fatalf("the agent exited while the controller was away: %v", agent.runs[0].err)
		case <-time.After(time.Until(deadline)):
		}
	}
	if got := agent.applies()[mark:]; len(got) != 0 {
		t.Fatalf("the agent changed %d services while its controller was away: %v", len(got), got)
	}
	if v := agent.metric("tollgate_agent_connected"); v != 0 {
		t.Errorf("tollgate_agent_connected = %v while the controller is away", v)
	}
	if v := agent.metric("tollgate_agent_applied_revision"); v != rev {
		t.Errorf("applied revision moved from %v to %v while the controller was away", rev, v)
	}
	if v := agent.metric("tollgate_agent_seconds_since_controller_message"); v < 55 {
		t.Errorf("tollgate_agent_seconds_since_controller_message = %v after 60 s away", v)
	}
	if v := agent.metric(`tollgate_agent_services{desired_state="suspended"}`); v != 7 {
		t.Errorf(`tollgate_agent_services{desired_state="suspended"} = %v, want 7`, v)
	}

	// The controller is back: the agent resumes from its revision (deltas,
	// no snapshot) and applies exactly the six decisions taken meanwhile.
	back := time.Now()
	ctrl.start()
	st := waitConverged(t, db, agent, 30*time.Second)
	t.Logf("controller back: the agent caught up in %s", time.Since(back).Round(time.Millisecond))
	got := agent.applies()[mark:]
	if len(got) != 6 {
		t.Fatalf("after the controller came back the agent applied %v; want the 6 changes made meanwhile", got)
	}
	for id, want := range changed {
		if st.desired[id] != want {
			t.Errorf("service %s: desired %s, want %s", id, st.desired[id], want)
		}
	}
	if !strings.Contains(ctrl.proc.logText(), fmt.Sprintf(`"since_revision":%d`, int64(rev))) {
		t.Errorf("the returning controller's log shows no Watch from revision %d", int64(rev))
	}
	if v := metricOr0(t, ctrl.base+"/metrics", `tollgate_push_messages_sent_total{pop="fs-down",type="snapshot"}`); v != 0 {
		t.Errorf("the returning controller sent %v snapshots; want deltas only", v)
	}
}

// TestFailStaticAgentRestartedWhileControllerDown: the agent restarts while
// the controller is down. It loads its state file, applies nothing, and when
// the controller returns resumes from its revision: no snapshot, no churn,
// only the change made since.
func TestFailStaticAgentRestartedWhileControllerDown(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	db := connectDB(t, dbURL)
	ctrl := newFSController(t, "controller", dbURL)
	ctrl.start()
	svcs := createServices(t, ctrl.api, "fs-restart", 40, 4)
	agent := newFSAgent(t, "fs-restart", ctrl.grpcAddr)
	agent.start()
	waitConverged(t, db, agent, 20*time.Second)
	rev := agent.metric("tollgate_agent_applied_revision")

	ctrl.stop()
	agent.stop()
	mark := len(agent.applies())

	// A state file is its POP's own: another POP's agent refuses it.
	wrong := newFSAgent(t, "fs-other", ctrl.grpcAddr)
	wrong.stateFile = agent.stateFile
	wrong.writeConfig("fs-other", ctrl.grpcAddr)
	p := start(t, "tollgate-agent", nil, "--config", wrong.cfg)
	select {
	case <-p.done:
		if p.err == nil || !strings.Contains(p.logText(), "belongs to another POP") {
			t.Fatalf("an agent for another POP on this state file: exit %v\n%s", p.err, p.logText())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an agent for another POP started on this POP's state file")
	}

	// Restart without the controller: the state is loaded, nothing applied.
	restarted := agent.start()
	time.Sleep(3 * time.Second) // reconnect attempts and retry rounds
	if got := agent.applies()[mark:]; len(got) != 0 {
		t.Fatalf("the restarted agent applied %v without a controller", got)
	}
	if !strings.Contains(restarted.logText(), `"msg":"state loaded"`) || !strings.Contains(restarted.logText(), `"services":40`) {
		t.Errorf("the restarted agent did not log loading its 40 services:\n%s", restarted.logText())
	}
	if v := agent.metric("tollgate_agent_applied_revision"); v != rev {
		t.Errorf("restarted agent: applied revision %v, want %v", v, rev)
	}
	if v := agent.metric(`tollgate_agent_services{desired_state="suspended"}`); v != 10 {
		t.Errorf(`restarted agent: tollgate_agent_services{desired_state="suspended"} = %v, want 10`, v)
	}

	// The controller returns; then one decision is taken.
	ctrl.start()
	deadline := time.Now().Add(15 * time.Second)
	for metricOr0(t, ctrl.base+"/metrics", `tollgate_push_connected_agents{pop="fs-restart"}`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the restarted agent did not reconnect")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s := setState(t, ctrl.api, svcs[5].ID, billing.StateSuspended, "past due")
	waitConverged(t, db, agent, 10*time.Second)
	if got := agent.applies()[mark:]; len(got) != 1 || got[0] != (applied{"suspend", strconv.FormatInt(s.ID, 10)}) {
		t.Fatalf("after the controller returned the agent applied %v; want only the new suspension of %d", got, s.ID)
	}
	if !strings.Contains(restarted.logText(), fmt.Sprintf(`"msg":"watching controller","pop":"fs-restart","since_revision":%d`, int64(rev))) {
		t.Errorf("the restarted agent did not resume from revision %d", int64(rev))
	}
	if v := metricOr0(t, ctrl.base+"/metrics", `tollgate_push_messages_sent_total{pop="fs-restart",type="snapshot"}`); v != 0 {
		t.Errorf("the controller sent %v snapshots to the restarted agent; want none", v)
	}
}

// cutProxy forwards TCP connections to target; while armed, it cuts each
// new connection once it has carried cutAfter bytes towards the client.
type cutProxy struct {
	ln       net.Listener
	target   string
	cutAfter int64
	armed    atomic.Int32 // connections still to cut
	cut      atomic.Int32 // connections cut so far

	mu    sync.Mutex
	conns []net.Conn
}

func startCutProxy(t *testing.T, target string, cutAfter int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cutAfter: cutAfter}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, client, server)
	p.mu.Unlock()
	closeBoth := func() { client.Close(); server.Close() }
	go func() { _, _ = io.Copy(server, client); closeBoth() }()
	if p.armed.Add(-1) >= 0 {
		_, _ = io.CopyN(client, server, p.cutAfter)
		p.cut.Add(1)
		closeBoth()
		return
	}
	p.armed.Store(0)
	_, _ = io.Copy(client, server)
	closeBoth()
}

// TestFailStaticSnapshotCutMidway: the connection is cut in the middle of a
// 5,000-service snapshot, twice, at the first sync and again after a restart
// when the controller's history has been compacted. The agent applies each
// service once, and after the second snapshot only what changed.
func TestFailStaticSnapshotCutMidway(t *testing.T) {
	t.Parallel()
	const n, pop = 5000, "fs-cut"
	dbURL := pgtest.NewDatabase(t)
	db := connectDB(t, dbURL)
	ctrl := newFSController(t, "controller", dbURL)
	ctrl.start()
	// 5,000 services straight into the database (the API would take a while
	// and is not under test), every seventh suspended, at revision 1.
	ctx := context.Background()
	for _, stmt := range []string{
		`INSERT INTO pops (id, revision, created_at) VALUES ('fs-cut', 1, now())`,
		`INSERT INTO services (pop_id, name, method, addresses, desired_state, state_reason, revision, created_at, updated_at)
			SELECT 'fs-cut', 'subscriber ' || g, 'log', ARRAY['100.' || (64 + g / 65536) || '.' || (g / 256 % 256) || '.' || (g % 256)],
				CASE WHEN g % 7 = 0 THEN 'suspended' ELSE 'active' END, 'initial state', 1, now(), now()
			FROM generate_series(1, 5000) g`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	const cutAfter = 64 << 10 // a 5,000-service snapshot is several times larger
	proxy := startCutProxy(t, ctrl.grpcAddr, cutAfter)
	proxy.armed.Store(2)
	agent := newFSAgent(t, pop, proxy.ln.Addr().String())
	agent.start()
	began := time.Now()
	waitConverged(t, db, agent, 60*time.Second)
	t.Logf("first sync through %d cuts: %s", proxy.cut.Load(), time.Since(began).Round(time.Millisecond))
	if proxy.cut.Load() != 2 {
		t.Fatalf("the proxy cut %d connections, want 2", proxy.cut.Load())
	}
	if got := len(agent.applies()); got != n {
		t.Fatalf("first sync: %d driver calls for %d services", got, n)
	}
	if log := agent.logText(); strings.Count(log, `"msg":"snapshot received"`) != 1 || strings.Index(log, `"msg":"snapshot received"`) < strings.LastIndex(log, "controller stream ended") {
		t.Fatalf("the cuts did not fall inside the snapshot: %d snapshots received", strings.Count(log, `"msg":"snapshot received"`))
	}

	// The agent stops; staff change 20 services; the controller compacts its
	// history, so the restarted agent gets a snapshot, cut twice again.
	agent.stop()
	mark := len(agent.applies())
	rows, err := db.Query(ctx, `SELECT id, desired_state FROM services WHERE pop_id = 'fs-cut' ORDER BY id LIMIT 20`)
	if err != nil {
		t.Fatal(err)
	}
	type idState struct {
		id    int64
		state billing.DesiredState
	}
	ss, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (idState, error) {
		var v idState
		return v, r.Scan(&v.id, &v.state)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		setState(t, ctrl.api, s.id, flip(s.state), "changed while the agent was stopped")
	}
	if _, err := db.Exec(ctx, `UPDATE pops SET compacted_revision = revision WHERE id = 'fs-cut'`); err != nil {
		t.Fatal(err)
	}
	proxy.armed.Store(2)
	agent.start()
	waitConverged(t, db, agent, 60*time.Second)
	if proxy.cut.Load() != 4 {
		t.Fatalf("the proxy cut %d connections, want 4", proxy.cut.Load())
	}
	if log := agent.runs[1].logText(); !strings.Contains(log, `"since_revision":1}`) || strings.Count(log, `"msg":"snapshot received"`) != 1 {
		t.Fatalf("the restarted agent did not resume from revision 1 and get one whole snapshot:\n%s", log)
	}
	if got := agent.applies()[mark:]; len(got) != len(ss) {
		t.Fatalf("the snapshot after compaction caused %d driver calls; want %d (the changed services only)", len(got), len(ss))
	}
	if v := metricOr0(t, ctrl.base+"/metrics", `tollgate_push_messages_sent_total{pop="fs-cut",type="snapshot"}`); v < 2 {
		t.Errorf("the controller sent %v snapshots; the test expects at least one per sync", v)
	}
}

// TestFailStaticNeverAckingAgent: at one POP a client watches but never
// reports (and another never even reads); at another, a real agent. The
// controller keeps serving the real agent promptly; when the silent clients
// are replaced by a real agent, it converges.
func TestFailStaticNeverAckingAgent(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	db := connectDB(t, dbURL)
	ctrl := newFSController(t, "controller", dbURL)
	ctrl.start()
	good := createServices(t, ctrl.api, "fs-good", 10, 3)
	silent := createServices(t, ctrl.api, "fs-silent", 10, 3)
	// Enough services at the silent POP that a snapshot overflows the
	// stream's flow-control window of a client that never reads.
	if _, err := db.Exec(context.Background(), `INSERT INTO services (pop_id, name, method, addresses, desired_state, state_reason, revision, created_at, updated_at)
		SELECT 'fs-silent', 'bulk ' || g, 'log', ARRAY['100.65.' || (g / 256) || '.' || (g % 256)], 'active', repeat('x', 200), 0, now(), now()
		FROM generate_series(1, 3000) g`); err != nil {
		t.Fatal(err)
	}

	conn, err := grpc.NewClient(ctrl.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ec := pb.NewEnforcementClient(conn)
	silentCtx, stopSilent := context.WithCancel(context.Background())
	defer stopSilent()
	// One reads every message and never reports.
	var received, seenRev atomic.Int64
	reader, err := ec.Watch(silentCtx, &pb.WatchRequest{Pop: "fs-silent", AgentId: "never-acks"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			m, err := reader.Recv()
			if err != nil {
				return
			}
			received.Add(1)
			seenRev.Store(max(seenRev.Load(), m.GetSnapshot().GetRevision(), m.GetDelta().GetRevision(), m.GetHeartbeat().GetRevision()))
		}
	}()
	// The other opens a stream and reads nothing at all.
	if _, err := ec.Watch(silentCtx, &pb.WatchRequest{Pop: "fs-silent", AgentId: "never-reads"}); err != nil {
		t.Fatal(err)
	}

	agent := newFSAgent(t, "fs-good", ctrl.grpcAddr)
	agent.start()
	waitConverged(t, db, agent, 20*time.Second)
	var slowest time.Duration
	var silentRev int64
	for i := range 6 {
		// A decision at each POP; the one at the real agent's is confirmed
		// promptly whatever the silent clients do.
		silentRev = setState(t, ctrl.api, silent[i].ID, flip(silent[i].DesiredState), "at the silent POP").Revision
		s := setState(t, ctrl.api, good[i].ID, flip(good[i].DesiredState), "at the good POP")
		began := time.Now()
		for {
			got, err := ctrl.api.Service(context.Background(), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Confirmed() {
				break
			}
			if time.Since(began) > 3*time.Second {
				t.Fatalf("service %d at the good POP not confirmed within 3s while the silent clients hang on", s.ID)
			}
			time.Sleep(10 * time.Millisecond)
		}
		slowest = max(slowest, time.Since(began))
	}
	t.Logf("good POP: slowest commit -> confirmation %s; the never-acking client received %d messages", slowest, received.Load())
	waitConverged(t, db, agent, 10*time.Second)
	// The client that reads gets every decision, though it never acks and
	// its neighbour on the same POP never reads.
	deadline := time.Now().Add(5 * time.Second)
	for seenRev.Load() < silentRev {
		if time.Now().After(deadline) {
			t.Fatalf("the never-acking client saw revision %d, want %d", seenRev.Load(), silentRev)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := readPOP(t, db, "fs-silent"); len(st.unconfirmed) != len(st.desired) {
		t.Errorf("%d services at the silent POP are confirmed, but nobody applied them", len(st.desired)-len(st.unconfirmed))
	}

	// The silent clients go; a real agent takes the POP and converges.
	stopSilent()
	replacement := newFSAgent(t, "fs-silent", ctrl.grpcAddr)
	replacement.start()
	st := waitConverged(t, db, replacement, 60*time.Second)
	if got := len(replacement.applies()); got != len(st.desired) {
		t.Errorf("the replacement agent made %d driver calls for %d services", got, len(st.desired))
	}
	waitConverged(t, db, agent, time.Second)
}
