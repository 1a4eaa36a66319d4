package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// dashboardData is the day at a glance.
type dashboardData struct {
	Runs        []billing.BillingRun
	HeldBatches []billing.SuspensionBatch
	// FailedDeliveries and FailedNotices count the invoice deliveries and
	// notices given up (nil: could not be read).
	FailedDeliveries, FailedNotices *int64
	// Unconfirmed is the services agents have not confirmed (nil: could
	// not be read).
	Unconfirmed *unconfirmedServices
	// Payments are today's posted payments by currency (in PaymentsZone),
	// nil when they could not be read.
	Payments      *paymentsToday
	Receivables   []billing.ReceivableTotal
	ReceivablesOK bool
	// Unavailable names the parts that could not be read (the rest of the
	// dashboard still shows).
	Unavailable []string
	// Tomorrow is the next day's date (in the dashboard's time zone), for
	// the preview of the run the schedule starts then.
	Tomorrow billing.Date
}

// Running reports whether a run on the dashboard is still working (its
// progress then refreshes itself).
func (d dashboardData) Running() bool {
	for _, r := range d.Runs {
		if r.Status == billing.RunRunning {
			return true
		}
	}
	return false
}

// unconfirmedServices is GET /api/v1/services/unconfirmed.
type unconfirmedServices struct {
	Unconfirmed int64 `json:"unconfirmed"`
	Pending     int64 `json:"pending"`
	POPs        []struct {
		POP         string `json:"pop"`
		Unconfirmed int64  `json:"unconfirmed"`
		Pending     int64  `json:"pending"`
	} `json:"pops"`
}

// paymentsToday is GET /api/v1/payments/summary.
type paymentsToday struct {
	Date     billing.Date           `json:"date"`
	TimeZone string                 `json:"time_zone"`
	Totals   []billing.PaymentTotal `json:"totals"`
}

// dashboard shows the latest billing runs with their progress, the
// suspension batches waiting for approval, failed deliveries and notices,
// services their agents have not confirmed, today's payments and the
// receivables total.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d dashboardData
	var runs struct {
		Items []billing.BillingRun `json:"items"`
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/billing-runs", url.Values{"limit": {"5"}}, "", nil, &runs); err != nil {
		s.apiErrorPage(w, r, sess, "reading billing runs", err)
		return
	}
	d.Runs = runs.Items
	if loc, err := time.LoadLocation(s.dashboardZone(r, sess)); err == nil {
		d.Tomorrow = billing.DateIn(s.clock.Now(), loc).AddDays(1)
	}
	if r.Header.Get("HX-Request") != "" {
		// htmx refreshes the runs' progress only (the "fragment").
		s.render(w, r, sess, http.StatusOK, "dashboard", view{Title: "Dashboard", Nav: "dashboard", Data: d})
		return
	}
	held, err := api.SuspensionBatches(ctx, "pending")
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading held suspension batches", err)
		return
	}
	d.HeldBatches = held

	// The totals below are each one read; one that fails is named and the
	// rest still shows.
	unavailable := func(what string, err error) {
		s.log.Warn("console: dashboard: "+what, "err", err)
		d.Unavailable = append(d.Unavailable, what)
	}
	if counts, err := api.DeliveryCounts(ctx, 0); err != nil {
		unavailable("failed deliveries", err)
	} else {
		var n int64
		for _, c := range counts {
			if c.Status == billing.DeliveryFailed {
				n += c.Count
			}
		}
		d.FailedDeliveries = &n
	}
	var notices []billing.NoticeCount
	if err := api.Do(ctx, http.MethodGet, "/api/v1/notices/summary", nil, "", nil, &notices); err != nil {
		unavailable("failed notices", err)
	} else {
		var n int64
		for _, c := range notices {
			if c.Status == billing.NoticeFailed {
				n += c.Count
			}
		}
		d.FailedNotices = &n
	}
	var unconfirmed unconfirmedServices
	if err := api.Do(ctx, http.MethodGet, "/api/v1/services/unconfirmed", nil, "", nil, &unconfirmed); err != nil {
		unavailable("services not confirmed", err)
	} else {
		d.Unconfirmed = &unconfirmed
	}
	var payments paymentsToday
	if err := api.Do(ctx, http.MethodGet, "/api/v1/payments/summary", url.Values{"time_zone": {s.dashboardZone(r, sess)}}, "", nil, &payments); err != nil {
		unavailable("payments posted today", err)
	} else {
		d.Payments = &payments
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/receivables/summary", nil, "", nil, &d.Receivables); err != nil {
		unavailable("receivables", err)
	} else {
		d.ReceivablesOK = true
	}
	s.render(w, r, sess, http.StatusOK, "dashboard", view{Title: "Dashboard", Nav: "dashboard", Data: d})
}

// dashboardZone is the time zone "today" is counted in: the first account
// type's (an ISP's types usually share one), else UTC.
func (s *Server) dashboardZone(r *http.Request, sess *session) string {
	types, _, err := s.accountTypes(r, sess)
	if err == nil {
		for _, t := range types {
			if _, err := time.LoadLocation(t.TimeZone); err == nil && t.TimeZone != "" {
				return t.TimeZone
			}
		}
	}
	return "UTC"
}
