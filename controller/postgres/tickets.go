package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Support tickets (billing.TicketStore). A ticket's status follows its last
// message: a subscriber's makes it open, staff's answered. Every change
// locks the ticket's row first, so two replies (or a reply and a close)
// arriving together are applied one after the other, and the status is the
// one the later of them decides: a staff reply never lands on a ticket that
// was closed under it.

var _ billing.TicketStore = (*DB)(nil)

const ticketColumns = `t.id, t.account_id, a.number, t.subject, t.status, t.created_at, t.updated_at, t.closed_at, t.closed_by`

// maxTicketPage bounds one page of a ticket listing.
const maxTicketPage = 1000

func scanTicket(row pgx.Row) (billing.Ticket, error) {
	var t billing.Ticket
	err := row.Scan(&t.ID, &t.AccountID, &t.AccountNumber, &t.Subject, &t.Status, &t.CreatedAt, &t.UpdatedAt, &t.ClosedAt, &t.ClosedBy)
	return t, err
}

// ticketNotFound is the error for a ticket that does not exist, and for one
// of another account: the message is the same, so it tells a subscriber
// nothing about other accounts' tickets.
func ticketNotFound(id int64) error {
	return billing.Errorf(billing.ENOTFOUND, "ticket %d does not exist", id)
}

// loadTicket reads a ticket with its messages; with accountID != 0 only if
// it is that account's. With lock, the ticket's row is locked for the rest
// of the transaction q is in.
func loadTicket(ctx context.Context, q querier, accountID, id int64, lock bool) (billing.Ticket, error) {
	sql := `SELECT ` + ticketColumns + ` FROM tickets t JOIN accounts a ON a.id = t.account_id
		WHERE t.id = $1 AND ($2::bigint = 0 OR t.account_id = $2::bigint)`
	if lock {
		sql += ` FOR UPDATE OF t`
	}
	t, err := scanTicket(q.QueryRow(ctx, sql, id, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ticketNotFound(id)
	}
	if err != nil {
		return t, err
	}
	rows, err := q.Query(ctx, `SELECT id, author_kind, author, body, created_at FROM ticket_messages WHERE ticket_id = $1 ORDER BY id`, id)
	if err != nil {
		return t, err
	}
	t.Messages = []billing.TicketMessage{}
	var m billing.TicketMessage
	_, err = pgx.ForEachRow(rows, []any{&m.ID, &m.AuthorKind, &m.Author, &m.Body, &m.CreatedAt}, func() error {
		t.Messages = append(t.Messages, m)
		return nil
	})
	return t, err
}

// OpenTicket creates a ticket with its first message, written by the
// subscriber of accountID (the message's author is the account number).
// EINVALID for an empty or too long subject or message (both are trimmed);
// ENOTFOUND for an unknown account.
func (db *DB) OpenTicket(ctx context.Context, accountID int64, subject, body string, now time.Time) (billing.Ticket, error) {
	subject, err := billing.CheckTicketSubject(subject)
	if err != nil {
		return billing.Ticket{}, err
	}
	body, err = billing.CheckTicketBody(body)
	if err != nil {
		return billing.Ticket{}, err
	}
	var out billing.Ticket
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `WITH t AS (
				INSERT INTO tickets (account_id, subject, status, created_at, updated_at)
				SELECT id, $2, 'open', $3, $3 FROM accounts WHERE id = $1
				RETURNING id, account_id
			)
			INSERT INTO ticket_messages (ticket_id, author_kind, author, body, created_at)
			SELECT t.id, 'subscriber', a.number, $4, $3 FROM t JOIN accounts a ON a.id = t.account_id
			RETURNING ticket_id`, accountID, subject, now, body).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "account %d does not exist", accountID)
		}
		if err != nil {
			return mapError(err)
		}
		out, err = loadTicket(ctx, tx, 0, id, false)
		return err
	})
	return out, err
}

// Ticket returns a ticket with its messages in the order written.
// accountID 0 (staff) reads any ticket; otherwise a ticket of another
// account is ENOTFOUND, just like a missing one.
func (db *DB) Ticket(ctx context.Context, accountID, id int64) (billing.Ticket, error) {
	return loadTicket(ctx, db.Pool, accountID, id, false)
}

// Tickets lists tickets, newest (highest id) first, without messages.
// f.AfterID continues a listing after the previous page's last ticket, with
// the older ones (ids below it). Limit defaults to 100, at most 1000.
// EINVALID for an unknown status; ENOTFOUND when f.AccountID names no
// account.
func (db *DB) Tickets(ctx context.Context, f billing.TicketFilter) ([]billing.Ticket, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, billing.Errorf(billing.EINVALID, "status %q is not open, answered or closed", f.Status)
	}
	if f.Limit <= 0 || f.Limit > maxTicketPage {
		f.Limit = 100
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+ticketColumns+` FROM tickets t JOIN accounts a ON a.id = t.account_id
		WHERE ($1::bigint = 0 OR t.account_id = $1::bigint) AND ($2 = '' OR t.status = $2) AND ($3::bigint = 0 OR t.id < $3::bigint)
		ORDER BY t.id DESC LIMIT $4`, f.AccountID, string(f.Status), f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Ticket, error) { return scanTicket(r) })
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && f.AccountID != 0 {
		// Nothing found: say so if it is because there is no such account.
		var exists bool
		if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, f.AccountID).Scan(&exists); err != nil {
			return nil, err
		}
		if !exists {
			return nil, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", f.AccountID)
		}
	}
	return out, nil
}

// ReplyTicket adds a message to a ticket and returns the ticket with its
// messages. A subscriber's reply (authorKind billing.AuthorSubscriber; needs
// accountID) makes the ticket open, reopening a closed one; its author is
// the account number when author is empty. A staff reply
// (billing.AuthorStaff; author required, usually the API token's name)
// makes it answered, and is EINVALID on a closed ticket; it queues the
// ticket_reply notice e-mailing the subscriber (with its job) in the same
// transaction, unless the account has no e-mail address. With accountID !=
// 0, a ticket of another account is ENOTFOUND.
func (db *DB) ReplyTicket(ctx context.Context, accountID, id int64, authorKind, author, body string, now time.Time) (billing.Ticket, error) {
	body, err := billing.CheckTicketBody(body)
	if err != nil {
		return billing.Ticket{}, err
	}
	author = strings.TrimSpace(author)
	status := billing.TicketOpen
	switch authorKind {
	case billing.AuthorSubscriber:
		if accountID == 0 {
			return billing.Ticket{}, billing.Errorf(billing.EINVALID, "a subscriber's reply needs the subscriber's account")
		}
	case billing.AuthorStaff:
		if author == "" {
			return billing.Ticket{}, billing.Errorf(billing.EINVALID, "author is required for a staff reply")
		}
		status = billing.TicketAnswered
	default:
		return billing.Ticket{}, billing.Errorf(billing.EINVALID, "author kind %q is not %s or %s", authorKind, billing.AuthorSubscriber, billing.AuthorStaff)
	}
	var out billing.Ticket
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		t, err := loadTicket(ctx, tx, accountID, id, true)
		if err != nil {
			return err
		}
		if status == billing.TicketAnswered && t.Status == billing.TicketClosed {
			return billing.Errorf(billing.EINVALID, "ticket %d is closed; only the subscriber can reopen it by replying", id)
		}
		if author == "" {
			author = t.AccountNumber
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ticket_messages (ticket_id, author_kind, author, body, created_at)
			VALUES ($1, $2, $3, $4, $5)`, id, authorKind, author, body, now); err != nil {
			return mapError(err)
		}
		// A reply to a closed ticket reopens it: it is not closed any more.
		if _, err := tx.Exec(ctx, `UPDATE tickets SET status = $2, updated_at = $3, closed_at = NULL, closed_by = ''
			WHERE id = $1`, id, string(status), now); err != nil {
			return err
		}
		out, err = loadTicket(ctx, tx, 0, id, false)
		if err != nil || authorKind != billing.AuthorStaff {
			return err
		}
		return db.queueTicketReplyNotice(ctx, tx, out, body, now)
	})
	return out, err
}

// queueTicketReplyNotice queues, in tx, the e-mail telling the subscriber
// of t that staff answered with body (billing.TicketReplyNotice): none for
// an account without an e-mail address.
func (db *DB) queueTicketReplyNotice(ctx context.Context, tx pgx.Tx, t billing.Ticket, body string, now time.Time) error {
	var c billing.Contact
	if err := tx.QueryRow(ctx, `SELECT email, name FROM accounts WHERE id = $1`, t.AccountID).Scan(&c.Email, &c.Name); err != nil {
		return err
	}
	n, ok := billing.TicketReplyNotice(t, billing.AuthorStaff, c, body)
	if !ok {
		return nil
	}
	_, err := db.QueueNoticesTx(ctx, tx, []billing.Notice{n}, now)
	return err
}

// CloseTicket closes a ticket, recording who closed it and when, and
// returns it with its messages. Closing a closed ticket changes nothing.
// With accountID != 0, a ticket of another account is ENOTFOUND.
func (db *DB) CloseTicket(ctx context.Context, accountID, id int64, by string, now time.Time) (billing.Ticket, error) {
	by = strings.TrimSpace(by)
	var out billing.Ticket
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		t, err := loadTicket(ctx, tx, accountID, id, true)
		if err != nil {
			return err
		}
		if t.Status == billing.TicketClosed {
			out = t
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE tickets SET status = 'closed', updated_at = $2, closed_at = $2, closed_by = $3
			WHERE id = $1`, id, now, by); err != nil {
			return err
		}
		out, err = loadTicket(ctx, tx, 0, id, false)
		return err
	})
	return out, err
}
