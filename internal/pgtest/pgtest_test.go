package pgtest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	os.Exit(Main(m, WithMigrate(migrate)))
}

// migrate is a tiny stand-in for the real migrations.
func migrate(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TABLE items (
		id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		owner text NOT NULL
	)`)
	return err
}

func TestStartupTiming(t *testing.T) {
	e := currentEnv()
	if e.cluster == nil {
		t.Logf("using existing server from $%s", EnvDatabaseURL)
	}
	t.Logf("TIMING pgtest.Main: cluster start %v, template create+migrate %v",
		e.clusterStartTime.Round(time.Millisecond), e.templateSetupTime.Round(time.Millisecond))
}

// TestParallelDatabasesAreIsolated runs two parallel tests that each write
// to their own database at the same time.
func TestParallelDatabasesAreIsolated(t *testing.T) {
	var (
		mu    sync.Mutex
		names = map[string]string{} // test name -> database
	)
	var inserted sync.WaitGroup // both have inserted their row
	inserted.Add(2)
	t.Run("group", func(t *testing.T) {
		for _, owner := range []string{"a", "b"} {
			t.Run(owner, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				begin := time.Now()
				pool := NewPool(t)
				t.Logf("TIMING NewPool (CREATE DATABASE from template + connect): %v", time.Since(begin).Round(time.Microsecond))

				var db string
				if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				names[owner] = db
				mu.Unlock()

				_, err := pool.Exec(ctx, "INSERT INTO items (owner) VALUES ($1)", owner)
				inserted.Done()
				if err != nil {
					t.Fatalf("the migrated table is missing? %v", err)
				}
				// Wait for the other test's insert, so that sharing a
				// database would show.
				wait := make(chan struct{})
				go func() { inserted.Wait(); close(wait) }()
				select {
				case <-wait:
				case <-time.After(10 * time.Second):
					t.Log("the other test did not insert within 10s (-parallel=1?); checking anyway")
				}

				rows, err := pool.Query(ctx, "SELECT owner FROM items")
				if err != nil {
					t.Fatal(err)
				}
				owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				if len(owners) != 1 || owners[0] != owner {
					t.Errorf("database %s has rows of %q, want only [%s]", db, owners, owner)
				}
			})
		}
	})

	if names["a"] == "" || names["a"] == names["b"] {
		t.Fatalf("parallel tests got databases %q and %q, want two distinct ones", names["a"], names["b"])
	}
	t.Logf("databases: %v", names)

	// The subtests have ended, so their databases must be gone.
	ctx := t.Context()
	var left int
	err := currentEnv().admin.QueryRow(ctx,
		"SELECT count(*) FROM pg_database WHERE datname = ANY($1)", []string{names["a"], names["b"]}).Scan(&left)
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d per-test database(s) still exist after their tests ended", left)
	}
}

func TestNewDatabaseTiming(t *testing.T) {
	const n = 10
	var total time.Duration
	for i := range n {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			begin := time.Now()
			url := NewDatabase(t)
			total += time.Since(begin)
			conn, err := pgx.Connect(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var count int
			if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM items").Scan(&count); err != nil || count != 0 {
				t.Fatalf("fresh database: count(*) = %d, %v", count, err)
			}
		})
	}
	t.Logf("NewDatabase: %v average over %d sequential calls",
		(total / n).Round(time.Microsecond), n)
}

func TestTemplateRefusesConnections(t *testing.T) {
	conn, err := pgx.Connect(t.Context(), URL(currentEnv().template))
	if err == nil {
		conn.Close(t.Context())
		t.Fatal("connected to the template database; copies of it would fail while connected")
	}
}

// fatalTB records a Fatal call and ends the goroutine like testing.T.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestNewDatabaseWithoutMain(t *testing.T) {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		newDatabase(tb, nil)
	}()
	<-done
	if !strings.Contains(tb.msg, "func TestMain(m *testing.M)") || !strings.Contains(tb.msg, "pgtest.Main(m") {
		t.Errorf("message does not explain how to add TestMain:\n%s", tb.msg)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, wantHost string }{
		{"postgres://u:p%40ss@db.example:5433/orig?sslmode=disable", "db.example"},
		{"postgresql://u@/orig?host=%2Fvar%2Frun%2Fpostgresql&dbname=orig", "/var/run/postgresql"},
		{"postgres://u@localhost", "localhost"},
		{"host=/tmp user=u dbname=orig", "/tmp"},
		{"host=localhost user=u", "localhost"},
	} {
		got := withDatabase(tc.in, "new_db")
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Errorf("withDatabase(%q) = %q: %v", tc.in, got, err)
			continue
		}
		if cfg.Database != "new_db" || cfg.Host != tc.wantHost || cfg.User != "u" {
			t.Errorf("withDatabase(%q) = %q: database %q host %q user %q", tc.in, got, cfg.Database, cfg.Host, cfg.User)
		}
	}
}

func TestSanitize(t *testing.T) {
	if got := sanitize("TestFoo/sub_test#01", 63); got != "testfoo_sub_test_01" {
		t.Errorf("sanitize = %q", got)
	}
	if got := sanitize("TestSomethingVeryLong", 8); len(got) > 8 {
		t.Errorf("sanitize = %q, longer than 8", got)
	}
}
