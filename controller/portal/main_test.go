package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/portal"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate))) }

var testNow = time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC)

// env is a portal over a real database, with the sandbox gateway and a real
// SMTP server receiving the sign-in codes.
type env struct {
	t      *testing.T
	db     *postgres.DB
	srv    *portal.Server
	url    string // the portal's base URL
	clock  *clock.Fixed
	smtp   *smtptest.Server
	typ    billing.AccountType
	logs   *bytes.Buffer
	secret []byte
	// sb is the sandbox gateway (its bank answers 3-D Secure in tests).
	sb *payments.Sandbox
}

type envOption func(*portal.Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	clk := clock.NewFixed(testNow)
	mail := smtptest.Start(t)
	sender, err := notify.NewSMTP(notify.SMTPConfig{Addr: mail.Addr(), From: "billing@isp.example", TLS: notify.TLSNone}, clk)
	if err != nil {
		t.Fatal(err)
	}
	sb := payments.NewSandbox("whsec_portal_test")
	sb.SetClock(clk)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	sb.SetLogger(log)
	charger := charge.New(sb, db, clk, log)
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	secret := bytes.Repeat([]byte("s"), 32)
	cfg := portal.Config{PublicURL: hs.URL + "/portal", Secrets: [][]byte{secret}, SignInsPerMinute: 1000, Support: "call 555-0100"}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := portal.New(cfg, portal.Deps{Store: db, Charger: charger, Mailer: sender}, clk, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/portal/", srv.Handler())
	mux.Handle("/portal", srv.Handler())
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago", AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, srv: srv, url: hs.URL + "/portal", clock: clk, smtp: mail, typ: typ, logs: logs, secret: secret, sb: sb}
}

// subscriber is a seeded account with one service and one invoice.
type subscriber struct {
	account billing.Account
	service billing.Service
	invoice int64
}

// owing creates an account with a service at pop bound to addr and an
// invoice of amount due on due, posted to the ledger.
func (e *env) owing(name, pop, addr string, due billing.Date, amount int64) subscriber {
	e.t.Helper()
	ctx := context.Background()
	a, _, err := e.db.CreateAccount(ctx, billing.NewAccount{Name: name, Email: strings.ToLower(name) + "@example.net",
		AccountTypeID: e.typ.ID, Currency: "USD"}, testNow)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.db.CreateService(ctx, billing.NewService{POP: pop, Name: "fiber", Binding: billing.Binding{Method: "routeros", Addresses: []string{addr}, Device: "r1"},
		AccountID: &a.ID}, "test", testNow)
	if err != nil {
		e.t.Fatal(err)
	}
	var inv int64
	err = e.db.Pool.QueryRow(ctx, `WITH i AS (
			INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, created_at)
			SELECT n, 'INV-' || n, $1, $2::date - 14, $2::date + 16, $2::date - 14, $2, $2::date + 7, 'USD', $3, 0, $3, now()
			FROM nextval('invoices_id_seq') n RETURNING id, issue_date
		), l AS (
			INSERT INTO invoice_lines (invoice_id, line_no, kind, description, amount, taxable)
			SELECT i.id, 1, 'recurring', 'Fiber 100 for ' || $4, $3, false FROM i
		), t AS (
			INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
		), j AS (
			INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
				(VALUES (1::smallint, 'accounts_receivable', $3::bigint), (2::smallint, 'service_revenue', -$3::bigint)) u(no, ledger, amount)
		)
		SELECT id FROM i`, a.ID, due.String(), amount, name).Scan(&inv)
	if err != nil {
		e.t.Fatal(err)
	}
	return subscriber{account: a, service: s, invoice: inv}
}

// suspend runs the delinquency sweep, which suspends every owing account
// past its delinquency date.
func (e *env) suspend() {
	e.t.Helper()
	res, err := e.db.Sweep(context.Background(), billing.SweepRequest{AccountTypeID: e.typ.ID, Trigger: billing.SweepManual, Actor: "test",
		Guard: billing.SuspensionGuard{Disabled: true}}, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if res.Suspended == 0 {
		e.t.Fatalf("the sweep suspended nobody: %+v", res)
	}
}

// confirm reports, as the POP's agent would, that the service's current
// desired state is applied and read back.
func (e *env) confirm(svcID int64) {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.db.Service(ctx, svcID)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.db.RecordReport(ctx, billing.AgentReport{POP: s.POP, AgentID: "a1", AppliedRevision: s.Revision, ReceivedAt: e.clock.Now(),
		Results: []billing.ServiceResult{{ServiceID: s.ID, Revision: s.Revision, Applied: true, ObservedState: s.DesiredState, ObservedAt: e.clock.Now()}}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// browser is a cookie-keeping client.
type browser struct {
	t *testing.T
	c *http.Client
	e *env
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

type page struct {
	status int
	body   string
	url    string
	header http.Header
}

func (b *browser) get(path string) page {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do(http.MethodPost, path, form)
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = b.e.url + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(raw), url: resp.Request.URL.String(), header: resp.Header}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hidden returns the value of the first hidden input called name.
func (p page) hidden(t *testing.T, name string) string {
	t.Helper()
	for _, m := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	t.Fatalf("page %s has no hidden %q input:\n%s", p.url, name, p.body)
	return ""
}

// text is the page's visible text, roughly: tags dropped, entities decoded,
// spaces collapsed.
func (p page) text() string {
	s := regexp.MustCompile(`(?s)<script.*?</script>|<[^>]+>`).ReplaceAllString(p.body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

func (p page) must(t *testing.T, status int, contains ...string) page {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", p.url, p.status, status, p.text())
	}
	for _, c := range contains {
		if !strings.Contains(p.text(), c) {
			t.Fatalf("%s: page does not say %q:\n%s", p.url, c, p.text())
		}
	}
	return p
}

// signInWithCode signs b in to acct through an emailed code.
func (b *browser) signInWithCode(acct billing.Account) {
	b.t.Helper()
	home := b.get("/").must(b.t, 200, "Account number")
	before := len(b.e.smtp.Messages())
	b.post("/signin", url.Values{"csrf": {home.hidden(b.t, "csrf")}, "account": {acct.Number}}).must(b.t, 200, "six-digit code")
	msgs := b.e.smtp.WaitFor(b.t, before+1, 10*time.Second)
	code := codeIn(b.t, msgs[len(msgs)-1].Text)
	form := b.get("/signin/code?account=" + url.QueryEscape(acct.Number))
	b.post("/signin/code", url.Values{"csrf": {form.hidden(b.t, "csrf")}, "account": {acct.Number}, "code": {code}}).
		must(b.t, 200, "Account "+acct.Number)
}

var codeRE = regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`)

func codeIn(t *testing.T, text string) string {
	t.Helper()
	m := codeRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no six-digit code in the email:\n%s", text)
	}
	return m[1]
}

func due(days int) billing.Date { return billing.DateOf(testNow).AddDays(days) }

func (e *env) captiveURL(s billing.Service, ttl time.Duration) string {
	e.t.Helper()
	tok, err := mint(e.srv, s, e.clock.Now().Add(ttl))
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("%s/c/%s", e.url, tok)
}
