package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the name of the cluster's superuser. It needs no password.
const Superuser = "tollgate"

// Port is the port number the server uses. The server does not listen on
// TCP; the port only determines the socket file name (.s.PGSQL.5432) in
// [Cluster.SocketDir].
const Port = 5432

const (
	dirPrefix      = "tollgate-pg-"     // cluster directories created by Start
	sockDirPrefix  = "tollgate-pgsock-" // fallback socket directories (see socketDir)
	ownerFile      = "owner"            // marker naming the process that owns a directory
	readyTimeout   = 30 * time.Second
	readyInterval  = 20 * time.Millisecond
	stopTimeout    = 10 * time.Second
	logTailBytes   = 4096
	logTailLines   = 25
	maxSocketPath  = 107 // sizeof(sockaddr_un.sun_path) - 1 on Linux
	socketFileName = ".s.PGSQL.5432"
)

// serverSettings are passed to postgres as "-c name=value", followed by
// fastSettings or durableSettings.
var serverSettings = []string{
	"listen_addresses=", // unix socket only
	"max_connections=200",
	"shared_buffers=128MB",
	"max_wal_size=1GB", // fewer forced checkpoints during bulk loads
	"logging_collector=off",
	"log_min_messages=warning",
}

// fastSettings trade all durability for speed, which is fine for a cluster
// that is deleted when the process that started it exits: the default.
var fastSettings = []string{
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
}

// durableSettings are a production server's durability (PostgreSQL's own
// defaults, spelled out): every commit is flushed to the WAL on disk
// before it is acknowledged, and torn pages are recoverable. For
// [Options.Durable].
var durableSettings = []string{
	"fsync=on",
	"synchronous_commit=on",
	"full_page_writes=on",
}

// ErrNotInstalled is reported (via errors.Is) by [Start] when the
// PostgreSQL server binaries cannot be found.
var ErrNotInstalled = errors.New("PostgreSQL is not installed")

// Options configure [Start]. The zero value is ready to use.
type Options struct {
	// Dir is the parent directory in which Start creates the cluster's
	// temporary directory (named tollgate-pg-*). When running as root, Dir
	// and its ancestors must be searchable by the unprivileged user that
	// runs the server. Default: os.TempDir().
	Dir string

	// Logger receives progress messages (start-up timing is logged at
	// Debug level). Default: a logger that discards everything.
	Logger *slog.Logger

	// BinDir is the directory containing the initdb and postgres binaries.
	// Default: auto-detected, trying in order $TOLLGATE_PG_BINDIR, the
	// newest /usr/lib/postgresql/*/bin, and the directory of initdb on
	// $PATH (as found, then with symlinks resolved).
	BinDir string

	// Durable starts the server with production durability (fsync,
	// synchronous_commit and full_page_writes on, and initdb syncs its
	// files) instead of the fast, non-durable default. For measurements
	// that must reflect what a production database costs (the payment
	// benchmarks); Dir should then be on a disk, not tmpfs, where an
	// fsync costs nothing.
	Durable bool
}

// Cluster is a running throwaway PostgreSQL server. Use [Start] to create
// one and [Cluster.Stop] to shut it down and delete its files.
type Cluster struct {
	dir     string // temporary directory holding everything; removed by Stop
	sockDir string // socket directory, inside dir unless the path was too long
	logPath string
	logger  *slog.Logger
	binDir  string
	durable bool

	proc    *os.Process
	exited  chan struct{} // closed when the server process has exited
	exitErr error         // result of Wait; valid once exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start creates a new cluster in a temporary directory, starts the server
// and waits until it accepts connections (at most 30 seconds, or until ctx
// is done). The caller must call [Cluster.Stop].
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	begin := time.Now()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	initdb := filepath.Join(binDir, "initdb")
	postgres := filepath.Join(binDir, "postgres")

	parent := opts.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	if parent, err = filepath.Abs(parent); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}

	// PostgreSQL refuses to run as root, so root runs it as somebody else.
	var runAs *account
	if os.Geteuid() == 0 {
		if runAs, err = unprivilegedAccount(); err != nil {
			return nil, err
		}
		if err := checkSearchable(parent, runAs); err != nil {
			return nil, err
		}
	}

	reapStale(parent, dirPrefix, logger)

	dir, err := os.MkdirTemp(parent, dirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: create cluster directory: %w", err)
	}
	c = &Cluster{
		dir:     dir,
		logPath: filepath.Join(dir, "server.log"),
		logger:  logger,
		binDir:  binDir,
		durable: opts.Durable,
		exited:  make(chan struct{}),
	}
	defer func() {
		if err != nil {
			c.kill()
			if rerr := c.removeDirs(); rerr != nil {
				err = fmt.Errorf("%w\n(cleaning up: %v)", err, rerr)
			}
			c = nil
		}
	}()
	if err := writeOwner(dir); err != nil {
		return c, err
	}
	if c.sockDir, err = makeSocketDir(dir, runAs, logger); err != nil {
		return c, err
	}
	if runAs != nil {
		if err := chownTree(dir, runAs); err != nil {
			return c, err
		}
	}
	dataDir := filepath.Join(dir, "data")
	env := childEnv(dir)

	// initdb
	initdbStart := time.Now()
	initdbArgs := []string{
		"-D", dataDir, "-U", Superuser, "--auth=trust",
		"-E", "UTF8", "--locale=C",
	}
	if !opts.Durable {
		initdbArgs = append(initdbArgs, "--no-sync")
	}
	if supportsNoInstructions(ctx, initdb) {
		initdbArgs = append(initdbArgs, "--no-instructions")
	}
	initdbLog := filepath.Join(dir, "initdb.log")
	if err := runInitdb(ctx, initdb, initdbArgs, dir, env, runAs, initdbLog); err != nil {
		return c, err
	}
	initdbTime := time.Since(initdbStart)

	// postgres
	serverStart := time.Now()
	args := []string{"-D", dataDir, "-k", c.sockDir, "-p", strconv.Itoa(Port)}
	settings := fastSettings
	if opts.Durable {
		settings = durableSettings
	}
	for _, s := range append(slices.Clone(serverSettings), settings...) {
		args = append(args, "-c", s)
	}
	if err := c.startServer(postgres, args, dir, env, runAs); err != nil {
		return c, err
	}
	if err := c.waitReady(ctx); err != nil {
		return c, err
	}

	logger.Debug("pgcluster: started",
		"dir", dir,
		"socket_dir", c.sockDir,
		"bin_dir", binDir,
		"durable", opts.Durable,
		"initdb", initdbTime.Round(time.Millisecond),
		"server_start", time.Since(serverStart).Round(time.Millisecond),
		"total", time.Since(begin).Round(time.Millisecond))
	return c, nil
}

// URL returns a connection URL for the given database as the superuser,
// e.g. postgres://tollgate@/postgres?host=%2Ftmp%2Ftollgate-pg-1%2Fsock&port=5432&sslmode=disable.
// The database "postgres" always exists.
func (c *Cluster) URL(database string) string {
	return SocketURL(c.sockDir, database)
}

// SocketURL returns the connection URL for database on a cluster whose
// socket directory is sockDir (see [Cluster.URL]).
func SocketURL(sockDir, database string) string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.User(Superuser),
		Path:   "/" + database,
		// libpq decodes '+' in query values as a literal '+', not as a
		// space, so url.Values.Encode cannot be used.
		RawQuery: "host=" + queryEscape(sockDir) +
			"&port=" + strconv.Itoa(Port) + // shadow $PGPORT in clients
			"&sslmode=disable",
	}
	return u.String()
}

func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// SocketDir returns the directory containing the server's unix socket.
func (c *Cluster) SocketDir() string { return c.sockDir }

// Dir returns the cluster's temporary directory (data directory, logs,
// usually the socket directory). It is deleted by [Cluster.Stop].
func (c *Cluster) Dir() string { return c.dir }

// BinDir returns the directory of the PostgreSQL binaries the cluster
// runs (where pgbench, psql and friends are too, when installed).
func (c *Cluster) BinDir() string { return c.binDir }

// Durable reports whether the cluster was started with production
// durability ([Options.Durable]).
func (c *Cluster) Durable() bool { return c.durable }

// LogPath returns the path of the server's log file (inside [Cluster.Dir]).
func (c *Cluster) LogPath() string { return c.logPath }

// Stop shuts the server down (fast shutdown: SIGINT, then SIGKILL after 10
// seconds) and deletes the cluster's directory. It may be called more than
// once; later calls return the result of the first.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	var errs []error
	if c.proc != nil {
		select {
		case <-c.exited:
			// It died on its own: something is wrong, say so.
			errs = append(errs, fmt.Errorf("pgcluster: server had already exited (%v)%s",
				c.exitErr, logTail(c.logPath)))
		default:
			begin := time.Now()
			_ = c.proc.Signal(syscall.SIGINT) // fast shutdown
			select {
			case <-c.exited:
				c.logger.Debug("pgcluster: stopped", "dir", c.dir,
					"took", time.Since(begin).Round(time.Millisecond))
			case <-time.After(stopTimeout):
				c.logger.Warn("pgcluster: server did not shut down in time; killing it",
					"timeout", stopTimeout, "dir", c.dir)
				c.kill()
			}
		}
	}
	if err := c.removeDirs(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// kill sends SIGKILL to the server, if running, and waits for it to exit.
func (c *Cluster) kill() {
	if c.proc == nil {
		return
	}
	select {
	case <-c.exited:
	default:
		_ = c.proc.Kill()
		<-c.exited
	}
}

func (c *Cluster) removeDirs() error {
	var errs []error
	if c.sockDir != "" && !strings.HasPrefix(c.sockDir, c.dir+string(filepath.Separator)) {
		if err := removeAll(c.sockDir); err != nil {
			errs = append(errs, fmt.Errorf("pgcluster: %w", err))
		}
	}
	if err := removeAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgcluster: %w", err))
	}
	return errors.Join(errs...)
}

// removeAll is os.RemoveAll, retried briefly in case a process that was
// just killed is still creating files.
func removeAll(dir string) error {
	var err error
	for range 5 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// startServer starts postgres as a direct child process.
//
// Why not "pg_ctl start"? pg_ctl daemonises the server: it is re-parented
// to init and keeps running when the test binary dies without cleaning up
// (panic, test timeout, kill -9, a debugger session that is abandoned...),
// leaking a server and its files with every such run. As our own child, the
// server can be given a parent-death signal (PR_SET_PDEATHSIG): the kernel
// sends SIGQUIT (immediate shutdown, which also terminates all backends)
// to the server as soon as we die, however we die.
//
// The parent-death signal fires when the *thread* that started the child
// exits, not the process. Go threads normally live as long as the process,
// but a thread is destroyed when a goroutine locked to it exits. So the
// server is started from a goroutine that locks its thread and stays alive
// (in Wait) for as long as the server runs; that thread cannot be destroyed
// under the server by anybody else.
func (c *Cluster) startServer(postgres string, args []string, dir string, env []string, runAs *account) error {
	logFile, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer logFile.Close() // the child has its own copy of the descriptor

	cmd := exec.Command(postgres, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig: syscall.SIGQUIT,
		// Own process group: a Ctrl-C in the terminal goes to us, not the
		// server, so we decide when and how it stops.
		Setpgid: true,
	}
	if runAs != nil {
		cmd.SysProcAttr.Credential = runAs.credential()
	}

	started := make(chan error, 1)
	go func() {
		// Deliberately never unlocked: see the doc comment.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.exitErr = cmd.Wait()
		close(c.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgcluster: start %s: %w", postgres, err)
	}
	c.proc = cmd.Process
	return nil
}

// waitReady polls until the server accepts connections.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, readyTimeout,
		fmt.Errorf("server did not accept connections within %v", readyTimeout))
	defer cancel()
	url := c.URL("postgres")
	ticker := time.NewTicker(readyInterval)
	defer ticker.Stop()
	var lastErr error
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attemptCtx, url)
		if err == nil {
			err = conn.Ping(attemptCtx)
			conn.Close(attemptCtx)
		}
		cancelAttempt()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-c.exited:
			return fmt.Errorf("pgcluster: server exited during start-up (%v)%s", c.exitErr, logTail(c.logPath))
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: waiting for the server: %w (last connection error: %v)%s",
				context.Cause(ctx), lastErr, logTail(c.logPath))
		case <-ticker.C:
		}
	}
}

func runInitdb(ctx context.Context, initdb string, args []string, dir string, env []string, runAs *account, logPath string) error {
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, initdb, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if runAs != nil {
		cmd.SysProcAttr.Credential = runAs.credential()
	}
	// On cancellation kill initdb's whole process group: it runs postgres
	// in bootstrap mode, which would otherwise go on writing into the
	// directory that we are about to delete.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		}
		return fmt.Errorf("pgcluster: %s failed: %w%s", initdb, err, logTail(logPath))
	}
	return nil
}

// supportsNoInstructions reports whether initdb knows --no-instructions
// (PostgreSQL 14 and later).
func supportsNoInstructions(ctx context.Context, initdb string) bool {
	out, _ := exec.CommandContext(ctx, initdb, "--help").Output()
	return bytes.Contains(out, []byte("--no-instructions"))
}

// childEnv returns the environment for initdb and postgres: ours, minus
// anything that could change their behaviour (PG*, locale), plus a HOME
// they can access.
func childEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "PG"), strings.HasPrefix(name, "LC_"),
			name == "LANG", name == "LANGUAGE", name == "HOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "HOME="+home)
}

// logTail returns the last lines of the log file at path, formatted to be
// appended to an error message, or "" if there is nothing to show.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > logTailBytes {
		_, _ = f.Seek(st.Size()-logTailBytes, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	text := strings.TrimSpace(strings.Join(lines, "\n"))
	if text == "" {
		return ""
	}
	return "\n--- end of " + filepath.Base(path) + " ---\n" + text
}

// makeSocketDir creates the socket directory: dir/sock, or a separate
// temporary directory if that path would be too long for a unix socket.
func makeSocketDir(dir string, runAs *account, logger *slog.Logger) (string, error) {
	sockDir := filepath.Join(dir, "sock")
	if len(sockDir)+1+len(socketFileName) > maxSocketPath {
		var err error
		sockDir, err = os.MkdirTemp(os.TempDir(), sockDirPrefix+"*")
		if err != nil {
			return "", fmt.Errorf("pgcluster: create socket directory: %w", err)
		}
		if len(sockDir)+1+len(socketFileName) > maxSocketPath {
			os.Remove(sockDir)
			return "", fmt.Errorf("pgcluster: socket directory path %q is too long for a unix socket; use a shorter Options.Dir or $TMPDIR", sockDir)
		}
		logger.Debug("pgcluster: cluster directory path too long for a unix socket; socket directory is elsewhere",
			"socket_dir", sockDir)
		if err := writeOwner(sockDir); err != nil {
			os.Remove(sockDir)
			return "", err
		}
		if runAs != nil {
			if err := chownTree(sockDir, runAs); err != nil {
				os.RemoveAll(sockDir)
				return "", err
			}
		}
		reapStale(os.TempDir(), sockDirPrefix, logger)
		return sockDir, nil
	}
	// 0700 is enough: the server's user owns it, and root (the only other
	// user that ever runs us with a different server user) ignores modes.
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		return "", fmt.Errorf("pgcluster: create socket directory: %w", err)
	}
	return sockDir, nil
}

// ----- binaries -----

type notFoundError struct {
	binary string // "initdb" or "postgres"
	looked string // where we looked
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("pgcluster: PostgreSQL server binary %q not found (looked in %s): install postgresql (scripts/setup.sh does this)",
		e.binary, e.looked)
}

func (e *notFoundError) Is(target error) bool { return target == ErrNotInstalled }

// missingBinary returns the first of initdb and postgres that dir lacks,
// or "".
func missingBinary(dir string) string {
	for _, name := range []string{"initdb", "postgres"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return name
		}
	}
	return ""
}

func findBinDir(explicit string) (string, error) {
	if explicit != "" {
		if abs, err := filepath.Abs(explicit); err == nil {
			explicit = abs
		}
		if name := missingBinary(explicit); name != "" {
			return "", &notFoundError{name, "Options.BinDir " + explicit}
		}
		return explicit, nil
	}
	if env := os.Getenv("TOLLGATE_PG_BINDIR"); env != "" {
		if abs, err := filepath.Abs(env); err == nil {
			env = abs
		}
		if name := missingBinary(env); name != "" {
			return "", &notFoundError{name, "$TOLLGATE_PG_BINDIR " + env}
		}
		return env, nil
	}
	const looked = "$TOLLGATE_PG_BINDIR (unset), /usr/lib/postgresql/*/bin and $PATH"
	missing := "initdb"
	for _, dir := range debianBinDirs() {
		name := missingBinary(dir)
		if name == "" {
			return dir, nil
		}
		if name == "postgres" {
			missing = name // initdb is there, the server package is not
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dirs := []string{filepath.Dir(initdb)}
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		for _, dir := range dirs {
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
			if missingBinary(dir) == "" {
				return dir, nil
			}
		}
		missing = "postgres"
	}
	return "", &notFoundError{missing, looked}
}

// debianBinDirs returns /usr/lib/postgresql/*/bin, newest version first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return dirs
}

// ----- running as somebody else -----

// account is the unprivileged user that runs initdb and postgres when we
// are root.
type account struct {
	name     string
	uid, gid uint32
}

func (a *account) credential() *syscall.Credential {
	// Groups is empty: drop root's supplementary groups.
	return &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: []uint32{}}
}

func unprivilegedAccount() (*account, error) {
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, fmt.Errorf("user %s: %w", name, err))
			continue
		}
		if uid == 0 {
			continue
		}
		return &account{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("pgcluster: running as root, and PostgreSQL refuses to run as root, "+
		"but there is no unprivileged user (postgres or nobody) to run it as: %w", errors.Join(errs...))
}

// checkSearchable makes sure that a can reach dir: every directory from
// the root down to dir must grant it search (x) permission.
func checkSearchable(dir string, a *account) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if ok {
			perm := st.Mode().Perm()
			var bit os.FileMode = 0o001
			switch {
			case sys.Uid == a.uid:
				bit = 0o100
			case sys.Gid == a.gid:
				bit = 0o010
			}
			if perm&bit == 0 {
				return fmt.Errorf("pgcluster: directory %s is not accessible to user %s (uid %d), "+
					"which runs the server because PostgreSQL refuses to run as root; "+
					"use an Options.Dir that everybody can search, such as %s",
					d, a.name, a.uid, os.TempDir())
			}
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

func chownTree(root string, a *account) error {
	err := filepath.WalkDir(root, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(a.uid), int(a.gid))
	})
	if err != nil {
		return fmt.Errorf("pgcluster: give %s to user %s: %w", root, a.name, err)
	}
	return nil
}

// ----- cleaning up after processes that died without calling Stop -----

// writeOwner records in dir which process owns it, for reapStale.
func writeOwner(dir string) error {
	content := fmt.Sprintf("%d\n%s\n", os.Getpid(), pidNamespace())
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(content), 0o644); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return "unknown"
	}
	return ns
}

// reapStale removes directories named prefix* in parent that were created
// by processes that no longer exist (killed before they could call Stop)
// and whose server is gone too. It only touches directories with an owner
// file written by a process in our PID namespace, so it never mistakes a
// live cluster of another container sharing /tmp for a dead one.
func reapStale(parent, prefix string, logger *slog.Logger) {
	matches, _ := filepath.Glob(filepath.Join(parent, prefix+"*"))
	ns := pidNamespace()
	for _, dir := range matches {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(data))
		if len(fields) != 2 || fields[1] != ns || ns == "unknown" {
			continue
		}
		if pid, err := strconv.Atoi(fields[0]); err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		// The postmaster should have died with its parent; make sure.
		if pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(pidFile), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && alive(pid) {
				continue
			}
		}
		if err := os.RemoveAll(dir); err == nil {
			logger.Debug("pgcluster: removed directory left behind by a dead process", "dir", dir)
		}
	}
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// A zombie has exited; it merely waits for its (new) parent to reap it.
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}
