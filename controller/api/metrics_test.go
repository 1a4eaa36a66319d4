package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// The latency histogram is labelled with the matched route, also for
// authenticated requests (which pass through middlewares that copy the
// request), and "unmatched" for refused or unknown ones.
func TestRequestMetricsByRoute(t *testing.T) {
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	reg := prometheus.NewRegistry()
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db}, []api.Token{api.NewToken("viewer", api.RoleReader, readerToken)},
		clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	for _, auth := range []string{"Bearer " + readerToken, "Bearer wrong-token-0123456789"} {
		req, _ := http.NewRequest("GET", hs.URL+"/api/v1/services", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	n, err := testutil.GatherAndCount(reg, "tollgate_api_request_seconds")
	if err != nil || n != 2 {
		t.Fatalf("%d series (%v), want 2", n, err)
	}
	mfs, _ := reg.Gather()
	var labels []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var kv []string
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName()+"="+l.GetValue())
			}
			labels = append(labels, strings.Join(kv, ","))
		}
	}
	got := strings.Join(labels, " | ")
	for _, w := range []string{"code=200,route=GET /api/v1/services", "code=401,route=unmatched"} {
		if !strings.Contains(got, w) {
			t.Errorf("series %s, want one with %s", got, w)
		}
	}
}

// A key reused with another request is refused (422) and counted as an
// idempotency conflict; a plain replay is not.
func TestIdempotencyConflictsAreCounted(t *testing.T) {
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	reg := prometheus.NewRegistry()
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db}, []api.Token{api.NewToken("clerk", api.RoleBilling, billingToken)},
		clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	post := func(body string) int {
		req, _ := http.NewRequest("POST", hs.URL+"/api/v1/services", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+billingToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "conflict-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	conflicts := `
# HELP tollgate_idempotency_conflicts_total Mutating requests refused for their Idempotency-Key, by reason: different_request (the key was used for another request: 422), in_progress (the first request with the key was still running after the wait: 409).
# TYPE tollgate_idempotency_conflicts_total counter
tollgate_idempotency_conflicts_total{reason="different_request"} %d
tollgate_idempotency_conflicts_total{reason="in_progress"} 0
`
	for i, tc := range []struct {
		body      string
		status    int
		conflicts int
	}{
		{newService, 200, 0},
		{newService, 200, 0}, // a replay
		{strings.Replace(newService, "Jane", "John", 1), 422, 1},
	} {
		if got := post(tc.body); got != tc.status {
			t.Fatalf("request %d: status %d, want %d", i, got, tc.status)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(conflicts, tc.conflicts)), "tollgate_idempotency_conflicts_total"); err != nil {
			t.Errorf("after request %d: %v", i, err)
		}
	}
}
