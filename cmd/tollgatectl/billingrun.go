package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

// runPollInterval is how often --wait asks for a run's progress.
const runPollInterval = 200 * time.Millisecond

type previewView struct {
	Date     billing.Date          `json:"date"`
	Invoices int                   `json:"invoices"`
	Total    int64                 `json:"total"`
	Items    []billing.PreviewItem `json:"items"`
}

func newBillingRunCmd(g *globals) *cobra.Command {
	return group("billing-run billing-runs run runs", "Preview, start and follow billing runs",
		changeCmd(g, change[previewView]{use: "preview [--date YYYY-MM-DD] [--type ID]",
			short:   "Dry run: what a billing run would invoice, and why (writes nothing)",
			example: `  tollgatectl billing-run preview --type 1`,
			method:  http.MethodGet, path: "/api/v1/billing-runs/preview", params: runParams,
			show: printPreview}),
		newRunStartCmd(g),
		listCmd(g, listing[billing.BillingRun]{use: "list [--limit N]", short: "List billing runs, newest first",
			example: "  tollgatectl billing-run list --limit 10", path: "/api/v1/billing-runs", limit: 50,
			print: func(w io.Writer, runs []billing.BillingRun) error { return printRuns(w, runs) }}),
		newRunStatusCmd(g))
}

// runParams are the flags that choose what a billing run bills.
var runParams = []param{
	{"date", "date", "billing date YYYY-MM-DD (default: today in each account type's time zone)", textParam},
	{"type", "account_type_id", "only this account type id (default: every account type)", idParam},
}

func printPreview(w io.Writer, p previewView) error {
	fmt.Fprintf(w, "Billing run preview for %s\n\n", p.Date)
	totals := map[billing.Currency]int64{}
	failed := 0
	if err := textout.Rows(w, p.Items, "ACCOUNT,NAME,PERIOD,ISSUE,DUE,LINES,TOTAL,WHY", func(it billing.PreviewItem) []any {
		if it.Error != "" {
			failed++
			return []any{it.AccountNumber, cell(it.AccountName), "-", "-", "-", "-", "-", "CANNOT BE BILLED: " + cell(it.Error)}
		}
		totals[it.Currency] += it.Total
		return []any{it.AccountNumber, it.AccountName, it.Period, it.IssueDate, it.DueDate, it.Lines, money(it.Total, it.Currency), strings.Join(it.Why, "; ")}
	}); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s invoice(s)", textout.Commas(int64(len(p.Items)-failed)))
	for i, c := range slices.Sorted(maps.Keys(totals)) {
		fmt.Fprintf(w, "%s%s", map[bool]string{true: ", total ", false: " + "}[i == 0], money(totals[c], c))
	}
	fmt.Fprintln(w)
	return nil
}

func newRunStartCmd(g *globals) *cobra.Command {
	var wait bool
	var idemKey string
	var req func(context.Context, *client.Client) (map[string]any, error)
	cmd := &cobra.Command{
		Use:     "start [--date YYYY-MM-DD] [--type ID] [--wait]",
		Short:   "Run billing now: one run per account type (or the one given); --wait follows it with a progress bar",
		Example: `  tollgatectl billing-run start --wait`,
		Args:    cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			body, err := req(cmd.Context(), c)
			if err != nil {
				return err
			}
			var p pageOf[billing.BillingRun]
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/billing-runs", nil, orNewKey(idemKey), body, &p); err != nil {
				return err
			}
			for _, r := range p.Items {
				if r.AlreadyExisted {
					fmt.Fprintf(cmd.ErrOrStderr(), "account type %d already has billing run %d for %s (%s, started %s by %s): no new run was started\n",
						r.AccountTypeID, r.ID, r.Date, r.Status, r.CreatedAt.Local().Format(time.RFC3339), orDash(r.RequestedBy))
				}
			}
			return followRuns(cmd, g, c, p.Items, wait, true)
		}),
	}
	req = addParams(cmd, runParams)
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every started run has completed or failed, showing progress on stderr")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newRunStatusCmd(g *globals) *cobra.Command {
	var wait bool
	cmd := idCmd(g, "billing run", "status ID [--wait]",
		"Show a billing run's progress; --wait follows it to the end",
		"  tollgatectl billing-run status 7 --wait", func(cmd *cobra.Command, c *client.Client, id int64) error {
			r, err := get[billing.BillingRun](cmd.Context(), c, idPath("/api/v1/billing-runs", id))
			if err != nil {
				return err
			}
			return followRuns(cmd, g, c, []billing.BillingRun{r}, wait, false)
		})
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the run has completed or failed, showing progress on stderr")
	return cmd
}

// followRuns follows runs to their end if wait (a progress bar on
// stderr), prints them (-o json: the list, or the run when one was asked
// for), and fails if one failed (unless only asked for, without wait).
func followRuns(cmd *cobra.Command, g *globals, c *client.Client, runs []billing.BillingRun, wait, started bool) error {
	var err error
	if wait {
		if runs, err = waitRuns(cmd.Context(), c, runs, textout.NewProgress(cmd.ErrOrStderr(), "accounts")); err != nil {
			return err
		}
	}
	switch {
	case g.json() && started:
		err = printJSON(cmd.OutOrStdout(), runs)
	case g.json():
		err = printJSON(cmd.OutOrStdout(), runs[0])
	default:
		err = printRuns(cmd.OutOrStdout(), runs)
	}
	if err != nil || !(wait || started) {
		return err
	}
	return runsFailed(runs)
}

// waitRuns polls every running run until all have completed or failed,
// showing their summed progress.
func waitRuns(ctx context.Context, c *client.Client, runs []billing.BillingRun, bar *textout.Progress) ([]billing.BillingRun, error) {
	runs = slices.Clone(runs)
	defer bar.Done()
	for {
		running := false
		var done, total, invoices int
		for i := range runs {
			if runs[i].Status == billing.RunRunning {
				r, err := get[billing.BillingRun](ctx, c, idPath("/api/v1/billing-runs", runs[i].ID))
				if err != nil {
					return runs, err
				}
				runs[i] = r
			}
			running = running || runs[i].Status == billing.RunRunning
			done += runs[i].DoneAccounts
			total += runs[i].TotalAccounts
			invoices += runs[i].InvoicesCreated
		}
		bar.Update(done, total, textout.Commas(int64(invoices))+" invoices")
		if !running {
			return runs, nil
		}
		select {
		case <-ctx.Done():
			return runs, ctx.Err()
		case <-time.After(runPollInterval):
		}
	}
}

func runsFailed(runs []billing.BillingRun) error {
	var failed []string
	for _, r := range runs {
		if r.Status == billing.RunFailed {
			failed = append(failed, strconv.FormatInt(r.ID, 10))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("billing run(s) %s failed; see the controller's log, then start them again (a re-run creates nothing twice)", strings.Join(failed, ", "))
	}
	return nil
}

func printRuns(w io.Writer, runs []billing.BillingRun) error {
	if err := textout.Rows(w, runs, "ID,TYPE,DATE,TRIGGER,STATUS,ACCOUNTS,INVOICES,FAILED,STARTED,FINISHED", func(r billing.BillingRun) []any {
		return []any{r.ID, r.AccountTypeID, r.Date, r.Trigger, r.Status, textout.Commas(int64(r.DoneAccounts)) + "/" + textout.Commas(int64(r.TotalAccounts)),
			textout.Commas(int64(r.InvoicesCreated)), textout.Commas(int64(r.FailedAccounts)), r.CreatedAt.Local().Format(time.DateTime), timeOr(r.FinishedAt, time.DateTime, "-")}
	}); err != nil {
		return err
	}
	for _, r := range runs {
		for _, e := range r.Errors {
			fmt.Fprintf(w, "run %d could not bill account %d: %s\n", r.ID, e.AccountID, e.Error)
		}
	}
	return nil
}

type clockView struct {
	Now  time.Time            `json:"now"`
	Runs []billing.BillingRun `json:"runs"`
}

func newDevCmd(g *globals) *cobra.Command {
	advance := changeCmd(g, change[clockView]{textArg: "duration", use: "advance DURATION",
		short:   "Move the controller's clock forward (\"30d\", \"36h\") and run what falls due, in order",
		example: `  tollgatectl dev advance 30d`,
		method:  http.MethodPost, path: "/api/v1/dev/clock/advance",
		print: func(cmd *cobra.Command, _ *client.Client, _ []int64, v clockView) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "controller time is now %s\n", v.Now.Format(time.RFC3339))
			if len(v.Runs) == 0 {
				return sayf(cmd, "no billing runs fell due\n")
			}
			invoices := 0
			for _, r := range v.Runs {
				invoices += r.InvoicesCreated
			}
			fmt.Fprintf(out, "\n%d billing run(s) opened, %s invoice(s) created:\n", len(v.Runs), textout.Commas(int64(invoices)))
			return printRuns(out, v.Runs)
		}})
	clk := changeCmd(g, change[clockView]{use: "clock", short: "Print the controller's current time", example: "  tollgatectl dev clock",
		method: http.MethodGet, path: "/api/v1/dev/clock",
		print: func(cmd *cobra.Command, _ *client.Client, _ []int64, v clockView) error {
			return sayf(cmd, "%s\n", v.Now.Format(time.RFC3339))
		}})
	return group("dev", "Dev/demo mode: read and advance the controller's simulated clock", advance, clk)
}
