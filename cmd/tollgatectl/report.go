package main

import (
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
)

// newReportCmd: the reports as CSV (the API computes them; -o json prints
// the JSON form) and the period close.
func newReportCmd(g *globals) *cobra.Command {
	report := func(name, short, example string, flags ...string) *cobra.Command {
		vals, file := make([]string, len(flags)), ""
		cmd := &cobra.Command{Use: name, Short: short, Example: example, Args: cobra.NoArgs, RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, _ []string) error {
			q, path := url.Values{}, "/api/v1/reports/"+name
			for i, f := range flags {
				if vals[i] != "" {
					q.Set(strings.ReplaceAll(f, "-", "_"), vals[i])
				}
			}
			var out any
			if g.json() {
				return then(c.Do(cmd.Context(), "GET", path, q, "", nil, &out), func() error { return printJSON(cmd.OutOrStdout(), out) })
			}
			data, err := c.GetFile(cmd.Context(), path+".csv", q)
			if err != nil || file != "-" {
				return then(err, func() error { return saveFile(cmd, file, data) })
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		})}
		for i, f := range flags {
			cmd.Flags().StringVar(&vals[i], f, "", strings.ReplaceAll(f, "-", " ")+" (the API's "+strings.ReplaceAll(f, "-", "_")+")")
		}
		cmd.Flags().StringVar(&file, "file", "-", "write the CSV to this file (- for standard output)")
		return cmd
	}
	return group("report", "Reports (CSV; -o json for JSON) and the period close",
		report("ar-aging", "Accounts receivable aging as of a date (default today)", "  tollgatectl report ar-aging --as-of 2026-10-31 --file aging.csv", "as-of", "totals-only"),
		report("tax", "Tax liability per jurisdiction and rate for a period", "  tollgatectl report tax --from 2026-10-01 --to 2026-10-31", "from", "to"),
		report("payments", "Payments for a period (-o json adds totals and the deposit reconciliation)",
			"  tollgatectl report payments --from 2026-10-01 --to 2026-10-31 --method check", "from", "to", "method", "batch-id", "gateway", "posted-by"),
		&cobra.Command{Use: "close-month YYYY-MM", Short: "Close the books through a month (cannot be undone)", Args: cobra.ExactArgs(1),
			Example: "  tollgatectl report close-month 2026-10", RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
				var out struct{ Through string }
				err := c.Do(cmd.Context(), "POST", "/api/v1/period-closes", nil, client.NewIdempotencyKey(), map[string]string{"month": args[0]}, &out)
				return then(err, func() error { return g.say(cmd.OutOrStdout(), out, "books closed through %s\n", out.Through) })
			})})
}

// then is err, or next() when err is nil.
func then(err error, next func() error) error {
	if err != nil {
		return err
	}
	return next()
}
