package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// Support tickets: the queue (open ones first), a ticket's thread, a reply
// (which e-mails the subscriber: the API queues a ticket_reply notice with
// it) and closing.

// ticketsData is the ticket queue.
type ticketsData struct {
	// Status is the filter ("": every status, open first).
	Status   string
	Statuses []string
	Tickets  []billing.Ticket
	// Older is the cursor of the next page of a filtered list (0: none).
	Older int64
}

// ticketData is one ticket's page.
type ticketData struct {
	Ticket billing.Ticket
	// Reply is the reply being written (kept when it was refused).
	Reply string
	// CloseIdem is the close form's own Idempotency-Key (the reply form
	// has the page's).
	CloseIdem string
}

// Closed reports whether the ticket is closed (no staff reply then).
func (d ticketData) Closed() bool { return d.Ticket.Status == billing.TicketClosed }

const ticketPage = 100

// tickets lists tickets: by status, or every status with the open ones
// (waiting for staff) first.
func (s *Server) tickets(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	q := r.URL.Query()
	d := ticketsData{Status: q.Get("status"), Statuses: []string{string(billing.TicketOpen), string(billing.TicketAnswered), string(billing.TicketClosed)}}
	if d.Status != "" && !billing.TicketStatus(d.Status).Valid() {
		s.errorPage(w, r, sess, http.StatusUnprocessableEntity, fmt.Sprintf("Status: %q is not open, answered or closed.", d.Status))
		return
	}
	statuses := d.Statuses
	if d.Status != "" {
		statuses = []string{d.Status}
	}
	var after int64
	if a := q.Get("after"); a != "" && d.Status != "" {
		after, _ = strconv.ParseInt(a, 10, 64)
	}
	for _, st := range statuses {
		p, err := api.Tickets(ctx, billing.TicketFilter{Status: billing.TicketStatus(st), AfterID: after, Limit: ticketPage})
		if err != nil {
			s.apiErrorPage(w, r, sess, "reading tickets", err)
			return
		}
		d.Tickets = append(d.Tickets, p.Items...)
		if d.Status != "" {
			d.Older = p.NextAfter
		}
	}
	s.render(w, r, sess, http.StatusOK, "tickets", view{Title: "Support tickets", Nav: "tickets", Data: d})
}

// ticket shows a ticket's thread with the reply form.
func (s *Server) ticket(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := s.pathID(w, r, sess, "ticket")
	if !ok {
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	t, err := api.Ticket(ctx, id)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading a ticket", err)
		return
	}
	v := view{Title: fmt.Sprintf("Ticket #%d: %s", t.ID, t.Subject), Nav: "tickets", Data: ticketData{Ticket: t, CloseIdem: client.NewIdempotencyKey()}}
	switch r.URL.Query().Get("done") {
	case "replied":
		v.Notice = "Your reply is on the ticket, and the subscriber is e-mailed it."
	case "closed":
		v.Notice = "The ticket is closed. The subscriber can reopen it by replying in the portal."
	}
	if v.Notice == "" && roleAllows(sess.User.Role, staff.RoleBilling) && t.Status != billing.TicketClosed {
		v.Focus = "reply"
	}
	s.render(w, r, sess, http.StatusOK, "ticket", v)
}

// replyTicket answers a ticket (billing).
func (s *Server) replyTicket(w http.ResponseWriter, r *http.Request, sess *session) {
	s.ticketAction(w, r, sess, "replied")
}

// closeTicket closes a ticket (billing).
func (s *Server) closeTicket(w http.ResponseWriter, r *http.Request, sess *session) {
	s.ticketAction(w, r, sess, "closed")
}

func (s *Server) ticketAction(w http.ResponseWriter, r *http.Request, sess *session, done string) {
	id, ok := s.pathID(w, r, sess, "ticket")
	if !ok {
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	reply := r.PostFormValue("body")
	var err error
	if done == "replied" {
		if strings.TrimSpace(reply) == "" {
			err = formError("Message: write the reply to the subscriber.")
		} else {
			_, err = api.ReplyTicket(ctx, r.PostFormValue("idem"), id, reply)
		}
	} else {
		_, err = api.CloseTicket(ctx, r.PostFormValue("idem"), id)
	}
	if err != nil {
		status, msg := http.StatusUnprocessableEntity, ""
		if fe, ok := err.(formError); ok {
			msg = string(fe)
		} else {
			status, msg = s.apiProblem(r, "answering a ticket", err)
		}
		t, terr := api.Ticket(ctx, id)
		if terr != nil {
			s.apiErrorPage(w, r, sess, "reading a ticket", terr)
			return
		}
		s.render(w, r, sess, status, "ticket", view{Title: fmt.Sprintf("Ticket #%d: %s", t.ID, t.Subject), Nav: "tickets",
			Error: msg, Focus: "reply", Data: ticketData{Ticket: t, Reply: reply, CloseIdem: client.NewIdempotencyKey()}})
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%s/tickets/%d?done=%s", s.p.path, id, done), http.StatusSeeOther)
}

// formError is a form error found before calling the API, naming the
// field.
type formError string

func (e formError) Error() string { return string(e) }
