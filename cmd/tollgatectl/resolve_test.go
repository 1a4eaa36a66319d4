package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// TestAccountIsNamedByNumberExternalIDOrID names accounts every way staff
// do — account number, external id, id — as arguments and as --account
// flags, against a real API and database.
func TestAccountIsNamedByNumberExternalIDOrID(t *testing.T) {
	_, url, jane, bob, invs := newPaymentController(t)
	c := cli{t, url}
	for _, ref := range []string{jane.Number, "legacy-1", strconv.FormatInt(jane.ID, 10), " " + jane.Number + " "} {
		out := c.ok("account", "show", ref)
		expectOut(t, out, jane.Number, "Jane Doe", "legacy-1")
		out = c.ok("account", "statement", ref)
		expectOut(t, out, "Account "+jane.Number, invs[0].Number)
	}
	out := c.ok("invoice", "list", "--account", "legacy-1")
	expectOut(t, out, invs[0].Number, invs[1].Number)
	out = c.ok("invoice", "list", "--account", bob.Number)
	if strings.Contains(out, invs[0].Number) {
		t.Errorf("invoice list --account %s shows Jane's invoice:\n%s", bob.Number, out)
	}
	c.ok("credit", "add", bob.Number, "--amount", "1.00", "--memo", "goodwill")
	if out := c.ok("account", "show", "legacy-2"); !strings.Contains(out, "USD -1.00 (credit)") {
		t.Errorf("credit add by account number did not credit Bob:\n%s", out)
	}
	c.fails(`account "A-999999": no account has this number or external id`, "account", "show", "A-999999")
	c.fails(`account "nobody": no account has this number or external id`, "invoice", "list", "--account", "nobody")
}

// TestMistypedSubcommandFails: a word that is no subcommand of a command
// group is an error naming it (so the shell sees a non-zero exit status),
// not the group's help with success; the group alone still shows its help.
func TestMistypedSubcommandFails(t *testing.T) {
	_, url := newFakeAPI(t, nil)
	for _, args := range [][]string{{"account", "shwo", "5"}, {"payment", "lsit"}, {"billing-run", "strat"}} {
		out, _, err := run(t, url, args...)
		if err == nil || !strings.Contains(err.Error(), `unknown command "`+args[1]+`"`) {
			t.Errorf("tollgatectl %s: error %v, want unknown command\n%s", strings.Join(args, " "), err, out)
		}
	}
	_, _, err := run(t, url, "account", "shwo", "5")
	if err == nil || !strings.Contains(err.Error(), "Did you mean this?") || !strings.Contains(err.Error(), "show") {
		t.Errorf("account shwo: %v, want a suggestion of show", err)
	}
	out, _, err := run(t, url, "account")
	if err != nil || !strings.Contains(out, "Available Commands") {
		t.Errorf("tollgatectl account: %v\n%s", err, out)
	}
}

// TestControlCharactersInDataAreEscaped stores an account whose name and
// external id carry terminal escape sequences (clear screen, set title,
// carriage return): every command's output shows them escaped.
func TestControlCharactersInDataAreEscaped(t *testing.T) {
	db, url, jane, _, _ := newPaymentController(t)
	if _, err := db.Pool.Exec(context.Background(), `UPDATE accounts SET name = $2 WHERE id = $1`,
		jane.ID, "Jane\x1b[2J\x1b]0;pwned\x07 Doe\rX\u009b"); err != nil {
		t.Fatal(err)
	}
	c := cli{t, url}
	for _, args := range [][]string{{"account", "show", jane.Number}, {"account", "list"}, {"account", "statement", jane.Number}} {
		out := c.ok(args...)
		if strings.ContainsAny(out, "\x1b\x07\r\u009b") {
			t.Errorf("tollgatectl %s printed a control character: %q", strings.Join(args, " "), out)
		}
		expectOut(t, out, `Jane\x1b[2J\x1b]0;pwned\x07 Doe\rX\u009b`)
	}
}

// TestBillingRunStartSaysTheRunAlreadyExisted: when the API answers that a
// date's run existed already, billing-run start says so.
func TestBillingRunStartSaysTheRunAlreadyExisted(t *testing.T) {
	_, url := newFakeAPI(t, map[string][]string{
		"POST /api/v1/billing-runs": {`{"items":[{"id":7,"account_type_id":1,"date":"2026-12-01","status":"completed","requested_by":"admin",` +
			`"total_accounts":3,"done_accounts":3,"invoices_created":3,"created_at":"2026-12-01T06:00:00Z","already_existed":true}],"next_after":0}`},
	})
	out, errOut, err := run(t, url, "billing-run", "start", "--date", "2026-12-01", "--type", "1")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(errOut, "account type 1 already has billing run 7 for 2026-12-01 (completed") ||
		!strings.Contains(errOut, "no new run was started") {
		t.Errorf("billing-run start did not say the run existed:\nstdout: %s\nstderr: %s", out, errOut)
	}
}
