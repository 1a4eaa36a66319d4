package main

import (
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
)

// newReportCmd: reports as CSV (-o json: JSON), exports, the period close.
func newReportCmd(g *globals) *cobra.Command {
	var all, pdf bool
	report := func(use, short, example string, flags ...string) *cobra.Command {
		vals, words := make([]string, len(flags)), strings.Fields(use)
		cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.ExactArgs(len(words) - 1),
			RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
				q := url.Values{}
				for i, f := range flags {
					if vals[i] != "" {
						q.Set(strings.ReplaceAll(f, "-", "_"), vals[i])
					}
				}
				var data []byte
				var err error
				if words[0] == "export" {
					data, err = c.AccountingExport(cmd.Context(), client.NewIdempotencyKey(), args[0], q.Get("from"), q.Get("to"), all)
				} else {
					format := "csv"
					switch {
					case pdf:
						format = "pdf"
					case g.json():
						format = "json"
					}
					data, err = c.Report(cmd.Context(), words[0], q, format)
				}
				if err == nil {
					_, err = cmd.OutOrStdout().Write(data)
				}
				return err
			})}
		for i, f := range flags {
			cmd.Flags().StringVar(&vals[i], f, "", strings.ReplaceAll(f, "-", " ")+" (the API's "+strings.ReplaceAll(f, "-", "_")+")")
		}
		return cmd
	}
	export := report("export quickbooks-journal|quickbooks-customers|xero-invoices|xero-bank", "Export a period for QuickBooks Online or Xero; only documents not exported before unless --all",
		"  tollgatectl report export quickbooks-journal --from 2026-10-01 --to 2026-10-31 > oct.csv", "from", "to")
	export.Flags().BoolVar(&all, "all", false, "carry the documents exported before too, with the same ids")
	aging := report("ar-aging", "Accounts receivable aging as of a date (default today); --pdf to print",
		"  tollgatectl report ar-aging --as-of 2026-10-31 > aging.csv\n  tollgatectl report ar-aging --as-of 2026-10-31 --pdf > aging.pdf", "as-of", "totals-only")
	aging.Flags().BoolVar(&pdf, "pdf", false, "the report as a PDF to print (the totals, then the accounts)")
	return group("report", "Reports (CSV; -o json for JSON), accounting exports and the period close",
		aging,
		report("tax", "Tax liability per jurisdiction and rate for a period", "  tollgatectl report tax --from 2026-10-01 --to 2026-10-31", "from", "to"),
		report("revenue", "Revenue billed by plan, account type and POP (-o json adds MRR and its movements)", "  tollgatectl report revenue --from 2026-10-01 --to 2026-10-31", "from", "to"),
		report("collections", "Accounts past due, delinquent, suspended, restored; promises kept and broken (-o json adds held batches)", "  tollgatectl report collections --from 2026-10-01 --to 2026-10-31", "from", "to"),
		report("payments", "Payments for a period (-o json adds totals and the deposit reconciliation)",
			"  tollgatectl report payments --from 2026-10-01 --to 2026-10-31 --method check", "from", "to", "method", "batch-id", "gateway", "posted-by"),
		export, &cobra.Command{Use: "close-month YYYY-MM", Short: "Close the books through a month (cannot be undone)", Args: cobra.ExactArgs(1),
			RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
				pc, err := c.ClosePeriod(cmd.Context(), client.NewIdempotencyKey(), args[0])
				if err != nil {
					return err
				}
				return g.say(cmd.OutOrStdout(), pc, "books closed through %s\n", pc.Through)
			})})
}
