package api_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// searchEnv is an API on a fixed clock (2026-12-15) with four accounts
// made through the API: Jane Smith (company, phone, billing address, a
// service at 10.0.0.5 delivered to 77 Fiber Rd), John Doe (two invoices,
// the first past due, and a check 1042 of 20.00; a RADIUS service
// jdoe@isp), Austin Lee, and one with a service bound from a pool.
type searchEnv struct {
	*env
	reader          *client.Client
	jane, john, lee int64
	pooled          int64
	johnInvoices    []string
	janeNumber      string
	pooledAddress   string
}

func newSearchEnv(t *testing.T) *searchEnv {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tokens := []api.Token{api.NewToken("root", api.RoleAdmin, adminToken), api.NewToken("clerk", api.RoleBilling, billingToken),
		api.NewToken("viewer", api.RoleReader, readerToken)}
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, AddressPools: db},
		tokens, clock.NewFixed(collectionsNow), slog.New(slog.DiscardHandler), nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &searchEnv{env: &env{t: t, url: hs.URL, db: db, logs: &syncBuffer{}}, reader: client.New(hs.URL, readerToken)}

	post := func(path, token, body string) map[string]any {
		t.Helper()
		r := e.do("POST", path, token, "setup-"+fmt.Sprint(len(body))+path+body[:min(len(body), 40)], body)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		return r.json(t)
	}
	id := func(m map[string]any) int64 { return int64(m["id"].(float64)) }
	post("/api/v1/account-types", adminToken, residential)
	jane := post("/api/v1/accounts", billingToken, `{"name":"Jane Smith","company_name":"Smith Farms LLC","email":"jane.smith@example.net",
		"phone":"+1 (512) 555-0100","address":{"line1":"12 Main St","city":"Austin","region":"TX","postal_code":"78701"},
		"account_type_id":1,"currency":"USD","external_id":"legacy-7"}`)
	e.jane, e.janeNumber = id(jane), jane["number"].(string)
	e.john = id(post("/api/v1/accounts", billingToken, `{"name":"John Doe","email":"john@doe.org","phone":"512-555-0199",
		"address":{"line1":"400 Oak Ave","city":"Dallas","region":"TX"},"account_type_id":1,"currency":"USD"}`))
	e.lee = id(post("/api/v1/accounts", billingToken, `{"name":"Austin","email":"lee@example.org","account_type_id":1,"currency":"USD"}`))
	e.pooled = id(post("/api/v1/accounts", billingToken, `{"name":"Pat Pool","account_type_id":1,"currency":"USD"}`))

	post("/api/v1/services", billingToken, fmt.Sprintf(`{"pop":"pop-1","name":"fiber","account_id":%d,
		"binding":{"method":"routeros","addresses":["10.0.0.5"]},"service_address":{"line1":"77 Fiber Rd","city":"Round Rock","region":"TX"}}`, e.jane))
	post("/api/v1/services", billingToken, fmt.Sprintf(`{"pop":"pop-1","name":"pppoe","account_id":%d,
		"binding":{"method":"radius","radius_username":"jdoe@isp"}}`, e.john))
	post("/api/v1/address-pools", adminToken, `{"pop":"pop-2","name":"pool-v4","prefix":"100.64.7.0/24","gateway":"100.64.7.1"}`)
	pooled := post("/api/v1/services", billingToken, fmt.Sprintf(`{"pop":"pop-2","name":"pooled","account_id":%d,
		"binding":{"method":"routeros"},"allocate":"auto"}`, e.pooled))
	e.pooledAddress = pooled["binding"].(map[string]any)["addresses"].([]any)[0].(string)

	// John: two invoices of 50.00 due 2026-12-01 (past due on the 15th) and
	// 2027-01-01; a check of 20.00 pays part of the first.
	e.johnInvoices = twoInvoices(t, db, e.john)
	post(fmt.Sprintf("/api/v1/accounts/%d/payments", e.john), billingToken, `{"method":"check","amount":"20.00","reference":"1042","payer":"John Doe"}`)
	return e
}

func (e *searchEnv) search(q string) client.SearchResults {
	e.t.Helper()
	r, err := e.reader.Search(context.Background(), q, 0)
	if err != nil {
		e.t.Fatalf("search %q: %v", q, err)
	}
	return r
}

// first is the first hit's account and match ("field text"), "" if none.
func first(r client.SearchResults) (int64, string) {
	if len(r.Items) == 0 {
		return 0, ""
	}
	return r.Items[0].AccountID, r.Items[0].Match.String()
}

func TestSearchFindsAccountsByEveryKind(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	for _, tc := range []struct {
		name, q   string
		account   *int64
		match     string
		wantExact bool
	}{
		{"account number", e.janeNumber, &e.jane, "number " + e.janeNumber, true},
		{"account number by its digits", strings.TrimLeft(strings.TrimPrefix(e.janeNumber, "A-"), "0"), &e.jane, "number " + e.janeNumber, true},
		{"account number typed loosely", "a" + strings.TrimPrefix(e.janeNumber, "A-"), &e.jane, "number " + e.janeNumber, true},
		{"external id", "legacy-7", &e.jane, "external_id legacy-7", true},
		{"invoice number", e.johnInvoices[1], &e.john, "invoice " + e.johnInvoices[1], true},
		{"check number", "1042", &e.john, "check 1042", true},
		{"IP address", "10.0.0.5", &e.jane, "ip 10.0.0.5", true},
		{"pool-bound address by its prefix", "100.64.7.0/24", &e.pooled, "ip " + strings.TrimSuffix(e.pooledAddress, "/32"), true},
		{"RADIUS user name", "jdoe@isp", &e.john, "username jdoe@isp", true},
		{"phone by digits", "5550199", &e.john, "phone 512-555-0199", false},
		{"phone as written", "(512) 555-0100", &e.jane, "phone +1 (512) 555-0100", false},
		{"e-mail, exact, any case", "JANE.SMITH@example.net", &e.jane, "email jane.smith@example.net", true},
		{"e-mail, part", "@doe.org", &e.john, "email john@doe.org", false},
		{"name, part", "ohn do", &e.john, "name John Doe", false},
		{"company, part", "farms", &e.jane, "company Smith Farms LLC", false},
		{"billing address, part", "400 oak", &e.john, "address 400 Oak Ave Dallas TX", false},
		{"service address, part", "fiber rd", &e.jane, "service_address 77 Fiber Rd Round Rock TX", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.search(tc.q)
			got, match := first(r)
			if got != *tc.account || match != tc.match || r.Items[0].Match.Exact != tc.wantExact {
				t.Fatalf("search %q: first hit account %d %q (%+v), want account %d %q exact %v", tc.q, got, match, r.Items, *tc.account, tc.match, tc.wantExact)
			}
		})
	}
}

func TestSearchRanksExactFirstAndShowsStanding(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	// "Austin" is Lee's whole name and part of Jane's billing address: the
	// exact match first, each account once.
	r := e.search("  austin ")
	if r.Query != "austin" || len(r.Items) != 2 || r.Items[0].AccountID != e.lee || r.Items[0].Match.String() != "name Austin" ||
		r.Items[1].AccountID != e.jane || r.Items[1].Match.Field != billing.MatchAddress {
		t.Fatalf("austin: %+v", r)
	}
	// Jane matches "smith" in her name, company and e-mail: once, by her
	// most similar field.
	r = e.search("smith")
	if len(r.Items) != 1 || r.Items[0].AccountID != e.jane {
		t.Fatalf("smith: %+v", r)
	}
	// John owes 100.00 less the 20.00 check; the first invoice (due
	// 2026-12-01) is past due on 2026-12-15 by 30.00.
	r = e.search("1042")
	h := r.Items[0]
	if h.Number == "" || h.Name != "John Doe" || h.Status != billing.AccountCurrent || h.Currency != "USD" || h.Balance != 8000 || h.PastDue != 3000 {
		t.Fatalf("john's hit: %+v", h)
	}
	// Nothing found is an empty list; a two-character query finds only
	// exact matches.
	if r := e.search("zzzz"); len(r.Items) != 0 || r.Items == nil {
		t.Fatalf("zzzz: %+v", r)
	}
	if r := e.search("oh"); len(r.Items) != 0 {
		t.Fatalf("two characters found substrings: %+v", r)
	}
}

func TestSearchRefusesBadQueries(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/search?q=%20%20", 422, "q is empty"},
		{"/api/v1/search?q=" + strings.Repeat("x", 201), 422, "q is 201 characters long"},
		{"/api/v1/search", 422, "q"},
		{"/api/v1/search?q=jane&limit=101", 422, "limit"},
	} {
		r := e.do("GET", tc.path, readerToken, "", "")
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d naming %q", tc.path, r.status, r.body, tc.status, tc.want)
		}
	}
	if r := e.do("GET", "/api/v1/search?q=jane", "", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.status)
	}
	_, err := client.New(e.url, readerToken).Search(context.Background(), "", 0)
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != 422 {
		t.Errorf("client, empty query: %v", err)
	}
}
