package console

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The outboxes to subscribers, for the dashboard's failed counts: invoice
// deliveries and notices, filtered by status, oldest first.

// outboxData is a page of deliveries or notices.
type outboxData struct {
	Status     string
	Statuses   []string
	Deliveries []billing.InvoiceDelivery
	Notices    []billing.Notice
	// Next is the cursor of the next page (0: none).
	Next int64
}

const outboxPage = 100

// outboxFilter reads status (one of statuses, or "") and after.
func outboxFilter(r *http.Request, statuses []string) (status string, after int64, msg string) {
	q := r.URL.Query()
	status = q.Get("status")
	ok := status == ""
	for _, s := range statuses {
		ok = ok || s == status
	}
	if !ok {
		return "", 0, fmt.Sprintf("Status: %q is not one of %v.", status, statuses)
	}
	if a := q.Get("after"); a != "" {
		v, err := strconv.ParseInt(a, 10, 64)
		if err != nil || v < 0 {
			return "", 0, "After: not a position in the list."
		}
		after = v
	}
	return status, after, ""
}

// deliveries lists invoice deliveries by status.
func (s *Server) deliveries(w http.ResponseWriter, r *http.Request, sess *session) {
	d := outboxData{Statuses: []string{"queued", "sent", "sent_to_vendor", "mailed", "returned", "failed"}}
	status, after, msg := outboxFilter(r, d.Statuses)
	if msg != "" {
		s.errorPage(w, r, sess, http.StatusUnprocessableEntity, msg)
		return
	}
	d.Status = status
	api, ctx := s.apiFor(r.Context(), sess.User)
	p, err := api.Deliveries(ctx, billing.DeliveryFilter{Status: billing.DeliveryStatus(status), AfterID: after, Limit: outboxPage})
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading invoice deliveries", err)
		return
	}
	d.Deliveries, d.Next = p.Items, p.NextAfter
	title := "Invoice deliveries"
	if status != "" {
		title += ": " + status
	}
	s.render(w, r, sess, http.StatusOK, "deliveries", view{Title: title, Nav: "dashboard", Data: d})
}

// notices lists notices to subscribers by status.
func (s *Server) notices(w http.ResponseWriter, r *http.Request, sess *session) {
	d := outboxData{Statuses: []string{billing.NoticeQueued, billing.NoticeSent, billing.NoticeFailed, billing.NoticeSuperseded}}
	status, after, msg := outboxFilter(r, d.Statuses)
	if msg != "" {
		s.errorPage(w, r, sess, http.StatusUnprocessableEntity, msg)
		return
	}
	d.Status = status
	api, ctx := s.apiFor(r.Context(), sess.User)
	p, err := api.Notices(ctx, billing.NoticeFilter{Status: status, AfterID: after, Limit: outboxPage})
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading notices", err)
		return
	}
	d.Notices, d.Next = p.Items, p.NextAfter
	title := "Notices to subscribers"
	if status != "" {
		title += ": " + status
	}
	s.render(w, r, sess, http.StatusOK, "notices", view{Title: title, Nav: "dashboard", Data: d})
}
