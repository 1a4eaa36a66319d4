package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Delinquency and collections: an account's standing and status history,
// promises to pay, exemptions, sweeps on demand, the suspension batches
// the blast-radius guard holds, and notices to subscribers.

func newAccountStandingCmd(g *globals) *cobra.Command {
	return showCmd(g, "standing ACCOUNT", "Show an account's collection status and why, its balances, and its services as the POPs last confirmed them",
		"  tollgatectl account standing 42", "account", "/api/v1/accounts/%d/standing", printStanding)
}

func printStanding(w io.Writer, g *globals, st billing.AccountStanding) error {
	if g.json() {
		return printJSON(w, st)
	}
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
	if err := printFields(w, "Account", fmt.Sprintf("%s (id %d)", st.Number, st.AccountID), "Status", status, "Balance", bal,
		"Past due", money(st.PastDue, st.Currency), "Past delinquency date", money(st.Overdue, st.Currency),
		"Delinquency date", dateOrDash(st.DelinquencyDate), "Promise to pay", promise, "Exempt", exempt,
		"Suspension held", only(st.HeldInBatch != 0, fmt.Sprintf("in suspension batch %d (tollgatectl suspensions show %d)", st.HeldInBatch, st.HeldInBatch))); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nWhy:")
	for _, line := range st.Why {
		fmt.Fprintf(w, "  - %s\n", line)
	}
	fmt.Fprintln(w, "\nServices:")
	if len(st.Services) == 0 {
		fmt.Fprintln(w, "  (none)")
		return nil
	}
	return printList(w, g, st.Services, "ID,POP,DESIRED,OBSERVED,LAST CONFIRMED,REASON", func(s billing.ServiceStanding) []any {
		confirmed := "never"
		if s.LastConfirmedAt != nil {
			confirmed = s.LastConfirmedAt.Local().Format(time.RFC3339)
		}
		if s.Pending != "" {
			confirmed = "pending: " + s.Pending
		}
		return []any{s.ID, s.POP, s.DesiredState, orDash(string(s.ObservedState)), confirmed, orDash(s.Reason)}
	})
}

func newAccountPromiseCmd(g *globals) *cobra.Command {
	var until, note, idemKey string
	var clear bool
	cmd := &cobra.Command{
		Use:     "promise ACCOUNT (--until YYYY-MM-DD [--note TEXT] | --clear)",
		Short:   "Record or clear a promise to pay, which holds the account out of delinquency and suspension",
		Example: `  tollgatectl account promise 42 --until 2026-03-20 --note "will pay USD 120 by phone on the 20th"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d billing.Date
			var err error
			switch {
			case clear && (until != "" || note != ""):
				return fmt.Errorf("--clear takes neither --until nor --note")
			case !clear && until == "":
				return fmt.Errorf("--until is required (or --clear to remove the promise)")
			case !clear:
				if d, err = parseDateFlag("until", until); err != nil {
					return err
				}
			}
			return changeStanding(cmd, g, args[0], func(c *client.Client, id int64) (billing.AccountStanding, string, error) {
				if clear {
					st, err := c.ClearPromise(cmd.Context(), orNewKey(idemKey), id)
					return st, "promise to pay cleared", err
				}
				st, err := c.SetPromise(cmd.Context(), orNewKey(idemKey), id, d, strings.TrimSpace(note))
				return st, "promise to pay recorded until " + d.String(), err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&until, "until", "", "last day the promise holds the account, YYYY-MM-DD (not in the past)")
	f.StringVar(&note, "note", "", "what was promised (amount, channel, who took it); kept in the status history")
	f.BoolVar(&clear, "clear", false, "remove the account's promise to pay")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newAccountExemptCmd(g *globals) *cobra.Command {
	var reason, idemKey string
	var clear bool
	cmd := &cobra.Command{
		Use:     "exempt ACCOUNT (--reason TEXT | --clear)",
		Short:   "Exempt an account from delinquency and suspension, or end its exemption",
		Example: `  tollgatectl account exempt 42 --reason "county hospital, collections by phone only"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reason = strings.TrimSpace(reason)
			switch {
			case clear && reason != "":
				return fmt.Errorf("--clear takes no --reason")
			case !clear && reason == "":
				return fmt.Errorf("--reason is required: say why the account is exempt (or --clear to end the exemption)")
			}
			return changeStanding(cmd, g, args[0], func(c *client.Client, id int64) (billing.AccountStanding, string, error) {
				if clear {
					st, err := c.ClearExemption(cmd.Context(), orNewKey(idemKey), id)
					return st, "exemption ended", err
				}
				st, err := c.SetExemption(cmd.Context(), orNewKey(idemKey), id, reason)
				return st, "exempt from suspension", err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why the account is exempt (required unless --clear)")
	f.BoolVar(&clear, "clear", false, "end the account's exemption")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

// changeStanding resolves the ACCOUNT argument, makes a change to its
// standing (a promise, an exemption) and prints the standing after it,
// saying what changed.
func changeStanding(cmd *cobra.Command, g *globals, ref string, change func(*client.Client, int64) (billing.AccountStanding, string, error)) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	id, err := resolveIDOf(cmd.Context(), c, "account", ref)
	if err != nil {
		return err
	}
	st, what, err := change(c, id)
	if err != nil {
		return err
	}
	if !g.json() {
		fmt.Fprintf(cmd.OutOrStdout(), "account %s: %s; status %s\n\n", st.Number, what, st.Status)
	}
	return printStanding(cmd.OutOrStdout(), g, st)
}

func newSweepCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "sweep",
		Aliases: []string{"sweeps", "delinquency"},
		Short:   "Run or preview the delinquency sweep of an account type now",
	}
	cmd.AddCommand(newSweepRunCmd(g, false), newSweepRunCmd(g, true))
	return cmd
}

// newSweepRunCmd is "sweep run", or with preview "sweep preview".
func newSweepRunCmd(g *globals, preview bool) *cobra.Command {
	var typeID int64
	var dryRun bool
	var idemKey string
	cmd := &cobra.Command{
		Use:     "run --type ID [--dry-run]",
		Short:   "Run the delinquency sweep of an account type now (--dry-run: change nothing, show what it would do)",
		Example: `  tollgatectl sweep run --type 1 --dry-run`,
		Args:    cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			if typeID <= 0 {
				return fmt.Errorf("--type %d is not an account type id", typeID)
			}
			var res billing.SweepResult
			var err error
			if preview {
				res, err = c.PreviewSweep(cmd.Context(), typeID)
			} else {
				res, err = c.RunSweep(cmd.Context(), orNewKey(idemKey), typeID, dryRun)
			}
			if err != nil {
				return err
			}
			return printSweep(cmd.OutOrStdout(), g, res)
		}),
	}
	cmd.Flags().Int64Var(&typeID, "type", 0, "account type id (required; see account-type list)")
	_ = cmd.MarkFlagRequired("type")
	if preview {
		cmd.Use, cmd.Example = "preview --type ID", "  tollgatectl sweep preview --type 1\n  tollgatectl sweep preview --type 1 -o json"
		cmd.Short = "Show what a delinquency sweep of an account type would do now: status changes, suspensions (held ones and why), restores, reminders"
		cmd.Long = "Show what a delinquency sweep of an account type would do if it ran now, without\nchanging anything: a read-only dry run, allowed to reader tokens."
		return cmd
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "compute the sweep and change nothing")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func printSweep(w io.Writer, g *globals, r billing.SweepResult) error {
	if g.json() {
		return printJSON(w, r)
	}
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
	if err := printFields(w, "Accounts examined", r.Examined, "Status changes", r.StatusChanges,
		"Suspended", fmt.Sprintf("%d accounts, %d services", r.Suspended, r.SuspendedServices), "Restored", fmt.Sprintf("%d accounts", r.Restored),
		"Notices queued", r.Reminders, "Held for approval", held); err != nil {
		return err
	}
	if len(r.HeldReasons) > 0 {
		fmt.Fprintln(w, "\nHeld by the blast-radius guard:")
		for _, why := range r.HeldReasons {
			fmt.Fprintf(w, "  - %s\n", why)
		}
		if r.HeldBatchID != 0 {
			fmt.Fprintf(w, "Review with: tollgatectl suspensions show %d; then approve or cancel it.\n", r.HeldBatchID)
		}
	}
	if len(r.Suspensions) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nSuspensions:")
	return printList(w, g, r.Suspensions, "ACCOUNT,NUMBER,SERVICES,POPS,HELD,WHY", func(s billing.PlannedSuspension) []any {
		return []any{s.AccountID, s.Number, joinIDs(s.ServiceIDs), orDash(strings.Join(s.POPs, ",")), yesNo(s.Held), orDash(strings.Join(s.Why, " "))}
	})
}
