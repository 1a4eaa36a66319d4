package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestStartQueryStop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	begin := time.Now()
	c, err := Start(ctx, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING cluster start (initdb + server ready): %v", time.Since(begin).Round(time.Millisecond))
	dir := c.Dir()
	t.Cleanup(func() { _ = c.Stop() })

	if !strings.HasPrefix(filepath.Base(dir), "tollgate-pg-") {
		t.Errorf("Dir() = %q, want a tollgate-pg-* directory", dir)
	}
	if got := c.SocketDir(); !strings.HasPrefix(got, dir) {
		t.Errorf("SocketDir() = %q, want it inside %q", got, dir)
	}

	url := c.URL("postgres")
	t.Logf("URL: %s", url)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	var listen, fsync, user, version string
	err = conn.QueryRow(ctx, "SELECT current_setting('listen_addresses'), current_setting('fsync'), current_user, current_setting('server_version')").
		Scan(&listen, &fsync, &user, &version)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server version %s", version)
	if listen != "" || fsync != "off" || user != Superuser {
		t.Errorf("listen_addresses=%q fsync=%q user=%q; want \"\", off, %s", listen, fsync, user, Superuser)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE other"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	conn, err = pgx.Connect(ctx, c.URL("other"))
	if err != nil {
		t.Fatal(err)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "other" {
		t.Fatalf("current_database() = %q, %v", db, err)
	}
	conn.Close(ctx)

	begin = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("TIMING cluster stop: %v", time.Since(begin).Round(time.Millisecond))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory still exists after Stop (stat: %v)", err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Error("connected after Stop")
	}
}

// TestDurable: the default cluster has durability off, a Durable one has
// all three settings on, and each says which it is.
func TestDurable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, durable := range []bool{false, true} {
		c, err := Start(ctx, Options{Logger: testLogger(t), Durable: durable})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop() })
		if c.Durable() != durable {
			t.Errorf("Durable() = %v, want %v", c.Durable(), durable)
		}
		if _, err := os.Stat(filepath.Join(c.BinDir(), "postgres")); err != nil {
			t.Errorf("BinDir() = %q: %v", c.BinDir(), err)
		}
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		var fsync, syncCommit, fullPages string
		err = conn.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('full_page_writes')").
			Scan(&fsync, &syncCommit, &fullPages)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{false: "off", true: "on"}[durable]
		if fsync != want || syncCommit != want || fullPages != want {
			t.Errorf("Durable %v: fsync=%s synchronous_commit=%s full_page_writes=%s, want all %s", durable, fsync, syncCommit, fullPages, want)
		}
	}
}

func TestURL(t *testing.T) {
	for _, sockDir := range []string{"/tmp/tollgate-pg-123/sock", "/tmp/a b+c%d&e=f/sock"} {
		url := SocketURL(sockDir, "my db")
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", url, err)
		}
		if cfg.Host != sockDir || cfg.Port != Port || cfg.User != Superuser || cfg.Database != "my db" || cfg.TLSConfig != nil {
			t.Errorf("ParseConfig(%q) = host %q port %d user %q database %q tls %v",
				url, cfg.Host, cfg.Port, cfg.User, cfg.Database, cfg.TLSConfig != nil)
		}
	}
	want := "postgres://tollgate@/app?host=%2Ftmp%2Fx%2Fsock&port=5432&sslmode=disable"
	if got := SocketURL("/tmp/x/sock", "app"); got != want {
		t.Errorf("SocketURL = %q, want %q", got, want)
	}
}

func TestNotInstalled(t *testing.T) {
	_, err := Start(t.Context(), Options{BinDir: t.TempDir()})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Start with empty BinDir: err = %v, want ErrNotInstalled", err)
	}
	for _, want := range []string{`"initdb"`, "install postgresql (scripts/setup.sh does this)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	t.Log(err)
}

// TestServerDiesWithParent starts a cluster in a child process (this test
// binary, running TestHelperProcess), kills that process with SIGKILL and
// checks that the server goes away and that the next Start removes the
// directory left behind.
func TestServerDiesWithParent(t *testing.T) {
	t.Parallel()
	// A parent directory of our own, searchable by the server's user.
	parent, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PGCLUSTER_HELPER_DIR="+parent)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var dir string
	if _, err := fmt.Fscanln(out, &dir); err != nil {
		t.Fatalf("reading cluster directory from helper: %v", err)
	}
	pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(pidFile), "\n")
	serverPID, err := strconv.Atoi(first)
	if err != nil || !alive(serverPID) {
		t.Fatalf("server pid %q: alive=%v err=%v", first, alive(serverPID), err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(serverPID) {
		if time.Now().After(deadline) {
			syscall.Kill(serverPID, syscall.SIGKILL)
			t.Fatalf("server (pid %d) still running 10s after its parent was killed", serverPID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("expected the killed process to leave %s behind: %v", dir, err)
	}

	c, err := Start(t.Context(), Options{Dir: parent, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start did not remove %s, left behind by a killed process (stat: %v)", dir, err)
	}
}

// TestHelperProcess is not a real test: TestServerDiesWithParent runs it
// in a child process.
func TestHelperProcess(t *testing.T) {
	parent := os.Getenv("PGCLUSTER_HELPER_DIR")
	if parent == "" {
		t.Skip("helper process for TestServerDiesWithParent")
	}
	c, err := Start(context.Background(), Options{Dir: parent})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println(c.Dir())
	time.Sleep(time.Hour) // wait to be killed
}

func TestDirNotAccessibleToServerUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user")
	}
	dir := t.TempDir() // its parent is mode 0700, owned by root
	_, err := Start(t.Context(), Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "not accessible to user") {
		t.Fatalf("Start in a root-only directory: err = %v, want a clear 'not accessible' error", err)
	}
	t.Log(err)
}

func TestLongDirPutsSocketElsewhere(t *testing.T) {
	t.Parallel()
	parent, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	long := filepath.Join(parent, strings.Repeat("d", 100))
	if err := os.Mkdir(long, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := Start(t.Context(), Options{Dir: long, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sock := c.SocketDir()
	if strings.HasPrefix(sock, c.Dir()) {
		t.Errorf("SocketDir() = %q, inside the too-long Dir()", sock)
	}
	conn, err := pgx.Connect(t.Context(), c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{sock, c.Dir()} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after Stop (stat: %v)", d, err)
		}
	}
}

func TestStartFailureShowsServerLog(t *testing.T) {
	t.Parallel()
	realBin, err := findBinDir("")
	if err != nil {
		t.Fatal(err)
	}
	parent, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	// initdb is the real one (it finds the real postgres next to its
	// resolved path); postgres fails at once.
	binDir := filepath.Join(parent, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(realBin, "initdb"), filepath.Join(binDir, "initdb")); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho 'FATAL:  simulated start-up failure' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(binDir, "postgres"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	_, err = Start(t.Context(), Options{Dir: parent, BinDir: binDir})
	if err == nil || !strings.Contains(err.Error(), "simulated start-up failure") {
		t.Fatalf("err = %v; want it to include the server log", err)
	}
	t.Log(err)
	if left, _ := filepath.Glob(filepath.Join(parent, "tollgate-pg-*")); len(left) > 0 {
		t.Errorf("failed Start left %v behind", left)
	}
}

func TestStartHonoursContext(t *testing.T) {
	t.Parallel()
	parent, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	c, err := Start(ctx, Options{Dir: parent})
	if err == nil {
		c.Stop()
		t.Skip("Start finished within 200ms; cannot test cancellation")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("Start took %v to notice the canceled context", took)
	}
	if left, _ := filepath.Glob(filepath.Join(parent, "tollgate-pg-*")); len(left) > 0 {
		t.Errorf("canceled Start left %v behind", left)
	}
	t.Log(err)
}
