package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

type clockView struct {
	Now  time.Time            `json:"now"`
	Runs []billing.BillingRun `json:"runs"`
}

func newDevCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Dev/demo mode: read and advance the controller's simulated clock",
		Long: `Works only against a controller started in dev mode, whose clock can be moved
forward so that a month of billing runs in seconds.`,
	}
	var idemKey string
	advance := &cobra.Command{
		Use:     "advance DURATION",
		Short:   "Move the controller's clock forward (\"30d\", \"36h\") and run what falls due, in order",
		Example: `  tollgatectl dev advance 30d`,
		Args:    cobra.ExactArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			d := strings.TrimSpace(args[0])
			if d == "" {
				return fmt.Errorf("DURATION is required: days (\"30d\") or a Go duration (\"36h\")")
			}
			var v clockView
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/dev/clock/advance", nil, orNewKey(idemKey), map[string]string{"duration": d}, &v); err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), v)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "controller time is now %s\n", v.Now.Format(time.RFC3339))
			if len(v.Runs) == 0 {
				fmt.Fprintln(out, "no billing runs fell due")
				return nil
			}
			invoices := 0
			for _, r := range v.Runs {
				invoices += r.InvoicesCreated
			}
			fmt.Fprintf(out, "\n%d billing run(s) opened, %s invoice(s) created:\n", len(v.Runs), commas(int64(invoices)))
			return printRuns(out, g, v.Runs)
		}),
	}
	addKeyFlag(advance, &idemKey)
	clk := &cobra.Command{
		Use:     "clock",
		Short:   "Print the controller's current time",
		Example: "  tollgatectl dev clock",
		Args:    cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			var v clockView
			if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/dev/clock", nil, "", nil, &v); err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), map[string]time.Time{"now": v.Now})
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Now.Format(time.RFC3339))
			return nil
		}),
	}
	cmd.AddCommand(advance, clk)
	return cmd
}
