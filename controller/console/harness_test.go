package console_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/console"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate))) }

// testNow is the console's clock in tests (fixed: TOTP codes and session
// timeouts are computed from it).
var testNow = time.Date(2026, 12, 15, 15, 0, 0, 0, time.UTC)

// cheapArgon2 keeps password hashing fast in tests.
var cheapArgon2 = staff.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}

// adminToken is a service token for setting up data through the API.
const adminToken = "console-test-admin-token"

// env is the console over a real database and the real admin API (called
// in-process as the signed-in user, as the controller wires it).
type env struct {
	t     *testing.T
	db    *postgres.DB
	url   string // the console's base URL (".../staff")
	clock *clock.Fixed
	api   *client.Client // as the admin service token
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with a hook that may change the console's config
// and dependencies, given the console's base URL.
func newEnvWith(t *testing.T, hook func(base string, cfg *console.Config, deps *console.Deps)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	clk := clock.NewFixed(testNow)
	runner, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clk, log)
	if err != nil {
		t.Fatal(err)
	}
	sandbox := payments.NewSandbox("whsec_console_test")
	apiSrv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Runner: runner,
		Accounts: db, ServiceMoves: db, Lifecycle: db, AccountClose: db, PlanPrices: db, Allocations: db, TypeImpacts: db,
		AddressPools: db, Staff: db, Collections: db, Tickets: db, Importer: db,
		Charger: charge.New(sandbox, db, clk, log), Methods: db,
		Delivery: delivery.NewService(db, delivery.DocumentSource{Loader: db, Company: documents.Company{Name: "Prairie Fiber"}}, delivery.ServiceOptions{Clock: clk})},
		[]api.Token{api.NewToken("setup", api.RoleAdmin, adminToken)}, clk, log, nil)
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	cfg := console.Config{PublicURL: hs.URL + "/staff", CompanyName: "Prairie Fiber"}
	deps := console.Deps{Store: db, API: apiSrv.Handler(), Argon2: cheapArgon2,
		AsStaff: func(ctx context.Context, u staff.User) context.Context {
			return api.WithStaffUser(ctx, u.Login, api.Role(u.Role))
		}}
	if hook != nil {
		hook(hs.URL+"/staff", &cfg, &deps)
		if deps.SSO != nil {
			deps.SSOStore = db
		}
	}
	srv, err := console.New(cfg, deps, clk, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/staff/", srv.Handler())
	mux.Handle("/staff", srv.Handler())
	mux.Handle("/", apiSrv.Handler())
	return &env{t: t, db: db, url: hs.URL + "/staff", clock: clk, api: client.New(hs.URL, adminToken), logs: logs}
}

// staffUser is a staff user made for a test; TOTP is its secret ("" when
// it has none).
type staffUser struct {
	Login, Password, TOTP string
}

// addStaff creates a staff user with a password and, for admins or when
// withTOTP, a TOTP secret.
func (e *env) addStaff(login string, role staff.Role, withTOTP bool) staffUser {
	e.t.Helper()
	u := staffUser{Login: login, Password: "a long passphrase for " + login}
	su := staff.User{Login: login, Name: strings.ToUpper(login[:1]) + login[1:], Role: role,
		PasswordHash: staff.HashPassword(u.Password, bytes.Repeat([]byte{7}, staff.SaltLen), cheapArgon2)}
	if withTOTP || role.TOTPRequired() {
		u.TOTP, su.TOTPSecret = "JBSWY3DPEHPK3PXP", "JBSWY3DPEHPK3PXP"
	}
	if _, err := e.db.CreateStaffUser(context.Background(), su, "test", testNow); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// browser is a cookie-keeping HTTP client that does not follow redirects
// on its own (tests look at them).
type browser struct {
	t    *testing.T
	e    *env
	http *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is a fetched page.
type page struct {
	status   int
	location string
	body     string
}

func (b *browser) do(method, path string, form url.Values, header ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do(http.MethodGet, path, nil) }

// post sends a form with the CSRF token of the page the browser last saw
// at from (fetched now).
func (b *browser) post(from, path string, form url.Values) page {
	b.t.Helper()
	p := b.get(from)
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", field(b.t, p.body, "csrf"))
	if form.Get("idem") == "" {
		if k := optionalField(p.body, "idem"); k != "" {
			form.Set("idem", k)
		}
	}
	return b.do(http.MethodPost, path, form)
}

var inputRE = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)

// optionalField returns the value of the first input named name, or "".
func optionalField(body, name string) string {
	for _, m := range inputRE.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

func field(t *testing.T, body, name string) string {
	t.Helper()
	v := optionalField(body, name)
	if v == "" {
		t.Fatalf("no input %q on the page:\n%s", name, body)
	}
	return v
}

// signIn signs u in through the forms (password, then the code when u
// has TOTP) and fails the test unless it lands on the dashboard.
func (e *env) signIn(u staffUser) *browser {
	e.t.Helper()
	b := e.browser()
	p := b.post("/signin", "/signin", url.Values{"login": {u.Login}, "password": {u.Password}, "next": {"/staff/"}})
	if u.TOTP != "" {
		if p.status != http.StatusOK || !strings.Contains(p.body, `name="code"`) {
			e.t.Fatalf("after the password, want the code page; got %d:\n%s", p.status, p.body)
		}
		code, err := staff.TOTPCode(u.TOTP, staff.TOTPStep(e.clock.Now()))
		if err != nil {
			e.t.Fatal(err)
		}
		p = b.do(http.MethodPost, "/signin/code", url.Values{"csrf": {field(e.t, p.body, "csrf")}, "code": {code}, "next": {"/staff/"}})
		e.clock.Add(30 * time.Second) // the next sign-in needs a fresh code
	}
	if p.status != http.StatusSeeOther || p.location != "/staff/" {
		e.t.Fatalf("sign-in of %s: want a redirect to the dashboard, got %d %q:\n%s", u.Login, p.status, p.location, p.body)
	}
	return b
}

// residentialType creates the account type most tests use.
func (e *env) residentialType() billing.AccountType {
	e.t.Helper()
	var typ billing.AccountType
	if err := e.api.Do(context.Background(), http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), billing.AccountType{
		Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, DueDays: 14, GraceDays: 7, TimeZone: "UTC",
		DelinquencyWeekdays: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue}, &typ); err != nil {
		e.t.Fatal(err)
	}
	return typ
}

// customer is an account on plan Fiber 50 (USD 50.00 a month, plans 1 and
// 2 are Fiber 50 and Fiber 100), with one service from 2026-12-01 and the
// December invoice from a billing run.
type customer struct {
	account billing.Account
	service billing.Service
	typ     billing.AccountType
}

func (e *env) customer(name string) customer {
	e.t.Helper()
	ctx := context.Background()
	typ := e.residentialType()
	var plans [2]billing.Plan
	for i, p := range []billing.Plan{{Name: "Fiber 50", Price: 5000, Currency: "USD"}, {Name: "Fiber 100", Price: 8000, Currency: "USD"}} {
		p.Name += " " + name
		if err := e.api.Do(ctx, http.MethodPost, "/api/v1/plans", nil, client.NewIdempotencyKey(), p, &plans[i]); err != nil {
			e.t.Fatal(err)
		}
	}
	var a billing.Account
	if err := e.api.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), billing.NewAccount{
		Name: name, Email: strings.ToLower(strings.Fields(name)[0]) + "@example.net", AccountTypeID: typ.ID, Currency: "USD"}, &a); err != nil {
		e.t.Fatal(err)
	}
	svc, err := e.api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north", Name: "fiber",
		Binding: billing.Binding{Method: "log", Addresses: []string{"100.64.0.10"}}, AccountID: &a.ID, PlanID: &plans[0].ID,
		StartDate: billing.NewDate(2026, 12, 1)})
	if err != nil {
		e.t.Fatal(err)
	}
	var run billing.BillingRun
	err = pgx.BeginTxFunc(ctx, e.db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		run, _, err = postgres.CreateBillingRunTx(ctx, tx, typ.ID, billing.NewDate(2026, 12, 1), billing.TriggerOnDemand, "test", 10, testNow)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for b := range run.TotalBatches {
		if _, err := e.db.RunBillingBatch(ctx, run.ID, b, testNow); err != nil {
			e.t.Fatal(err)
		}
	}
	return customer{account: a, service: svc, typ: typ}
}

func strconvItoa(v int64) string { return strconv.FormatInt(v, 10) }

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
