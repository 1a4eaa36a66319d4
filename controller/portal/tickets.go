package portal

import (
	"fmt"
	"net/http"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

type ticketsData struct {
	Tickets []billing.Ticket
	// Subject and Body echo a form that had an error.
	Subject, Body string
}

func (s *Server) tickets(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderTickets(w, r, sess, http.StatusOK, "", ticketsData{})
}

func (s *Server) renderTickets(w http.ResponseWriter, r *http.Request, sess *session, status int, errMsg string, d ticketsData) {
	ctx := r.Context()
	acct := sess.Account
	var err error
	if d.Tickets, err = s.ticketStore.Tickets(ctx, billing.TicketFilter{AccountID: sess.AccountID, Limit: 100}); err != nil {
		s.internalError(w, r, "listing tickets", err)
		return
	}
	s.render(w, r, status, "tickets", sess, view{Title: "Support", Nav: "tickets", Account: &acct, Error: errMsg, Data: d})
}

func (s *Server) openTicket(w http.ResponseWriter, r *http.Request, sess *session) {
	d := ticketsData{Subject: r.PostFormValue("subject"), Body: r.PostFormValue("body")}
	t, err := s.ticketStore.OpenTicket(r.Context(), sess.AccountID, d.Subject, d.Body, s.clock.Now())
	if err != nil {
		if billing.ErrorCode(err) == billing.EINVALID {
			s.renderTickets(w, r, sess, http.StatusUnprocessableEntity, "Ticket: "+billing.ErrorMessage(err)+".", d)
			return
		}
		s.internalError(w, r, "opening a ticket", err)
		return
	}
	s.log.Info("portal: ticket opened", "account_id", sess.AccountID, "ticket_id", t.ID)
	http.Redirect(w, r, s.url(fmt.Sprintf("/tickets/%d?done=opened", t.ID)), http.StatusSeeOther)
}

type ticketData struct {
	Ticket billing.Ticket
	Body   string
}

func (s *Server) ticket(w http.ResponseWriter, r *http.Request, sess *session) {
	notice := map[string]string{"opened": "Your ticket was sent. Our answer will appear on this page.", "replied": "Your reply was sent.",
		"closed": "The ticket is closed. Reply to reopen it."}[r.URL.Query().Get("done")]
	s.renderTicket(w, r, sess, http.StatusOK, "", notice, "")
}

func (s *Server) renderTicket(w http.ResponseWriter, r *http.Request, sess *session, status int, errMsg, notice, body string) {
	ctx := r.Context()
	id := idParam(r, "id")
	if id == 0 {
		s.notFound(w, r)
		return
	}
	t, err := s.ticketStore.Ticket(ctx, sess.AccountID, id)
	if billing.ErrorCode(err) == billing.ENOTFOUND || err == nil && t.AccountID != sess.AccountID {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internalError(w, r, "reading a ticket", err)
		return
	}
	acct := sess.Account
	s.render(w, r, status, "ticket", sess, view{Title: t.Subject, Nav: "tickets", Account: &acct, Error: errMsg, Notice: notice,
		Data: ticketData{Ticket: t, Body: body}})
}

func (s *Server) replyTicket(w http.ResponseWriter, r *http.Request, sess *session) {
	id := idParam(r, "id")
	body := r.PostFormValue("body")
	_, err := s.ticketStore.ReplyTicket(r.Context(), sess.AccountID, id, billing.AuthorSubscriber, sess.Account.Number, body, s.clock.Now())
	switch billing.ErrorCode(err) {
	case "":
	case billing.ENOTFOUND:
		s.notFound(w, r)
		return
	case billing.EINVALID:
		s.renderTicket(w, r, sess, http.StatusUnprocessableEntity, "Reply: "+billing.ErrorMessage(err)+".", "", body)
		return
	default:
		s.internalError(w, r, "replying to a ticket", err)
		return
	}
	http.Redirect(w, r, s.url(fmt.Sprintf("/tickets/%d?done=replied", id)), http.StatusSeeOther)
}

func (s *Server) closeTicket(w http.ResponseWriter, r *http.Request, sess *session) {
	id := idParam(r, "id")
	_, err := s.ticketStore.CloseTicket(r.Context(), sess.AccountID, id, sess.Account.Number, s.clock.Now())
	switch billing.ErrorCode(err) {
	case "":
	case billing.ENOTFOUND:
		s.notFound(w, r)
		return
	default:
		s.internalError(w, r, "closing a ticket", err)
		return
	}
	http.Redirect(w, r, s.url(fmt.Sprintf("/tickets/%d?done=closed", id)), http.StatusSeeOther)
}
