package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/pgcluster"
)

// envDurableDir names the directory in which the payment benchmarks start
// their durable cluster (default: os.TempDir()). It must be on a disk:
// on tmpfs an fsync costs nothing and the figures would not be durable
// ones, so startDurableCluster refuses tmpfs.
const envDurableDir = "BENCH_DURABLE_DIR"

// tmpfsMagic is the f_type statfs reports for tmpfs (linux/magic.h).
const tmpfsMagic = 0x01021994

// startDurableCluster starts a second PostgreSQL cluster, beside the test
// binary's fast one from pgtest, with production durability
// (pgcluster.Options.Durable: fsync, synchronous_commit and
// full_page_writes on), for the benchmarks whose figures must be what a
// production database gives (BenchmarkPaymentsAPI,
// BenchmarkPaymentToRestore). It is stopped when b ends. Nothing in these
// benchmarks turns durability off: they check the settings before they
// measure.
func startDurableCluster(b *testing.B) *pgcluster.Cluster {
	b.Helper()
	dir := os.Getenv(envDurableDir)
	if dir == "" {
		dir = os.TempDir()
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		b.Fatalf("durable cluster directory %s: %v", dir, err)
	}
	if fs.Type == tmpfsMagic {
		b.Fatalf("durable cluster directory %s is on tmpfs, where fsync costs nothing: set $%s to a directory on a disk", dir, envDurableDir)
	}
	c, err := pgcluster.Start(b.Context(), pgcluster.Options{Dir: dir, Durable: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.Stop(); err != nil {
			b.Errorf("durable cluster: %v", err)
		}
	})
	return c
}

// durableDatabase creates database name on the durable cluster c, migrated
// like pgtest's template, and returns its URL. It fails the benchmark
// unless the server really runs with fsync, synchronous_commit and
// full_page_writes on.
func durableDatabase(b *testing.B, c *pgcluster.Cluster, name string) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(context.Background())
	var fsync, syncCommit, fullPages string
	if err := admin.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('full_page_writes')`).
		Scan(&fsync, &syncCommit, &fullPages); err != nil {
		b.Fatal(err)
	}
	if fsync != "on" || syncCommit != "on" || fullPages != "on" {
		b.Fatalf("durable cluster runs with fsync=%s synchronous_commit=%s full_page_writes=%s, want all on", fsync, syncCommit, fullPages)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	url := c.URL(name)
	if err := postgres.Migrate(ctx, url); err != nil {
		b.Fatalf("migrate %s: %v", name, err)
	}
	return url
}

// checkpoint forces a checkpoint on the cluster of url, so that two
// measurements on it start alike (the first change of each page after a
// checkpoint writes the whole page to the WAL).
func checkpoint(ctx context.Context, b *testing.B, url string) {
	b.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
}

// paymentFloorScript is the payment-shaped pgbench transaction: roughly
// what one payment through the API writes, in one transaction — a
// payment_posted journal transaction with its two entries, the payment row
// and an update of the account's open invoice — on the real tables (their
// indexes, constraints and the journal's balance trigger), without the API,
// the Idempotency-Key or any Go. Accounts and invoices as seedAccounts
// makes them (accounts 1..1000, the open invoice of account a is
// 12000000 + a).
const paymentFloorScript = `\set acct random(1, 1000)
\set amt random(1000, 4999)
\set neg -1 * :amt
BEGIN;
INSERT INTO journal_transactions (kind, account_id, currency, memo, effective_date, posted_at)
  VALUES ('payment_posted', :acct, 'USD', 'pgbench floor', current_date, now());
INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
  VALUES (currval('journal_transactions_id_seq'), 1, :acct, 'undeposited_funds', :amt),
         (currval('journal_transactions_id_seq'), 2, :acct, 'accounts_receivable', :neg);
INSERT INTO payments (account_id, method, amount, currency, received_date, memo, journal_tx_id, posted_at, allocated)
  VALUES (:acct, 'cash', :amt, 'USD', current_date, 'pgbench floor', currval('journal_transactions_id_seq'), now(), 0);
UPDATE invoices SET paid = least(total, paid + :amt) WHERE id = 12000000 + :acct;
END;
`

// pgbenchTPS matches pgbench's throughput line (PostgreSQL 14 and later
// say "without initial connection time", older ones "excluding
// connections establishing").
var pgbenchTPS = regexp.MustCompile(`tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)`)

// paymentsFloor runs paymentFloorScript with pgbench (from the cluster's
// own binaries) against database on cluster c: clients connections,
// perClient transactions each, prepared statements, and returns the
// transactions per second. The database must hold seedAccounts' 1,000
// accounts. It fails the benchmark if pgbench fails or any transaction is
// missing.
func paymentsFloor(ctx context.Context, b *testing.B, c *pgcluster.Cluster, database string, clients, perClient int) float64 {
	b.Helper()
	pgbench := filepath.Join(c.BinDir(), "pgbench")
	if _, err := os.Stat(pgbench); err != nil {
		b.Fatalf("pgbench: %v (it comes with the postgresql package)", err)
	}
	script := filepath.Join(b.TempDir(), "payment.sql")
	if err := os.WriteFile(script, []byte(paymentFloorScript), 0o644); err != nil {
		b.Fatal(err)
	}
	threads := min(clients, runtime.NumCPU())
	cmd := exec.CommandContext(ctx, pgbench, "-n", "-M", "prepared", "-f", script,
		"-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads), "-t", strconv.Itoa(perClient),
		"-h", c.SocketDir(), "-p", strconv.Itoa(pgcluster.Port), "-U", pgcluster.Superuser, database)
	cmd.Env = append(os.Environ(), "PGOPTIONS=", "PGPASSWORD=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		b.Fatalf("pgbench printed no tps line:\n%s", out)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.URL(database))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	var posted int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM payments WHERE memo = 'pgbench floor'`).Scan(&posted); err != nil {
		b.Fatal(err)
	}
	if posted != clients*perClient {
		b.Fatalf("pgbench floor: %d payments in the database, want %d\n%s", posted, clients*perClient, out)
	}
	return tps
}

// niceValue returns the nice value of the calling thread.
func niceValue() (int, error) {
	// The raw system call returns 20 - nice.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	return 20 - p, err
}

// setNice sets the nice value of every thread of this process (on Linux
// a nice value belongs to a thread; threads created later inherit their
// creator's). Twice, for a thread started while the first pass ran.
func setNice(n int) error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			err = syscall.Setpriority(syscall.PRIO_PROCESS, tid, n)
			if err != nil && err != syscall.ESRCH { // ESRCH: the thread has ended
				return fmt.Errorf("setpriority(%d, %d): %w", tid, n, err)
			}
		}
	}
	return nil
}
