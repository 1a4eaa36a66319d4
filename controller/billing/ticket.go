package billing

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// TicketStatus is where a support ticket stands.
type TicketStatus string

// Ticket statuses.
const (
	// TicketOpen: waiting for staff (new, or the subscriber wrote last).
	TicketOpen TicketStatus = "open"
	// TicketAnswered: staff replied last; waiting for the subscriber.
	TicketAnswered TicketStatus = "answered"
	// TicketClosed: done. A subscriber's reply reopens it.
	TicketClosed TicketStatus = "closed"
)

// Valid reports whether s is a known status.
func (s TicketStatus) Valid() bool {
	return s == TicketOpen || s == TicketAnswered || s == TicketClosed
}

// Ticket authors.
const (
	AuthorSubscriber = "subscriber"
	AuthorStaff      = "staff"
)

// Ticket is a support request from a subscriber, opened in the portal.
type Ticket struct {
	ID            int64        `json:"id"`
	AccountID     int64        `json:"account_id"`
	AccountNumber string       `json:"account_number"`
	Subject       string       `json:"subject"`
	Status        TicketStatus `json:"status"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
	ClosedAt      *time.Time   `json:"closed_at,omitempty"`
	ClosedBy      string       `json:"closed_by,omitempty"`
	// Messages are in the order written (listings leave them out).
	Messages []TicketMessage `json:"messages,omitempty"`
}

// TicketMessage is one message on a ticket.
type TicketMessage struct {
	ID int64 `json:"id"`
	// AuthorKind is AuthorSubscriber or AuthorStaff.
	AuthorKind string `json:"author_kind"`
	// Author is the account number for a subscriber, the API token's name
	// for staff.
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Ticket limits.
const (
	MaxTicketSubject = 200
	MaxTicketBody    = 10000
)

// CheckTicketSubject returns the trimmed subject or EINVALID naming what is
// wrong.
func CheckTicketSubject(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EINVALID, "subject is required")
	}
	if utf8.RuneCountInString(s) > MaxTicketSubject {
		return "", Errorf(EINVALID, "subject is longer than %d characters", MaxTicketSubject)
	}
	return s, nil
}

// CheckTicketBody returns the trimmed message or EINVALID naming what is
// wrong.
func CheckTicketBody(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EINVALID, "message is required")
	}
	if utf8.RuneCountInString(s) > MaxTicketBody {
		return "", Errorf(EINVALID, "message is longer than %d characters", MaxTicketBody)
	}
	return s, nil
}

// TicketFilter selects tickets in staff listings.
type TicketFilter struct {
	// AccountID 0: every account.
	AccountID int64
	// Status "": every status.
	Status TicketStatus
	// AfterID continues a listing (newest first) after the previous page's
	// last ticket: only tickets with a smaller id. 0: from the newest.
	AfterID int64
	// Limit defaults to 100 (and is at most 1000).
	Limit int
}

// TicketStore keeps support tickets. Errors: EINVALID for bad input (named),
// ENOTFOUND for an unknown ticket or account — and for a ticket that exists
// but belongs to another account when accountID is given, so a subscriber
// cannot probe other accounts' ticket ids.
type TicketStore interface {
	// OpenTicket creates a ticket with its first message, written by the
	// subscriber of accountID: EINVALID for an empty or too long subject or
	// body, ENOTFOUND for an unknown account.
	OpenTicket(ctx context.Context, accountID int64, subject, body string, now time.Time) (Ticket, error)
	// Ticket returns a ticket with its messages. accountID 0 (staff) reads
	// any ticket: ENOTFOUND for an unknown ticket or another account's.
	Ticket(ctx context.Context, accountID, id int64) (Ticket, error)
	// Tickets lists tickets, newest first, without messages: EINVALID for
	// an unknown status, ENOTFOUND when f.AccountID names no account.
	Tickets(ctx context.Context, f TicketFilter) ([]Ticket, error)
	// ReplyTicket adds a message. A subscriber's reply (authorKind
	// AuthorSubscriber, accountID set) makes the ticket open (reopening a
	// closed one); a staff reply (accountID 0) makes it answered, and is
	// EINVALID on a closed ticket (and for an empty or too long body, or
	// without the author or account its kind needs);
	// ENOTFOUND for an unknown ticket or another account's. A staff reply
	// queues, in the same transaction, the ticket_reply notice e-mailing
	// the subscriber ([TicketReplyNotice]).
	ReplyTicket(ctx context.Context, accountID, id int64, authorKind, author, body string, now time.Time) (Ticket, error)
	// CloseTicket closes a ticket; closing a closed ticket is a no-op.
	// ENOTFOUND for an unknown ticket or another account's.
	CloseTicket(ctx context.Context, accountID, id int64, by string, now time.Time) (Ticket, error)
}

// TicketReplyNotice is the notice telling the subscriber of t that staff
// answered with message, addressed to c; false when c has no e-mail
// address (nothing is sent then) or the reply is not staff's.
// ReplyTicket queues it with a staff reply, so a reply from the console
// and from tollgatectl both e-mail the subscriber; a subscriber's own
// reply queues nothing.
func TicketReplyNotice(t Ticket, authorKind string, c Contact, message string) (Notice, bool) {
	if authorKind != AuthorStaff {
		return Notice{}, false
	}
	return c.address(Notice{AccountID: t.AccountID, Kind: NoticeTicketReply,
		Data: NoticeData{AccountNumber: t.AccountNumber, TicketID: t.ID, TicketSubject: t.Subject, Message: message}})
}
