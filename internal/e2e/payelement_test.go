package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// recorder is a reverse proxy in front of one host:port that keeps every
// request it passes on (URL, headers, body): what that origin received.
type recorder struct {
	URL string // the proxy's base URL, http://127.0.0.1:port

	mu   sync.Mutex
	seen []recordedRequest
}

type recordedRequest struct {
	Method, URL string
	Header      http.Header
	Body        []byte
}

func (r recordedRequest) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL)
	for k, vs := range r.Header {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	b.Write(r.Body)
	return b.String()
}

func startRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	must(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.FlushInterval = -1 // server-sent events pass at once
	rec := &recorder{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	rec.URL = "http://" + ln.Addr().String()
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.seen = append(rec.seen, recordedRequest{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone(), Body: body})
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return rec
}

// requests returns what the origin has received so far.
func (r *recorder) requests() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedRequest(nil), r.seen...)
}

// typeCard types a card into the payment processor's fields: the sandbox's
// iframe (its own origin; the same site, so Chromium keeps it in the page's
// process and FromNode reaches into it).
func typeCard(b context.Context, t *testing.T, number, expiry, cvc string) {
	t.Helper()
	do(b, t, "the processor's iframe", chromedp.WaitVisible(`iframe.payelement-frame`))
	frames, err := chromedp.Run(b, chromedp.Nodes(`iframe.payelement-frame`))
	must(t, err)
	in := chromedp.FromNode(frames[0])
	do(b, t, "typing into the processor's fields",
		chromedp.WaitVisible(`#number`, in),
		chromedp.SendKeys(`#number`, number, in),
		chromedp.SendKeys(`#expiry`, expiry, in),
		chromedp.SendKeys(`#cvc`, cvc, in),
		chromedp.SendKeys(`#name`, "Robin Subscriber", in))
}

// TestPortalPaysThroughTheProcessorsFields is issue 19's acceptance test:
// a subscriber pays in the portal (real Chromium) through the sandbox
// processor's fields — an iframe from the sandbox's own origin — with a
// declined card (the decline is shown), a card whose bank asks for 3-D
// Secure (the sandbox bank's page is shown; refused once, then approved)
// and the Visa test card. Recorders in front of the portal's host:port and the sandbox's
// prove where the card data went: every request the portal's address
// received is free of card numbers and security codes; the sandbox's
// origin received them.
func TestPortalPaysThroughTheProcessorsFields(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	httpAddr, grpcAddr, sandboxAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	portalRec := startRecorder(t, "http://"+httpAddr)
	sandboxRec := startRecorder(t, "http://"+sandboxAddr)
	portalURL := portalRec.URL + "/portal"
	secret := strings.Repeat("e2e-portal-secret-", 3)
	cfg := t.TempDir() + "/controller.yaml"
	write(t, cfg, fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
company: {name: "Prairie Fiber"}
delinquency: {guard: {disabled: true}}
portal:
  public_url: %q
payments:
  gateway: sandbox
  sandbox: {listen: %q, public_url: %q}
`, dbURL, httpAddr, grpcAddr, adminToken, portalURL, sandboxAddr, sandboxRec.URL))
	ctl := start(t, "tollgate-controller", []string{"TOLLGATE_PORTAL_SECRETS=" + secret}, "--config", cfg)
	base := "http://" + httpAddr
	waitHTTP(t, base+"/readyz", 200, 60*time.Second)
	api := client.New(base, adminToken)

	// A subscriber 30 days past due (65.00), suspended by the sweep.
	var typ billing.AccountType
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), billing.AccountType{
		Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, DueDays: 14, GraceDays: 7, TimeZone: "UTC",
		DelinquencyWeekdays: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue}, &typ))
	var acct billing.Account
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), billing.NewAccount{
		Name: "Robin Subscriber", Email: "robin@example.net", AccountTypeID: typ.ID, Currency: "USD"}, &acct))
	svc, err := api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north-tower-1", Name: "fiber 100",
		Binding: billing.Binding{Method: "routeros", Device: "edge", Addresses: []string{"127.0.0.77"}}, AccountID: &acct.ID})
	must(t, err)
	insertOverdueInvoice(t, dbURL, acct.ID, 6500)
	res, err := api.RunSweep(ctx, client.NewIdempotencyKey(), typ.ID, false)
	must(t, err)
	if res.Suspended != 1 {
		t.Fatalf("the sweep suspended %d services, want 1", res.Suspended)
	}
	// Signed in as an agent's captive redirect would sign them in.
	tok, err := captive.Mint(captive.DeriveKey([]byte(secret), "north-tower-1"), svc.ID, time.Now().Add(time.Minute))
	must(t, err)

	b := newBrowser(t, true)
	do(b, t, "the captive sign-in", chromedp.Navigate(portalURL+"/c/"+tok), chromedp.WaitVisible(`a.button[href$="/pay"]`))

	// payWith opens the pay page, chooses a new card and types it into the
	// processor's fields (inside the iframe), then presses Pay.
	payWith := func(what, number, expiry, cvc string, other string) {
		t.Helper()
		do(b, t, what+": the pay page", chromedp.Navigate(portalURL+"/pay"), chromedp.WaitVisible(`#pay-form`))
		if other != "" {
			do(b, t, what+": another amount", chromedp.Click(`#choice-other`), chromedp.SendKeys(`#other`, other))
		}
		do(b, t, what+": a new card", chromedp.Click(`#method-new`))
		typeCard(b, t, number, expiry, cvc)
		do(b, t, what+": paying", chromedp.Click(`#pay-button`))
	}

	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range sandboxRec.requests() {
				t.Logf("sandbox origin received: %s %s %s", r.Method, r.URL, r.Body)
			}
		}
	})
	// 1. A declined card: the decline is shown, nothing is charged.
	payWith("the declined card", "4000 0000 0000 0002", "12/34", "837", "")
	waitText(b, t, ".alert.error", "declined")
	waitText(b, t, ".alert.error", "You were not charged")

	// 2. A card whose bank asks for 3-D Secure, and the subscriber fails
	// the bank's check: nothing is charged, the portal says so.
	payWith("the 3-D Secure card, refused", "4000 0027 6000 3184", "11/33", "914", "")
	do(b, t, "the portal's step to the bank", chromedp.WaitVisible(`#auth-continue`), chromedp.Click(`#auth-continue`))
	do(b, t, "failing the check", chromedp.WaitVisible(`#auth-fail`), chromedp.Click(`#auth-fail`))
	waitText(b, t, ".alert.error", "Your bank did not confirm the payment")

	// 3. The same card, and the subscriber passes the bank's check: the
	// (sandbox) bank's page sends them back to the portal, paid.
	payWith("the 3-D Secure card", "4000 0027 6000 3184", "11/33", "914", "10.00")
	do(b, t, "the portal's step to the bank", chromedp.WaitVisible(`#auth-continue`), chromedp.Click(`#auth-continue`))
	waitText(b, t, "#auth-what", "10.00 with the card ending 3184")
	if loc, _ := chromedp.Run(b, chromedp.Location()); !strings.HasPrefix(loc, sandboxRec.URL+"/authenticate/") {
		t.Fatalf("the authentication page is at %s, not on the sandbox's origin %s", loc, sandboxRec.URL)
	}
	do(b, t, "approving", chromedp.Click(`#auth-approve`))
	waitText(b, t, "main", "Payment of $10.00 received")

	// 4. The Visa test card pays the rest.
	payWith("the Visa test card", "4242 4242 4242 4242", "10/32", "562", "")
	waitText(b, t, "main", "Payment of $55.00 received")

	st, err := api.AccountStanding(ctx, acct.ID)
	must(t, err)
	if st.Balance != 0 {
		t.Fatalf("balance %d after paying 10.00 and 55.00 of 65.00", st.Balance)
	}

	// Where the card data went.
	secrets := []string{"4000 0000 0000 0002", "4000000000000002", "4000 0027 6000 3184", "4000002760003184",
		"4242 4242 4242 4242", "4242424242424242", `"cvc"`, "cvc=", "837", "914", "562"}
	portalReqs := portalRec.requests()
	if len(portalReqs) < 10 {
		t.Fatalf("the portal's recorder saw only %d requests", len(portalReqs))
	}
	for _, r := range portalReqs {
		text := r.String()
		// CVCs are three digits: look for them as whole values only.
		for _, s := range secrets {
			hit := strings.Contains(text, s)
			if len(s) == 3 && s[0] != '"' {
				hit = strings.Contains(text, "="+s+"&") || strings.HasSuffix(text, "="+s) || strings.Contains(text, `"`+s+`"`)
			}
			if hit {
				t.Errorf("the portal's address received %q in:\n%s", s, text)
			}
		}
	}
	var sawCards int
	for _, r := range sandboxRec.requests() {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL, "/v1/elements/payment_methods") {
			body := string(r.Body)
			for _, pair := range [][2]string{{"4000 0000 0000 0002", "837"}, {"4000 0027 6000 3184", "914"}, {"4242 4242 4242 4242", "562"}} {
				if strings.Contains(body, pair[0]) && strings.Contains(body, `"cvc":"`+pair[1]+`"`) {
					sawCards++
				}
			}
		}
	}
	if sawCards != 4 {
		t.Errorf("the sandbox's origin received %d of the 4 cards typed with their security codes", sawCards)
	}
	if strings.Contains(ctl.logText(), "4242424242424242") || strings.Contains(ctl.logText(), "4242 4242") {
		t.Error("a card number is in the controller's log")
	}
}
