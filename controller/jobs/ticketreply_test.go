package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestStaffTicketReplyEmailsTheSubscriber: a staff reply to a support
// ticket (what POST /api/v1/tickets/{id}/replies, the console and
// tollgatectl ticket reply call) queues a ticket_reply notice with the
// reply, and its job e-mails the subscriber the answer through a real SMTP
// server; the subscriber's own replies (opening the ticket, answering in
// the portal) queue nothing.
func TestStaffTicketReplyEmailsTheSubscriber(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	// Outside business hours: a ticket reply goes at once all the same.
	clk := clock.NewFixed(time.Date(2026, 12, 14, 23, 30, 0, 0, time.UTC))
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sam Subscriber", Email: "sam@example.net", AccountTypeID: typ.ID, Currency: "USD"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, step := startMailingRunner(t, db, clk, quiet)
	notices := func() []billing.Notice {
		t.Helper()
		ns, err := db.Notices(ctx, billing.NoticeFilter{AccountID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}

	tk, err := db.OpenTicket(ctx, a.ID, "Slow in the evening", "Every night after 8 it crawls.", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReplyTicket(ctx, a.ID, tk.ID, billing.AuthorSubscriber, "", "Still slow tonight.", clk.Now()); err != nil {
		t.Fatal(err)
	}
	step(clk.Now())
	if ns := notices(); len(ns) != 0 {
		t.Fatalf("the subscriber's own messages queued notices: %+v", ns)
	}

	const answer = "We moved your line to a new port.\nTell us if the evenings are better."
	if _, err := db.ReplyTicket(ctx, 0, tk.ID, billing.AuthorStaff, "rita", answer, clk.Now()); err != nil {
		t.Fatal(err)
	}
	ns := notices()
	if len(ns) != 1 || ns[0].Kind != billing.NoticeTicketReply || ns[0].To != "sam@example.net" || ns[0].Data.TicketID != tk.ID ||
		ns[0].Data.Message != answer || ns[0].BusinessHours {
		t.Fatalf("after the staff reply, want one ticket_reply notice to sam@example.net sent at once; got %+v", ns)
	}
	step(clk.Now())
	msgs := srv.WaitFor(t, 1, 5*time.Second)
	m := msgs[0]
	if m.Err != nil || len(m.To) != 1 || m.To[0] != "sam@example.net" || !strings.Contains(m.Subject, "Slow in the evening") ||
		!strings.Contains(m.Text, "Tell us if the evenings are better.") || !strings.Contains(m.Text, "https://pay.isp.example") ||
		!strings.Contains(m.Text, "Hello Sam Subscriber") {
		t.Fatalf("ticket reply e-mail: to %v subject %q err %v\n%s", m.To, m.Subject, m.Err, m.Text)
	}
	deadline := time.Now().Add(10 * time.Second)
	for notices()[0].Status != billing.NoticeSent {
		if time.Now().After(deadline) {
			t.Fatalf("the ticket reply notice is %s, want sent", notices()[0].Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("%d messages, want 1", got)
	}
}
