package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

var (
	buildOnce sync.Once
	agentBin  string
	buildErr  error
)

// binary builds cmd/tollgate-agent once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tollgate-agent-bin-")
		if err != nil {
			buildErr = err
			return
		}
		agentBin = filepath.Join(dir, "tollgate-agent")
		out, err := exec.Command("go", "build", "-o", agentBin, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building tollgate-agent: %v", buildErr)
	}
	return agentBin
}

// agentRun is a tollgate-agent process.
type agentRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
}

// startAgent starts the binary for POP "pop-s" with its state in
// stateFile, a controller at controller, no metrics, and args.
func startAgent(t *testing.T, stateFile, controller string, args ...string) *agentRun {
	t.Helper()
	r := &agentRun{done: make(chan struct{})}
	r.cmd = exec.Command(binary(t), append([]string{"--pop", "pop-s", "--controller", controller, "--metrics-listen", "off",
		"--state-file", stateFile}, args...)...)
	r.cmd.Env = append(os.Environ(), "TOLLGATE_CONTROLLER_INSECURE_PLAINTEXT=true", "TOLLGATE_CONFIG=")
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// exit waits for the process to end and returns its exit code.
func (r *agentRun) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatalf("tollgate-agent did not exit; stderr:\n%s", r.stderr.String())
		return -1
	}
}

// TestDamagedStateFileStopsTheBinary runs the real binary on state files
// damaged in several ways: each exits 1 with a message naming the file and
// `tollgate-agent --reset-state`, and none panics. A missing file needs
// --init-state; with it (and --check-state) the file is created and the
// agent exits 0.
func TestDamagedStateFileStopsTheBinary(t *testing.T) {
	dir := t.TempDir()
	nowhere := "127.0.0.1:1" // never dialled: the agent stops before

	// A sound file to damage, made by the binary itself.
	sound := filepath.Join(dir, "sound.db")
	if r := startAgent(t, sound, nowhere, "--init-state", "--check-state"); r.exit(t) != 0 {
		t.Fatalf("--init-state --check-state: exit %d; stderr:\n%s", r.cmd.ProcessState.ExitCode(), r.stderr.String())
	} else if !strings.Contains(r.stdout.String(), "awaiting the controller's first snapshot") {
		t.Fatalf("--check-state printed %q", r.stdout.String())
	}
	soundBytes, err := os.ReadFile(sound)
	if err != nil {
		t.Fatal(err)
	}

	missing := filepath.Join(dir, "missing.db")
	r := startAgent(t, missing, nowhere)
	if code := r.exit(t); code != 1 || !strings.Contains(r.stderr.String(), missing+" does not exist") ||
		!strings.Contains(r.stderr.String(), "--init-state") {
		t.Fatalf("missing file: exit %d; stderr:\n%s", code, r.stderr.String())
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the agent created the missing state file without --init-state: %v", err)
	}

	for name, content := range map[string][]byte{
		"zero length": {},
		"text":        []byte(strings.Repeat("not a database\n", 1000)),
		"truncated":   soundBytes[:3*os.Getpagesize()], // below the pages its header counts
		"zeroed header": func() []byte {
			b := bytes.Clone(soundBytes)
			clear(b[:len(b)/2])
			return b
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			// --init-state does not paper over damage.
			r := startAgent(t, path, nowhere, "--init-state")
			code, stderr := r.exit(t), r.stderr.String()
			if code != 1 || !strings.Contains(stderr, "state file "+path+" is damaged") ||
				!strings.Contains(stderr, "tollgate-agent --reset-state") {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Fatalf("the agent panicked:\n%s", stderr)
			}
		})
	}
}

// snapshotController is the controller's end of the protocol for
// TestResetStateFetchesASnapshot: it sends the redirect settings at once,
// and the snapshot only when the test releases it.
type snapshotController struct {
	pb.UnimplementedEnforcementServer
	watching chan *pb.WatchRequest
	release  chan struct{}
	redirect *pb.Redirect
	snapshot *pb.Snapshot
}

func (c *snapshotController) Watch(req *pb.WatchRequest, stream pb.Enforcement_WatchServer) error {
	c.watching <- req
	if err := stream.Send(&pb.WatchResponse{Message: &pb.WatchResponse_Redirect{Redirect: c.redirect}}); err != nil {
		return err
	}
	select {
	case <-stream.Context().Done():
		return nil
	case <-c.release:
	}
	if err := stream.Send(&pb.WatchResponse{Message: &pb.WatchResponse_Snapshot{Snapshot: c.snapshot}}); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

func (c *snapshotController) Report(stream pb.Enforcement_ReportServer) error {
	for {
		if _, err := stream.Recv(); err != nil {
			return nil
		}
	}
}

// TestResetStateFetchesASnapshot: on a damaged state file, the binary with
// --reset-state keeps the file aside, asks the controller for everything
// (since_revision 0), answers every redirect request with 503 until the
// snapshot has arrived, and then redirects the suspended subscriber.
func TestResetStateFetchesASnapshot(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctl := &snapshotController{watching: make(chan *pb.WatchRequest, 4), release: make(chan struct{}),
		redirect: &pb.Redirect{PortalUrl: "https://pay.example/", KeyId: "k1", Key: bytes.Repeat([]byte{9}, 32)},
		snapshot: &pb.Snapshot{Revision: 42, Services: []*pb.Service{{ServiceId: "7", Revision: 42, Reason: "test",
			DesiredState: pb.DesiredState_DESIRED_STATE_SUSPENDED, Binding: &pb.Binding{Method: "log", Addresses: []string{"127.0.0.1"}}}}}}
	srv := grpc.NewServer()
	pb.RegisterEnforcementServer(srv, ctl)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	if err := os.WriteFile(path, []byte("garbage, not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	redirectLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirectAddr := redirectLn.Addr().String()
	redirectLn.Close()
	r := startAgent(t, path, ln.Addr().String(), "--reset-state", "--redirect-listen", redirectAddr)

	select {
	case req := <-ctl.watching:
		if req.GetSinceRevision() != 0 || req.GetPop() != "pop-s" {
			t.Fatalf("Watch(%v): want the whole state of pop-s (since_revision 0)", req)
		}
	case <-r.done:
		t.Fatalf("the agent exited %d; stderr:\n%s", r.cmd.ProcessState.ExitCode(), r.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent did not watch the controller; stderr:\n%s", r.stderr.String())
	}
	kept, _ := filepath.Glob(path + ".reset-*")
	if len(kept) != 1 {
		t.Fatalf("the damaged file was not kept aside: %v", kept)
	}
	if b, err := os.ReadFile(kept[0]); err != nil || string(b) != "garbage, not a database" {
		t.Fatalf("the kept file: %q, %v", b, err)
	}

	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ask := func() (int, string) {
		resp, err := client.Get("http://" + redirectAddr + "/")
		if err != nil {
			return 0, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	// The redirect settings have arrived, the snapshot has not: no
	// redirect, to anyone, however often asked.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := ask()
		if code == http.StatusServiceUnavailable {
			break
		}
		if code != 0 || time.Now().After(deadline) {
			t.Fatalf("before the snapshot the responder answered %d; want 503", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 20 {
		if code, loc := ask(); code != http.StatusServiceUnavailable {
			t.Fatalf("before the snapshot the responder answered %d %q; want 503", code, loc)
		}
	}

	close(ctl.release)
	deadline = time.Now().Add(30 * time.Second)
	for {
		code, loc := ask()
		if code == http.StatusFound {
			if !strings.HasPrefix(loc, "https://pay.example/c/") {
				t.Fatalf("redirected to %q", loc)
			}
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the snapshot the responder answered %d %q; want 302 to the portal; stderr:\n%s", code, loc, r.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Restarted without --reset-state, the agent keeps the snapshot it got.
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.exit(t); code != 0 {
		t.Fatalf("stopping: exit %d; stderr:\n%s", code, r.stderr.String())
	}
	check := startAgent(t, path, ln.Addr().String(), "--check-state")
	if code := check.exit(t); code != 0 || !strings.Contains(check.stdout.String(), "revision 42, 1 services (0 active, 1 suspended") ||
		strings.Contains(check.stdout.String(), "awaiting") {
		t.Fatalf("after the snapshot: exit %d, %q; stderr:\n%s", code, check.stdout.String(), check.stderr.String())
	}
}
