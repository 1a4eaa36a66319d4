package api_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestListFiltersAreChecked: a listing's filters are checked here, not by
// each client: a status, kind or channel that is none of the listing's, a
// limit out of range, or a date that is none, is refused with a 422 whose error names the query
// parameter and the values it may take (tollgatectl prints it as it is).
func TestListFiltersAreChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(api.Config{}, api.Deps{Services: e.db, Idempotency: e.db, Billing: e.db, Payments: e.db, Collections: e.db,
		Delivery: delivery.NewService(e.db, nil, delivery.ServiceOptions{Log: quiet}), Tickets: e.db}, []api.Token{api.NewToken("viewer", api.RoleReader, readerToken)},
		clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	for _, tc := range []struct{ path, location, frag string }{
		{"/api/v1/accounts?status=angry", "query.status", "current, past_due, delinquent, suspended, closed"},
		{"/api/v1/invoices?status=late", "query.status", "open, paid, void"},
		{"/api/v1/billing-runs?limit=0", "query.limit", "expected number >= 1"},
		{"/api/v1/payment-batches?status=closed", "query.status", "open, posted"},
		{"/api/v1/payment-batches?limit=0", "query.limit", "expected number >= 1"},
		{"/api/v1/refunds?status=lost", "query.status", "pending, completed, released"},
		{"/api/v1/suspension-batches?status=open", "query.status", "pending, decided"},
		{"/api/v1/notices?status=bounced", "query.status", "queued, sent, failed, superseded"},
		{"/api/v1/notices?kind=letter", "query.kind", "reminder, suspended, restored"},
		{"/api/v1/deliveries?status=lost", "query.status", "queued, sent, sent_to_vendor, mailed, returned, failed"},
		{"/api/v1/deliveries?channel=fax", "query.channel", "email, mail"},
		{"/api/v1/tickets?status=pending", "query.status", "open, answered, closed"},
		{"/api/v1/services?state=gone", "query.state", "active, suspended"},
		{"/api/v1/billing-runs/preview?date=2025-02-30", "query.date", "2025-02-30"},
		{"/api/v1/billing-runs/preview?account_type_id=-1", "query.account_type_id", "expected number >= 0"},
	} {
		r := e.do("GET", tc.path, readerToken, "", "")
		if r.status != 422 || !strings.Contains(string(r.body), `"location":"`+tc.location+`"`) || !strings.Contains(string(r.body), tc.frag) {
			t.Errorf("GET %s: %d %s; want 422 naming %s and %q", tc.path, r.status, r.body, tc.location, tc.frag)
		}
	}
}
