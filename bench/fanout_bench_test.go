package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// buildBinaries builds the controller and the agent into a temporary
// directory and returns it.
func buildBinaries(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "../cmd/tollgate-controller", "../cmd/tollgate-agent")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func freePort(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs a binary until the benchmark ends.
func startProcess(b *testing.B, bin string, env []string, args ...string) *exec.Cmd {
	b.Helper()
	logf, err := os.Create(filepath.Join(b.TempDir(), filepath.Base(bin)+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logf.Close() })
	return cmd
}

func waitReady(b *testing.B, url string) {
	b.Helper()
	for range 600 {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s never became ready", url)
}

// rssMiB reads a process's resident set (VmRSS) and its peak (VmHWM).
func rssMiB(b *testing.B, pid int) (rss, peak float64) {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		if k != "VmRSS" && k != "VmHWM" {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			peak = kb / 1024
		}
	}
	return rss, peak
}

// seedPOPs creates pops POPs named fan-0000… with perPOP services each, all
// active, their creation history compacted (agents start from a snapshot).
func seedPOPs(ctx context.Context, b *testing.B, db *postgres.DB, prefix string, pops, perPOP int) {
	b.Helper()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO pops (id, revision, compacted_revision, created_at)
			SELECT '%s' || lpad(p::text, 4, '0'), %d, %d, now() FROM generate_series(0, %d) p`, prefix, perPOP, perPOP, pops-1),
		fmt.Sprintf(`INSERT INTO services (pop_id, name, method, addresses, desired_state, revision, created_at, updated_at)
			SELECT '%s' || lpad(p::text, 4, '0'), 'subscriber ' || s, 'log',
				ARRAY['10.' || (p / 256) || '.' || (p %% 256) || '.' || (s %% 250)], 'active', s, now(), now()
			FROM generate_series(0, %d) p, generate_series(1, %d) s`, prefix, pops-1, perPOP),
		`VACUUM ANALYZE services`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFanout1000Agents: one controller process, 1,000 simulated agents
// in this process, each with its own gRPC connection over loopback and its
// own POP of 1,000 services (a million in all). After every agent has its
// snapshot, 10,000 desired-state changes are committed (10 a POP, spread
// over the POPs) and each agent acknowledges every delta as it arrives.
// Figures: commit→ack latency p50/p99 (from the change's COMMIT returning
// to the agent sending its acknowledgement), and the controller's peak
// resident memory. Run with -benchtime=1x.
func BenchmarkFanout1000Agents(b *testing.B) {
	const agents, perPOP, changes = 1000, 1000, 10_000
	ctx := context.Background()
	bins := buildBinaries(b)
	dbURL := pgtest.NewDatabase(b)
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	seedStart := time.Now()
	seedPOPs(ctx, b, db, "fan-", agents, perPOP)
	b.Logf("seeded %d services in %s", agents*perPOP, time.Since(seedStart).Round(time.Millisecond))

	httpAddr, grpcAddr := freePort(b), freePort(b)
	cfg := filepath.Join(b.TempDir(), "controller.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 5s}
log: {level: warn}
jobs: {tick_interval: 1h}
`, dbURL, httpAddr, grpcAddr)), 0o600); err != nil {
		b.Fatal(err)
	}
	ctrl := startProcess(b, filepath.Join(bins, "tollgate-controller"), nil, "--config", cfg)
	waitReady(b, "http://"+httpAddr+"/readyz")

	// seen holds, per (POP, revision), whichever came first: the COMMIT
	// returning to the committer, or the agent acknowledging the change
	// (which can win the race: the NOTIFY fires at commit). The second to
	// arrive records the latency (an acknowledgement that beat the
	// committer's clock counts as 0).
	type commitKey struct {
		pop int
		rev int64
	}
	type event struct {
		at  time.Time
		ack bool
	}
	var seen sync.Map
	var latMu sync.Mutex
	latencies := make([]time.Duration, 0, changes)
	var acked atomic.Int64
	record := func(k commitKey, e event) {
		prev, loaded := seen.LoadOrStore(k, e)
		if !loaded {
			return
		}
		seen.Delete(k)
		first := prev.(event)
		d := e.at.Sub(first.at)
		if first.ack {
			d = 0
		}
		latMu.Lock()
		latencies = append(latencies, d)
		latMu.Unlock()
		acked.Add(1)
	}
	var synced atomic.Int64
	ready := make(chan struct{})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for i := range agents {
		pop := fmt.Sprintf("fan-%04d", i)
		wg.Go(func() {
			conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			c := pb.NewEnforcementClient(conn)
			watch, err := c.Watch(runCtx, &pb.WatchRequest{Pop: pop, AgentId: "sim-" + pop})
			if err != nil {
				b.Error(err)
				return
			}
			report, err := c.Report(runCtx)
			if err != nil {
				b.Error(err)
				return
			}
			for {
				m, err := watch.Recv()
				if err != nil {
					return // the benchmark is over
				}
				var rev int64
				switch x := m.Message.(type) {
				case *pb.WatchResponse_Snapshot:
					rev = x.Snapshot.Revision
					if len(x.Snapshot.Services) != perPOP {
						b.Errorf("%s: snapshot of %d services", pop, len(x.Snapshot.Services))
					}
				case *pb.WatchResponse_Delta:
					rev = x.Delta.Revision
				default:
					continue
				}
				if err := report.Send(&pb.ReportRequest{Pop: pop, AgentId: "sim-" + pop, AppliedRevision: rev}); err != nil {
					return
				}
				now := time.Now()
				if _, ok := m.Message.(*pb.WatchResponse_Snapshot); ok {
					if synced.Add(1) == agents {
						close(ready)
					}
					continue
				}
				for _, s := range m.GetDelta().Changes {
					record(commitKey{i, s.Revision}, event{at: now, ack: true})
				}
			}
		})
	}
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d agents got their snapshot", synced.Load(), agents)
	}

	// Service ids are laid out POP by POP: POP p has ids p*perPOP+1 ….
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var cwg sync.WaitGroup
	for range 8 {
		cwg.Go(func() {
			for {
				n := next.Add(1) - 1
				if n >= changes {
					return
				}
				pop := int(n) % agents
				id := int64(pop*perPOP) + 1 + (n/int64(agents))%perPOP
				s, changed, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: id, State: billing.StateSuspended, Reason: "bench", Actor: "bench", At: time.Now()})
				if err != nil || !changed {
					b.Errorf("change %d (service %d): changed=%v %v", n, id, changed, err)
					return
				}
				record(commitKey{pop, s.Revision}, event{at: time.Now()})
			}
		})
	}
	cwg.Wait()
	committed := time.Since(start)
	deadline := time.Now().Add(2 * time.Minute)
	for acked.Load() < changes && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	_, peak := rssMiB(b, ctrl.Process.Pid)
	stop()
	wg.Wait()
	if acked.Load() != changes {
		b.Fatalf("%d of %d changes acknowledged", acked.Load(), changes)
	}
	slices.Sort(latencies)
	p := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.Logf("%d changes committed in %s (%.0f/s); controller peak RSS %.0f MiB", changes, committed.Round(time.Millisecond), changes/committed.Seconds(), peak)
	b.ReportMetric(p(0.50), "fanout_commit_to_ack_p50_ms")
	b.ReportMetric(p(0.99), "fanout_commit_to_ack_p99_ms")
	b.ReportMetric(peak, "controller_rss_1000_agents_mib")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAgent100kServices: the real agent binary following a POP of
// 100,000 services (log driver) until it has applied them all and written
// its state file; its resident memory then (and its peak). Run with
// -benchtime=1x.
func BenchmarkAgent100kServices(b *testing.B) {
	const services = 100_000
	ctx := context.Background()
	bins := buildBinaries(b)
	dbURL := pgtest.NewDatabase(b)
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	seedPOPs(ctx, b, db, "big-", 1, services)
	httpAddr, grpcAddr, metricsAddr := freePort(b), freePort(b), freePort(b)
	cfg := filepath.Join(b.TempDir(), "controller.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true}
log: {level: warn}
`, dbURL, httpAddr, grpcAddr)), 0o600); err != nil {
		b.Fatal(err)
	}
	startProcess(b, filepath.Join(bins, "tollgate-controller"), nil, "--config", cfg)
	waitReady(b, "http://"+httpAddr+"/readyz")

	b.ResetTimer()
	start := time.Now()
	agent := startProcess(b, filepath.Join(bins, "tollgate-agent"), []string{"TOLLGATE_CONTROLLER_INSECURE_PLAINTEXT=true",
		"TOLLGATE_AGENT_STATE_FILE=" + filepath.Join(b.TempDir(), "state.db"), "TOLLGATE_LOG_LEVEL=warn"},
		"--pop", "big-0000", "--controller", grpcAddr, "--metrics-listen", metricsAddr, "--log-level", "warn", "--init-state")
	for {
		if v, ok := scrape("http://"+metricsAddr+"/metrics", "tollgate_agent_applied_revision"); ok && v >= services {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatal("the agent did not apply the snapshot within 5 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	synced := time.Since(start)
	time.Sleep(2 * time.Second) // let it settle (reports sent, store written)
	b.StopTimer()
	rss, peak := rssMiB(b, agent.Process.Pid)
	b.Logf("agent applied %d services in %s; RSS %.0f MiB, peak %.0f MiB", services, synced.Round(time.Millisecond), rss, peak)
	b.ReportMetric(rss, "agent_rss_100k_services_mib")
	b.ReportMetric(0, "ns/op")
}

// scrape reads one series from a Prometheus text endpoint.
func scrape(url, series string) (float64, bool) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
