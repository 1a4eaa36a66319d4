package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// subscriberAddr is the suspended subscriber's address. Every 127/8
// address is local on Linux, so the test's "router" can open connections
// from it without any network set-up.
const subscriberAddr = "127.0.0.55"

const suspendedList = "tollgate-suspended"

// router plays the subscriber's MikroTik for the browser, as an HTTP proxy:
// while the subscriber's address is on the simulator's suspended address
// list, web traffic is dst-nat'ed to the agent's redirect responder (from
// the subscriber's address, as after a real dst-nat) except the walled
// garden (the portal); once it is off the list, traffic would go to the
// Internet, which the test has none of, so it answers a page saying so.
type router struct {
	sim        *routerossim.Server
	walled     []string // host:port of the portal and of the payment processor's origin
	responder  string   // host:port of the agent's redirect responder
	redirected atomic.Int64
	proxy      *httputil.ReverseProxy
}

func (rt *router) suspended() bool {
	return slices.ContainsFunc(rt.sim.Entries(suspendedList), func(e routerossim.Entry) bool {
		return strings.TrimSuffix(e.Address, "/32") == subscriberAddr && !e.Disabled
	})
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect || r.URL.Host == "" {
		http.Error(w, "the test router only carries plain HTTP", http.StatusForbidden)
		return
	}
	if !slices.Contains(rt.walled, r.URL.Host) {
		if !rt.suspended() {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<!doctype html><title>Internet</title><h1>The open Internet</h1>")
			return
		}
		rt.redirected.Add(1)
	}
	rt.proxy.ServeHTTP(w, r)
}

func newRouter(sim *routerossim.Server, responder string, walled ...string) *router {
	rt := &router{sim: sim, walled: walled, responder: responder}
	local := &net.TCPAddr{IP: net.ParseIP(subscriberAddr)}
	dialer := &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite: func(p *httputil.ProxyRequest) { p.Out.URL = p.In.URL; p.Out.Host = p.In.Host },
		Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if !slices.Contains(rt.walled, addr) {
					addr = rt.responder // dst-nat
				}
				return dialer.DialContext(ctx, network, addr)
			}},
		FlushInterval: -1,
	}
	return rt
}

// chromium finds Debian's chromium (scripts/setup.sh installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: run scripts/setup.sh (make test does), which installs Debian's chromium package")
	return ""
}

// TestSuspendedSubscriberPaysInTheBrowser is the portal's end-to-end test
// in real headless Chromium: a suspended subscriber's web request is
// redirected by the router to the agent's responder, which sends the
// browser to the portal with a signed token; the subscriber pays with a
// sandbox test card; the agent removes the address from the RouterOS
// simulator's suspended list, and only then does the page say "Service
// restored". A screenshot is kept as a test artifact: portal-restored.png in
// $TOLLGATE_TEST_ARTIFACTS, by default internal/e2e/testdata/.artifacts.
func TestSuspendedSubscriberPaysInTheBrowser(t *testing.T) {
	chrome := chromium(t)
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)

	sim, err := routerossim.Start(routerossim.Config{Users: map[string]string{"tollgate": "router-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	// The controller, with the portal on its HTTP listener.
	httpAddr, grpcAddr, sandboxAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	portalURL := "http://" + httpAddr + "/portal"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "controller.yaml")
	write(t, cfg, fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 500ms}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
company: {name: "Prairie Fiber"}
delinquency: {guard: {disabled: true}}
portal:
  public_url: %q
  support: "call 555-0100"
payments:
  sandbox: {listen: %q}
`, dbURL, httpAddr, grpcAddr, adminToken, portalURL, sandboxAddr))
	ctl := start(t, "tollgate-controller", []string{"TOLLGATE_PORTAL_SECRETS=" + strings.Repeat("e2e-portal-secret-", 3)}, "--config", cfg)
	base := "http://" + httpAddr
	waitHTTP(t, base+"/readyz", 200, 60*time.Second)
	api := client.New(base, adminToken)

	// The agent, enforcing through the simulator, with its responder.
	responderAddr, metricsAddr := freeAddr(t), freeAddr(t)
	pw := filepath.Join(dir, "router.pw")
	write(t, pw, "router-secret\n")
	agentCfg := filepath.Join(dir, "agent.yaml")
	write(t, agentCfg, fmt.Sprintf(`
pop: north-tower-1
agent_id: e2e-portal
controller: {address: %q, insecure_plaintext: true}
metrics: {listen: %q}
redirect: {listen: %q}
state_file: %q
retry_interval: 1s
reconnect: {backoff_min: 100ms, backoff_max: 1s}
routeros:
  routers:
    - {name: edge, address: %q, username: tollgate, password_file: %q, address_list: %s}
`, grpcAddr, metricsAddr, responderAddr, filepath.Join(dir, "state.db"), sim.Addr(), pw, suspendedList))
	agent := start(t, "tollgate-agent", nil, "--config", agentCfg, "--init-state")
	waitHTTP(t, "http://"+metricsAddr+"/healthz", 200, 10*time.Second)

	// A residential subscriber 30 days past due, suspended by the sweep.
	var typ billing.AccountType
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), billing.AccountType{
		Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, DueDays: 14, GraceDays: 7, TimeZone: "UTC",
		DelinquencyWeekdays: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue}, &typ))
	var acct billing.Account
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), billing.NewAccount{
		Name: "Robin Subscriber", Email: "robin@example.net", AccountTypeID: typ.ID, Currency: "USD"}, &acct))
	_, err = api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north-tower-1", Name: "fiber 100",
		Binding: billing.Binding{Method: "routeros", Device: "edge", Addresses: []string{subscriberAddr}}, AccountID: &acct.ID})
	must(t, err)
	insertOverdueInvoice(t, dbURL, acct.ID, 6500)
	res, err := api.RunSweep(ctx, client.NewIdempotencyKey(), typ.ID, false)
	must(t, err)
	if res.Suspended != 1 {
		t.Fatalf("the sweep suspended %d services, want 1: %+v", res.Suspended, res)
	}
	waitFor(t, 15*time.Second, "the subscriber's address on the router's suspended list", func() bool { return sim.Count(suspendedList) == 1 })

	// The walled garden: the portal and the payment processor's fields.
	rt := newRouter(sim, responderAddr, httpAddr, sandboxAddr)
	proxy := &http.Server{Handler: rt, ReadHeaderTimeout: 5 * time.Second}
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go func() { _ = proxy.Serve(proxyLn) }()
	t.Cleanup(func() { proxy.Close() })

	// The browser, going through the router.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.ProxyServer("http://"+proxyLn.Addr().String()),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"), // loopback through the proxy too
		chromedp.WindowSize(420, 900),                     // a phone-sized window
	)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	bctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	defer cancelTimeout()

	// Any web page: the router sends it to the responder, which sends the
	// browser to the portal, signed in.
	err = chromedp.Do(bctx, chromedp.Navigate("http://neverssl.example/"), chromedp.WaitVisible(`a.button[href$="/pay"]`))
	if err != nil {
		t.Fatalf("landing: %v\nagent log:\n%s", err, agent.logText())
	}
	landed, err := chromedp.Run(bctx, chromedp.Location())
	must(t, err)
	status, err := chromedp.Run(bctx, chromedp.Text("#status-h"))
	must(t, err)
	if rt.redirected.Load() == 0 {
		t.Fatal("the browser never went through the redirect responder")
	}
	if !strings.HasPrefix(landed, portalURL+"/account") || !strings.Contains(status, "suspended") {
		t.Fatalf("landed on %s with status %q", landed, status)
	}
	err = chromedp.Do(bctx,
		chromedp.Click(`a.button[href$="/pay"]`),
		chromedp.WaitVisible(`#pay-form`),
		chromedp.Click(`#method-new`),
	)
	if err != nil {
		t.Fatalf("the pay page: %v", err)
	}
	typeCard(bctx, t, "4242 4242 4242 4242", fmt.Sprintf("12/%d", (time.Now().Year()+3)%100), "123")
	err = chromedp.Do(bctx, chromedp.Click(`#pay-button`), chromedp.WaitVisible(`#restore-status`))
	if err != nil {
		t.Fatalf("paying: %v\ncontroller log:\n%s", err, ctl.logText())
	}
	// The page follows the restore (server-sent events) and says restored
	// once the agent has confirmed it.
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector("#restore-status").dataset.state === "restored"`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		text, _ := chromedp.Run(bctx, chromedp.Text(`#restore-status`))
		t.Fatalf("the page never said restored (it says %q): %v\nagent log:\n%s", text, err, agent.logText())
	}
	restored, err := chromedp.Run(bctx, chromedp.Text(`#restore-status`))
	must(t, err)
	if !strings.Contains(restored, "Service restored") {
		t.Fatalf("the page says %q", restored)
	}
	// By the time the page said so, the router had the address off the list.
	if n := sim.Count(suspendedList); n != 0 {
		t.Fatalf("the page says restored but the router still lists %d suspended entries", n)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	must(t, err)
	artifacts := os.Getenv("TOLLGATE_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join("testdata", ".artifacts")
	}
	must(t, os.MkdirAll(artifacts, 0o755))
	must(t, os.WriteFile(filepath.Join(artifacts, "portal-restored.png"), shot, 0o644))

	// The open Internet works again for the subscriber.
	must(t, chromedp.Do(bctx, chromedp.Navigate("http://neverssl.example/")))
	body, err := chromedp.Run(bctx, chromedp.Text("h1"))
	must(t, err)
	if body != "The open Internet" {
		t.Fatalf("after paying, a web page shows %q", body)
	}
	st, err := api.AccountStanding(ctx, acct.ID)
	must(t, err)
	if st.Balance != 0 || st.Services[0].DesiredState != billing.StateActive || !st.Services[0].Confirmed() {
		t.Fatalf("standing after paying: %+v", st)
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// insertOverdueInvoice writes, straight into the database, an unpaid
// invoice of amount (its one line "Fiber 100") issued 44 days ago, due 30
// days ago and delinquent since 23 days ago, with its journal entries, so
// that the account's next sweep finds it past its delinquency date.
func insertOverdueInvoice(t *testing.T, dbURL string, accountID, amount int64) {
	t.Helper()
	conn := connectDB(t, dbURL)
	_, err := conn.Exec(context.Background(), `WITH i AS (
			INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, created_at)
			SELECT n, 'INV-E2E-' || n, $1, current_date - 44, current_date - 14, current_date - 44, current_date - 30, current_date - 23,
				'USD', $2, 0, $2, now() FROM nextval('invoices_id_seq') n RETURNING id, issue_date
		), l AS (
			INSERT INTO invoice_lines (invoice_id, line_no, kind, description, amount) SELECT i.id, 1, 'recurring', 'Fiber 100', $2 FROM i
		), t AS (
			INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
		)
		INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
			(VALUES (1::smallint, 'accounts_receivable', $2::bigint), (2::smallint, 'service_revenue', -$2::bigint)) u(no, ledger, amount)`, accountID, amount)
	must(t, err)
}
