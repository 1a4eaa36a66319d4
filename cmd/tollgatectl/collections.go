package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

// Delinquency and collections: an account's standing and status history,
// promises to pay, exemptions, sweeps on demand, the suspension batches
// the blast-radius guard holds, and notices to subscribers.

// newAccountStandingCmds are account standing, promise and exempt.
func newAccountStandingCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{showCmd(g, "standing ACCOUNT", "Show an account's collection status and why, its balances, and its services as the POPs last confirmed them",
		"  tollgatectl account standing 42", "account", "/api/v1/accounts/%d/standing", printStanding),
		changeCmd(g, change[billing.AccountStanding]{args: []string{"account"},
			use:     "promise ACCOUNT (--until YYYY-MM-DD [--note TEXT] | --clear)",
			short:   "Record or clear a promise to pay, which holds the account out of delinquency and suspension",
			example: `  tollgatectl account promise 42 --until 2026-03-20 --note "will pay USD 120 by phone on the 20th"`,
			method:  http.MethodPut, path: "/api/v1/accounts/%d/promise-to-pay",
			params: []param{{"until", "until", "last day the promise holds the account, YYYY-MM-DD (not in the past)", dateParam},
				{"note", "note", "what was promised (amount, channel, who took it); kept in the status history", textParam}},
			clear: "remove the account's promise to pay",
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, st billing.AccountStanding) error {
				what := "promise to pay recorded until " + st.PromiseUntil.String()
				if st.PromiseUntil.IsZero() {
					what = "promise to pay cleared"
				}
				return printStandingChange(cmd, g, st, what)
			}}),
		changeCmd(g, change[billing.AccountStanding]{args: []string{"account"},
			use:     "exempt ACCOUNT (--reason TEXT | --clear)",
			short:   "Exempt an account from delinquency and suspension, or end its exemption",
			example: `  tollgatectl account exempt 42 --reason "county hospital, collections by phone only"`,
			method:  http.MethodPut, path: "/api/v1/accounts/%d/exemption",
			params: []param{{"reason", "reason", "why the account is exempt (required unless --clear)", textParam}},
			clear:  "end the account's exemption",
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, st billing.AccountStanding) error {
				return printStandingChange(cmd, g, st, map[bool]string{true: "exempt from suspension", false: "exemption ended"}[st.Exempt])
			}})}
}

func printStanding(w io.Writer, st billing.AccountStanding) error {
	status := string(st.Status)
	if st.StatusChangedAt != nil {
		status += " (since " + st.StatusChangedAt.Local().Format(time.RFC3339) + ")"
	}
	bal := money(st.Balance, st.Currency)
	if st.Balance < 0 {
		bal += " (credit)"
	}
	promise, exempt := "-", yesNo(st.Exempt)
	if !st.PromiseUntil.IsZero() {
		promise = "until " + st.PromiseUntil.String() + optionalText(" ", parens(st.PromiseNote))
	}
	if st.Exempt {
		exempt += optionalText(" ", parens(st.ExemptReason))
	}
	if err := textout.Fields(w, "Account", fmt.Sprintf("%s (id %d)", st.Number, st.AccountID), "Status", status, "Balance", bal,
		"Past due", money(st.PastDue, st.Currency), "Past delinquency date", money(st.Overdue, st.Currency),
		"Delinquency date", dateOrDash(st.DelinquencyDate), "Promise to pay", promise, "Exempt", exempt,
		"Suspension held", textout.Only(st.HeldInBatch != 0, fmt.Sprintf("in suspension batch %d (tollgatectl suspensions show %d)", st.HeldInBatch, st.HeldInBatch))); err != nil {
		return err
	}
	textout.Bullets(w, "Why", st.Why, true)
	fmt.Fprintln(w, "\nServices:")
	if len(st.Services) == 0 {
		fmt.Fprintln(w, "  (none)")
		return nil
	}
	return textout.Rows(w, st.Services, "ID,POP,DESIRED,OBSERVED,LAST CONFIRMED,REASON", func(s billing.ServiceStanding) []any {
		confirmed := timeOr(s.LastConfirmedAt, time.RFC3339, "never")
		if s.Pending != "" {
			confirmed = "pending: " + s.Pending
		}
		return []any{s.ID, s.POP, s.DesiredState, orDash(string(s.ObservedState)), confirmed, orDash(s.Reason)}
	})
}

// printStandingChange prints an account's standing after a change to it
// (a promise, an exemption), saying what changed.
func printStandingChange(cmd *cobra.Command, g *globals, st billing.AccountStanding, what string) error {
	fmt.Fprintf(cmd.OutOrStdout(), "account %s: %s; status %s\n\n", st.Number, what, st.Status)
	return printStanding(cmd.OutOrStdout(), st)
}

func newSweepCmd(g *globals) *cobra.Command {
	return group("sweep sweeps delinquency", "Run or preview the delinquency sweep of an account type now",
		newSweepRunCmd(g, false), newSweepRunCmd(g, true))
}

// newSweepRunCmd is "sweep run", or with preview "sweep preview".
func newSweepRunCmd(g *globals, preview bool) *cobra.Command {
	ch := change[billing.SweepResult]{use: "run --type ID [--dry-run]",
		short:   "Run the delinquency sweep of an account type now (--dry-run: change nothing, show what it would do)",
		example: `  tollgatectl sweep run --type 1 --dry-run`,
		method:  http.MethodPost, path: "/api/v1/delinquency/sweeps",
		params: []param{{"type", "account_type_id", "account type id; see account-type list (required)", idParam},
			{"dry-run", "dry_run", "compute the sweep and change nothing", switchParam}},
		show: printSweep}
	if preview {
		ch.use, ch.example = "preview --type ID", "  tollgatectl sweep preview --type 1\n  tollgatectl sweep preview --type 1 -o json"
		ch.short = "Show what a delinquency sweep of an account type would do now: status changes, suspensions (held ones and why), restores, reminders"
		ch.method, ch.path, ch.params = http.MethodGet, "/api/v1/delinquency/preview", ch.params[:1]
	}
	cmd := changeCmd(g, ch)
	if preview {
		cmd.Long = "Show what a delinquency sweep of an account type would do if it ran now, without\nchanging anything: a read-only dry run, allowed to reader tokens."
	}
	return cmd
}

func printSweep(w io.Writer, r billing.SweepResult) error {
	switch {
	case r.DryRun:
		fmt.Fprintf(w, "Dry run of the delinquency sweep of account type %d for %s: nothing was changed.\n\n", r.AccountTypeID, r.LocalDate)
	case r.AlreadyRan:
		fmt.Fprintf(w, "The delinquency sweep of account type %d for %s had already run; nothing was done.\n", r.AccountTypeID, r.LocalDate)
		return nil
	default:
		fmt.Fprintf(w, "Delinquency sweep %d of account type %d for %s (%s).\n\n", r.ID, r.AccountTypeID, r.LocalDate, r.Trigger)
	}
	held := fmt.Sprintf("%d accounts", r.Held)
	switch {
	case r.HeldBatchID != 0:
		held += fmt.Sprintf(" in suspension batch %d", r.HeldBatchID)
	case r.Held > 0:
		held += " (a suspension batch would hold them for approval)"
	}
	if err := textout.Fields(w, "Accounts examined", r.Examined, "Status changes", r.StatusChanges,
		"Suspended", fmt.Sprintf("%d accounts, %d services", r.Suspended, r.SuspendedServices), "Restored", fmt.Sprintf("%d accounts", r.Restored),
		"Notices queued", r.Reminders, "Held for approval", held); err != nil {
		return err
	}
	if textout.Bullets(w, "Held by the blast-radius guard", r.HeldReasons, false) && r.HeldBatchID != 0 {
		fmt.Fprintf(w, "Review with: tollgatectl suspensions show %d; then approve or cancel it.\n", r.HeldBatchID)
	}
	if len(r.Suspensions) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nSuspensions:")
	return textout.Rows(w, r.Suspensions, "ACCOUNT,NUMBER,SERVICES,POPS,HELD,WHY", func(s billing.PlannedSuspension) []any {
		return []any{s.AccountID, s.Number, orDash(joinNumbers(s.ServiceIDs, ",")), orDash(strings.Join(s.POPs, ",")), yesNo(s.Held), orDash(strings.Join(s.Why, " "))}
	})
}
