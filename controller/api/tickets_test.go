package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

var ticketsNow = time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC)

// ticketsEnv is the API with the ticket endpoints on a fresh database at
// ticketsNow, with two accounts.
type ticketsEnv struct {
	*env
	accounts []billing.Account
}

func newTicketsEnv(t *testing.T) *ticketsEnv {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tokens := []api.Token{
		api.NewToken("root", api.RoleAdmin, adminToken),
		api.NewToken("clerk", api.RoleBilling, billingToken),
		api.NewToken("viewer", api.RoleReader, readerToken),
	}
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Tickets: db},
		tokens, clock.NewFixed(ticketsNow), slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago"}, ticketsNow)
	if err != nil {
		t.Fatal(err)
	}
	e := &ticketsEnv{env: &env{t: t, url: hs.URL, db: db}}
	for _, name := range []string{"Jane Doe", "Bob Smith"} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: name, Email: "sub@example.net", AccountTypeID: typ.ID, Currency: "USD"}, ticketsNow)
		if err != nil {
			t.Fatal(err)
		}
		e.accounts = append(e.accounts, a)
	}
	return e
}

// open opens a ticket as the subscriber of account, an hour before now.
func (e *ticketsEnv) open(account billing.Account, subject string) billing.Ticket {
	e.t.Helper()
	tk, err := e.db.OpenTicket(context.Background(), account.ID, subject, "Help: "+subject, ticketsNow.Add(-time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}

func (e *ticketsEnv) ok(method, path, token, key, body string) map[string]any {
	e.t.Helper()
	r := e.do(method, path, token, key, body)
	if r.status != 200 {
		e.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	return r.json(e.t)
}

// problem does a request that must fail with status and a problem+json
// whose detail contains frag.
func (e *ticketsEnv) problem(status int, frag, method, path, token, key, body string) {
	e.t.Helper()
	r := e.do(method, path, token, key, body)
	if r.status != status {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		e.t.Errorf("%s %s: Content-Type %q, want application/problem+json", method, path, ct)
	}
	if !strings.Contains(string(r.body), frag) {
		e.t.Errorf("%s %s: %s, want a problem mentioning %q", method, path, r.body, frag)
	}
}

func ids(t *testing.T, m map[string]any) []int64 {
	t.Helper()
	var out []int64
	for _, it := range m["items"].([]any) {
		out = append(out, int64(it.(map[string]any)["id"].(float64)))
	}
	return out
}

func TestTicketReplyAndClose(t *testing.T) {
	t.Parallel()
	e := newTicketsEnv(t)
	jane := e.accounts[0]
	tk := e.open(jane, "No internet since Monday")
	path := fmt.Sprintf("/api/v1/tickets/%d", tk.ID)

	// Readers see it with its messages.
	got := e.ok("GET", path, readerToken, "", "")
	if got["account_number"] != jane.Number || got["status"] != "open" || got["subject"] != "No internet since Monday" {
		t.Fatalf("ticket: %v", got)
	}
	msgs := got["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["author_kind"] != "subscriber" || msgs[0].(map[string]any)["author"] != jane.Number {
		t.Fatalf("messages: %v", msgs)
	}

	// Staff answer as the token's name; the ticket is answered.
	reply := `{"body":"  Please power-cycle the ONT.  "}`
	first := e.do("POST", path+"/replies", billingToken, "reply-1", reply)
	if first.status != 200 {
		t.Fatalf("reply: %d %s", first.status, first.body)
	}
	got = first.json(t)
	msgs = got["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	if got["status"] != "answered" || len(msgs) != 2 || last["author_kind"] != "staff" || last["author"] != "clerk" ||
		last["body"] != "Please power-cycle the ONT." || last["created_at"] != ticketsNow.Format(time.RFC3339) {
		t.Fatalf("after the reply: %s", first.body)
	}
	// A retry with the same key is replayed, not written twice; the same
	// key with another message is refused.
	again := e.do("POST", path+"/replies", billingToken, "reply-1", reply)
	if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("replayed reply: %d %s", again.status, again.body)
	}
	e.problem(422, "", "POST", path+"/replies", billingToken, "reply-1", `{"body":"something else"}`)
	if tk, _ := e.db.Ticket(context.Background(), 0, tk.ID); len(tk.Messages) != 2 {
		t.Fatalf("%d messages after a replayed reply, want 2", len(tk.Messages))
	}

	// Close, as the token's name; closing again changes nothing.
	got = e.ok("POST", path+"/close", adminToken, "close-1", "")
	if got["status"] != "closed" || got["closed_by"] != "root" || got["closed_at"] != ticketsNow.Format(time.RFC3339) {
		t.Fatalf("closed ticket: %v", got)
	}
	got = e.ok("POST", path+"/close", billingToken, "close-2", "")
	if got["status"] != "closed" || got["closed_by"] != "root" {
		t.Fatalf("closed twice: %v", got)
	}
	// Staff cannot answer a closed ticket; the subscriber reopens it.
	e.problem(422, fmt.Sprintf("ticket %d is closed", tk.ID), "POST", path+"/replies", billingToken, "reply-2", `{"body":"one more thing"}`)
	if _, err := e.db.ReplyTicket(context.Background(), jane.ID, tk.ID, billing.AuthorSubscriber, "", "Still broken", ticketsNow); err != nil {
		t.Fatal(err)
	}
	got = e.ok("POST", path+"/replies", billingToken, "reply-3", `{"body":"A technician comes tomorrow."}`)
	if got["status"] != "answered" || len(got["messages"].([]any)) != 4 || got["closed_by"] != nil {
		t.Fatalf("after reopening and answering: %v", got)
	}
}

func TestTicketEndpointsRefuse(t *testing.T) {
	t.Parallel()
	e := newTicketsEnv(t)
	tk := e.open(e.accounts[0], "Slow")
	path := fmt.Sprintf("/api/v1/tickets/%d", tk.ID)
	missing := fmt.Sprintf("/api/v1/tickets/%d", tk.ID+100)

	for _, tc := range []struct {
		name, method, path, token, key, body string
		status                               int
		frag                                 string
	}{
		{"no token", "GET", path, "", "", "", 401, "bearer token"},
		{"reader replies", "POST", path + "/replies", readerToken, "k1", `{"body":"hi"}`, 403, "needs billing"},
		{"reader closes", "POST", path + "/close", readerToken, "k2", "", 403, "needs billing"},
		{"reply without Idempotency-Key", "POST", path + "/replies", billingToken, "", `{"body":"hi"}`, 400, "Idempotency-Key header is required"},
		{"close without Idempotency-Key", "POST", path + "/close", billingToken, "", "", 400, "Idempotency-Key header is required"},
		{"empty message", "POST", path + "/replies", billingToken, "k3", `{"body":""}`, 422, ""},
		{"blank message", "POST", path + "/replies", billingToken, "k4", `{"body":" \n "}`, 422, "message is required"},
		{"no message", "POST", path + "/replies", billingToken, "k5", `{}`, 422, "body"},
		{"message too long", "POST", path + "/replies", billingToken, "k6", `{"body":"` + strings.Repeat("x", 10001) + `"}`, 422, ""},
		{"unknown ticket", "GET", missing, readerToken, "", "", 404, fmt.Sprintf("ticket %d does not exist", tk.ID+100)},
		{"reply to an unknown ticket", "POST", missing + "/replies", billingToken, "k7", `{"body":"hi"}`, 404, "does not exist"},
		{"close an unknown ticket", "POST", missing + "/close", billingToken, "k8", "", 404, "does not exist"},
		{"bad id", "GET", "/api/v1/tickets/0", readerToken, "", "", 422, ""},
		{"bad status", "GET", "/api/v1/tickets?status=pending", readerToken, "", "", 422, ""},
		{"unknown account", "GET", "/api/v1/tickets?account_id=4242", readerToken, "", "", 404, "account 4242 does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &ticketsEnv{env: &env{t: t, url: e.url, db: e.db}}
			e.problem(tc.status, tc.frag, tc.method, tc.path, tc.token, tc.key, tc.body)
		})
	}
	got, err := e.db.Ticket(context.Background(), 0, tk.ID)
	if err != nil || got.Status != billing.TicketOpen || len(got.Messages) != 1 {
		t.Fatalf("the ticket after the refused requests: %+v, %v", got, err)
	}
}

func TestTicketListing(t *testing.T) {
	t.Parallel()
	e := newTicketsEnv(t)
	jane, bob := e.accounts[0], e.accounts[1]
	var all []int64
	for i := range 5 {
		a := jane
		if i%2 == 1 {
			a = bob
		}
		all = append(all, e.open(a, fmt.Sprintf("Ticket %d", i)).ID)
	}
	e.ok("POST", fmt.Sprintf("/api/v1/tickets/%d/replies", all[0]), billingToken, "r", `{"body":"done?"}`)
	e.ok("POST", fmt.Sprintf("/api/v1/tickets/%d/close", all[1]), billingToken, "c", "")

	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{all[4], all[3], all[2], all[1], all[0]}},
		{"?status=open", []int64{all[4], all[3], all[2]}},
		{"?status=answered", []int64{all[0]}},
		{"?status=closed", []int64{all[1]}},
		{fmt.Sprintf("?account_id=%d", bob.ID), []int64{all[3], all[1]}},
		{fmt.Sprintf("?account_id=%d&status=open", jane.ID), []int64{all[4], all[2]}},
	} {
		got := e.ok("GET", "/api/v1/tickets"+tc.query, readerToken, "", "")
		if fmt.Sprint(ids(t, got)) != fmt.Sprint(tc.want) {
			t.Errorf("GET /api/v1/tickets%s: %v, want %v", tc.query, ids(t, got), tc.want)
		}
		for _, it := range got["items"].([]any) {
			if _, ok := it.(map[string]any)["messages"]; ok {
				t.Errorf("GET /api/v1/tickets%s lists messages: %v", tc.query, it)
			}
		}
	}

	// Pages of two, newest first, until next_after is 0.
	var paged []int64
	after := int64(0)
	for pages := 0; ; pages++ {
		got := e.ok("GET", fmt.Sprintf("/api/v1/tickets?limit=2&after=%d", after), readerToken, "", "")
		paged = append(paged, ids(t, got)...)
		after = int64(got["next_after"].(float64))
		if after == 0 {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if fmt.Sprint(paged) != fmt.Sprint([]int64{all[4], all[3], all[2], all[1], all[0]}) {
		t.Fatalf("paged through %v", paged)
	}
	first := e.ok("GET", "/api/v1/tickets?status=closed", readerToken, "", "")["items"].([]any)[0].(map[string]any)
	if first["account_number"] != bob.Number || first["closed_by"] != "clerk" {
		t.Fatalf("listed closed ticket: %v", first)
	}
}

func TestTicketOpenAPI(t *testing.T) {
	t.Parallel()
	e := newTicketsEnv(t)
	doc := e.ok("GET", "/api/v1/openapi.json", "", "", "")
	paths := doc["paths"].(map[string]any)
	for p, method := range map[string]string{
		"/api/v1/tickets": "get", "/api/v1/tickets/{id}": "get", "/api/v1/tickets/{id}/replies": "post", "/api/v1/tickets/{id}/close": "post",
	} {
		o, ok := paths[p].(map[string]any)[method].(map[string]any)
		if !ok {
			t.Errorf("openapi.json lacks %s %s", method, p)
			continue
		}
		hasKey := false
		for _, prm := range o["parameters"].([]any) {
			if prm.(map[string]any)["name"] == "Idempotency-Key" {
				hasKey = true
			}
		}
		if hasKey != (method == "post") {
			t.Errorf("%s %s documents Idempotency-Key: %v", method, p, hasKey)
		}
	}
	// Without a ticket store the endpoints are not served.
	if r := (&ticketsEnv{env: newEnv(t)}).do("GET", "/api/v1/tickets", readerToken, "", ""); r.status != 404 {
		t.Fatalf("GET /api/v1/tickets without Deps.Tickets: %d", r.status)
	}
}
