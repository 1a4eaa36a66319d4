package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Support tickets, staff side: subscribers open them in the customer
// portal; staff list, read, answer and close them.

func ticketPath(id int64, suffix string) string {
	return "/api/v1/tickets/" + strconv.FormatInt(id, 10) + suffix
}

// TicketPage is one page of tickets, newest first, without messages.
type TicketPage struct {
	Items []billing.Ticket `json:"items"`
	// NextAfter is the cursor for the next (older) page; 0 on the last.
	NextAfter int64 `json:"next_after"`
}

// Tickets lists one page of support tickets, newest first; pass the page's
// NextAfter as f.AfterID for the next.
func (c *Client) Tickets(ctx context.Context, f billing.TicketFilter) (TicketPage, error) {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.AccountID > 0 {
		q.Set("account_id", strconv.FormatInt(f.AccountID, 10))
	}
	if f.AfterID > 0 {
		q.Set("after", strconv.FormatInt(f.AfterID, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p TicketPage
	err := c.Do(ctx, http.MethodGet, "/api/v1/tickets", q, "", nil, &p)
	return p, err
}

// Ticket fetches a support ticket with its messages.
func (c *Client) Ticket(ctx context.Context, id int64) (billing.Ticket, error) {
	var t billing.Ticket
	err := c.Do(ctx, http.MethodGet, ticketPath(id, ""), nil, "", nil, &t)
	return t, err
}

// ReplyTicket answers a ticket as the token's holder (the ticket becomes
// answered) and returns it with its messages.
func (c *Client) ReplyTicket(ctx context.Context, idemKey string, id int64, message string) (billing.Ticket, error) {
	var t billing.Ticket
	err := c.Do(ctx, http.MethodPost, ticketPath(id, "/replies"), nil, idemKey, map[string]string{"body": message}, &t)
	return t, err
}

// CloseTicket closes a ticket (closing a closed one changes nothing) and
// returns it with its messages.
func (c *Client) CloseTicket(ctx context.Context, idemKey string, id int64) (billing.Ticket, error) {
	var t billing.Ticket
	err := c.Do(ctx, http.MethodPost, ticketPath(id, "/close"), nil, idemKey, nil, &t)
	return t, err
}
