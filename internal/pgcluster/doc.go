// Package pgcluster starts throwaway PostgreSQL servers for tests, demos and
// benchmarks.
//
// [Start] runs initdb into a fresh temporary directory and launches the
// postgres server as a direct child process that listens only on a unix
// socket inside that directory. By default durability is switched off (fsync,
// synchronous_commit and full_page_writes are disabled), so the cluster is
// fast but must never hold data anybody cares about; [Options.Durable]
// starts it with production durability instead (all three on), for
// benchmarks whose figures must be what a production database gives.
// [Cluster.Stop] shuts the server down and removes the directory.
//
// The server is started with the parent-death signal set to SIGQUIT, so it
// goes away together with the process that started it, even when that
// process is killed with SIGKILL. Temporary directories left behind by such
// a kill are removed by the next Start that uses the same parent directory.
//
// When the calling process runs as root, initdb and postgres (which refuse to
// run as root) are run as the "postgres" user, or as "nobody" if there is no
// such user.
//
// Connection URLs have the form
//
//	postgres://tollgate@/DBNAME?host=SOCKDIR&port=5432&sslmode=disable
//
// and are understood by pgx, libpq and psql. The superuser is "tollgate" and
// authentication is "trust" (no password).
package pgcluster
