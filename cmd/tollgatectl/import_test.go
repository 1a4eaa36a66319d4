package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate))) }

// newController serves the admin API (with imports) on a fresh database,
// with an account type and a plan, for "test-token" as an admin and
// "reader-token" as a reader.
func newController(t *testing.T) (*postgres.DB, string) {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Importer: db},
		[]api.Token{api.NewToken("root", api.RoleAdmin, "test-token"), api.NewToken("viewer", api.RoleReader, "reader-token")},
		clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ctx, now := context.Background(), time.Now()
	if _, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 4999, Currency: "USD"}, now); err != nil {
		t.Fatal(err)
	}
	return db, hs.URL
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "accounts.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func countRows(t *testing.T, db *postgres.DB) (accounts, services int) {
	t.Helper()
	ctx := context.Background()
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM services)`).Scan(&accounts, &services); err != nil {
		t.Fatal(err)
	}
	return accounts, services
}

func TestImportAccountsEndToEnd(t *testing.T) {
	db, url := newController(t)
	var b strings.Builder
	b.WriteString("external_id,name,account_type,currency,service_name,pop,plan,start_date,method,addresses\n")
	for i := range 7 {
		fmt.Fprintf(&b, "c-%d,Customer %d,residential,USD,home,north-1,Fiber 100,2025-01-%02d,routeros,100.64.0.%d\n", i, i, i+1, i+1)
	}
	b.WriteString("c-0,Customer 0,residential,USD,cabin,south-1,,,log,\n") // c-0's second service, far from its first
	path := writeFile(t, b.String())

	// Parts of 2 accounts: 4 uploads, c-0's rows together.
	out, errOut, err := run(t, url, "import", "accounts", path, "--chunk-size", "2")
	if err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(out, "7 (7 created, 0 existing)") || !strings.Contains(out, "8 created, 0 existing") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(errOut, "100%  7/7 accounts") {
		t.Errorf("progress:\n%s", errOut)
	}
	if a, s := countRows(t, db); a != 7 || s != 8 {
		t.Fatalf("%d accounts, %d services; want 7 and 8", a, s)
	}

	// A re-run (after an interruption, say) resumes: nothing twice.
	if _, _, err := run(t, url, "import", "accounts", path, "--chunk-size", "2"); err != nil {
		t.Fatal(err)
	}
	// With other parts (other keys), existing rows are recognised.
	out, _, err = run(t, url, "-o", "json", "import", "accounts", path, "--chunk-size", "3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"accounts_existing": 7`) || !strings.Contains(out, `"services_created": 0`) {
		t.Errorf("re-import with other parts:\n%s", out)
	}
	if a, s := countRows(t, db); a != 7 || s != 8 {
		t.Fatalf("after re-runs: %d accounts, %d services; want 7 and 8", a, s)
	}
}

func TestImportAccountsRefusesBadFile(t *testing.T) {
	db, url := newController(t)
	file := "external_id,name,account_type,currency,service_name,pop,plan,start_date,address_line1\n" +
		"ok-1,Fine,residential,USD,home,north-1,Fiber 100,2025-01-01,\n" + // 2
		"bad-1,Bad Plan,residential,USD,home,north-1,Gold,2025-01-01,\n" + // 3
		"ok-2,Fine Too,residential,USD,,,,,\n" + // 4
		"bad-2,Bad Type,business,USD,,,,,\n" + // 5
		"ok-3,Multi Line,residential,USD,,,,,\"1 Main St\nApt 2\"\n" + // 6-7
		"bad-3,Bad Date,residential,USD,home,north-1,Fiber 100,2025-02-30,\n" + // 8
		"bad-1,Bad Plan,residential,USD,cabin,north-1,,,\n" // 9: a good row of a bad account
	path := writeFile(t, file)
	out, _, err := run(t, url, "import", "accounts", path, "--chunk-size", "1")
	if err == nil || !strings.Contains(err.Error(), "3 problem(s); nothing was imported") {
		t.Fatalf("bad file: %v\n%s", err, out)
	}
	for _, want := range []string{
		`3     plan          plan "Gold" does not exist`,
		`5     account_type  account_type "business" does not exist`,
		`8     start_date    start_date "2025-02-30" is not a calendar date`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if a, _ := countRows(t, db); a != 0 {
		t.Fatalf("a refused file wrote %d accounts", a)
	}

	// --dry-run --skip-invalid counts, writes nothing; --skip-invalid imports
	// the good accounts only.
	out, _, err = run(t, url, "import", "accounts", path, "--chunk-size", "2", "--skip-invalid", "--dry-run")
	if err != nil || !strings.Contains(out, "dry run: nothing was written") || !strings.Contains(out, "3 would be created") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if a, _ := countRows(t, db); a != 0 {
		t.Fatalf("a dry run wrote %d accounts", a)
	}
	out, _, err = run(t, url, "import", "accounts", path, "--chunk-size", "2", "--skip-invalid")
	if err != nil || !strings.Contains(out, "Skipped:") {
		t.Fatalf("skip invalid: %v\n%s", err, out)
	}
	if a, s := countRows(t, db); a != 3 || s != 1 {
		t.Fatalf("skip invalid imported %d accounts and %d services; want 3 and 1", a, s)
	}
}
