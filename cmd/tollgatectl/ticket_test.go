package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

var ticketsNow = time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC)

// newTicketsController serves the admin API with the ticket endpoints on a
// fresh database at ticketsNow, with two accounts (Jane, Bob). "test-token"
// is an admin's named root, "reader-token" a reader's.
func newTicketsController(t *testing.T) (db *postgres.DB, url string, jane, bob billing.Account) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Tickets: db},
		[]api.Token{api.NewToken("root", api.RoleAdmin, "test-token"), api.NewToken("viewer", api.RoleReader, "reader-token")},
		clock.NewFixed(ticketsNow), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago"}, ticketsNow)
	if err != nil {
		t.Fatal(err)
	}
	var accts []billing.Account
	for _, name := range []string{"Jane Doe", "Bob Smith"} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: name, Email: "sub@example.net", AccountTypeID: typ.ID, Currency: "USD"}, ticketsNow)
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, a)
	}
	return db, hs.URL, accts[0], accts[1]
}

// runIn is run with stdin.
func runIn(t *testing.T, server, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(append([]string{"--server", server, "--token", "test-token"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTicketCommandsEndToEnd(t *testing.T) {
	db, url, jane, bob := newTicketsController(t)
	ctx := context.Background()
	c := cli{t, url}
	open := func(a billing.Account, subject, body string) string {
		t.Helper()
		tk, err := db.OpenTicket(ctx, a.ID, subject, body, ticketsNow.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return jsonInt(tk.ID)
	}
	slow := open(jane, "Slow in the evening", "Speed drops to 2 Mbit/s after 8pm.")
	down := open(bob, "No internet", "The light on the router is red.")

	// Listing, newest first; readers may list and read.
	out := c.ok("--token", "reader-token", "ticket", "list")
	expectOut(t, out, "ID", "ACCOUNT", "STATUS", "SUBJECT")
	expectRow(t, out, down, bob.Number, "open")
	expectRow(t, out, slow, jane.Number, "open")
	if strings.Index(out, "No internet") > strings.Index(out, "Slow in the evening") {
		t.Errorf("not newest first:\n%s", out)
	}
	out = c.ok("ticket", "list", "--account", jsonInt(jane.ID))
	expectRow(t, out, slow, jane.Number, "open")
	if strings.Contains(out, "No internet") {
		t.Errorf("--account lists another account's ticket:\n%s", out)
	}
	out = c.ok("ticket", "show", slow)
	expectOut(t, out, "Ticket:", slow, "Subject:", "Slow in the evening", "Account:", jane.Number+" (id "+jsonInt(jane.ID)+")",
		"Status:", "open (waiting for staff)", "Messages (1):", jane.Number+" (subscriber)", "    Speed drops to 2 Mbit/s after 8pm.")

	// Answering: -m, --file, and standard input; signed with the token's
	// name.
	c.fails("403", "--token", "reader-token", "ticket", "reply", slow, "-m", "hi")
	out = c.ok("ticket", "reply", slow, "-m", "We are looking into it.")
	expectOut(t, out, "ticket "+slow+" answered; it waits for the subscriber now", "answered (waiting for the subscriber)",
		"Messages (2):", "root (staff)", "    We are looking into it.")
	file := filepath.Join(t.TempDir(), "answer.txt")
	if err := os.WriteFile(file, []byte("\nA cable was damaged.\n\nIt is fixed now.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = c.ok("ticket", "reply", slow, "--file", file)
	expectOut(t, out, "Messages (3):", "    A cable was damaged.\n    \n    It is fixed now.\n")
	out, err := runIn(t, url, "Line one\nLine two\n", "ticket", "reply", down, "--file", "-")
	if err != nil {
		t.Fatal(err)
	}
	expectOut(t, out, "    Line one\n    Line two\n")
	if out, err = runIn(t, url, "From stdin by -m -", "ticket", "reply", down, "-m", "-"); err != nil {
		t.Fatal(err)
	}
	expectOut(t, out, "Messages (3):", "    From stdin by -m -")
	expectRow(t, c.ok("ticket", "list", "--status", "answered"), down, bob.Number, "answered")

	// A retry with the same --idempotency-key does not answer twice.
	for range 2 {
		c.ok("ticket", "reply", down, "-m", "Retried answer", "--idempotency-key", "k-retry")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM ticket_messages WHERE body = 'Retried answer'`); n != 1 {
		t.Fatalf("a retried reply was written %d times", n)
	}

	// Closing; closing again changes nothing; a closed ticket takes no
	// staff answer.
	c.fails("403", "--token", "reader-token", "ticket", "close", slow)
	out = c.ok("ticket", "close", slow)
	expectOut(t, out, "ticket "+slow+" (Slow in the evening, account "+jane.Number+") is closed by root at ")
	expectOut(t, c.ok("ticket", "close", slow), "is closed by root")
	c.fails("is closed; only the subscriber can reopen it", "ticket", "reply", slow, "-m", "one more thing")
	expectOut(t, c.ok("ticket", "show", slow), "closed by root at ")
	out = c.ok("ticket", "list", "--status", "closed")
	expectRow(t, out, slow, jane.Number, "closed")
	if strings.Contains(out, "No internet") {
		t.Errorf("--status closed lists an answered ticket:\n%s", out)
	}

	// JSON output is the API's ticket.
	out = c.ok("-o", "json", "ticket", "show", down)
	expectOut(t, out, `"status": "answered"`, `"author_kind": "staff"`, `"author": "root"`, `"account_number": "`+bob.Number+`"`)
	c.fails("404", "ticket", "show", "4242")
	c.fails("account 4242 does not exist", "ticket", "list", "--account", "4242")
}

func TestTicketCommandsSend(t *testing.T) {
	ticket := `{"id":17,"account_id":7,"account_number":"A-000007","subject":"Slow","status":"answered","messages":[]}`
	f, url := newFakeAPI(t, map[string][]string{
		"GET /api/v1/tickets": {
			`{"items":[{"id":30,"account_number":"A-000007","subject":"a","status":"open"}],"next_after":30}`,
			`{"items":[{"id":12,"account_number":"A-000007","subject":"b","status":"open"}],"next_after":0}`,
		},
		"GET /api/v1/tickets/17":          {ticket},
		"POST /api/v1/tickets/17/replies": {ticket},
		"POST /api/v1/tickets/17/close":   {ticket},
	})
	for _, args := range [][]string{
		{"ticket", "list", "--status", "open", "--account", "7"},
		{"ticket", "show", "17"},
		{"ticket", "reply", "17", "--message", "  Fixed now.  ", "--idempotency-key", "k-reply"},
		{"ticket", "close", "17"},
	} {
		if out, _, err := run(t, url, args...); err != nil {
			t.Fatalf("tollgatectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	want := []struct{ method, path, query, body string }{
		{"GET", "/api/v1/tickets", "account_id=7&limit=1000&status=open", ``},
		{"GET", "/api/v1/tickets", "account_id=7&after=30&limit=1000&status=open", ``},
		{"GET", "/api/v1/tickets/17", "", ``},
		{"POST", "/api/v1/tickets/17/replies", "", `{"body":"  Fixed now.  "}`}, // the controller trims it
		{"POST", "/api/v1/tickets/17/close", "", ``},
	}
	calls := f.calls()
	if len(calls) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(calls), len(want), calls)
	}
	for i, w := range want {
		c := calls[i]
		if c.method != w.method || c.path != w.path || c.query != w.query || string(bytes.TrimSpace(c.body)) != w.body {
			t.Errorf("request %d: %s %s?%s %s; want %s %s?%s %s", i, c.method, c.path, c.query, c.body, w.method, w.path, w.query, w.body)
		}
		if (c.method == http.MethodGet) != (c.key == "") {
			t.Errorf("request %d (%s %s): Idempotency-Key %q", i, c.method, c.path, c.key)
		}
		if c.path == "/api/v1/tickets/17/replies" && c.key != "k-reply" {
			t.Errorf("--idempotency-key not sent: %q", c.key)
		}
	}
}

func TestTicketCommandArgumentErrors(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{})
	big := filepath.Join(t.TempDir(), "big.txt")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 10001)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		frag  string
	}{
		{[]string{"ticket", "list", "--account", "-1"}, "", `--account -1 is not an account id`},
		{[]string{"ticket", "list", "extra"}, "", `unknown command "extra"`},
		{[]string{"ticket", "show"}, "", `accepts 1 arg(s), received 0`},
		{[]string{"ticket", "show", "x"}, "", `ticket id "x" is not a positive number`},
		{[]string{"ticket", "close", "0"}, "", `ticket id "0" is not a positive number`},
		{[]string{"ticket", "reply", "17"}, "", `at least one of the flags in the group [message file] is required`},
		{[]string{"ticket", "reply", "abc", "-m", "hi"}, "", `ticket id "abc" is not a positive number`},
		{[]string{"ticket", "reply", "17", "-m", "hi", "--file", big}, "", `[file message] were all set`},
		{[]string{"ticket", "reply", "17", "--file", "/nonexistent/answer.txt"}, "", `no such file`},
		{[]string{"ticket", "reply", "17", "--file", "-"}, "\xff\xfe", `not UTF-8`},
	} {
		_, err := runIn(t, url, tc.stdin, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.frag) {
			t.Errorf("tollgatectl %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.frag)
		}
	}
	if calls := f.calls(); len(calls) != 0 {
		t.Errorf("commands with bad arguments sent %+v", calls)
	}
}
