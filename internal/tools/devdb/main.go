package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/internal/pgcluster"
)

const usage = `Usage: go run ./internal/tools/devdb [flags]

Starts a throwaway PostgreSQL server (unix socket only, no durability),
creates a database and prints its URL on stdout, e.g.

    postgres://tollgate@/tollgate?host=%%2Ftmp%%2Ftollgate-pg-123%%2Fsock&port=5432&sslmode=disable

then runs until it receives SIGINT (Ctrl-C) or SIGTERM, when it stops the
server and deletes its files. The server also goes away if devdb is killed.
Progress and errors go to stderr.

Typical use from a script:

    go run ./internal/tools/devdb -url-file "$tmp/db.url" &
    devdb_pid=$!
    while [ ! -s "$tmp/db.url" ]; do sleep 0.1; done
    DATABASE_URL=$(cat "$tmp/db.url")
    ...
    kill "$devdb_pid"; wait "$devdb_pid"

Stop it with SIGTERM (plain "kill"): "go run" ignores SIGINT, so only a
Ctrl-C in the terminal, which reaches devdb directly, works as SIGINT.
devdb also stops cleanly when its parent process (such as "go run" or the
script) dies.

PostgreSQL must be installed (scripts/setup.sh does this); set
TOLLGATE_PG_BINDIR to choose its bin directory.

Flags:
`

func main() {
	os.Exit(run())
}

func run() int {
	flags := flag.NewFlagSet("devdb", flag.ContinueOnError)
	flags.SetOutput(os.Stderr)
	dir := flags.String("dir", "", "parent `directory` for the cluster's temporary directory (default $TMPDIR or /tmp)")
	dbName := flags.String("db", "tollgate", "`name` of the database to create")
	urlFile := flags.String("url-file", "", "also write the URL to `file` (atomically, once the database exists; removed on exit)")
	verbose := flags.Bool("v", false, "log progress (start-up timing etc.) to stderr")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "devdb: unexpected arguments: %q\n", flags.Args())
		flags.Usage()
		return 2
	}
	if *dbName == "" {
		fmt.Fprintln(os.Stderr, "devdb: -db must not be empty")
		return 2
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// Stop cleanly when our parent dies: "go run" does not pass SIGTERM on
	// to us, it just dies, and scripts that exit without stopping us should
	// not leave a server behind.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		logger.Debug("devdb: cannot set parent-death signal", "err", errno)
	}

	// Listen for signals before starting, so that an early Ctrl-C still
	// cleans up.
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	begin := time.Now()
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: *dir, Logger: logger})
	if err != nil {
		fmt.Fprintf(os.Stderr, "devdb: %v\n", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "devdb: %v\n", err)
		}
	}()

	if err := createDatabase(ctx, cluster, *dbName); err != nil {
		fmt.Fprintf(os.Stderr, "devdb: create database %q: %v\n", *dbName, err)
		return 1
	}
	url := cluster.URL(*dbName)
	if *urlFile != "" {
		if err := writeFileAtomic(*urlFile, url+"\n"); err != nil {
			fmt.Fprintf(os.Stderr, "devdb: %v\n", err)
			return 1
		}
		defer os.Remove(*urlFile)
	}
	fmt.Println(url)
	logger.Info("devdb: ready; stop with Ctrl-C or SIGTERM",
		"database", *dbName, "dir", cluster.Dir(), "log", cluster.LogPath(),
		"startup", time.Since(begin).Round(time.Millisecond))

	<-ctx.Done()
	// Further signals are still caught (and ignored) until we return: when
	// our parent dies, the kernel sends the parent-death signal once for
	// every thread of the parent that exits, and a later one must not kill
	// us half-way through cleaning up.
	logger.Info("devdb: stopping")
	return 0
}

func createDatabase(ctx context.Context, cluster *pgcluster.Cluster, name string) error {
	conn, err := pgx.Connect(ctx, cluster.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if name == "postgres" {
		return nil // always exists
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// writeFileAtomic writes content to path so that readers never see a
// partial file.
func writeFileAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = io.WriteString(tmp, content)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
