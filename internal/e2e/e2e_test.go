package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tollgate-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "../../cmd/tollgate-controller", "../../cmd/tollgate-agent", "../../cmd/tollgatectl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the binaries failed:", err)
		os.Exit(1)
	}
	code := pgtest.Main(m) // the controller migrates its database itself
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a running binary whose stderr goes to a file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

func start(t *testing.T, name string, env []string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if runtime.GOOS == "linux" {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- %s log ---\n%s", name, b)
		}
	})
	return p
}

func (p *process) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func waitHTTP(t *testing.T, url string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within %s (last: %v)", url, want, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func metric(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found at %s", series, url)
	return 0
}

const (
	adminToken  = "e2e-admin-token-0123456789"
	readerToken = "e2e-reader-token-0123456789"
)

func TestControllerAgentRoundTrip(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	httpAddr, grpcAddr, metricsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "controller.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 1s}
log: {level: debug}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
    - {name: auditor, role: reader, token: %q}
`, dbURL, httpAddr, grpcAddr, adminToken, readerToken)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctrl := start(t, "tollgate-controller", nil, "--config", cfg)
	base := "http://" + httpAddr
	waitHTTP(t, base+"/readyz", 200, 30*time.Second)
	waitHTTP(t, base+"/healthz", 200, time.Second)

	agent := start(t, "tollgate-agent", []string{"TOLLGATE_CONTROLLER_INSECURE_PLAINTEXT=true"},
		"--pop", "e2e-1", "--controller", grpcAddr, "--metrics-listen", metricsAddr, "--state-file", filepath.Join(t.TempDir(), "agent-state.db"), "--init-state")
	waitHTTP(t, "http://"+metricsAddr+"/healthz", 200, 10*time.Second)

	// Create the service through the real CLI.
	ctl := exec.Command(filepath.Join(binDir, "tollgatectl"), "--server", base, "-o", "json",
		"service", "create", "--pop", "e2e-1", "--name", "E2E subscriber", "--method", "log", "--address", "100.64.7.7")
	ctl.Env = append(os.Environ(), "TOLLGATE_TOKEN="+adminToken)
	out, err := ctl.CombinedOutput()
	if err != nil {
		t.Fatalf("tollgatectl service create: %v\n%s", err, out)
	}
	var svc billing.Service
	if err := json.Unmarshal(out, &svc); err != nil {
		t.Fatalf("tollgatectl -o json output: %v\n%s", err, out)
	}

	c := client.New(base, adminToken)
	ctx := context.Background()
	waitConfirmed := func(id int64, within time.Duration) (billing.Service, time.Duration) {
		t.Helper()
		start := time.Now()
		for {
			s, err := c.Service(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if s.Confirmed() {
				return s, time.Since(start)
			}
			if time.Since(start) > within {
				t.Fatalf("service %d (%s, revision %d) not confirmed by the agent within %s: %+v", id, s.DesiredState, s.Revision, within, s.Confirmation)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitConfirmed(svc.ID, 10*time.Second) // initial sync

	for _, state := range []billing.DesiredState{billing.StateSuspended, billing.StateActive} {
		r, err := c.SetDesiredState(ctx, client.NewIdempotencyKey(), svc.ID, state, "e2e "+string(state))
		if err != nil || !r.Changed {
			t.Fatalf("set %s: %+v %v", state, r, err)
		}
		got, took := waitConfirmed(svc.ID, time.Second)
		t.Logf("%s: committed -> applied and acknowledged by the agent in %s", state, took)
		if got.Confirmation.ObservedState != state || got.Confirmation.Revision != r.Service.Revision {
			t.Fatalf("confirmation %+v, want %s at revision %d", got.Confirmation, state, r.Service.Revision)
		}
	}

	// The agent process really did it: its log driver logged both actions.
	log := agent.logText()
	id := strconv.FormatInt(svc.ID, 10)
	for _, op := range []string{"suspend", "restore"} {
		if !strings.Contains(log, `"op":"`+op+`","service_id":"`+id+`"`) {
			t.Errorf("agent log lacks the %s of service %s", op, id)
		}
	}
	if v := metric(t, "http://"+metricsAddr+"/metrics", "tollgate_agent_applied_revision"); v != 3 {
		t.Errorf("agent applied revision metric %v, want 3", v)
	}
	if v := metric(t, base+"/metrics", `tollgate_push_connected_agents{pop="e2e-1"}`); v != 1 {
		t.Errorf("connected agents metric %v, want 1", v)
	}

	// Roles hold on the real server too.
	for token, want := range map[string]int{"": 401, readerToken: 403} {
		req, _ := http.NewRequest("POST", base+"/api/v1/services/"+id+"/desired-state", bytes.NewBufferString(`{"state":"suspended"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "roles-"+strconv.Itoa(want))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("mutation with token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}

	// Graceful shutdown: SIGTERM, exit 0, and the agent keeps running.
	if err := ctrl.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctrl.done:
		if ctrl.err != nil {
			t.Fatalf("controller exited with %v after SIGTERM", ctrl.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("controller did not stop within 15s of SIGTERM")
	}
	if !strings.Contains(ctrl.logText(), "controller stopped") {
		t.Error("controller log lacks its shutdown message")
	}
	select {
	case <-agent.done:
		t.Fatalf("the agent exited when the controller went away: %v", agent.err)
	case <-time.After(300 * time.Millisecond):
	}
}
