package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func newSuspensionsCmd(g *globals) *cobra.Command {
	return group("suspensions suspension suspension-batch suspension-batches", "Review, approve or cancel the suspensions the blast-radius guard held for approval",
		listCmd(g, listing[billing.SuspensionBatch]{
			use:     "list [--status pending|decided]",
			short:   "List held suspension batches, newest first",
			example: `  tollgatectl suspensions list --status pending`,
			path:    "/api/v1/suspension-batches",
			params:  []param{{"status", "status", "only batches in this status: pending (waiting for a decision) or decided", textParam}},
			headers: "ID,SWEEP,STATUS,PENDING,CREATED,DECIDED BY,REASONS",
			row: func(b billing.SuspensionBatch) []any {
				return []any{b.ID, b.SweepID, b.Status, b.Pending, localTime(b.CreatedAt), orDash(b.DecidedBy), orDash(strings.Join(b.Reasons, "; "))}
			},
		}),
		showCmd(g, "show ID", "Show a held suspension batch: why it was held, and each account with its services, POPs, why and decision",
			"  tollgatectl suspensions show 7", "suspension batch", "/api/v1/suspension-batches", printSuspensionBatch), newSuspensionsDecideCmd(g, true), newSuspensionsDecideCmd(g, false))
}

func printSuspensionBatch(w io.Writer, b billing.SuspensionBatch) error {
	decided := any(textout.Skip{})
	if b.DecidedAt != nil {
		decided = localTime(*b.DecidedAt) + " by " + orDash(b.DecidedBy)
	}
	if err := textout.Fields(w, "Suspension batch", fmt.Sprintf("%d (sweep %d)", b.ID, b.SweepID),
		"Status", fmt.Sprintf("%s, %d of %d accounts pending", b.Status, b.Pending, len(b.Items)), "Created", localTime(b.CreatedAt),
		"Decided", decided); err != nil {
		return err
	}
	textout.Bullets(w, "Held because", b.Reasons, false)
	fmt.Fprintln(w)
	return textout.Rows(w, b.Items, "ACCOUNT,NUMBER,STATUS,SERVICES,POPS,DECIDED BY,WHY", func(it billing.SuspensionBatchItem) []any {
		return []any{it.AccountID, it.Number, it.Status, orDash(joinNumbers(it.ServiceIDs, ",")), orDash(strings.Join(it.POPs, ",")), orDash(it.DecidedBy), orDash(strings.Join(it.Why, " "))}
	})
}

// newSuspensionsDecideCmd is "suspensions approve" (approve) or
// "suspensions cancel".
func newSuspensionsDecideCmd(g *globals, approve bool) *cobra.Command {
	verb, short, example := "cancel", "Cancel a held batch's pending suspensions (all, or those of the --account ids): those accounts are not suspended by it",
		"  tollgatectl suspensions cancel 7\n  tollgatectl suspensions cancel 7 --account 42 --account 43"
	if approve {
		verb, short, example = "approve", "Approve a held batch's pending suspensions (all, or those of the --account ids): accounts still delinquent are suspended now",
			"  tollgatectl suspensions approve 7\n  tollgatectl suspensions approve 7 --account 42 --account 43\n  tollgatectl suspensions approve 7 --account 42,43"
	}
	var named []int64 // the accounts given, for the summary
	return changeCmd(g, change[billing.SuspensionBatch]{use: verb + " ID [--account ACCOUNT ...]", short: short, example: example, args: []string{"suspension batch"},
		params: []param{{"account", "account_ids", "decide only this account's item: account number A-000042, external id or id (repeat or comma-separate; default: every pending item)", accountsParam}},
		send: func(ctx context.Context, c *client.Client, ids []int64, key string, body map[string]any) (billing.SuspensionBatch, error) {
			named, _ = body["account_ids"].([]int64)
			if approve {
				return c.ApproveSuspensionBatch(ctx, key, ids[0], named)
			}
			return c.CancelSuspensionBatch(ctx, key, ids[0], named)
		},
		print: func(cmd *cobra.Command, _ *client.Client, _ []int64, b billing.SuspensionBatch) error {
			fmt.Fprintf(cmd.OutOrStdout(), "suspension batch %d: %s\n\n", b.ID, decisionSummary(b, named))
			return printSuspensionBatch(cmd.OutOrStdout(), b)
		}})
}

// decisionSummary counts a batch's items by status ("2 approved, 1
// skipped, 3 pending"), only among accounts when some were named.
func decisionSummary(b billing.SuspensionBatch, accounts []int64) string {
	counts := map[string]int{}
	for _, it := range b.Items {
		if len(accounts) == 0 || slices.Contains(accounts, it.AccountID) {
			counts[it.Status]++
		}
	}
	var parts []string
	for _, s := range []string{"approved", "skipped", "cancelled", "pending"} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	out := strings.Join(parts, ", ")
	if len(accounts) > 0 {
		out = "of the accounts named, " + out
	}
	if b.Status == "decided" {
		return out + "; the batch is decided"
	}
	return out + fmt.Sprintf("; %d still pending in the batch", b.Pending)
}

func newNoticesCmd(g *globals) *cobra.Command {
	return group("notices notice", "List notices to subscribers (payment reminders, suspension and restore notices) and send one again",
		listCmd(g, listing[billing.Notice]{
			use:     "list [--account ACCOUNT] [--status queued|sent|failed|superseded] [--kind reminder|suspended|restored|ticket_reply]",
			short:   "List notices to subscribers (every page), oldest first, with their delivery status",
			example: `  tollgatectl notices list --account 42`,
			path:    "/api/v1/notices",
			params: []param{
				{"account", "account_id", "only this account's notices", accountParam},
				{"status", "status", "only notices in this status: queued, sent, failed, superseded", textParam},
				{"kind", "kind", "only notices of this kind: reminder, suspended, restored, ticket_reply", textParam},
			},
			headers: "ID,ACCOUNT,KIND,STATUS,TO,ATTEMPTS,CREATED,SENT / NEXT ATTEMPT,LAST ERROR / WHY SUPERSEDED",
			row: func(n billing.Notice) []any {
				when, note := localTime(n.NextAttemptAt), n.LastError
				if n.SentAt != nil {
					when = localTime(*n.SentAt)
				}
				switch n.Status {
				case billing.NoticeFailed:
					when = "-"
				case billing.NoticeSuperseded:
					when, note = "-", n.SupersededReason
				}
				kind := string(n.Kind)
				if n.Kind == billing.NoticeReminder && n.DaysBefore > 0 {
					kind += fmt.Sprintf(" (%d days before)", n.DaysBefore)
				}
				return []any{n.ID, n.AccountID, kind, n.Status, n.To, n.Attempts, localTime(n.CreatedAt), when, orDash(note)}
			},
		}),
		changeCmd(g, change[billing.Notice]{use: "resend ID", args: []string{"notice"},
			short:   "Send a sent or failed notice again (queued at once; business hours still apply)",
			example: "  tollgatectl notices resend 1042",
			method:  http.MethodPost, path: "/api/v1/notices/%d/resend",
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, n billing.Notice) error {
				return sayf(cmd, "notice %d (%s to %s) is queued; next attempt at %s\n", n.ID, n.Kind, n.To, localTime(n.NextAttemptAt))
			}}))
}
