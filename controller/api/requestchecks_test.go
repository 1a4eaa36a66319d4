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

// TestStaffRequestsAreChecked: what staff type for a delivery channel, a
// promise's note, an exemption's reason, a date, a sweep's account type or
// a deposit slip's batch ids is checked here, not by each client
// (tollgatectl sends it as given): a 422 naming the field.
func TestStaffRequestsAreChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(api.Config{}, api.Deps{Services: e.db, Idempotency: e.db, Billing: e.db, Payments: e.db, Collections: e.db,
		Delivery: delivery.NewService(e.db, nil, delivery.ServiceOptions{Log: quiet}), Tickets: e.db}, []api.Token{api.NewToken("clerk", api.RoleBilling, billingToken)},
		clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	for i, tc := range []struct{ method, path, body, location, frag string }{
		{"POST", "/api/v1/invoices/1/deliveries", `{"channels":["fax"]}`, "body.channels[0]", "email, mail"},
		{"POST", "/api/v1/billing-runs/1/deliveries/resend", `{"status":"lost"}`, "body.status", "failed, returned"},
		{"POST", "/api/v1/billing-runs/1/deliveries/resend", `{"channel":"fax"}`, "body.channel", "email, mail"},
		{"PUT", "/api/v1/accounts/1/promise-to-pay", `{"until":"2099-01-01","note":"` + strings.Repeat("n", 501) + `"}`, "body.note", "expected length <= 500"},
		{"POST", "/api/v1/billing-runs", `{"date":"2025-02-30"}`, "body.date", "2025-02-30"},
		{"PUT", "/api/v1/accounts/1/exemption", `{"reason":"` + strings.Repeat("r", 501) + `"}`, "body.reason", "expected length <= 500"},
		{"PUT", "/api/v1/accounts/1/exemption", `{}`, "body", "reason"},
		{"PUT", "/api/v1/accounts/1/promise-to-pay", `{"until":"2026-02-30"}`, "body.until", "2026-02-30"},
		{"PUT", "/api/v1/accounts/1/promise-to-pay", `{"note":"by phone"}`, "body", "until"},
		{"POST", "/api/v1/payment-batches", `{"deposit_date":"2025-13-01"}`, "body.deposit_date", "2025-13-01"},
		{"POST", "/api/v1/accounts/1/payments", `{"method":"cash","amount":"5","received_date":"2025-02-30"}`, "body.received_date", "2025-02-30"},
		{"POST", "/api/v1/delinquency/sweeps", `{}`, "body", "account_type_id"},
		{"GET", "/api/v1/deposit-slips?batch=abc", "", "query.batch", "abc"},
	} {
		r := e.do(tc.method, tc.path, billingToken, "k-"+string(rune('a'+i)), tc.body)
		if r.status != 422 || !strings.Contains(string(r.body), `"location":"`+tc.location+`"`) || !strings.Contains(string(r.body), tc.frag) {
			t.Errorf("%s %s %.60s: %d %s; want 422 naming %s and %q", tc.method, tc.path, tc.body, r.status, r.body, tc.location, tc.frag)
		}
	}
}
