package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

// Support tickets, staff side: subscribers open them and reply in the
// customer portal; staff list, read, answer and close them here.

func newTicketCmd(g *globals) *cobra.Command {
	return group("ticket tickets", "List, read, answer and close the support tickets subscribers open in the customer portal",
		listCmd(g, listing[billing.Ticket]{
			use:     "list [--status open|answered|closed] [--account ACCOUNT]",
			short:   "List support tickets (every page), newest first, without their messages",
			example: `  tollgatectl ticket list --status open`,
			path:    "/api/v1/tickets",
			params: []param{
				{"status", "status", "only tickets in this status: open (waiting for staff), answered (waiting for the subscriber) or closed", textParam},
				{"account", "account_id", "only this account's tickets", accountParam},
			},
			headers: "ID,ACCOUNT,STATUS,OPENED,UPDATED,SUBJECT",
			row: func(tk billing.Ticket) []any {
				return []any{tk.ID, tk.AccountNumber, tk.Status, localTime(tk.CreatedAt), localTime(tk.UpdatedAt), oneLine(tk.Subject)}
			},
		}),
		showCmd(g, "show ID", "Show a support ticket with every message, oldest first",
			"  tollgatectl ticket show 17\n  tollgatectl ticket show 17 -o json", "ticket", "/api/v1/tickets", printTicket), newTicketReplyCmd(g),
		changeCmd(g, change[billing.Ticket]{use: "close ID", args: []string{"ticket"},
			short:   "Close a support ticket (closing a closed one changes nothing)",
			example: "  tollgatectl ticket close 17",
			method:  http.MethodPost, path: "/api/v1/tickets/%d/close",
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, tk billing.Ticket) error {
				return sayf(cmd, "ticket %d (%s, account %s) is closed%s\n", tk.ID, oneLine(tk.Subject), tk.AccountNumber, closedBy(tk))
			}}))
}

func newTicketReplyCmd(g *globals) *cobra.Command {
	var message, file, idemKey string
	cmd := idCmd(g, "ticket", "reply ID (--message TEXT | --file PATH)",
		"Answer a support ticket, signed with your API token's name; the ticket becomes answered and the subscriber is e-mailed the answer",
		`  tollgatectl ticket reply 17 -m "A technician will visit tomorrow between 9 and 12."`, func(cmd *cobra.Command, c *client.Client, id int64) error {
			msg, err := replyMessage(cmd, message, file)
			if err != nil {
				return err
			}
			tk, err := c.ReplyTicket(cmd.Context(), orNewKey(idemKey), id, msg)
			if err != nil || g.json() {
				return orPrintJSON(cmd, tk, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ticket %d answered; it waits for the subscriber now\n\n", tk.ID)
			return printTicket(cmd.OutOrStdout(), tk)
		})
	f := cmd.Flags()
	f.StringVarP(&message, "message", "m", "", `the message to the subscriber ("-": read it from standard input)`)
	f.StringVar(&file, "file", "", `read the message from this file ("-": standard input)`)
	cmd.MarkFlagsMutuallyExclusive("message", "file")
	cmd.MarkFlagsOneRequired("message", "file")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

// maxMessageFile bounds what is read for a message: far more than the
// 10000 characters a message may have, so a too long one gets its own
// error, yet not a whole wrong file.
const maxMessageFile = 1 << 20

// replyMessage is the message of "ticket reply": --message, or read from
// --file or standard input ("-"); the controller checks it.
func replyMessage(cmd *cobra.Command, message, file string) (string, error) {
	if file == "" && message != "-" {
		return message, nil
	}
	var r io.Reader = cmd.InOrStdin()
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("--file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxMessageFile+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("reading the message: %w", err)
	case len(b) > maxMessageFile:
		return "", fmt.Errorf("the message is longer than %d bytes", maxMessageFile)
	case !utf8.Valid(b): // JSON would send U+FFFD instead
		return "", fmt.Errorf("the message is not UTF-8 text")
	}
	return string(b), nil
}

// closedBy is " by NAME at TIME" for a closed ticket.
func closedBy(tk billing.Ticket) string {
	return optionalText(" by ", tk.ClosedBy) + optionalText(" at ", timeOr(tk.ClosedAt, time.RFC3339, ""))
}

func printTicket(w io.Writer, tk billing.Ticket) error {
	status := string(tk.Status) + map[billing.TicketStatus]string{billing.TicketOpen: " (waiting for staff)",
		billing.TicketAnswered: " (waiting for the subscriber)", billing.TicketClosed: closedBy(tk)}[tk.Status]
	if err := textout.Fields(w, "Ticket", tk.ID, "Subject", oneLine(tk.Subject), "Account", fmt.Sprintf("%s (id %d)", tk.AccountNumber, tk.AccountID),
		"Status", status, "Opened", localTime(tk.CreatedAt), "Updated", localTime(tk.UpdatedAt)); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nMessages (%d):\n", len(tk.Messages))
	for _, m := range tk.Messages {
		who := m.Author + " (" + m.AuthorKind + ")"
		fmt.Fprintf(w, "\n  #%d  %s  %s\n", m.ID, localTime(m.CreatedAt), who)
		for _, line := range strings.Split(m.Body, "\n") {
			fmt.Fprintf(w, "    %s\n", strings.TrimRight(line, " \t\r"))
		}
	}
	return nil
}

func localTime(t time.Time) string { return t.Local().Format(time.RFC3339) }

// timeOr is *t as local time in layout, or none for nil.
func timeOr(t *time.Time, layout, none string) string {
	if t == nil {
		return none
	}
	return t.Local().Format(layout)
}

// oneLine keeps a subject on one table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
