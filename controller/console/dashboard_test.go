package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestDashboardShowsRuns: a billing run started through the API is on the
// dashboard with its progress, for a reader too; while it runs, htmx
// refreshes the runs' fragment alone.
func TestDashboardShowsRuns(t *testing.T) {
	e := newEnv(t)
	typ := e.residentialType()
	e.addSubscriber(typ, "Jane Prairie", "jane@example.net") // the run has work: it stays running (no job runner here)
	var runs struct {
		Items []billing.BillingRun `json:"items"`
	}
	if err := e.api.Do(context.Background(), http.MethodPost, "/api/v1/billing-runs", nil, client.NewIdempotencyKey(),
		map[string]any{"account_type_id": typ.ID, "date": "2026-12-01"}, &runs); err != nil {
		t.Fatal(err)
	}
	b := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	p := b.get("/")
	if p.status != http.StatusOK || !strings.Contains(p.body, "2026-12-01") || !strings.Contains(p.body, "Suspensions waiting for approval") {
		t.Fatalf("dashboard: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `hx-trigger="every 5s"`) {
		t.Fatalf("a running run's progress does not refresh itself:\n%s", p.body)
	}
	frag := b.do(http.MethodGet, "/", nil, "HX-Request", "true")
	if frag.status != http.StatusOK || strings.Contains(frag.body, "<html") || !strings.Contains(frag.body, `id="dashboard-runs"`) ||
		strings.Contains(frag.body, "Suspensions waiting") {
		t.Fatalf("the runs fragment: %d\n%s", frag.status, frag.body)
	}
}

// TestDashboardLinksTomorrowsRun: the dashboard offers the preview of the
// run the schedule starts tomorrow, and the link opens it.
func TestDashboardLinksTomorrowsRun(t *testing.T) {
	e := newEnv(t)
	e.residentialType()
	b := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	p := b.get("/")
	if !strings.Contains(p.body, `/staff/runs/preview?date=2026-12-16`) {
		t.Fatalf("no preview of tomorrow's run on the dashboard:\n%s", p.body)
	}
	if p := b.get("/runs/preview?date=2026-12-16"); p.status != http.StatusOK || !strings.Contains(p.body, "2026-12-16") {
		t.Errorf("tomorrow's preview: %d\n%s", p.status, p.body)
	}
}
