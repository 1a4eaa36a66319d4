// Package pgtest gives each Go test its own freshly migrated PostgreSQL
// database.
//
// A test binary that uses it starts with a TestMain that calls [Main]:
//
//	func TestMain(m *testing.M) {
//		os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate)))
//	}
//
// Main starts one throwaway PostgreSQL cluster for the whole test binary
// (see package pgcluster), creates a template database and runs the
// migrate function on it once. Tests then call [NewDatabase] or [NewPool]
// to get a private copy of the template, which is dropped when the test
// ends:
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		pool := pgtest.NewPool(t) // *pgxpool.Pool on a fresh database
//		...
//	}
//
// Copying a template is much faster than migrating an empty database, so
// every test, including parallel ones, can afford its own database.
//
// When $TOLLGATE_TEST_DATABASE_URL is set, Main uses that existing server
// instead of starting one (connecting exactly as the URL says; the role
// needs the CREATEDB privilege). The template and per-test databases are
// created there with unique names (tollgate_tpl_* and tollgate_test_*) and
// dropped at the end of the run.
//
// PostgreSQL must be installed (scripts/setup.sh does this). If the
// cluster cannot be started, Main prints why and returns exit code 1: tests
// that need a database fail rather than being skipped.
package pgtest
