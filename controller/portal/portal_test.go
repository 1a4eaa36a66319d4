package portal_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/portal"
)

// goodCard is Stripe's test method id for the Visa test card: what the
// processor's fields give the page (the portal never sees a card number).
const goodCard = "pm_card_visa"

func cardForm(method string) url.Values {
	return url.Values{"method": {"new"}, "payment_method": {method}}
}

func merge(vs ...url.Values) url.Values {
	out := url.Values{}
	for _, v := range vs {
		for k, x := range v {
			out[k] = x
		}
	}
	return out
}

func TestSignInWithEmailedCode(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Alice", "p1", "10.1.0.1", due(20), 5000)
	b := e.browser()
	b.get("/account").must(t, 200, "Sign in") // not signed in: the sign-in page
	b.signInWithCode(s.account)
	acct := b.get("/account").must(t, 200, "Account "+s.account.Number, "Balance", "$50.00", "INV-")
	if strings.Contains(acct.body, "Service suspended") {
		t.Fatal("a current account is shown as suspended")
	}
	// The code was emailed, and neither it nor anything like it was logged.
	msgs := e.smtp.Messages()
	if msgs[0].To[0] != "alice@example.net" {
		t.Fatalf("code sent to %v", msgs[0].To)
	}
	if code := codeIn(t, msgs[0].Text); strings.Contains(e.logs.String(), code) {
		t.Fatal("the sign-in code is in the logs")
	}
	// Sign out ends the session on the server, not just in the browser.
	a := b.get("/account")
	b.post("/signout", url.Values{"csrf": {a.hidden(t, "csrf")}}).must(t, 200, "You are signed out")
	b.get("/account").must(t, 200, "Your session ended")
}

func TestSignInCodeLimits(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Bob", "p1", "10.1.0.2", due(20), 5000)
	b := e.browser()
	ask := func() {
		home := b.get("/")
		b.post("/signin", url.Values{"csrf": {home.hidden(t, "csrf")}, "account": {s.account.Number}}).must(t, 200, "six-digit code")
	}
	// An unknown account gets the same answer and no email.
	home := b.get("/")
	b.post("/signin", url.Values{"csrf": {home.hidden(t, "csrf")}, "account": {"A-999999"}}).must(t, 200, "If A-999999 is an account")
	for range 4 {
		ask()
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.smtp.Messages()); n != 3 {
		t.Fatalf("%d codes emailed for 4 requests in one window, want 3 (the limit)", n)
	}
	// Five wrong tries kill the codes: the right one no longer works.
	right := codeIn(t, e.smtp.Messages()[2].Text)
	wrong := fmt.Sprintf("%06d", (mustAtoi(right)+1)%1_000_000)
	for range 5 {
		f := b.get("/signin/code")
		b.post("/signin/code", url.Values{"csrf": {f.hidden(t, "csrf")}, "account": {s.account.Number}, "code": {wrong}}).must(t, 401, "not right")
	}
	f := b.get("/signin/code")
	b.post("/signin/code", url.Values{"csrf": {f.hidden(t, "csrf")}, "account": {s.account.Number}, "code": {right}}).must(t, 401, "not right")
	// A code expires.
	e.clock.Add(16 * time.Minute)
	ask()
	msgs := e.smtp.WaitFor(t, 4, 10*time.Second)
	code := codeIn(t, msgs[3].Text)
	e.clock.Add(11 * time.Minute)
	f = b.get("/signin/code")
	b.post("/signin/code", url.Values{"csrf": {f.hidden(t, "csrf")}, "account": {s.account.Number}, "code": {code}}).must(t, 401, "not right")
}

func mustAtoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func TestSignInRateLimitPerAddress(t *testing.T) {
	e := newEnv(t, func(c *portal.Config) { c.SignInsPerMinute = 3 })
	s := e.owing("Carol", "p1", "10.1.0.3", due(20), 5000)
	b := e.browser()
	f := b.get("/signin/code")
	for i := range 3 {
		b.post("/signin/code", url.Values{"csrf": {f.hidden(t, "csrf")}, "account": {s.account.Number}, "code": {"000000"}}).must(t, 401)
		_ = i
	}
	p := b.post("/signin/code", url.Values{"csrf": {f.hidden(t, "csrf")}, "account": {s.account.Number}, "code": {"000000"}}).must(t, 429, "Too many")
	if p.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

func TestCaptiveTokenSignIn(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Dave", "p1", "10.1.0.4", due(-30), 5000)
	e.suspend()
	b := e.browser()
	p := b.get(strings.TrimPrefix(e.captiveURL(s.service, 10*time.Minute), e.url)).must(t, 200, "Account "+s.account.Number, "Service suspended", "Why")
	if strings.Contains(p.url, "/c/") {
		t.Fatalf("the token stayed in the address bar: %s", p.url)
	}
	for name, u := range map[string]string{
		"tampered": e.captiveURL(s.service, time.Minute) + "x",
		"garbage":  e.url + "/c/not-a-token",
	} {
		t.Run(name, func(t *testing.T) {
			e.browser().get(strings.TrimPrefix(u, e.url)).must(t, 401, "not valid")
		})
	}
	t.Run("another POP's key", func(t *testing.T) {
		// An agent of POP p2 signs a token naming a service of p1.
		other := s.service
		other.POP = "p2"
		tok, err := mint(e.srv, other, e.clock.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		e.browser().get("/c/"+tok).must(t, 401, "not valid")
	})
	t.Run("expired wording", func(t *testing.T) {
		e.browser().get(strings.TrimPrefix(e.captiveURL(s.service, -time.Second), e.url)).must(t, 401, "expired")
	})
}

// payPage opens the pay form.
func (b *browser) payPage() page {
	b.t.Helper()
	return b.get("/pay").must(b.t, 200, "Amount", "Pay with")
}

func TestPayWithNewCardRestoresOnlyWhenConfirmed(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Erin", "p1", "10.1.0.5", due(-30), 5000)
	e.suspend()
	e.confirm(s.service.ID) // the agent applied the suspension
	b := e.browser()
	b.get(strings.TrimPrefix(e.captiveURL(s.service, time.Minute), e.url)).must(t, 200, "Service suspended")

	// A declined card: nothing charged, the form says why, no payment.
	form := b.payPage()
	b.post("/pay", merge(cardForm("pm_card_chargeDeclined"), url.Values{"csrf": {form.hidden(t, "csrf")}, "key": {form.hidden(t, "key")},
		"choice": {"balance"}})).must(t, 402, "declined", "not charged")
	if bal, _ := e.db.Balance(context.Background(), s.account.ID); bal != 5000 {
		t.Fatalf("balance %d after a declined card", bal)
	}

	form = b.payPage()
	key := form.hidden(t, "key")
	paid := b.post("/pay", merge(cardForm(goodCard), url.Values{"csrf": {form.hidden(t, "csrf")}, "key": {key}, "choice": {"balance"}})).
		must(t, 200, "Payment of $50.00 received", "Restoring your service")
	if strings.Contains(paid.text(), "Service restored") {
		t.Fatal("the page says restored before the agent confirmed")
	}
	if !strings.Contains(paid.body, `<meta http-equiv="refresh"`) {
		t.Fatal("the restoring page does not refresh itself without JavaScript")
	}
	// The restore is in the outbox already; the page waits for the agent.
	svc, _ := e.db.Service(context.Background(), s.service.ID)
	if svc.DesiredState != billing.StateActive {
		t.Fatalf("desired state %s after paying", svc.DesiredState)
	}
	follow := regexp.MustCompile(`data-follow="([^"]+)"`).FindStringSubmatch(paid.body)
	if follow == nil {
		t.Fatal("the page has no events URL to follow")
	}
	events := make(chan string, 8)
	go func() {
		req, _ := http.NewRequest("GET", strings.TrimSuffix(e.url, "/portal")+strings.ReplaceAll(follow[1], "&amp;", "&"), nil)
		resp, err := b.c.Do(req)
		if err != nil {
			close(events)
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
		close(events)
	}()
	first := <-events
	if !strings.Contains(first, `"state":"restoring"`) {
		t.Fatalf("first event %s, want restoring", first)
	}
	e.confirm(s.service.ID) // the agent applied the restore and read it back
	select {
	case ev := <-events:
		if !strings.Contains(ev, `"state":"restored"`) {
			t.Fatalf("event %s, want restored", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no restored event 10 s after the agent confirmed")
	}
	b.get(strings.TrimPrefix(paid.url, e.url)).must(t, 200, "Service restored")

	// The same form submitted again (a reload) charges nothing more.
	again := b.post("/pay", merge(cardForm(goodCard), url.Values{"csrf": {form.hidden(t, "csrf")}, "key": {key}, "choice": {"balance"}}))
	again.must(t, 200, "Payment of $50.00 received")
	if bal, _ := e.db.Balance(context.Background(), s.account.ID); bal != 0 {
		t.Fatalf("balance %d after paying 50.00 once (or twice?)", bal)
	}
	// The card was not kept (the box was not ticked).
	b.get("/methods").must(t, 200, "No cards on file")
}

func TestPartialPaymentBelowTheRuleStaysSuspended(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Faye", "p1", "10.1.0.6", due(-30), 5000)
	e.suspend()
	b := e.browser()
	b.get(strings.TrimPrefix(e.captiveURL(s.service, time.Minute), e.url))
	form := b.payPage()
	b.post("/pay", merge(cardForm(goodCard), url.Values{"csrf": {form.hidden(t, "csrf")}, "key": {form.hidden(t, "key")},
		"choice": {"other"}, "other": {"20.00"}, "save": {"1"}})).
		must(t, 200, "Payment of $20.00 received", "stays suspended until the past-due amount of $30.00 is paid")
	// The card was kept this time, and is offered next.
	form = b.payPage()
	if !strings.Contains(form.text(), "Visa ending 4242") {
		t.Fatalf("the kept card is not offered:\n%s", form.text())
	}
	for _, bad := range []url.Values{{"choice": {"other"}, "other": {"-5"}}, {"choice": {"other"}, "other": {"1.234"}}, {"choice": {"nonsense"}}} {
		b.post("/pay", merge(bad, url.Values{"csrf": {form.hidden(t, "csrf")}, "key": {form.hidden(t, "key")}, "method": {"new"}})).must(t, 422)
	}
}

func TestMethodsAndAutopay(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Gus", "p1", "10.1.0.7", due(20), 5000)
	b := e.browser()
	b.signInWithCode(s.account)
	m := b.get("/methods").must(t, 200, "No cards on file", "Autopay is off")
	b.post("/autopay", url.Values{"csrf": {m.hidden(t, "csrf")}, "enabled": {"on"}}).must(t, 422, "no default payment method")
	m = b.get("/methods")
	b.post("/methods", merge(cardForm("pm_card_mastercard"), url.Values{"csrf": {m.hidden(t, "csrf")}, "key": {m.hidden(t, "key")}, "default": {"1"}})).
		must(t, 200, "The payment method was added", "Mastercard ending 4444", "(default)")
	m = b.get("/methods")
	b.post("/methods", merge(cardForm("pm_card_visa"), url.Values{"csrf": {m.hidden(t, "csrf")}, "key": {m.hidden(t, "key")}})).must(t, 200, "Visa ending 4242")
	m = b.get("/methods")
	b.post("/methods", merge(cardForm("4242424242424241"), url.Values{"csrf": {m.hidden(t, "csrf")}, "key": {m.hidden(t, "key")}})).must(t, 422, "looks like a card number")
	m = b.get("/methods")
	b.post("/autopay", url.Values{"csrf": {m.hidden(t, "csrf")}, "enabled": {"on"}}).must(t, 200, "Autopay is on")
	ms, _ := e.db.PaymentMethods(context.Background(), s.account.ID)
	var visa int64
	for _, x := range ms {
		if x.Last4 == "4242" {
			visa = x.ID
		}
	}
	m = b.get("/methods")
	b.post(fmt.Sprintf("/methods/%d/default", visa), url.Values{"csrf": {m.hidden(t, "csrf")}}).must(t, 200, "default payment method changed")
	m = b.get("/methods")
	b.post(fmt.Sprintf("/methods/%d/remove", visa), url.Values{"csrf": {m.hidden(t, "csrf")}}).must(t, 200, "removed", "Autopay is off")
	// No card number reached the database or the logs.
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payment_methods WHERE token LIKE '%4242424242424242%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("card number in payment_methods (%d, %v)", n, err)
	}
	if strings.Contains(e.logs.String(), "4242424242424242") || strings.Contains(e.logs.String(), "5555 5555") {
		t.Fatal("a card number is in the logs")
	}
}

func TestTicketsWithStaffReply(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Hana", "p1", "10.1.0.8", due(20), 5000)
	b := e.browser()
	b.signInWithCode(s.account)
	tp := b.get("/tickets").must(t, 200, "No tickets yet")
	b.post("/tickets", url.Values{"csrf": {tp.hidden(t, "csrf")}, "subject": {""}, "body": {"x"}}).must(t, 422, "subject is required")
	tk := b.post("/tickets", url.Values{"csrf": {tp.hidden(t, "csrf")}, "subject": {"Slow at night"}, "body": {"Speeds drop after 9pm."}}).
		must(t, 200, "Your ticket was sent", "Speeds drop after 9pm.")
	id := regexp.MustCompile(`/tickets/(\d+)`).FindStringSubmatch(tk.url)[1]
	var tid int64
	fmt.Sscan(id, &tid)
	if _, err := e.db.ReplyTicket(context.Background(), 0, tid, billing.AuthorStaff, "alice", "We replaced a card in the cabinet.", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	tk = b.get("/tickets/"+id).must(t, 200, "We replaced a card in the cabinet.", "answered, waiting for you")
	b.post("/tickets/"+id+"/close", url.Values{"csrf": {tk.hidden(t, "csrf")}}).must(t, 200, "The ticket is closed")
	tk = b.get("/tickets/" + id)
	b.post("/tickets/"+id+"/reply", url.Values{"csrf": {tk.hidden(t, "csrf")}, "body": {"It is back."}}).must(t, 200, "Your reply was sent", "It is back.")
	got, _ := e.db.Ticket(context.Background(), 0, tid)
	if got.Status != billing.TicketOpen || len(got.Messages) != 3 {
		t.Fatalf("ticket after reopen: %s with %d messages", got.Status, len(got.Messages))
	}
	// The staff reply e-mailed Hana; her own messages from the portal
	// (opening the ticket, replying) e-mailed nobody.
	ns, err := e.db.Notices(context.Background(), billing.NoticeFilter{AccountID: s.account.ID, Kind: billing.NoticeTicketReply})
	if err != nil || len(ns) != 1 || ns[0].Data.Message != "We replaced a card in the cabinet." || ns[0].To != "hana@example.net" {
		t.Fatalf("ticket_reply notices: %+v %v; want the staff reply's only", ns, err)
	}
}

// TestGuessedIDs signs in as one subscriber and tries every URL that takes
// an id with the ids of another subscriber's invoice, payment, card and
// ticket: each answers 404 and shows nothing of theirs.
func TestGuessedIDs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mine := e.owing("Ivan", "p1", "10.1.0.9", due(20), 5000)
	theirs := e.owing("Judy", "p1", "10.1.0.10", due(20), 7777)

	// Judy pays with a kept card and opens a ticket.
	j := e.browser()
	j.signInWithCode(theirs.account)
	f := j.payPage()
	paid := j.post("/pay", merge(cardForm(goodCard), url.Values{"csrf": {f.hidden(t, "csrf")}, "key": {f.hidden(t, "key")}, "choice": {"other"},
		"other": {"11.11"}, "save": {"1"}})).must(t, 200, "$11.11 received")
	attempt := regexp.MustCompile(`/payments/(\d+)`).FindStringSubmatch(paid.url)[1]
	ms, _ := e.db.PaymentMethods(ctx, theirs.account.ID)
	card := fmt.Sprint(ms[0].ID)
	tk, err := e.db.OpenTicket(ctx, theirs.account.ID, "Judy's secret subject", "Judy's secret body", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ticket := fmt.Sprint(tk.ID)
	inv := fmt.Sprint(theirs.invoice)

	i := e.browser()
	i.signInWithCode(mine.account)
	csrf := i.get("/account").hidden(t, "csrf")
	post := url.Values{"csrf": {csrf}, "body": {"hijack"}}
	cases := []struct{ method, path string }{
		{"GET", "/invoices/" + inv},
		{"GET", "/invoices/" + inv + "/pdf"},
		{"GET", "/payments/" + attempt},
		{"GET", "/payments/" + attempt + "/events"},
		{"POST", "/methods/" + card + "/default"},
		{"POST", "/methods/" + card + "/remove"},
		{"GET", "/tickets/" + ticket},
		{"POST", "/tickets/" + ticket + "/reply"},
		{"POST", "/tickets/" + ticket + "/close"},
		// Malformed and absent ids too.
		{"GET", "/invoices/0"}, {"GET", "/invoices/-1"}, {"GET", "/invoices/abc"}, {"GET", "/invoices/999999"},
		{"GET", "/tickets/999999"}, {"GET", "/payments/999999"},
	}
	for _, c := range cases {
		t.Run(c.method+c.path, func(t *testing.T) {
			var p page
			if c.method == "GET" {
				p = i.get(c.path)
			} else {
				p = i.post(c.path, post)
			}
			if p.status != 404 {
				t.Fatalf("status %d, want 404:\n%s", p.status, p.text())
			}
			for _, leak := range []string{theirs.account.Number, "Judy", "77.77", "11.11", "secret"} {
				if strings.Contains(p.body, leak) {
					t.Fatalf("the page shows %q", leak)
				}
			}
		})
	}
	// Nothing of Judy's changed.
	after, _ := e.db.PaymentMethods(ctx, theirs.account.ID)
	if after[0].Status != "active" || !after[0].Default {
		t.Fatalf("Judy's card changed: %+v", after[0])
	}
	got, _ := e.db.Ticket(ctx, 0, tk.ID)
	if got.Status != billing.TicketOpen || len(got.Messages) != 1 {
		t.Fatalf("Judy's ticket changed: %s, %d messages", got.Status, len(got.Messages))
	}
	// Ivan's own invoice opens, HTML and PDF.
	i.get(fmt.Sprintf("/invoices/%d", mine.invoice)).must(t, 200, "$50.00")
	if p := i.get(fmt.Sprintf("/invoices/%d/pdf", mine.invoice)); p.status != 200 || !strings.HasPrefix(p.body, "%PDF") {
		t.Fatalf("own invoice PDF: %d %q", p.status, p.body[:min(20, len(p.body))])
	}
}

func TestCSRFAndCrossSiteForms(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Kim", "p1", "10.1.0.11", due(20), 5000)
	b := e.browser()
	b.signInWithCode(s.account)
	a := b.get("/account")
	// No token, a wrong token, another browser's token.
	b.post("/tickets", url.Values{"subject": {"x"}, "body": {"y"}}).must(t, 403, "expired")
	b.post("/tickets", url.Values{"csrf": {"AAAA"}, "subject": {"x"}, "body": {"y"}}).must(t, 403)
	other := e.browser()
	other.signInWithCode(s.account)
	b.post("/tickets", url.Values{"csrf": {other.get("/account").hidden(t, "csrf")}, "subject": {"x"}, "body": {"y"}}).must(t, 403)
	// A cross-site post with a good token is refused too.
	req, _ := http.NewRequest("POST", e.url+"/tickets", strings.NewReader(url.Values{"csrf": {a.hidden(t, "csrf")}, "subject": {"x"}, "body": {"y"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("cross-origin post: %d, want 403", resp.StatusCode)
	}
	if ts, _ := e.db.Tickets(context.Background(), billing.TicketFilter{AccountID: s.account.ID}); len(ts) != 0 {
		t.Fatalf("%d tickets opened by refused posts", len(ts))
	}
	// The right token works.
	b.post("/tickets", url.Values{"csrf": {a.hidden(t, "csrf")}, "subject": {"x"}, "body": {"y"}}).must(t, 200, "Your ticket was sent")
}

func TestCookiesAndHeaders(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Lee", "p1", "10.1.0.12", due(-30), 5000)
	e.suspend() // captive links sign in only while suspended
	b := e.browser()
	b.signInWithCode(s.account)
	// Sign in again by hand to see the Set-Cookie headers.
	home := b.get("/")
	_ = home
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.captiveURL(s.service, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("captive sign-in: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "tg_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/portal" {
		t.Fatalf("session cookie %+v", session)
	}
	p := b.get("/account")
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY",
		"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if !strings.Contains(p.header.Get(h), want) {
			t.Errorf("%s: %q, want it to contain %q", h, p.header.Get(h), want)
		}
	}
}

func TestSecureCookiesForHTTPS(t *testing.T) {
	srv, err := portal.New(portal.Config{PublicURL: "https://pay.example.net/portal", Secrets: [][]byte{make([]byte, 32)}},
		portal.Deps{Store: newEnv(t).db}, nil, nil, nil)
	if err == nil {
		rec := newRecorder()
		srv.Handler().ServeHTTP(rec, mustRequest("GET", "https://pay.example.net/portal/"))
		ck := rec.Result().Cookies()
		if len(ck) == 0 || ck[0].Name != "__Secure-tg_csrf" || !ck[0].Secure {
			t.Fatalf("cookies over https: %+v", ck)
		}
		if !strings.Contains(rec.Header().Get("Strict-Transport-Security"), "max-age") {
			t.Fatal("no HSTS over https")
		}
		return
	}
	t.Fatal(err)
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  portal.Config
		want string
	}{
		{portal.Config{Secrets: [][]byte{make([]byte, 32)}}, "public_url is required"},
		{portal.Config{PublicURL: "pay.example.net", Secrets: [][]byte{make([]byte, 32)}}, "absolute http(s) URL"},
		{portal.Config{PublicURL: "https://x/portal"}, "no secret"},
		{portal.Config{PublicURL: "https://x/portal", Secrets: [][]byte{make([]byte, 8)}}, "at least 32"},
		{portal.Config{PublicURL: "https://x/portal", Secrets: [][]byte{make([]byte, 32)}, TrustedProxies: []string{"nope"}}, "trusted_proxies"},
	} {
		_, err := portal.New(c.cfg, portal.Deps{}, nil, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestCaptivePortalAPI(t *testing.T) {
	e := newEnv(t, func(c *portal.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.VenueInfoURL = "https://isp.example"
	})
	s := e.owing("Max", "p1", "10.1.0.13", due(-30), 5000)
	e.owing("Ned", "p1", "10.1.0.14/32", due(20), 5000)
	e.suspend()
	get := func(from string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+"/captive-portal/api", nil)
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/captive+json" {
			t.Fatalf("content type %q", ct)
		}
		var m map[string]any
		if err := decodeJSON(resp.Body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := get("10.1.0.13")
	if m["captive"] != true || !strings.HasPrefix(m["user-portal-url"].(string), e.url+"/c/") || m["venue-info-url"] != "https://isp.example" {
		t.Fatalf("suspended subscriber: %v", m)
	}
	// The user-portal-url signs the subscriber in.
	e.browser().get(strings.TrimPrefix(m["user-portal-url"].(string), e.url)).must(t, 200, "Account "+s.account.Number)
	if m := get("10.1.0.14"); m["captive"] != false {
		t.Fatalf("current subscriber (address stored as /32): %v", m)
	}
	if m := get("192.0.2.1"); m["captive"] != false || m["user-portal-url"] != nil {
		t.Fatalf("unknown address: %v", m)
	}
}

// TestAccountPageWhyIsForTheSubscriber: the "why" on a suspended
// subscriber's page is rendered from the structured reasons, in plain
// words and the account's locale, never the staff's sentences.
func TestAccountPageWhyIsForTheSubscriber(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Wendy", "p1", "10.1.0.9", due(-30), 5311)
	g := e.owing("Gerd", "p1", "10.1.0.10", due(-30), 5311)
	if _, err := e.db.SetAccountLocale(context.Background(), g.account.ID, "de-DE"); err != nil {
		t.Fatal(err)
	}
	e.suspend()
	why := func(sub subscriber) string {
		p := e.browser().get(strings.TrimPrefix(e.captiveURL(sub.service, 10*time.Minute), e.url)).must(t, 200, "Service suspended", "Why")
		_, rest, ok := strings.Cut(p.body, `<ul class="why">`)
		list, _, ok2 := strings.Cut(rest, "</ul>")
		if !ok || !ok2 {
			t.Fatalf("no why list:\n%s", p.body)
		}
		return list
	}
	due := due(-30)
	en := why(s)
	for _, want := range []string{"for $53.11 was due on " + billing.Locale("en-US").Date(due, billing.DateOf(testNow)),
		"Your service is suspended. To restore it, pay the past-due amount of $53.11."} {
		if !strings.Contains(en, want) {
			t.Errorf("why lacks %q:\n%s", want, en)
		}
	}
	de := why(g)
	if want := "über 53,11 $ war am " + billing.Locale("de-DE").Date(due, billing.DateOf(testNow)) + " fällig."; !strings.Contains(de, want) {
		t.Errorf("German why lacks %q:\n%s", want, de)
	}
	for _, list := range []string{en, de} {
		for _, staff := range []string{"USD", due.String(), "auto-suspend", "grace", "allowed"} {
			if strings.Contains(list, staff) {
				t.Errorf("the subscriber's why shows the staff's %q:\n%s", staff, list)
			}
		}
	}
}
