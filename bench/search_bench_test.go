package bench

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/console"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// searchAccounts is how many accounts BenchmarkSearch seeds: 1,000,000
// (the figure) unless BENCH_SEARCH_ACCOUNTS says otherwise (e.g.
// 50000 while developing).
func searchAccounts(b *testing.B) int {
	n := 1_000_000
	if s := os.Getenv("BENCH_SEARCH_ACCOUNTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("BENCH_SEARCH_ACCOUNTS=%q: want a number of accounts, at least 1000", s)
		}
		n = v
	}
	return n
}

// searchKinds are the staff searches BenchmarkSearch times, in equal
// shares (issue 18: "a search mix of exact number/IP/invoice/check and
// substring name/e-mail/address").
var searchKinds = []string{"number", "ip", "invoice", "check", "name", "email", "address"}

// searchCase is one search of the mix: the query and the account it must
// find (among the hits for an exact kind, or anywhere in the matches for a
// substring one, which may hold more accounts than a page).
type searchCase struct {
	kind, q string
	account int64
}

// BenchmarkSearch seeds 1,000,000 accounts (seedSearch: each with a
// service at an IP address and a service address, 3 invoices and 2 check
// payments posted to the ledger; names, e-mail addresses, phones and
// addresses drawn from small lists, so that names and streets repeat as
// they do), then times staff searches over HTTP against the admin API
// (GET /api/v1/search, JSON decoded by the API client), one at a time, in
// the mix: exact account number, IP, invoice number and check
// number, and substrings of a name ("Jane Smi"), an e-mail address and a
// billing address ("1234 Elm"). Then the same through the staff console
// (GET /staff/search?q=, the page rendered, as a signed-in reader) and 500
// account pages (GET /staff/accounts/{id}). It reports the seeding's
// time, the API searches' p50/p95/p99 latency and the console pages' p95,
// and logs each kind's latency and the slowest search; -v also logs the
// seeding's steps and the account pages' statements with their times.
// BENCH_SEARCH_ACCOUNTS=50000 seeds fewer (the figures are defined at
// 1,000,000: about 2 to 2.5 minutes of seeding and 30 s of searching on
// 2 shared cores). Run with -benchtime=1x.
func BenchmarkSearch(b *testing.B) {
	const perKind, accountPages = 300, 500
	n := searchAccounts(b)
	ctx := context.Background()
	// postgres.Open's pool with a tracer: -v logs the account pages'
	// statements and their times.
	tr := &stmtTracer{}
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 16 // as postgres.Open
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	db := &postgres.DB{Pool: pool}
	defer db.Close()
	now := time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 3, DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago"}, now.AddDate(-1, 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	seedStart := time.Now()
	seedSearch(ctx, b, db, typ.ID, n)
	seedElapsed := time.Since(seedStart)

	const token = "bench-reader-0123456789"
	hs, err := searchServer(ctx, db, token, now)
	if err != nil {
		b.Fatal(err)
	}
	defer hs.Close()
	c := client.New(hs.URL, token)
	staffBrowser := signInReader(ctx, b, db, hs.URL+"/staff", now)

	cases := searchMix(ctx, b, db, n, perKind)
	// Warm up: a round of other queries of every kind (connections, the
	// prepared statements, the indexes' upper pages).
	for _, sc := range searchMix(ctx, b, db, n, 20) {
		if _, err := c.Search(ctx, sc.q, 0); err != nil {
			b.Fatal(err)
		}
	}
	lat := map[string][]time.Duration{}
	var all []time.Duration
	var slowest searchCase
	var slowestTook time.Duration
	b.ResetTimer()
	for _, sc := range cases {
		start := time.Now()
		res, err := c.Search(ctx, sc.q, 0)
		took := time.Since(start)
		if err != nil {
			b.Fatalf("%s %q: %v", sc.kind, sc.q, err)
		}
		if !found(res, sc) {
			b.Fatalf("%s %q: account %d not among the %d hits %+v", sc.kind, sc.q, sc.account, len(res.Items), res.Items)
		}
		lat[sc.kind] = append(lat[sc.kind], took)
		all = append(all, took)
		if took > slowestTook {
			slowest, slowestTook = sc, took
		}
	}
	b.StopTimer()

	// The console's pages over HTTP, rendered, as a signed-in reader: the
	// search page for the same mix, and the account page of each case's
	// account. A search that finds one account exactly answers with a
	// redirect to it, as the console does (not followed: the account page
	// is timed on its own).
	consoleSearch, consoleAccount := map[string][]time.Duration{}, []time.Duration(nil)
	var consoleAll []time.Duration
	redirects := 0
	for _, sc := range cases {
		took, status := staffBrowser.get(b, "/search?"+url.Values{"q": {sc.q}}.Encode(), sc.q)
		if status == http.StatusSeeOther {
			redirects++
		}
		consoleSearch[sc.kind] = append(consoleSearch[sc.kind], took)
		consoleAll = append(consoleAll, took)
	}
	tr.on.Store(testing.Verbose())
	accountStart := time.Now()
	for _, sc := range cases[:min(len(cases), accountPages)] {
		took, _ := staffBrowser.get(b, "/accounts/"+strconv.FormatInt(sc.account, 10), "")
		consoleAccount = append(consoleAccount, took)
	}
	tr.on.Store(false)
	accountElapsed := time.Since(accountStart)

	p50, p95, p99 := percentile(all, 50), percentile(all, 95), percentile(all, 99)
	b.ReportMetric(seedElapsed.Seconds(), "search_seed_s")
	b.ReportMetric(ms(p50), "search_p50_ms")
	b.ReportMetric(ms(p95), "search_p95_ms")
	b.ReportMetric(ms(p99), "search_p99_ms")
	b.ReportMetric(ms(percentile(consoleAll, 95)), "console_search_p95_ms")
	b.ReportMetric(ms(percentile(consoleAccount, 95)), "console_account_p95_ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d accounts seeded in %s; %d searches through the API: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms",
		n, seedElapsed.Round(100*time.Millisecond), len(all), ms(p50), ms(p95), ms(p99))
	for _, k := range searchKinds {
		b.Logf("  %-8s p50 %6.1f ms  p95 %6.1f ms  max %6.1f ms", k, ms(percentile(lat[k], 50)), ms(percentile(lat[k], 95)), ms(percentile(lat[k], 100)))
	}
	b.Logf("the console's search page, rendered (%d answered with a redirect to the one account found): p50 %.1f ms, p95 %.1f ms, p99 %.1f ms",
		redirects, ms(percentile(consoleAll, 50)), ms(percentile(consoleAll, 95)), ms(percentile(consoleAll, 99)))
	for _, k := range searchKinds {
		b.Logf("  %-8s p50 %6.1f ms  p95 %6.1f ms  max %6.1f ms", k, ms(percentile(consoleSearch[k], 50)),
			ms(percentile(consoleSearch[k], 95)), ms(percentile(consoleSearch[k], 100)))
	}
	b.Logf("the console's account page, rendered, %d accounts: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms", len(consoleAccount),
		ms(percentile(consoleAccount, 50)), ms(percentile(consoleAccount, 95)), ms(percentile(consoleAccount, 99)))
	if testing.Verbose() {
		b.Logf("the account pages' statements:\n%s", tr.report(accountElapsed))
	}
	b.Logf("slowest: %s %q in %.1f ms", slowest.kind, slowest.q, ms(slowestTook))
}

// searchServer is the controller's HTTP surface for the benchmark: the
// admin API (a reader's service token) and the staff console under
// /staff, which calls the API in-process as its signed-in user, as the
// controller wires them.
func searchServer(ctx context.Context, db *postgres.DB, token string, now time.Time) (*httptest.Server, error) {
	clk := clock.NewFixed(now)
	runner, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clk, quiet)
	if err != nil {
		return nil, err
	}
	apiSrv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Runner: runner,
		Accounts: db, ServiceMoves: db, Lifecycle: db, AccountClose: db, PlanPrices: db, Allocations: db, TypeImpacts: db,
		AddressPools: db, Staff: db, Collections: db, Tickets: db},
		[]api.Token{api.NewToken("bench", api.RoleReader, token)}, clk, quiet, nil)
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	con, err := console.New(console.Config{PublicURL: hs.URL + "/staff"}, console.Deps{Store: db, API: apiSrv.Handler(),
		Argon2: benchArgon2, AsStaff: func(ctx context.Context, u staff.User) context.Context {
			return api.WithStaffUser(ctx, u.Login, api.Role(u.Role))
		}}, clk, quiet, nil)
	if err != nil {
		hs.Close()
		return nil, err
	}
	mux.Handle("/staff/", con.Handler())
	mux.Handle("/", apiSrv.Handler())
	return hs, nil
}

// benchArgon2 keeps the one sign-in's password hashing cheap.
var benchArgon2 = staff.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}

// staffBrowser is a signed-in staff member's browser: it keeps the
// session cookie and does not follow redirects.
type staffBrowser struct {
	base string
	http *http.Client
}

// signInReader adds a reader (no TOTP) and signs them in through the
// console's form.
func signInReader(ctx context.Context, b *testing.B, db *postgres.DB, base string, now time.Time) *staffBrowser {
	b.Helper()
	const login, password = "clerk", "a long passphrase for the benchmark"
	if _, err := db.CreateStaffUser(ctx, staff.User{Login: login, Name: "Clerk", Role: staff.RoleReader,
		PasswordHash: staff.HashPassword(password, make([]byte, staff.SaltLen), benchArgon2)}, "bench", now); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	sb := &staffBrowser{base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	resp, err := sb.http.Get(base + "/signin")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		b.Fatalf("no CSRF token on the sign-in page:\n%s", body)
	}
	resp, err = sb.http.PostForm(base+"/signin", url.Values{"csrf": {html.UnescapeString(string(m[1]))}, "login": {login},
		"password": {password}, "next": {"/staff/"}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign-in: %d, want a redirect to the dashboard", resp.StatusCode)
	}
	return sb
}

// get fetches a console page (read whole) and returns how long it took
// and its status; it fails the benchmark unless the page is 200 with want
// in it (if given) or a redirect to an account.
func (sb *staffBrowser) get(b *testing.B, path, want string) (time.Duration, int) {
	b.Helper()
	start := time.Now()
	resp, err := sb.http.Get(sb.base + path)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	switch {
	case resp.StatusCode == http.StatusSeeOther && strings.Contains(resp.Header.Get("Location"), "/staff/accounts/"):
	case resp.StatusCode != http.StatusOK:
		b.Fatalf("%s: %d\n%s", path, resp.StatusCode, body)
	case want != "" && !strings.Contains(string(body), html.EscapeString(want)):
		b.Fatalf("%s: the page does not show %q:\n%s", path, want, body)
	}
	return took, resp.StatusCode
}

func found(res client.SearchResults, sc searchCase) bool {
	for _, h := range res.Items {
		if h.AccountID == sc.account {
			return true
		}
	}
	// A substring shared by more accounts than a page: its account need
	// not be on the page, but every hit must contain it.
	if len(res.Items) == billing.DefaultSearchLimit {
		for _, h := range res.Items {
			if !strings.Contains(strings.ToLower(h.Match.Text), strings.ToLower(sc.q)) {
				return false
			}
		}
		return sc.kind == "name" || sc.kind == "email" || sc.kind == "address" || sc.kind == "check"
	}
	return false
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile is the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// searchMix reads perKind accounts per kind, spread over the seeded ids,
// and makes the kind's query from each: its number as staff type it
// ("A-000042"), its service's IP, an invoice's number, a check's number, its
// name's first name and the start of its surname ("Jane Smi"), its e-mail's
// local part, the start of its billing address ("1234 Elm").
func searchMix(ctx context.Context, b *testing.B, db *postgres.DB, n, perKind int) []searchCase {
	b.Helper()
	var cases []searchCase
	for i, kind := range searchKinds {
		rows, err := db.Pool.Query(ctx, `SELECT a.id, a.number, a.name, a.email, a.address->>'line1',
				(SELECT s.addresses[1] FROM services s WHERE s.account_id = a.id LIMIT 1),
				(SELECT i.number FROM invoices i WHERE i.account_id = a.id AND i.kind = 'regular' ORDER BY i.period_start LIMIT 1 OFFSET a.id % 3),
				(SELECT p.reference FROM payments p WHERE p.account_id = a.id ORDER BY p.account_id, p.id LIMIT 1 OFFSET a.id % 2)
			FROM accounts a WHERE a.id = ANY($1)`, sampleIDs(n, perKind, uint64(i)))
		if err != nil {
			b.Fatal(err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var id int64
				var number, name, email, line1, ip, invoice, check string
				if err := rows.Scan(&id, &number, &name, &email, &line1, &ip, &invoice, &check); err != nil {
					return err
				}
				q := map[string]string{"number": number, "ip": ip, "invoice": invoice, "check": check,
					"name": nameQuery(name), "email": email[:strings.IndexByte(email, '@')], "address": addressQuery(line1)}[kind]
				cases = append(cases, searchCase{kind: kind, q: q, account: id})
			}
			return rows.Err()
		}()
		if err != nil {
			b.Fatal(err)
		}
	}
	// Interleave the kinds, as staff at work would.
	slices.SortStableFunc(cases, func(x, y searchCase) int { return int(x.account%97) - int(y.account%97) })
	return cases
}

// sampleIDs are k account ids spread over 1..n, different for each seed.
func sampleIDs(n, k int, seed uint64) []int64 {
	ids := make([]int64, 0, k)
	x := seed*0x9E3779B97F4A7C15 + 1
	for range k {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		ids = append(ids, int64(x%uint64(n))+1)
	}
	return ids
}

// nameQuery is the first name and the surname's first three letters.
func nameQuery(name string) string {
	first, last, _ := strings.Cut(name, " ")
	return first + " " + last[:min(3, len(last))]
}

// addressQuery is the house number and the street's first word.
func addressQuery(line1 string) string {
	f := strings.Fields(line1)
	return strings.Join(f[:min(2, len(f))], " ")
}

// searchNames are the lists the seeded names, companies and addresses are
// drawn from: 60 first names, 1,000 surnames (40 × 25 syllables), 200
// streets, 40 cities, 10 e-mail domains.
var searchNames = struct {
	first, lastHead, lastTail, streets, streetTypes, cities, domains, companies []string
}{
	first: strings.Fields(`James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
		Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald
		Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah
		Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Jane`),
	lastHead: strings.Fields(`Ander Bar Car Dal Eller Fair Gar Hal Ing Jen Kel Lam Mar Nor Oak Par Quin Ros Sal Tal
		Ul Van Wal Yar Zel Bren Cran Dun Fen Glen Hart Kirk Lind Mont Pen Red Sted Thorn Wick Ash`),
	lastTail: strings.Fields(`son ton ley man ford well by field wood ham ridge stone brook worth ing er ster land more ner
		dale hurst croft wick mond`),
	streets: strings.Fields(`Elm Oak Main Maple Cedar Pine Lake Hill Park River Spring Ridge Meadow Forest Valley Sunset Highland
		Church Mill Willow Dogwood Hickory Magnolia Pecan Walnut Chestnut Birch Aspen Sycamore Juniper Laurel Cypress Poplar Spruce
		Holly Jasmine Lilac Rose Ivy Fern Lincoln Washington Jefferson Madison Monroe Jackson Franklin Adams Wilson Grant Lee Travis
		Austin Houston Crockett Bowie Fannin Lamar Burnet Navarro Zavala Seguin Bluebonnet Mesquite Agave Yucca Prairie Canyon Mesa
		Bluff Creek Brook Falls Glen Hollow Knoll Summit Vista Terrace Harbor Bay Shore Beach Dune Coral Reef Palm Orchard Vineyard
		Harvest Granary Barn Pasture Ranch Saddle Spur Trail Wagon Colt Mustang Stallion Pony Fox Wolf Bear Eagle Hawk Falcon Owl
		Raven Sparrow Robin Cardinal Bluejay Wren Finch Heron Crane Swan Pelican Gull Tern Egret Ibis Quail Dove Pheasant Turkey
		Buffalo Bison Elk Deer Moose Antelope Cougar Lynx Bobcat Badger Otter Beaver Mink Raccoon Possum Armadillo Coyote Jackrabbit
		Roadrunner Scorpion Tarantula Rattler Gecko Iguana Tortoise Turtle Frog Toad Salamander Newt Trout Bass Catfish Perch Pike
		Salmon Sturgeon Marlin Tarpon Snapper Grouper Flounder Redfish Drum Gar Carp Shad Minnow Sunfish Crappie Bream Walleye
		Muskie Sauger Cisco Smelt Herring Anchovy Sardine Mackerel Tuna Bonito Wahoo Dorado Cobia Amberjack`),
	streetTypes: strings.Fields(`St Ave Rd Ln Dr Blvd Ct Way`),
	cities: strings.Fields(`Austin Dallas Houston Waco Tyler Temple Killeen Bryan Lufkin Nacogdoches Marshall Longview Paris Sherman
		Denison Denton Frisco Plano Allen McKinney Garland Mesquite Irving Arlington Midland Odessa Lubbock Amarillo Abilene Angelo
		Laredo Edinburg McAllen Harlingen Brownsville Victoria Beeville Kingsville Alice Seguin`),
	domains:   strings.Fields(`example.net example.com example.org mail.example isp.example fiber.example home.example web.example post.example inbox.example`),
	companies: strings.Fields(`Farms Ranch Supply Garage Clinic Cafe Hardware Realty Dental Bakery`),
}

// seedSearch seeds n accounts of type typeID for BenchmarkSearch with
// set-based SQL (generate_series, no row by row): accounts with a name,
// e-mail, phone and billing address (one in ten with a company), 100
// POPs, one service per account (a routeros binding at 10.x.y.z, every
// fourth a RADIUS one with a user name; every fifth delivered to another
// address than the billing one), three monthly invoices (two paid, one
// open) posted to the ledger, and two check payments that paid them,
// posted too (check numbers 1000–9999, so numbers repeat across payers as
// they do), each big insert in two halves of the accounts at once (one per
// core). Numbers are padded, never cut: the 1,000,000th account is
// A-1000000 (lpad alone would cut it to A-100000, a duplicate). The rows
// are consistent by construction, so the session skips
// foreign key checks and the journal's balance trigger
// (session_replication_role = replica); the tables' secondary indexes are
// dropped for the load and built again after it, two at a time, which is
// several times faster than maintaining them row by row. Then VACUUM
// ANALYZE (which also empties the GIN indexes' pending lists), CHECKPOINT
// and sync, so the searches run against settled tables.
func seedSearch(ctx context.Context, b *testing.B, db *postgres.DB, typeID int64, n int) {
	b.Helper()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	step := func(what string, f func() error) {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatalf("seed: %s: %v", what, err)
		}
		if testing.Verbose() {
			b.Logf("seed: %s in %s", what, time.Since(start).Round(time.Millisecond))
		}
	}
	exec := func(q string, args ...any) {
		step(firstWords(q), func() error {
			_, err := conn.Exec(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("%w\n%s", err, q)
			}
			return nil
		})
	}
	// The big inserts run in two halves of the accounts at once, one per
	// core, on conn and conn2: in a statement, :lo and :hi are the half's
	// first and last account id.
	conn2, err := db.Pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn2.Release()
	halves := func(q string, args ...any) {
		q = strings.NewReplacer(":lo", fmt.Sprintf("$%d", len(args)+1), ":hi", fmt.Sprintf("$%d", len(args)+2)).Replace(q)
		step(firstWords(q), func() error {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, c := range []*pgxpool.Conn{conn, conn2} {
				lo, hi := int64(1), int64(n/2)
				if i == 1 {
					lo, hi = int64(n/2+1), int64(n)
				}
				wg.Go(func() {
					_, errs[i] = c.Exec(ctx, q, append(slices.Clone(args), lo, hi)...)
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return fmt.Errorf("%w\n%s", err, q)
			}
			return nil
		})
	}
	tables := []string{"accounts", "services", "account_search", "service_search", "invoices", "payments", "journal_transactions", "journal_entries"}
	// The secondary indexes: neither a primary key nor a unique or
	// exclusion constraint's.
	var indexes []string
	step("drop secondary indexes", func() error {
		rows, err := conn.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
			WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary
				AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`, tables)
		if err != nil {
			return err
		}
		type index struct{ Name, Def string }
		idx, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
		if err != nil {
			return err
		}
		for _, i := range idx {
			if _, err := conn.Exec(ctx, `DROP INDEX `+i.Name); err != nil {
				return err
			}
			indexes = append(indexes, i.Def)
		}
		return nil
	})
	l := searchNames
	nl := len(l.lastHead) * len(l.lastTail)
	for _, c := range []*pgxpool.Conn{conn, conn2} {
		if _, err := c.Exec(ctx, `SET session_replication_role = replica`); err != nil {
			b.Fatal(err)
		}
	}
	// h1..h3 are independent hashes of the account id: which first name,
	// surname, street, city and domain it gets.
	halves(`INSERT INTO accounts (id, number, name, company_name, email, phone, address, account_type_id, currency, status, anchor_date, created_at)
		OVERRIDING SYSTEM VALUE
		SELECT g, 'A-' || lpad(g::text, greatest(6, length(g::text)), '0'), f || ' ' || s, CASE WHEN g % 10 = 0 THEN s || ' ' || ($10::text[])[1 + h3 % 10] ELSE '' END,
			lower(f) || '.' || lower(s) || g || '@' || ($9::text[])[1 + h3 % 10],
			'(' || 200 + h1 % 800 || ') ' || lpad((h2 % 1000)::text, 3, '0') || '-' || lpad((g % 10000)::text, 4, '0'),
			jsonb_build_object('line1', 1 + h2 % 9999 || ' ' || ($6::text[])[1 + h3 % $11] || ' ' || ($7::text[])[1 + h1 % 8],
				'city', ($8::text[])[1 + h2 % 40], 'region', 'TX', 'postal_code', (75000 + h3 % 5000)::text, 'country', 'US'),
			$1, 'USD', CASE WHEN g % 20 = 0 THEN 'past_due' ELSE 'current' END, date '2025-01-01' + g % 28, timestamptz '2025-01-01'
		FROM generate_series(greatest(1, :lo::int), least($2::int, :hi::int)) g,
			LATERAL (SELECT abs(hashint4(g)::bigint) AS h1, abs(hashint4(g + 1000000007)::bigint) AS h2, abs(hashint4(g + 2000000011)::bigint) AS h3) h,
			LATERAL (SELECT ($3::text[])[1 + h1 % 60] AS f,
				($4::text[])[1 + (h2 % $12) / $13] || ($5::text[])[1 + (h2 % $12) % $13] AS s) x`,
		typeID, n, l.first, l.lastHead, l.lastTail, l.streets, l.streetTypes, l.cities, l.domains, l.companies,
		len(l.streets), nl, len(l.lastTail))
	exec(`SELECT setval(pg_get_serial_sequence('accounts', 'id'), $1)`, n)
	exec(`INSERT INTO pops (id, name, created_at) SELECT 'pop-' || lpad(p::text, 3, '0'), 'POP ' || p, timestamptz '2024-06-01'
		FROM generate_series(0, 99) p ON CONFLICT DO NOTHING`)
	halves(`INSERT INTO services (id, pop_id, name, method, addresses, radius_username, service_address, desired_state, revision,
			created_at, updated_at, confirmed_revision, observed_state, last_confirmed_at, account_id, start_date)
		OVERRIDING SYSTEM VALUE
		SELECT id, 'pop-' || lpad((id % 100)::text, 3, '0'), 'Internet', CASE WHEN id % 4 = 0 THEN 'radius' ELSE 'routeros' END,
			ARRAY['10.' || (id / 65536) % 256 || '.' || (id / 256) % 256 || '.' || id % 256],
			CASE WHEN id % 4 = 0 THEN 'user' || id ELSE '' END,
			CASE WHEN id % 5 = 0 THEN jsonb_build_object('line1', 1 + (id * 7) % 9999 || ' ' || ($1::text[])[1 + (id * 13) % $2] || ' Rd',
				'city', address->>'city', 'region', 'TX') ELSE address END,
			'active', id / 100 + 1, created_at, created_at, id / 100 + 1, 'active', created_at, id, anchor_date
		FROM accounts WHERE id BETWEEN :lo AND :hi`, l.streets, len(l.streets))
	exec(`SELECT setval(pg_get_serial_sequence('services', 'id'), $1)`, n)
	exec(`UPDATE pops p SET revision = s.last FROM (SELECT pop_id, max(revision) AS last FROM services GROUP BY pop_id) s WHERE s.pop_id = p.id`)
	// Invoices j = 1..3 of account a: id 3(a-1)+j, periods from September
	// to November 2026; the first two paid.
	halves(`INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
			currency, subtotal, tax, total, status, paid, created_at)
		SELECT x.id, 'INV-' || lpad(x.id::text, greatest(7, length(x.id::text)), '0'), a.id, x.p, (x.p + interval '1 month')::date, x.p - 3, x.p + 11, x.p + 18,
			'USD', x.amount, 0, x.amount, CASE WHEN j < 3 THEN 'paid' ELSE 'open' END, CASE WHEN j < 3 THEN x.amount ELSE 0 END,
			(x.p - 3)::timestamptz
		FROM accounts a, generate_series(1, 3) j,
			LATERAL (SELECT 3 * (a.id - 1) + j AS id, (date '2026-08-01' + make_interval(months => j))::date AS p,
				4000 + (a.id % 5) * 1000 AS amount) x
		WHERE a.id BETWEEN :lo AND :hi`)
	exec(`SELECT setval('invoices_id_seq', $1)`, 3*n)
	// Their journal transactions share their ids; the payments' come after:
	// payment k = 1, 2 of account a has id 2(a-1)+k and transaction 3n + id.
	halves(`INSERT INTO journal_transactions (id, kind, account_id, invoice_id, currency, memo, effective_date, posted_at, actor)
		SELECT id, 'invoice_issued', account_id, id, 'USD', 'invoice ' || number, issue_date, created_at, 'bench' FROM invoices
		WHERE account_id BETWEEN :lo AND :hi`)
	halves(`INSERT INTO payments (id, account_id, method, amount, currency, reference, payer, received_date, status, journal_tx_id,
			posted_by, posted_at, allocated)
		OVERRIDING SYSTEM VALUE
		SELECT x.id, i.account_id, 'check', i.total, 'USD', (1000 + abs(hashint4(x.id::int)::bigint) % 9000)::text, a.name, i.due_date - 2, 'posted',
			$1::bigint + x.id, 'bench', (i.due_date - 2)::timestamptz, i.total
		FROM invoices i JOIN accounts a ON a.id = i.account_id, LATERAL (SELECT 2 * (i.account_id - 1) + (i.id - 3 * (i.account_id - 1)) AS id) x
		WHERE i.status = 'paid' AND i.account_id BETWEEN :lo AND :hi`, 3*n)
	exec(`SELECT setval(pg_get_serial_sequence('payments', 'id'), $1)`, 2*n)
	halves(`INSERT INTO journal_transactions (id, kind, account_id, currency, memo, effective_date, posted_at, actor)
		SELECT journal_tx_id, 'payment_posted', account_id, 'USD', 'check ' || reference, received_date, posted_at, 'bench' FROM payments
		WHERE account_id BETWEEN :lo AND :hi`)
	exec(`SELECT setval('journal_transactions_id_seq', $1)`, 5*n)
	halves(`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT i.id, e.no, i.account_id, e.ledger, e.sign * i.total FROM invoices i,
			(VALUES (1::smallint, 'accounts_receivable', 1), (2::smallint, 'service_revenue', -1)) e(no, ledger, sign)
		WHERE i.account_id BETWEEN :lo AND :hi`)
	halves(`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT p.journal_tx_id, e.no, p.account_id, e.ledger, e.sign * p.amount FROM payments p,
			(VALUES (1::smallint, 'undeposited_funds', 1), (2::smallint, 'accounts_receivable', -1)) e(no, ledger, sign)
		WHERE p.account_id BETWEEN :lo AND :hi`)
	for _, c := range []*pgxpool.Conn{conn, conn2} {
		if _, err := c.Exec(ctx, `RESET session_replication_role`); err != nil {
			b.Fatal(err)
		}
	}

	// The secondary indexes again, two builds at a time (one per core).
	step(fmt.Sprintf("build %d secondary indexes", len(indexes)), func() error {
		work := make(chan string)
		errs := make(chan error, 2)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				c, err := db.Pool.Acquire(ctx)
				if err != nil {
					errs <- err
					return
				}
				defer c.Release()
				if _, err := c.Exec(ctx, `SET maintenance_work_mem = '256MB'`); err != nil {
					errs <- err
					return
				}
				for def := range work {
					start := time.Now()
					if _, err := c.Exec(ctx, def); err != nil {
						errs <- fmt.Errorf("%w: %s", err, def)
						return
					}
					if testing.Verbose() {
						b.Logf("seed: %s in %s", def[:min(len(def), 90)], time.Since(start).Round(time.Millisecond))
					}
				}
			})
		}
		// The largest tables' first, so that the two builders end together.
		order := func(def string) int {
			for i, t := range []string{"journal_entries", "journal_transactions", "invoices", "payments"} {
				if strings.Contains(def, " ON public."+t+" ") {
					return i
				}
			}
			return 9
		}
		slices.SortStableFunc(indexes, func(x, y string) int { return order(x) - order(y) })
	send:
		for _, def := range indexes {
			select {
			case work <- def:
			case err := <-errs:
				errs <- err
				break send
			}
		}
		close(work)
		wg.Wait()
		close(errs)
		return <-errs
	})
	exec(`VACUUM ANALYZE`)
	exec(`CHECKPOINT`)
	step("sync", func() error { syscall.Sync(); return nil })
}
