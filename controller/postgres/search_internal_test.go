package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestSearchProbesAreIndexBacked: for a query of each shape, the search's
// plan reads no table it searches (accounts, services, invoices, payments,
// the address tables) whole, by a sequential scan or an index scan without
// a condition, when sequential scans are discouraged: an index answers
// every probe: its expression and
// partial-index predicate match migration 00034's. (The benchmark,
// bench/search_bench_test.go, times the plans the planner picks over
// 1,000,000 accounts.)
func TestSearchProbesAreIndexBacked(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	// 20,000 accounts with a service each (and an address bound and one
	// learned), so that the planner weighs the
	// indexes against tables of some size.
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "r", DueDays: 14, TimeZone: "UTC"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (number, name, email, phone, address, company_name, account_type_id, currency, anchor_date, created_at)
			SELECT 'A-' || lpad(g::text, 6, '0'), 'Subscriber ' || g, 's' || g || '@example.net', '512-555-' || lpad(g::text, 4, '0'),
				jsonb_build_object('line1', g || ' Main St', 'city', 'Austin'), CASE WHEN g % 10 = 0 THEN 'Company ' || g ELSE '' END,
				$1, 'USD', '2026-01-01', now() FROM generate_series(1, 20000) g`,
		`INSERT INTO pops (id, created_at) VALUES ('pop-1', now())`,
		`INSERT INTO services (pop_id, name, method, addresses, radius_username, service_address, desired_state, revision, created_at, updated_at, account_id)
			SELECT 'pop-1', 'Internet', 'routeros', ARRAY['10.0.' || id / 256 || '.' || id % 256], 'user' || id,
				jsonb_build_object('line1', id || ' Oak Ave', 'city', 'Dallas'), 'active', 0, now(), now(), id FROM accounts`,
		`INSERT INTO address_assignments (address, service_id, assigned_at, origin)
			SELECT ('100.64.' || id / 256 || '.' || id % 256)::cidr, id, now(), 'static' FROM services`,
		`INSERT INTO learned_addresses (service_id, pop_id, address, source, learned_at)
			SELECT id, pop_id, ('100.96.' || id / 256 || '.' || id % 256)::cidr, 'dhcp', now() FROM services`,
		// VACUUM too: it empties the GIN indexes' pending lists, which the
		// planner otherwise counts as read by every trigram search.
		`VACUUM ANALYZE`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, typ.ID)
		}
		if _, err := db.Pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC)
	searched := []string{"accounts", "services", "account_search", "service_search", "invoices", "payments", "address_assignments", "learned_addresses"}
	probes := 0
	for _, q := range []string{"10.0.0.5", "100.64.0.0/24", "42", "5125550100", "A-000042", "inv-42", "+1 (512) 555-0100",
		"jane@example.net", "jane smith", "Main St"} {
		plan, err := billing.PlanSearch(q, 0)
		if err != nil {
			t.Fatal(err)
		}
		sqls, args := searchProbes(plan)
		for _, sql := range sqls {
			probes++
			var raw []byte
			if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args).Scan(&raw); err != nil {
				t.Fatalf("%q: %v\n%s", q, err, sql)
			}
			var whole []string
			conds := 0
			var walk func(n map[string]any)
			walk = func(n map[string]any) {
				// A sequential scan, or an index read whole (no condition:
				// what the planner falls back on with sequential scans off).
				switch n["Node Type"] {
				case "Seq Scan":
					whole = append(whole, n["Relation Name"].(string))
				case "Index Scan", "Index Only Scan", "Bitmap Index Scan":
					if _, ok := n["Index Cond"]; !ok {
						whole = append(whole, n["Index Name"].(string))
					} else {
						conds++
					}
				}
				if kids, ok := n["Plans"].([]any); ok {
					for _, k := range kids {
						walk(k.(map[string]any))
					}
				}
			}
			var doc []struct{ Plan map[string]any }
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			walk(doc[0].Plan)
			for _, s := range whole {
				for _, table := range searched {
					if s == table || strings.HasPrefix(s, table+"_") {
						t.Errorf("search %q reads %s whole in\n%s\n%s", q, s, sql, raw)
					}
				}
			}
			if conds == 0 {
				t.Errorf("search %q: no index condition in\n%s\n%s", q, sql, raw)
			}
		}
	}
	if probes < 25 {
		t.Errorf("%d probes explained; the plans have fewer probes than expected", probes)
	}
	// The plans run, too.
	for _, q := range []string{"10.0.0.5", "jane smith", "42"} {
		plan, _ := billing.PlanSearch(q, 0)
		sql, args := searchSQL(plan, now)
		rows, err := conn.Query(ctx, sql, args)
		if err == nil {
			_, err = pgx.CollectRows(rows, func(pgx.CollectableRow) (int, error) { return 0, nil })
		}
		if err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
}
