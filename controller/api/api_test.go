package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate))) }

const (
	webhookSecret = "whsec_test_0123456789"
	adminToken    = "admin-secret-0123456789"
	billingToken  = "billing-secret-0123456789"
	readerToken   = "reader-secret-0123456789"
)

type env struct {
	t       *testing.T
	url     string
	db      *postgres.DB
	sandbox *payments.Sandbox
	logs    *syncBuffer
}

// syncBuffer collects the server's log output for tests that read it.
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

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tokens := []api.Token{
		api.NewToken("root", api.RoleAdmin, adminToken),
		api.NewToken("clerk", api.RoleBilling, billingToken),
		api.NewToken("viewer", api.RoleReader, readerToken),
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	runner, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clock.Real{}, log)
	if err != nil {
		t.Fatal(err)
	}
	sandbox := payments.NewSandbox(webhookSecret)
	sandbox.SetLogger(log) // its log lines are scanned for card numbers too
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Runner: runner, Accounts: db, ServiceMoves: db, Lifecycle: db, AccountClose: db, PlanPrices: db, Allocations: db, TypeImpacts: db, AddressPools: db, Staff: db,
		Charger: charge.New(sandbox, db, clock.Real{}, log), Methods: db}, tokens, clock.Real{}, log, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &env{t: t, url: hs.URL, db: db, sandbox: sandbox, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.body)
	}
	return m
}

func (e *env) do(method, path, token, key, body string) response {
	e.t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return e.doHeader(method, path, body, h)
}

func (e *env) doHeader(method, path, body string, headers map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

const newService = `{"pop":"north-1","name":"Jane","binding":{"method":"routeros","addresses":["100.64.1.20"]}}`

func TestAuthAndRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.do("POST", "/api/v1/services", billingToken, "create-1", newService)
	if svc.status != 200 {
		t.Fatalf("billing creates a service: %d %s", svc.status, svc.body)
	}
	suspend := `{"state":"suspended","reason":"past due"}`

	for _, tc := range []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"no token, mutation", "POST", "/api/v1/services/1/desired-state", "", suspend, 401},
		{"no token, read", "GET", "/api/v1/services/1", "", "", 401},
		{"bad token", "GET", "/api/v1/services/1", "not-a-real-token-at-all", "", 401},
		{"reader, mutation", "POST", "/api/v1/services/1/desired-state", readerToken, suspend, 403},
		{"reader, create", "POST", "/api/v1/services", readerToken, newService, 403},
		{"reader, read", "GET", "/api/v1/services/1", readerToken, "", 200},
		{"billing, mutation", "POST", "/api/v1/services/1/desired-state", billingToken, suspend, 200},
		{"admin, mutation", "POST", "/api/v1/services/1/desired-state", adminToken, `{"state":"active"}`, 200},
		{"unknown service", "GET", "/api/v1/services/4242", readerToken, "", 404},
		{"bad state", "POST", "/api/v1/services/1/desired-state", billingToken, `{"state":"off"}`, 422},
		{"bad binding", "POST", "/api/v1/services", billingToken, `{"pop":"north-1","binding":{"method":"snmp"}}`, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := ""
			if tc.method == "POST" {
				key = "key-" + tc.name
			}
			r := e.do(tc.method, tc.path, tc.token, key, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want >= 400 {
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
					t.Errorf("error Content-Type %q, want application/problem+json", ct)
				}
				if d, _ := r.json(t)["detail"].(string); d == "" {
					t.Errorf("problem without a detail: %s", r.body)
				}
			}
		})
	}
	// The 403 left the service as it was.
	s, _ := e.db.Service(context.Background(), 1)
	if s.DesiredState != billing.StateActive || s.Revision != 3 {
		t.Fatalf("service after the table: %s at revision %d, want active at 3", s.DesiredState, s.Revision)
	}
}

func TestIdempotencyKeyIsRequiredAndReplayed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.do("POST", "/api/v1/services", billingToken, "", newService); r.status != 400 {
		t.Fatalf("mutation without Idempotency-Key: %d %s", r.status, r.body)
	}
	first := e.do("POST", "/api/v1/services", billingToken, "k-1", newService)
	again := e.do("POST", "/api/v1/services", billingToken, "k-1", newService)
	if first.status != 200 || again.status != 200 || !bytes.Equal(first.body, again.body) {
		t.Fatalf("replay differs: %d %s / %d %s", first.status, first.body, again.status, again.body)
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replayed response lacks Idempotent-Replayed: true")
	}
	other := e.do("POST", "/api/v1/services", billingToken, "k-1", strings.Replace(newService, "Jane", "John", 1))
	if other.status != 422 {
		t.Fatalf("same key, different body: %d %s", other.status, other.body)
	}
	list, _ := e.db.Services(context.Background(), billing.ServiceFilter{})
	if len(list) != 1 {
		t.Fatalf("%d services created, want 1", len(list))
	}
}

func TestConcurrentDuplicatesExecuteOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Each waits for the first and gets its response (none 409).
	checkOneAnswer(t, "create service", sendDuplicates(e, 16, "POST", "/api/v1/services", billingToken, "same-key", newService), 200)
	list, _ := e.db.Services(context.Background(), billing.ServiceFilter{})
	if len(list) != 1 {
		t.Fatalf("%d services created by 16 concurrent duplicates, want 1", len(list))
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 5 {
		if r := e.do("POST", "/api/v1/services", billingToken, "c"+string(rune('a'+i)), newService); r.status != 200 {
			t.Fatal(string(r.body))
		}
	}
	var ids []float64
	after := "0"
	for pages := 0; ; pages++ {
		r := e.do("GET", "/api/v1/services?limit=2&after="+after, readerToken, "", "")
		m := r.json(t)
		for _, it := range m["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(float64))
		}
		next := m["next_after"].(float64)
		if next == 0 {
			break
		}
		after = strconv.FormatFloat(next, 'f', 0, 64)
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(ids) != 5 {
		t.Fatalf("paged through %v, want 5 services", ids)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/api/v1/openapi.json", "", "", "")
	if r.status != 200 {
		t.Fatalf("openapi.json: %d", r.status)
	}
	doc := r.json(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi version %q, want 3.1.x", v)
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/services", "/api/v1/services/{id}", "/api/v1/services/{id}/desired-state"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("openapi.json lacks %s", p)
		}
	}
	post := paths["/api/v1/services/{id}/desired-state"].(map[string]any)["post"].(map[string]any)
	found := false
	for _, p := range post["parameters"].([]any) {
		if p.(map[string]any)["name"] == "Idempotency-Key" {
			found = true
		}
	}
	if !found {
		t.Error("the desired-state operation does not document its Idempotency-Key header")
	}
}
