package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestTicketsReplyAndClose: the queue lists open tickets first and filters
// by status; a ticket shows its thread; the clerk's reply (posted twice)
// adds one message, makes the ticket answered and queues one ticket_reply
// e-mail to the subscriber; an empty reply is refused naming the message;
// closing hides the reply form. A reader sees neither form, and a
// reader's reply is refused with nothing added.
func TestTicketsReplyAndClose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	typ := e.residentialType()
	jane := e.addSubscriber(typ, "Jane Prairie", "jane@example.net")
	older, err := e.db.OpenTicket(ctx, jane.ID, "Invoice question", "Why two lines?", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ReplyTicket(ctx, 0, older.ID, "staff", "bill", "One is the install fee.", testNow); err != nil {
		t.Fatal(err)
	}
	tk, err := e.db.OpenTicket(ctx, jane.ID, "Slow in the evening", "Every night after 8 it crawls.", testNow)
	if err != nil {
		t.Fatal(err)
	}
	ticketPath := fmt.Sprintf("/tickets/%d", tk.ID)
	replies := func() int {
		return e.countRows(`SELECT count(*) FROM ticket_messages WHERE ticket_id = $1 AND author_kind = 'staff'`, tk.ID)
	}
	notices := func() int {
		return e.countRows(`SELECT count(*) FROM notices WHERE kind = 'ticket_reply' AND data->>'ticket_id' = $1`, fmt.Sprint(tk.ID))
	}

	reader := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	q := reader.get("/tickets")
	pageHas(t, "queue", q, "Slow in the evening", "Invoice question", jane.Number)
	if strings.Index(q.body, "Slow in the evening") > strings.Index(q.body, "Invoice question") {
		t.Fatal("the open ticket is not listed before the answered one")
	}
	answered := reader.get("/tickets?status=answered")
	pageHas(t, "answered filter", answered, "Invoice question")
	mustNotContain(t, "answered filter", answered, "Slow in the evening")
	if bad := reader.get("/tickets?status=lost"); bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "Status:") {
		t.Fatalf("an unknown status: %d\n%s", bad.status, bad.body)
	}
	rp := reader.get(ticketPath)
	pageHas(t, "reader's ticket", rp, "Every night after 8 it crawls.", "Subscriber ("+jane.Number+")")
	mustNotContain(t, "reader's ticket", rp, "Send reply", "Close the ticket")
	if r := reader.do(http.MethodPost, ticketPath+"/replies", url2(t, rp, "body", "Hi")); r.status != http.StatusForbidden || replies() != 0 {
		t.Fatalf("a reader's reply: %d, %d replies; want 403 and none", r.status, replies())
	}

	clerk := e.signIn(e.addStaff("bill", staff.RoleBilling, false))
	p := clerk.get(ticketPath)
	pageHas(t, "clerk's ticket", p, "Send reply", "Close the ticket", `autofocus`)
	empty := clerk.do(http.MethodPost, ticketPath+"/replies", form(t, p, "body", "   "))
	if empty.status != http.StatusUnprocessableEntity || !strings.Contains(empty.body, "Message:") || replies() != 0 {
		t.Fatalf("an empty reply: %d\n%s", empty.status, empty.body)
	}
	f := form(t, p, "body", "We moved your line to a new port.")
	done := clerk.do(http.MethodPost, ticketPath+"/replies", f)
	again := clerk.do(http.MethodPost, ticketPath+"/replies", f)
	if done.status != http.StatusSeeOther || again.location != done.location || replies() != 1 || notices() != 1 {
		t.Fatalf("reply twice: %d %q, again %d %q; %d replies, %d ticket_reply notices; want one each",
			done.status, done.location, again.status, again.location, replies(), notices())
	}
	p = clerk.get(strings.TrimPrefix(done.location, "/staff"))
	pageHas(t, "after the reply", p, "the subscriber is e-mailed it", "We moved your line to a new port.", "Staff: bill", "Answered")

	closeForm := form(t, p)
	closeForm.Set("idem", optionalClose(t, p.body))
	if r := clerk.do(http.MethodPost, ticketPath+"/close", closeForm); r.status != http.StatusSeeOther {
		t.Fatalf("close: %d\n%s", r.status, r.body)
	}
	p = clerk.get(ticketPath)
	pageHas(t, "closed ticket", p, "Closed", "only the subscriber can reopen it")
	mustNotContain(t, "closed ticket", p, "Send reply")
	if e.countRows(`SELECT count(*) FROM tickets WHERE id = $1 AND status = 'closed' AND closed_by = 'bill'`, tk.ID) != 1 {
		t.Fatal("the ticket is not closed by bill")
	}
}

// optionalClose is the close form's Idempotency-Key (the page's last idem).
func optionalClose(t *testing.T, body string) string {
	t.Helper()
	var last string
	for _, m := range inputRE.FindAllStringSubmatch(body, -1) {
		if m[1] == "idem" {
			last = m[2]
		}
	}
	if last == "" {
		t.Fatal("no close form")
	}
	return last
}
