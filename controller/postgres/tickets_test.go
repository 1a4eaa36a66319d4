package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// ticketAccounts creates an account type and n accounts (no services).
func ticketAccounts(t *testing.T, db *postgres.DB, n int) []billing.Account {
	t.Helper()
	ctx := context.Background()
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	var out []billing.Account
	for i := range n {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: fmt.Sprintf("Subscriber %d", i), Email: "s@example.net",
			AccountTypeID: typ.ID, Currency: "USD"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func openTicket(t *testing.T, db *postgres.DB, accountID int64, subject string, at time.Time) billing.Ticket {
	t.Helper()
	tk, err := db.OpenTicket(context.Background(), accountID, subject, "Please help with "+subject, at)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// wantCode fails t unless err has code and, if msg is not "", that message.
func wantCode(t *testing.T, what string, err error, code billing.Code, msg string) {
	t.Helper()
	if billing.ErrorCode(err) != code || (msg != "" && billing.ErrorMessage(err) != msg) {
		t.Fatalf("%s: error %v, want %s %q", what, err, code, msg)
	}
}

func TestTicketLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	acct := ticketAccounts(t, db, 1)[0]

	tk, err := db.OpenTicket(ctx, acct.ID, "  No internet since Monday \n", "\tThe light on the router is red.  ", t0)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ID == 0 || tk.AccountID != acct.ID || tk.AccountNumber != acct.Number || tk.Subject != "No internet since Monday" ||
		tk.Status != billing.TicketOpen || !tk.CreatedAt.Equal(t0) || !tk.UpdatedAt.Equal(t0) || tk.ClosedAt != nil || tk.ClosedBy != "" {
		t.Fatalf("opened ticket: %+v", tk)
	}
	if len(tk.Messages) != 1 || tk.Messages[0].AuthorKind != billing.AuthorSubscriber || tk.Messages[0].Author != acct.Number ||
		tk.Messages[0].Body != "The light on the router is red." || !tk.Messages[0].CreatedAt.Equal(t0) {
		t.Fatalf("first message: %+v", tk.Messages)
	}

	// Staff and the subscriber both read it.
	for _, account := range []int64{0, acct.ID} {
		got, err := db.Ticket(ctx, account, tk.ID)
		if err != nil || got.ID != tk.ID || len(got.Messages) != 1 {
			t.Fatalf("Ticket(%d, %d) = %+v, %v", account, tk.ID, got, err)
		}
	}

	// Each step: who does what, and the status, closing and last message
	// after it.
	var closedAt time.Time
	for i, step := range []struct {
		name       string
		do         func(at time.Time) (billing.Ticket, error)
		status     billing.TicketStatus
		closedBy   string
		lastAuthor string
		messages   int
	}{
		{"staff answers", func(at time.Time) (billing.Ticket, error) {
			return db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorStaff, "alice", "Please power-cycle the ONT.", at)
		}, billing.TicketAnswered, "", "alice", 2},
		{"subscriber writes back (author defaults to the account number)", func(at time.Time) (billing.Ticket, error) {
			return db.ReplyTicket(ctx, acct.ID, tk.ID, billing.AuthorSubscriber, "", "Still red.", at)
		}, billing.TicketOpen, "", acct.Number, 3},
		{"staff answers again", func(at time.Time) (billing.Ticket, error) {
			return db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorStaff, "bob", "A technician comes tomorrow.", at)
		}, billing.TicketAnswered, "", "bob", 4},
		{"staff closes", func(at time.Time) (billing.Ticket, error) {
			return db.CloseTicket(ctx, 0, tk.ID, "bob", at)
		}, billing.TicketClosed, "bob", "bob", 4},
		{"closing again changes nothing", func(at time.Time) (billing.Ticket, error) {
			return db.CloseTicket(ctx, acct.ID, tk.ID, acct.Number, at)
		}, billing.TicketClosed, "bob", "bob", 4},
		{"the subscriber's reply reopens it", func(at time.Time) (billing.Ticket, error) {
			return db.ReplyTicket(ctx, acct.ID, tk.ID, billing.AuthorSubscriber, acct.Number, "It broke again.", at)
		}, billing.TicketOpen, "", acct.Number, 5},
		{"the subscriber closes it", func(at time.Time) (billing.Ticket, error) {
			return db.CloseTicket(ctx, acct.ID, tk.ID, acct.Number, at)
		}, billing.TicketClosed, acct.Number, acct.Number, 5},
	} {
		at := t0.Add(time.Duration(i+1) * time.Hour)
		got, err := step.do(at)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		last := got.Messages[len(got.Messages)-1]
		if got.Status != step.status || got.ClosedBy != step.closedBy || last.Author != step.lastAuthor || len(got.Messages) != step.messages {
			t.Fatalf("%s: status %s, closed by %q, last author %q, %d messages; want %s, %q, %q, %d", step.name,
				got.Status, got.ClosedBy, last.Author, len(got.Messages), step.status, step.closedBy, step.lastAuthor, step.messages)
		}
		switch {
		case step.name == "closing again changes nothing":
			if got.ClosedAt == nil || !got.ClosedAt.Equal(closedAt) || !got.UpdatedAt.Equal(closedAt) {
				t.Fatalf("%s: closed at %v, updated at %v; want both %v", step.name, got.ClosedAt, got.UpdatedAt, closedAt)
			}
		case step.status == billing.TicketClosed:
			if got.ClosedAt == nil || !got.ClosedAt.Equal(at) || !got.UpdatedAt.Equal(at) {
				t.Fatalf("%s: closed at %v, updated at %v; want %v", step.name, got.ClosedAt, got.UpdatedAt, at)
			}
			closedAt = at
		default:
			if got.ClosedAt != nil || !got.UpdatedAt.Equal(at) || !last.CreatedAt.Equal(at) {
				t.Fatalf("%s: closed at %v, updated at %v, message at %v; want open, %v", step.name, got.ClosedAt, got.UpdatedAt, last.CreatedAt, at)
			}
		}
	}

	// Staff cannot reply to a closed ticket; nothing is written.
	_, err = db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorStaff, "alice", "One more thing", t0.Add(24*time.Hour))
	wantCode(t, "staff reply to a closed ticket", err, billing.EINVALID, fmt.Sprintf("ticket %d is closed; only the subscriber can reopen it by replying", tk.ID))
	got, err := db.Ticket(ctx, 0, tk.ID)
	if err != nil || got.Status != billing.TicketClosed || len(got.Messages) != 5 {
		t.Fatalf("after the refused reply: %+v, %v", got, err)
	}
	want := []string{"The light on the router is red.", "Please power-cycle the ONT.", "Still red.", "A technician comes tomorrow.", "It broke again."}
	for i, m := range got.Messages {
		if m.Body != want[i] {
			t.Fatalf("message %d: %q, want %q (messages in the order written)", i, m.Body, want[i])
		}
	}
}

func TestTicketOfAnotherAccountIsNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	accts := ticketAccounts(t, db, 2)
	mine, theirs := accts[0], accts[1]
	tk := openTicket(t, db, theirs.ID, "Slow at night", t0)
	missing := tk.ID + 1000

	for _, tc := range []struct {
		name string
		call func(id int64) error
	}{
		{"Ticket", func(id int64) error { _, err := db.Ticket(ctx, mine.ID, id); return err }},
		{"ReplyTicket", func(id int64) error {
			_, err := db.ReplyTicket(ctx, mine.ID, id, billing.AuthorSubscriber, mine.Number, "me too", t0)
			return err
		}},
		{"CloseTicket", func(id int64) error { _, err := db.CloseTicket(ctx, mine.ID, id, mine.Number, t0); return err }},
		{"staff reply", func(id int64) error {
			_, err := db.ReplyTicket(ctx, mine.ID, id, billing.AuthorStaff, "alice", "hello", t0)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Another account's ticket and a missing one answer alike.
			other, gone := tc.call(tk.ID), tc.call(missing)
			wantCode(t, "another account's ticket", other, billing.ENOTFOUND, fmt.Sprintf("ticket %d does not exist", tk.ID))
			wantCode(t, "a missing ticket", gone, billing.ENOTFOUND, fmt.Sprintf("ticket %d does not exist", missing))
		})
	}
	got, err := db.Ticket(ctx, theirs.ID, tk.ID)
	if err != nil || got.Status != billing.TicketOpen || len(got.Messages) != 1 {
		t.Fatalf("the owner's ticket after the refused calls: %+v, %v", got, err)
	}
	if _, err := db.Ticket(ctx, 0, tk.ID); err != nil {
		t.Fatalf("staff read: %v", err)
	}
}

func TestTicketInputValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	acct := ticketAccounts(t, db, 1)[0]
	tk := openTicket(t, db, acct.ID, "Billing question", t0)

	long := func(n int) string { return strings.Repeat("é", n) } // runes, not bytes, are counted
	for _, tc := range []struct {
		name string
		call func() error
		code billing.Code
		msg  string
	}{
		{"empty subject", func() error { _, err := db.OpenTicket(ctx, acct.ID, "", "body", t0); return err },
			billing.EINVALID, "subject is required"},
		{"blank subject", func() error { _, err := db.OpenTicket(ctx, acct.ID, " \t\n", "body", t0); return err },
			billing.EINVALID, "subject is required"},
		{"subject too long", func() error { _, err := db.OpenTicket(ctx, acct.ID, long(201), "body", t0); return err },
			billing.EINVALID, "subject is longer than 200 characters"},
		{"empty body", func() error { _, err := db.OpenTicket(ctx, acct.ID, "subject", "  ", t0); return err },
			billing.EINVALID, "message is required"},
		{"body too long", func() error { _, err := db.OpenTicket(ctx, acct.ID, "subject", long(10001), t0); return err },
			billing.EINVALID, "message is longer than 10000 characters"},
		{"unknown account", func() error { _, err := db.OpenTicket(ctx, 424242, "subject", "body", t0); return err },
			billing.ENOTFOUND, "account 424242 does not exist"},
		{"empty reply", func() error {
			_, err := db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorStaff, "alice", "\n", t0)
			return err
		}, billing.EINVALID, "message is required"},
		{"reply too long", func() error {
			_, err := db.ReplyTicket(ctx, acct.ID, tk.ID, billing.AuthorSubscriber, "", long(10001), t0)
			return err
		}, billing.EINVALID, "message is longer than 10000 characters"},
		{"staff reply without author", func() error {
			_, err := db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorStaff, " ", "hi", t0)
			return err
		}, billing.EINVALID, "author is required for a staff reply"},
		{"subscriber reply without account", func() error {
			_, err := db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorSubscriber, acct.Number, "hi", t0)
			return err
		}, billing.EINVALID, "a subscriber's reply needs the subscriber's account"},
		{"unknown author kind", func() error {
			_, err := db.ReplyTicket(ctx, 0, tk.ID, "robot", "x", "hi", t0)
			return err
		}, billing.EINVALID, `author kind "robot" is not subscriber or staff`},
		{"reply to a missing ticket", func() error {
			_, err := db.ReplyTicket(ctx, 0, tk.ID+99, billing.AuthorStaff, "alice", "hi", t0)
			return err
		}, billing.ENOTFOUND, fmt.Sprintf("ticket %d does not exist", tk.ID+99)},
		{"close a missing ticket", func() error { _, err := db.CloseTicket(ctx, 0, tk.ID+99, "alice", t0); return err },
			billing.ENOTFOUND, fmt.Sprintf("ticket %d does not exist", tk.ID+99)},
		{"list by a bad status", func() error { _, err := db.Tickets(ctx, billing.TicketFilter{Status: "pending"}); return err },
			billing.EINVALID, `status "pending" is not open, answered or closed`},
		{"list an unknown account's", func() error { _, err := db.Tickets(ctx, billing.TicketFilter{AccountID: 424242}); return err },
			billing.ENOTFOUND, "account 424242 does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.name, tc.call(), tc.code, tc.msg) })
	}
	if n := count(t, db, "tickets"); n != 1 {
		t.Fatalf("%d tickets after the refused calls, want 1", n)
	}
	if n := count(t, db, "ticket_messages"); n != 1 {
		t.Fatalf("%d messages after the refused calls, want 1", n)
	}

	// The limits themselves are fine.
	got, err := db.OpenTicket(ctx, acct.ID, long(200), long(10000), t0)
	if err != nil || len([]rune(got.Subject)) != 200 || len([]rune(got.Messages[0].Body)) != 10000 {
		t.Fatalf("ticket at the limits: %v", err)
	}
}

func TestTicketsListing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	accts := ticketAccounts(t, db, 2)
	a, b := accts[0], accts[1]
	var ids []int64 // opened in this order: a, b, a, b, a
	for i := range 5 {
		acct := a
		if i%2 == 1 {
			acct = b
		}
		ids = append(ids, openTicket(t, db, acct.ID, fmt.Sprintf("Ticket %d", i), t0.Add(time.Duration(i)*time.Minute)).ID)
	}
	if _, err := db.ReplyTicket(ctx, 0, ids[0], billing.AuthorStaff, "alice", "answer", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CloseTicket(ctx, 0, ids[1], "alice", t0); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		f    billing.TicketFilter
		want []int64
	}{
		{"all, newest first", billing.TicketFilter{}, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"one account", billing.TicketFilter{AccountID: a.ID}, []int64{ids[4], ids[2], ids[0]}},
		{"open", billing.TicketFilter{Status: billing.TicketOpen}, []int64{ids[4], ids[3], ids[2]}},
		{"answered", billing.TicketFilter{Status: billing.TicketAnswered}, []int64{ids[0]}},
		{"closed", billing.TicketFilter{Status: billing.TicketClosed}, []int64{ids[1]}},
		{"closed of account a", billing.TicketFilter{AccountID: a.ID, Status: billing.TicketClosed}, nil},
		{"open of account b", billing.TicketFilter{AccountID: b.ID, Status: billing.TicketOpen}, []int64{ids[3]}},
		{"first page", billing.TicketFilter{Limit: 2}, []int64{ids[4], ids[3]}},
		{"next page", billing.TicketFilter{Limit: 2, AfterID: ids[3]}, []int64{ids[2], ids[1]}},
		{"last page", billing.TicketFilter{Limit: 2, AfterID: ids[1]}, []int64{ids[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Tickets(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []int64
			for _, tk := range got {
				gotIDs = append(gotIDs, tk.ID)
				if tk.Messages != nil {
					t.Errorf("ticket %d is listed with its messages", tk.ID)
				}
				if tk.AccountNumber == "" || tk.Subject == "" {
					t.Errorf("listed ticket lacks its account number or subject: %+v", tk)
				}
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(tc.want) {
				t.Fatalf("ids %v, want %v", gotIDs, tc.want)
			}
		})
	}
	got, _ := db.Tickets(ctx, billing.TicketFilter{Status: billing.TicketClosed})
	if got[0].AccountNumber != b.Number || got[0].ClosedBy != "alice" || got[0].ClosedAt == nil {
		t.Fatalf("closed ticket listed as %+v", got[0])
	}
}

// TestTicketConcurrentChanges races replies and a close on one ticket: the
// row lock puts them in an order, and the status is the one the last of
// them decided.
func TestTicketConcurrentChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	acct := ticketAccounts(t, db, 1)[0]

	// Replies from both sides: every message is kept, and the status
	// follows the one written last.
	tk := openTicket(t, db, acct.ID, "Flapping link", t0)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			if i%2 == 0 {
				_, errs[i] = db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorStaff, "alice", fmt.Sprintf("staff %d", i), t0)
			} else {
				_, errs[i] = db.ReplyTicket(ctx, acct.ID, tk.ID, billing.AuthorSubscriber, "", fmt.Sprintf("subscriber %d", i), t0)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	got, err := db.Ticket(ctx, 0, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 17 {
		t.Fatalf("%d messages, want 17", len(got.Messages))
	}
	want := billing.TicketOpen
	if got.Messages[16].AuthorKind == billing.AuthorStaff {
		want = billing.TicketAnswered
	}
	if got.Status != want {
		t.Fatalf("status %s after a last message by %s", got.Status, got.Messages[16].AuthorKind)
	}

	// Staff replies racing a close: those before it are kept, those after
	// it are refused, and the ticket ends closed (never answered after it
	// was closed).
	for round := range 5 {
		tk := openTicket(t, db, acct.ID, fmt.Sprintf("Round %d", round), t0)
		errs := make([]error, 8)
		var closeErr error
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorStaff, "alice", fmt.Sprintf("staff %d", i), t0)
			})
		}
		wg.Go(func() { _, closeErr = db.CloseTicket(ctx, 0, tk.ID, "bob", t0) })
		wg.Wait()
		if closeErr != nil {
			t.Fatal(closeErr)
		}
		kept := 0
		for _, err := range errs {
			switch billing.ErrorCode(err) {
			case "":
				kept++
			case billing.EINVALID:
			default:
				t.Fatalf("staff reply: %v", err)
			}
		}
		got, err := db.Ticket(ctx, 0, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != billing.TicketClosed || got.ClosedBy != "bob" || len(got.Messages) != 1+kept {
			t.Fatalf("round %d: status %s, closed by %q, %d messages (%d replies succeeded)", round, got.Status, got.ClosedBy, len(got.Messages), kept)
		}
	}
}
