package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// ctl runs the real tollgatectl and returns its standard output.
func ctl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "tollgatectl"), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tollgatectl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// metricIfAny is metric for a series that may be absent.
func metricIfAny(t *testing.T, url, series string) (float64, bool) {
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
			return f, true
		}
	}
	return 0, false
}

// waitMetric waits until series has the value want.
func waitMetric(t *testing.T, url, series string, want float64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v, ok := metricIfAny(t, url, series)
		if ok && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present: %v) after %s, want %v", series, v, ok, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits until the process's log holds every fragment.
func waitLog(t *testing.T, p *process, within time.Duration, frags ...string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		text := p.logText()
		missing := ""
		for _, f := range frags {
			if !strings.Contains(text, f) {
				missing = f
				break
			}
		}
		if missing == "" {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s log lacks %q after %s", p.name, missing, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startTLSAgent runs tollgate-agent for pop with its controller.tls
// settings in a config file, as an operator following "agent enroll" would.
func startTLSAgent(t *testing.T, name, pop, controller, certDir, caFile string) (*process, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
agent_id: %q
controller:
  address: %q
  tls:
    cert_file: %q
    key_file: %q
    ca_file: %q
`, name, controller, filepath.Join(certDir, "agent.pem"), filepath.Join(certDir, "agent-key.pem"), caFile)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	metrics := freeAddr(t)
	p := start(t, "tollgate-agent", nil, "--config", cfg, "--pop", pop, "--metrics-listen", metrics,
		"--state-file", filepath.Join(dir, "state.db"), "--init-state")
	waitHTTP(t, "http://"+metrics+"/healthz", 200, 10*time.Second)
	return p, metrics
}

func stop(t *testing.T, p *process) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	<-p.done
}

// TestMutualTLSScopesAgentsToTheirPOP: certificates made with the real
// tollgatectl; an agent enrolled for one POP cannot follow another, and an
// agent with a certificate from another CA does not get past the TLS
// handshake.
func TestMutualTLSScopesAgentsToTheirPOP(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	pkiDir := filepath.Join(work, "pki")
	out := ctl(t, "pki", "init", "--dir", pkiDir, "--controller-host", "127.0.0.1", "--controller-host", "localhost")
	if !strings.Contains(out, "client_ca_file: "+filepath.Join(pkiDir, "ca.pem")) {
		t.Errorf("pki init output lacks the controller config:\n%s", out)
	}
	if _, err := exec.Command(filepath.Join(binDir, "tollgatectl"), "pki", "init", "--dir", pkiDir).CombinedOutput(); err == nil {
		t.Error("a second pki init replaced the CA")
	}
	enrolledA := filepath.Join(work, "agent-a")
	out = ctl(t, "agent", "enroll", "mtls-a", "--pki-dir", pkiDir, "--out", enrolledA)
	for _, frag := range []string{"pop: mtls-a", "cert_file: " + filepath.Join(enrolledA, "agent.pem"), "ca_file: " + filepath.Join(enrolledA, "ca.pem")} {
		if !strings.Contains(out, frag) {
			t.Errorf("agent enroll output lacks %q:\n%s", frag, out)
		}
	}
	// A certificate for the same POP from another CA.
	otherPKI := filepath.Join(work, "other-pki")
	ctl(t, "pki", "init", "--dir", otherPKI, "--controller-host", "127.0.0.1")
	rogue := filepath.Join(work, "rogue")
	ctl(t, "agent", "enroll", "mtls-a", "--pki-dir", otherPKI, "--out", rogue)

	dbURL := pgtest.NewDatabase(t)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(work, "controller.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc:
  listen: %q
  heartbeat_interval: 1s
  tls:
    cert_file: %q
    key_file: %q
    client_ca_file: %q
api:
  tokens:
    - {name: ops, role: admin, token: %q}
`, dbURL, httpAddr, grpcAddr, filepath.Join(pkiDir, "controller.pem"), filepath.Join(pkiDir, "controller-key.pem"),
		filepath.Join(pkiDir, "ca.pem"), adminToken)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctrl := start(t, "tollgate-controller", nil, "--config", cfg)
	base := "http://" + httpAddr
	metrics := base + "/metrics"
	waitHTTP(t, base+"/readyz", 200, 30*time.Second)

	c := client.New(base, adminToken)
	ctx := context.Background()
	create := func(pop, addr string) billing.Service {
		s, err := c.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: pop, Name: "subscriber at " + pop,
			Binding: billing.Binding{Method: "log", Addresses: []string{addr}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	svcA, svcB := create("mtls-a", "100.64.20.1"), create("mtls-b", "100.64.20.2")
	waitMetric(t, metrics, `tollgate_push_unconfirmed_services{pop="mtls-b",state="unconfirmed"}`, 1, 5*time.Second)

	// (a) The certificate for mtls-a asking for mtls-b is refused.
	wrong, _ := startTLSAgent(t, "agent-a", "mtls-b", grpcAddr, enrolledA, filepath.Join(enrolledA, "ca.pem"))
	log := waitLog(t, wrong, 15*time.Second, "PermissionDenied")
	if !strings.Contains(log, `for POP \"mtls-a\"; it may not use POP \"mtls-b\"`) {
		t.Errorf("the refusal does not name both POPs:\n%s", log)
	}
	waitLog(t, ctrl, 5*time.Second, "refused an agent the POP it asked for")
	stop(t, wrong)
	if log := wrong.logText(); strings.Contains(log, "log driver applied") || strings.Contains(log, "snapshot received") {
		t.Errorf("the refused agent received or applied something:\n%s", log)
	}
	for _, series := range []string{`tollgate_push_connected_agents{pop="mtls-b"}`, `tollgate_push_messages_sent_total{pop="mtls-b",type="snapshot"}`,
		`tollgate_push_agent_lag_revisions{agent_id="agent-a",pop="mtls-b"}`, `tollgate_push_agent_applied_revision{pop="mtls-b"}`} {
		if v, ok := metricIfAny(t, metrics, series); ok && v != 0 {
			t.Errorf("controller metric %s = %v: a stream for mtls-b was served", series, v)
		}
	}
	if s, err := c.Service(ctx, svcB.ID); err != nil || s.Confirmation.Revision != 0 || s.Confirmation.ObservedState != "" {
		t.Errorf("mtls-b's service was reported on: %+v %v", s.Confirmation, err)
	}

	// The same certificate with its own POP works end to end.
	good, goodMetrics := startTLSAgent(t, "agent-a", "mtls-a", grpcAddr, enrolledA, filepath.Join(enrolledA, "ca.pem"))
	waitAllConfirmed(t, c, []int64{svcA.ID}, 15*time.Second)
	r, err := c.SetDesiredState(ctx, client.NewIdempotencyKey(), svcA.ID, billing.StateSuspended, "mtls e2e")
	if err != nil || !r.Changed {
		t.Fatalf("suspend: %+v %v", r, err)
	}
	waitAllConfirmed(t, c, []int64{svcA.ID}, 10*time.Second)
	if s, _ := c.Service(ctx, svcA.ID); s.Confirmation.ObservedState != billing.StateSuspended {
		t.Fatalf("after the suspension the agent observed %q", s.Confirmation.ObservedState)
	}
	waitLog(t, good, 5*time.Second, `"op":"suspend","service_id":"`+strconv.FormatInt(svcA.ID, 10)+`"`)
	if v := metric(t, metrics, `tollgate_push_connected_agents{pop="mtls-a"}`); v != 1 {
		t.Errorf("connected agents of mtls-a: %v, want 1", v)
	}
	// The push metrics: the agent has caught up, the suspension's commit→ack
	// latency is observed, and only mtls-b (no agent) has unconfirmed
	// services.
	waitMetric(t, metrics, `tollgate_push_agent_lag_revisions{agent_id="agent-a",pop="mtls-a"}`, 0, 5*time.Second)
	if v := metric(t, metrics, "tollgate_push_commit_to_ack_seconds_count"); v < 1 {
		t.Errorf("commit→ack observations: %v, want the suspension's", v)
	}
	waitMetric(t, metrics, `tollgate_push_unconfirmed_services{pop="mtls-a",state="unconfirmed"}`, 0, 5*time.Second)
	waitMetric(t, metrics, `tollgate_push_unconfirmed_services{pop="mtls-b",state="unconfirmed"}`, 1, 5*time.Second)
	applied := metric(t, "http://"+goodMetrics+"/metrics", "tollgate_agent_applied_revision")
	stop(t, good)
	waitMetric(t, metrics, `tollgate_push_connected_agents{pop="mtls-a"}`, 0, 10*time.Second)
	if _, ok := metricIfAny(t, metrics, `tollgate_push_agent_lag_revisions{agent_id="agent-a",pop="mtls-a"}`); ok {
		t.Error("the lag series outlived the agent's stream")
	}

	// (b) A certificate from another CA is refused at the TLS handshake,
	// even though it names mtls-a and its agent trusts the controller.
	intruder, _ := startTLSAgent(t, "intruder", "mtls-a", grpcAddr, rogue, filepath.Join(pkiDir, "ca.pem"))
	waitLog(t, intruder, 15*time.Second, "controller stream ended", "code = Unavailable")
	waitLog(t, ctrl, 5*time.Second, "agent TLS handshake failed", "certificate signed by unknown authority")
	stop(t, intruder)
	log = intruder.logText()
	if strings.Contains(log, "snapshot received") || strings.Contains(log, "log driver applied") || strings.Contains(log, "PermissionDenied") {
		t.Errorf("the intruder got past the handshake:\n%s", log)
	}
	if strings.Contains(ctrl.logText(), `"agent":"intruder"`) {
		t.Error("the intruder's Watch reached the push service")
	}
	if v := metric(t, metrics, `tollgate_push_connected_agents{pop="mtls-a"}`); v != 0 {
		t.Errorf("connected agents of mtls-a with only the intruder: %v", v)
	}
	if _, ok := metricIfAny(t, metrics, `tollgate_push_agent_lag_revisions{agent_id="intruder",pop="mtls-a"}`); ok {
		t.Error("the intruder has a lag series")
	}
	if v := metric(t, metrics, `tollgate_push_agent_applied_revision{pop="mtls-a"}`); v != applied {
		t.Errorf("mtls-a's applied revision moved to %v (was %v) with only the intruder", v, applied)
	}
}
