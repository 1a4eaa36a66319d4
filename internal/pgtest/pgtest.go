package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-isp/tollgate/internal/pgcluster"
)

// EnvDatabaseURL names the environment variable that makes [Main] use an
// existing server instead of starting a throwaway cluster.
const EnvDatabaseURL = "TOLLGATE_TEST_DATABASE_URL"

const (
	setupTimeout   = 5 * time.Minute // cluster start + template + migrations
	dbOpTimeout    = time.Minute     // one CREATE or DROP DATABASE
	cleanupTimeout = time.Minute
)

// MigrateFunc brings the database at databaseURL up to date. It must close
// every connection it opens before returning.
type MigrateFunc func(ctx context.Context, databaseURL string) error

// Option configures [Main].
type Option func(*config)

type config struct {
	migrate MigrateFunc
	logger  *slog.Logger
}

// WithMigrate makes [Main] run migrate once on the template database, so
// that every database returned by [NewDatabase] is migrated.
func WithMigrate(migrate MigrateFunc) Option {
	return func(c *config) { c.migrate = migrate }
}

// WithLogger makes [Main] log progress (including the cluster's start-up
// time, at Debug level) to logger. By default nothing is logged.
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

const howToUseMain = `pgtest: pgtest.Main has not run in this test binary; add to the package's tests:

	func TestMain(m *testing.M) {
		os.Exit(pgtest.Main(m)) // or pgtest.Main(m, pgtest.WithMigrate(...))
	}`

// env is the state set up by Main.
type env struct {
	cluster  *pgcluster.Cluster // nil when using an existing server
	adminURL string
	urlFor   func(database string) string
	admin    *pgxpool.Pool

	template   string // name of the migrated template database
	namePrefix string // tollgate_test_<pid>_<random>_
	seq        atomic.Int64
	version    int // server_version_num

	mu      sync.Mutex
	created map[string]struct{} // per-test databases not dropped yet

	// Timings, for the curious (and this package's tests).
	clusterStartTime  time.Duration
	templateSetupTime time.Duration

	cleanupOnce sync.Once
	cleanupErr  error
}

var (
	currentMu sync.Mutex
	current   *env
)

func currentEnv() *env {
	currentMu.Lock()
	defer currentMu.Unlock()
	return current
}

// Main sets up the database server for the test binary, runs the tests
// and cleans up; pass its result to os.Exit (see the package
// documentation). It returns m.Run's exit code, or 1 after printing the
// reason to stderr if the database cannot be set up.
//
// While Main runs, SIGINT and SIGTERM make it clean up and exit with code
// 130 or 143.
func Main(m *testing.M, opts ...Option) int {
	var cfg config
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}

	setupCtx, cancelSetup := context.WithTimeout(context.Background(), setupTimeout)
	defer cancelSetup()

	// Clean up when interrupted, including during set-up.
	var (
		sigMu     sync.Mutex
		activeEnv *env      // set once there is something to clean up
		received  os.Signal // set when a signal arrived
	)
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case sig := <-sigc:
			fmt.Fprintf(os.Stderr, "pgtest: received %v; cleaning up\n", sig)
			sigMu.Lock()
			received = sig
			e := activeEnv
			sigMu.Unlock()
			cancelSetup()
			if e == nil {
				// Set-up is under way and will fail because of the
				// canceled context, cleaning up after itself; Main then
				// returns the exit code.
				return
			}
			// Tests may still be using the admin pool, so don't wait
			// for it to close.
			if err := e.cleanup(false); err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: cleanup: %v\n", err)
			}
			os.Exit(signalExitCode(sig))
		}
	}()
	register := func(e *env) {
		sigMu.Lock()
		activeEnv = e
		sigMu.Unlock()
	}
	interrupted := func() os.Signal {
		sigMu.Lock()
		defer sigMu.Unlock()
		return received
	}

	e, err := setup(setupCtx, cfg, register)
	if sig := interrupted(); sig != nil {
		// The signal arrived before set-up registered e (otherwise the
		// handler would have exited), so the handler left cleaning up
		// to us.
		if e != nil {
			_ = e.cleanup(true)
		}
		return signalExitCode(sig)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: cannot set up the test database: %v\n", err)
		return 1
	}
	currentMu.Lock()
	current = e
	currentMu.Unlock()

	code := m.Run()

	currentMu.Lock()
	current = nil
	currentMu.Unlock()
	if sig := interrupted(); sig != nil {
		// The handler is cleaning up and will exit; tests failed
		// because the server went away. Same exit code either way.
		_ = e.cleanup(false) // waits for the handler's cleanup
		return signalExitCode(sig)
	}
	if err := e.cleanup(true); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: cleanup: %v\n", err)
	}
	return code
}

func signalExitCode(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return 128 + int(syscall.SIGTERM) // 143
	}
	return 128 + int(syscall.SIGINT) // 130
}

// setup starts the cluster (or connects to the existing server) and
// creates and migrates the template. register is called as soon as there
// is something to clean up. On error, setup has cleaned up.
func setup(ctx context.Context, cfg config, register func(*env)) (_ *env, err error) {
	e := &env{created: make(map[string]struct{})}
	suffix := strconv.Itoa(os.Getpid()) + "_" + randomHex(4)
	e.template = "tollgate_tpl_" + suffix
	e.namePrefix = "tollgate_test_" + suffix + "_"

	begin := time.Now()
	if existing := os.Getenv(EnvDatabaseURL); existing != "" {
		if _, err := pgx.ParseConfig(existing); err != nil {
			return nil, fmt.Errorf("$%s: %w", EnvDatabaseURL, err)
		}
		e.adminURL = existing
		e.urlFor = func(database string) string { return withDatabase(existing, database) }
		cfg.logger.Debug("pgtest: using existing server", "env", EnvDatabaseURL)
	} else {
		c, err := pgcluster.Start(ctx, pgcluster.Options{Logger: cfg.logger})
		if err != nil {
			return nil, err
		}
		e.cluster = c
		e.adminURL = c.URL("postgres")
		e.urlFor = c.URL
		e.clusterStartTime = time.Since(begin)
	}
	register(e)
	defer func() {
		if err != nil {
			if cerr := e.cleanup(true); cerr != nil {
				err = fmt.Errorf("%w\n(cleanup: %v)", err, cerr)
			}
		}
	}()

	poolCfg, err := pgxpool.ParseConfig(e.adminURL)
	if err != nil {
		return nil, err
	}
	poolCfg.MaxConns = 8
	if e.admin, err = pgxpool.NewWithConfig(ctx, poolCfg); err != nil {
		return nil, err
	}
	var version string
	if err := e.admin.QueryRow(ctx, "SHOW server_version_num").Scan(&version); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(e.adminURL), err)
	}
	if e.version, err = strconv.Atoi(version); err != nil {
		return nil, fmt.Errorf("server_version_num %q: %w", version, err)
	}

	templateBegin := time.Now()
	e.addCreated(e.template)
	if _, err := e.admin.Exec(ctx, "CREATE DATABASE "+ident(e.template)+" TEMPLATE template0"); err != nil {
		return nil, fmt.Errorf("create template database: %w", err)
	}
	if cfg.migrate != nil {
		if err := cfg.migrate(ctx, e.urlFor(e.template)); err != nil {
			return nil, fmt.Errorf("migrate template database %s: %w", e.template, err)
		}
	}
	// Copying a database fails while anybody is connected to it. Keep
	// tests out of the template, and get rid of connections that the
	// migrate function forgot to close.
	if _, err := e.admin.Exec(ctx, "ALTER DATABASE "+ident(e.template)+" ALLOW_CONNECTIONS false"); err != nil {
		return nil, fmt.Errorf("lock template database: %w", err)
	}
	if err := e.disconnectTemplate(ctx); err != nil {
		return nil, err
	}
	e.templateSetupTime = time.Since(templateBegin)
	cfg.logger.Debug("pgtest: ready",
		"cluster_start", e.clusterStartTime.Round(time.Millisecond),
		"template_setup", e.templateSetupTime.Round(time.Millisecond),
		"template", e.template)
	return e, nil
}

// disconnectTemplate waits until nobody is connected to the template any
// more: connections closed by the migrate function take a moment to go
// away. Connections it left open are terminated.
func (e *env) disconnectTemplate(ctx context.Context) error {
	const countSQL = `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`
	deadline := time.Now().Add(2 * time.Second)
	for {
		var n int
		if err := e.admin.QueryRow(ctx, countSQL, e.template).Scan(&n); err != nil {
			return fmt.Errorf("check connections to template database: %w", err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(10 * time.Millisecond):
		}
	}
	var n int
	err := e.admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, e.template).Scan(&n)
	if err != nil {
		return fmt.Errorf("disconnect from template database: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(os.Stderr, "pgtest: the migrate function left %d connection(s) to the template database open; terminated them\n", n)
	}
	return nil
}

// cleanup stops the cluster, or on an existing server drops the template
// and all per-test databases that still exist. It runs once; later calls
// return the first call's result.
func (e *env) cleanup(closePool bool) error {
	e.cleanupOnce.Do(func() {
		var errs []error
		if e.cluster != nil {
			// Everything goes away with the cluster.
			errs = append(errs, e.cluster.Stop())
		} else if e.admin != nil {
			ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			defer cancel()
			e.mu.Lock()
			names := make([]string, 0, len(e.created))
			for name := range e.created {
				if name != e.template {
					names = append(names, name)
				}
			}
			e.mu.Unlock()
			// The template last: it may be the source of a copy that
			// is still in progress.
			if e.hasCreated(e.template) {
				names = append(names, e.template)
			}
			for _, name := range names {
				if err := e.drop(ctx, name); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if closePool && e.admin != nil {
			e.admin.Close()
		}
		e.cleanupErr = errors.Join(errs...)
	})
	return e.cleanupErr
}

func (e *env) addCreated(name string) {
	e.mu.Lock()
	e.created[name] = struct{}{}
	e.mu.Unlock()
}

func (e *env) hasCreated(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.created[name]
	return ok
}

// create creates a new database from the template and returns its name.
func (e *env) create(ctx context.Context, testName string) (string, error) {
	name := e.namePrefix + strconv.FormatInt(e.seq.Add(1), 10)
	if tag := sanitize(testName, 63-len(name)-1); tag != "" {
		name += "_" + tag // helps to tell whose database is whose
	}
	// The PostgreSQL 15+ default strategy, WAL_LOG, is used on purpose:
	// measured here, FILE_COPY took 250-290 ms per clone (it creates ~300
	// files and checkpoints twice) against 34-50 ms for WAL_LOG on a small
	// template.
	sql := "CREATE DATABASE " + ident(name) + " TEMPLATE " + ident(e.template)
	e.addCreated(name)
	if _, err := e.admin.Exec(ctx, sql); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return name, nil
}

// drop drops database name, even if somebody is still connected to it.
func (e *env) drop(ctx context.Context, name string) error {
	var err error
	if e.version >= 130000 {
		_, err = e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
	} else {
		_, err = e.admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
		if err == nil {
			_, err = e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name))
		}
	}
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	e.mu.Lock()
	delete(e.created, name)
	e.mu.Unlock()
	return nil
}

// NewDatabase creates a new database, a copy of the (migrated) template,
// and returns its URL. The database is dropped when the test ends. It
// needs [Main] to have run (see the package documentation), and is safe
// for parallel tests.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, currentEnv())
}

func newDatabase(t testing.TB, e *env) string {
	t.Helper()
	if e == nil {
		t.Fatal(howToUseMain)
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), dbOpTimeout)
	defer cancel()
	name, err := e.create(ctx, t.Name())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
		return ""
	}
	t.Cleanup(func() {
		// Not t.Context(): it is canceled before cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), dbOpTimeout)
		defer cancel()
		if err := e.drop(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return e.urlFor(name)
}

// NewPool creates a new database like [NewDatabase] and returns a pool
// connected to it. The pool is closed, and the database dropped, when the
// test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), dbOpTimeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the database's cleanup: LIFO
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("pgtest: connect to new database: %v", err)
	}
	return pool
}

// URL returns the URL of database on the test server. It panics if
// [Main] is not running.
func URL(database string) string {
	e := currentEnv()
	if e == nil {
		panic(howToUseMain)
	}
	return e.urlFor(database)
}

// AdminURL returns the URL that Main uses for administration: the
// "postgres" database of the throwaway cluster as its superuser, or
// $TOLLGATE_TEST_DATABASE_URL. It panics if [Main] is not running.
func AdminURL() string {
	e := currentEnv()
	if e == nil {
		panic(howToUseMain)
	}
	return e.adminURL
}

// withDatabase returns connString (a URL or keyword/value string) with
// the database replaced by database.
func withDatabase(connString, database string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err == nil {
			u.Path = "/" + database
			u.RawPath = ""
			// A dbname query parameter would override the path.
			var params []string
			for p := range strings.SplitSeq(u.RawQuery, "&") {
				if p != "" && !strings.HasPrefix(p, "dbname=") {
					params = append(params, p)
				}
			}
			u.RawQuery = strings.Join(params, "&")
			return u.String()
		}
	}
	// keyword/value: a later keyword overrides an earlier one.
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(database)
	return strings.TrimSpace(connString) + " dbname='" + quoted + "'"
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// sanitize reduces s to at most n characters from [a-z0-9_].
func sanitize(s string, n int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if b.Len() >= n {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	return strings.Trim(b.String(), "_")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// redact removes a password from a URL for error messages.
func redact(connString string) string {
	if u, err := url.Parse(connString); err == nil && u.User != nil {
		return u.Redacted()
	}
	if strings.Contains(connString, "password") {
		return "$" + EnvDatabaseURL
	}
	return connString
}
