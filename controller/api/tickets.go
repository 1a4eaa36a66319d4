package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Support tickets, staff side: subscribers open them and reply in the
// customer portal; staff list, read, answer and close them here. Staff act
// on any account's tickets (the store's accountID 0), and a staff message's
// author is the API token's name, shown to the subscriber as who answered.

// ticketReply is the body of POST /api/v1/tickets/{id}/replies.
type ticketReply struct {
	Body string `json:"body" required:"true" minLength:"1" maxLength:"10000" doc:"The message to the subscriber (plain text, trimmed; at most 10000 characters)."`
}

// staffAuthor is the name staff messages and closings are recorded under:
// the API token's name.
func staffAuthor(ctx context.Context) string {
	if p, ok := PrincipalFrom(ctx); ok {
		return p.Name
	}
	return ""
}

func (s *Server) registerTickets(tickets billing.TicketStore) {
	api := s.api

	huma.Register(api, described(op("list-tickets", http.MethodGet, "/api/v1/tickets",
		"List support tickets", RoleReader, "tickets"),
		"Support tickets opened by subscribers in the customer portal, newest first, without their messages. "+
			"status: open (waiting for staff: new, or the subscriber wrote last), answered (staff replied last), "+
			"closed. Pages with after= and next_after (the listing goes on with older tickets). 404 for an unknown "+
			"account_id."),
		func(ctx context.Context, in *struct {
			Status    string `query:"status" enum:"open,answered,closed," doc:"Only tickets in this status."`
			AccountID int64  `query:"account_id" minimum:"0" doc:"Only this account's tickets."`
			After     int64  `query:"after" minimum:"0" doc:"Cursor: tickets with an id below this (the previous page's next_after)."`
			Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*body[page[billing.Ticket]], error) {
			ts, err := tickets.Tickets(ctx, billing.TicketFilter{AccountID: in.AccountID, Status: billing.TicketStatus(in.Status),
				AfterID: in.After, Limit: in.Limit})
			return wrap(s, "list-tickets", newPage(ts, in.Limit, func(t billing.Ticket) int64 { return t.ID }), err)
		})
	huma.Register(api, described(op("get-ticket", http.MethodGet, "/api/v1/tickets/{id}",
		"Show a support ticket with its messages", RoleReader, "tickets"),
		"A support ticket with its account number, status, and every message in the order written: author_kind "+
			"subscriber (author: the account number) or staff (author: the API token's name)."),
		func(ctx context.Context, in *IDPath) (*body[billing.Ticket], error) {
			t, err := tickets.Ticket(ctx, 0, in.ID)
			return wrap(s, "get-ticket", t, err)
		})
	huma.Register(api, described(op("reply-ticket", http.MethodPost, "/api/v1/tickets/{id}/replies",
		"Answer a support ticket", RoleBilling, "tickets"),
		"Adds a staff message, written as the API token's name, and makes the ticket answered (waiting for the "+
			"subscriber); in the same transaction it queues a ticket_reply notice e-mailing the subscriber the answer "+
			"(none when the account has no e-mail address). 422 for an empty or too long message, and on a closed ticket: only the subscriber reopens "+
			"one, by replying in the portal. Answers the ticket with its messages."),
		func(ctx context.Context, in *struct {
			IDPath
			Body ticketReply
		}) (*body[billing.Ticket], error) {
			t, err := tickets.ReplyTicket(ctx, 0, in.ID, billing.AuthorStaff, staffAuthor(ctx), in.Body.Body, s.clock.Now())
			return wrap(s, "reply-ticket", t, err)
		})
	huma.Register(api, described(op("close-ticket", http.MethodPost, "/api/v1/tickets/{id}/close",
		"Close a support ticket", RoleBilling, "tickets"),
		"Closes the ticket, recording the API token's name as who closed it and when. Closing a closed ticket "+
			"changes nothing. The subscriber can reopen it by replying in the portal. Answers the ticket with its "+
			"messages."),
		func(ctx context.Context, in *IDPath) (*body[billing.Ticket], error) {
			t, err := tickets.CloseTicket(ctx, 0, in.ID, staffAuthor(ctx), s.clock.Now())
			return wrap(s, "close-ticket", t, err)
		})
}
