package billing

import "testing"

// TestTicketReplyNotice: a staff reply to an account with an e-mail address
// makes a ticket_reply notice sent at once with the ticket and message; a
// subscriber's reply, or an account without an address, makes none.
func TestTicketReplyNotice(t *testing.T) {
	tk := Ticket{ID: 7, AccountID: 3, AccountNumber: "A-0003", Subject: "Slow at night"}
	c := Contact{Email: "sub@example.net", Name: "Sam"}
	n, ok := TicketReplyNotice(tk, AuthorStaff, c, "We moved you to a new port.")
	if !ok || n.Kind != NoticeTicketReply || n.AccountID != 3 || n.To != "sub@example.net" || n.BusinessHours ||
		n.Data.TicketID != 7 || n.Data.TicketSubject != "Slow at night" || n.Data.Message != "We moved you to a new port." ||
		n.Data.AccountName != "Sam" || n.Data.AccountNumber != "A-0003" {
		t.Fatalf("staff reply: %+v %v", n, ok)
	}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, ok := TicketReplyNotice(tk, AuthorSubscriber, c, "thanks"); ok {
		t.Fatal("a subscriber's reply made a notice")
	}
	if _, ok := TicketReplyNotice(tk, AuthorStaff, Contact{Name: "Sam"}, "hi"); ok {
		t.Fatal("an account without an e-mail address got a notice")
	}
	if ok, why := NoticeStillTrue(n, NoticeStanding{Status: AccountClosed}); !ok {
		t.Fatalf("a ticket reply to a closed account was superseded: %s", why)
	}
	n.Data.TicketID = 0
	if err := n.Validate(); err == nil {
		t.Fatal("a ticket reply notice without its ticket_id validated")
	}
}
