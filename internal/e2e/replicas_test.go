package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// loadBalancer is a TCP load balancer for the test: each new connection
// goes to the first backend that accepts it, as a health-checking load
// balancer in front of controller replicas would.
type loadBalancer struct {
	ln       net.Listener
	backends []string
	mu       sync.Mutex
	conns    []net.Conn
}

func startLoadBalancer(t *testing.T, backends ...string) *loadBalancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &loadBalancer{ln: ln, backends: backends}
	go lb.serve()
	t.Cleanup(func() {
		ln.Close()
		lb.mu.Lock()
		for _, c := range lb.conns {
			c.Close()
		}
		lb.mu.Unlock()
	})
	return lb
}

func (lb *loadBalancer) Addr() string { return lb.ln.Addr().String() }

func (lb *loadBalancer) serve() {
	for {
		in, err := lb.ln.Accept()
		if err != nil {
			return
		}
		var out net.Conn
		for _, b := range lb.backends {
			if out, err = net.DialTimeout("tcp", b, time.Second); err == nil {
				break
			}
		}
		if out == nil {
			in.Close()
			continue
		}
		lb.mu.Lock()
		lb.conns = append(lb.conns, in, out)
		lb.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// TestReplicaKilledAgentsMoveOn runs two controller replicas on one
// database behind a load balancer. The agent follows replica A; A is killed
// with SIGKILL in the middle of a stream of changes committed through B.
// The agent moves to B and ends with every service's applied state equal to
// its desired state, each change applied exactly once.
func TestReplicaKilledAgentsMoveOn(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	type replica struct {
		http, grpc string
		proc       *process
	}
	startReplica := func(name string) replica {
		r := replica{http: freeAddr(t), grpc: freeAddr(t)}
		cfg := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 1s}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
`, dbURL, r.http, r.grpc, adminToken)), 0o600); err != nil {
			t.Fatal(err)
		}
		r.proc = start(t, "tollgate-controller", nil, "--config", cfg)
		waitHTTP(t, "http://"+r.http+"/readyz", 200, 30*time.Second)
		return r
	}
	a := startReplica("replica-a")
	b := startReplica("replica-b")
	lb := startLoadBalancer(t, a.grpc, b.grpc)

	agentMetrics := freeAddr(t)
	agent := start(t, "tollgate-agent", []string{"TOLLGATE_CONTROLLER_INSECURE_PLAINTEXT=true"},
		"--pop", "edge-r", "--controller", lb.Addr(), "--metrics-listen", agentMetrics,
		"--state-file", filepath.Join(t.TempDir(), "agent-state.db"), "--init-state")
	waitHTTP(t, "http://"+agentMetrics+"/healthz", 200, 10*time.Second)

	ctx := context.Background()
	ca, cb := client.New("http://"+a.http, adminToken), client.New("http://"+b.http, adminToken)
	var ids []int64
	for i := range 20 {
		s, err := ca.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "edge-r", Name: fmt.Sprint("sub ", i),
			Binding: billing.Binding{Method: "log", Addresses: []string{fmt.Sprintf("100.64.9.%d", i+1)}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	waitAllConfirmed(t, cb, ids, 15*time.Second)
	if v := metric(t, "http://"+a.http+"/metrics", `tollgate_push_connected_agents{pop="edge-r"}`); v != 1 {
		t.Fatalf("the agent should follow replica A first (A's connected agents: %v)", v)
	}

	// Changes keep coming through B while A dies.
	done := make(chan error, 1)
	go func() {
		for round := range 3 {
			state := billing.StateSuspended
			if round%2 == 1 {
				state = billing.StateActive
			}
			for _, id := range ids {
				if _, err := cb.SetDesiredState(ctx, client.NewIdempotencyKey(), id, state, "replica test"); err != nil {
					done <- err
					return
				}
			}
			time.Sleep(300 * time.Millisecond)
		}
		done <- nil
	}()
	time.Sleep(200 * time.Millisecond)
	if err := a.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.proc.done
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitAllConfirmed(t, cb, ids, 30*time.Second)
	if v := metric(t, "http://"+b.http+"/metrics", `tollgate_push_connected_agents{pop="edge-r"}`); v != 1 {
		t.Errorf("replica B's connected agents: %v, want the agent", v)
	}

	// Nothing applied twice: per service, the log driver's operations are
	// the creation's restore (a new service is made active) and then one
	// per round, alternating.
	ops := map[string][]string{}
	re := regexp.MustCompile(`"msg":"log driver applied".*?"op":"(\w+)","service_id":"(\d+)"`)
	for _, m := range re.FindAllStringSubmatch(agent.logText(), -1) {
		ops[m[2]] = append(ops[m[2]], m[1])
	}
	for _, id := range ids {
		got := ops[strconv.FormatInt(id, 10)]
		want := []string{"restore", "suspend", "restore", "suspend"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("service %d: driver operations %v, want %v (each change exactly once)", id, got, want)
		}
	}
}

// waitAllConfirmed waits until the agent has confirmed every service's
// current desired state.
func waitAllConfirmed(t *testing.T, c *client.Client, ids []int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, id := range ids {
		for {
			s, err := c.Service(context.Background(), id)
			if err == nil && s.Confirmed() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("service %d not confirmed within %s: %+v %v", id, within, s, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
