package console

import (
	"net/http"
	"net/url"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// dashboardData is the day at a glance.
type dashboardData struct {
	Runs        []billing.BillingRun
	HeldBatches []billing.SuspensionBatch
}

// dashboard shows the latest billing runs with their progress and the
// suspension batches waiting for approval.
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
	held, err := api.SuspensionBatches(ctx, "pending")
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading held suspension batches", err)
		return
	}
	d.HeldBatches = held
	s.render(w, r, sess, http.StatusOK, "dashboard", view{Title: "Dashboard", Nav: "dashboard", Data: d})
}
