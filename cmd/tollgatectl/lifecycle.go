package main

import (
	"cmp"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Service lifecycle and plan price commands, added to the service and
// plan groups: service change|cancel|pause|coverage ID and plan
// price|prices|retire ID. Every change takes --preview.

func addLifecycleCmds(root *cobra.Command, g *globals) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "service":
			var ch client.PlanChangeRequest
			var cancel client.ServiceCancel
			var pause client.ServicePause
			var from, on, pFrom, pTo string
			c.AddCommand(
				lifecycleCmd(g, "change", "Change a service's plan or quantity (prorated)", func(c *cobra.Command) {
					f := c.Flags()
					f.Int64Var(&ch.PlanID, "plan", 0, "plan id to move to")
					f.Int64Var(&ch.Quantity, "quantity", 0, "new quantity")
					f.StringVar(&from, "from", "", "first day at the new terms, YYYY-MM-DD (default today)")
					f.BoolVar(&ch.AtNextPeriod, "next-period", false, "take effect at the next billing period")
					f.StringVar(&ch.Reason, "reason", "", "why, for the audit log")
				}, func() (any, error) {
					var err error
					ch.EffectiveDate, err = parseDateFlag("from", from)
					return ch, err
				}),
				lifecycleCmd(g, "cancel", "Cancel a service from a date, crediting invoiced days after it", func(c *cobra.Command) {
					f := c.Flags()
					f.StringVar(&on, "on", "", "first day without service, YYYY-MM-DD (default today)")
					f.BoolVar(&cancel.EndOfPeriod, "end-of-period", false, "cancel at the end of the current billing period")
					f.StringVar(&cancel.Reason, "reason", "", "why, for the audit log")
				}, func() (any, error) {
					var err error
					cancel.Date, err = parseDateFlag("on", on)
					return cancel, err
				}),
				lifecycleCmd(g, "pause", "Pause a service (vacation hold) from --from until --to", func(c *cobra.Command) {
					f := c.Flags()
					f.StringVar(&pFrom, "from", "", "first paused day, YYYY-MM-DD")
					f.StringVar(&pTo, "to", "", "the day service resumes, YYYY-MM-DD")
					f.StringVar(&pause.Reason, "reason", "", "why, for the audit log")
				}, func() (any, error) {
					var err1, err2 error
					pause.From, err1 = parseDateFlag("from", pFrom)
					pause.To, err2 = parseDateFlag("to", pTo)
					if err1 == nil && (pFrom == "" || pTo == "") {
						err1 = fmt.Errorf("--from and --to are required")
					}
					return pause, cmp.Or(err1, err2)
				}),
				&cobra.Command{Use: "coverage ID", Short: "List the days invoices have charged for a service", Args: cobra.ExactArgs(1),
					RunE: withID(g, "service", func(cmd *cobra.Command, c *client.Client, id int64) error {
						spans, err := c.ServiceCoverage(cmd.Context(), id)
						if err != nil {
							return err
						}
						return printList(cmd.OutOrStdout(), g, spans, "FROM,TO,PLAN,QTY,PRICE,PERIOD", func(s billing.BilledSpan) []any {
							return []any{s.From, s.To.AddDays(-1), s.PlanName, s.Quantity, billing.FormatAmount(s.Price, ""), s.Period}
						})
					})})
		case "plan":
			c.AddCommand(newPlanPriceCmd(g), &cobra.Command{Use: "prices ID", Short: "List a plan's price versions", Args: cobra.ExactArgs(1),
				RunE: withID(g, "plan", func(cmd *cobra.Command, c *client.Client, id int64) error {
					v, err := c.PlanPrices(cmd.Context(), id)
					if err != nil {
						return err
					}
					return printList(cmd.OutOrStdout(), g, v, "FROM,PRICE,GRANDFATHER", func(x billing.PriceVersion) []any {
						return []any{x.EffectiveFrom, billing.FormatAmount(x.Price, ""), yesNo(x.Grandfather)}
					})
				})}, newPlanRetireCmd(g))
		}
	}
}

// lifecycleCmd is "service ACTION ID": flags fill the body, --preview
// shows the lines without changing anything.
func lifecycleCmd(g *globals, action, short string, flags func(*cobra.Command), body func() (any, error)) *cobra.Command {
	var preview bool
	var key string
	path := cmp.Or(map[string]string{"change": "plan-change"}[action], action)
	cmd := &cobra.Command{Use: action + " ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: withID(g, "service", func(cmd *cobra.Command, c *client.Client, id int64) error {
			b, err := body()
			if err != nil {
				return err
			}
			r, err := c.ServiceLifecycle(cmd.Context(), orNewKey(key), id, 0, path, b, preview)
			if err != nil {
				return err
			}
			return printLifecycle(cmd.OutOrStdout(), g, r)
		})}
	flags(cmd)
	cmd.Flags().BoolVar(&preview, "preview", false, "show the lines without changing anything")
	addKeyFlag(cmd, &key)
	return cmd
}

func newPlanPriceCmd(g *globals) *cobra.Command {
	var in client.PriceChange
	var price, from, key string
	var preview bool
	cmd := &cobra.Command{Use: "price ID --price AMOUNT --from DATE", Short: "Change a plan's price from a date (admin)", Args: cobra.ExactArgs(1),
		RunE: withID(g, "plan", func(cmd *cobra.Command, c *client.Client, id int64) error {
			in.Price = price
			var err error
			if in.EffectiveDate, err = parseDateFlag("from", from); err != nil {
				return err
			}
			r, err := c.ChangePlanPrice(cmd.Context(), orNewKey(key), id, in, preview)
			if err != nil {
				return err
			}
			return printLifecycle(cmd.OutOrStdout(), g, r)
		})}
	f := cmd.Flags()
	f.StringVar(&price, "price", "", "new price per the plan's interval (49.99)")
	f.StringVar(&from, "from", "", "services move to it from their first period starting on or after this date")
	f.BoolVar(&in.Grandfather, "grandfather", false, "services started before --from keep their price")
	f.StringVar(&in.Reason, "reason", "", "why, for the audit log")
	f.BoolVar(&preview, "preview", false, "show what the change affects without changing anything")
	addKeyFlag(cmd, &key)
	return cmd
}

func newPlanRetireCmd(g *globals) *cobra.Command {
	var reason, key string
	cmd := &cobra.Command{Use: "retire ID", Short: "Retire a plan: no new services on it (admin)", Args: cobra.ExactArgs(1),
		RunE: withID(g, "plan", func(cmd *cobra.Command, c *client.Client, id int64) error {
			p, err := c.RetirePlan(cmd.Context(), orNewKey(key), id, reason)
			if err != nil || g.json() {
				return orPrintJSON(cmd, p, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "plan %d (%s) retired\n", p.ID, p.Name)
			return err
		})}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	addKeyFlag(cmd, &key)
	return cmd
}

// printLifecycle prints a change's lines, where they go and why.
func printLifecycle(w io.Writer, g *globals, r client.LifecycleResult) error {
	if g.json() {
		return printJSON(w, r)
	}
	p := r.Plan
	if err := printList(w, g, p.Lines, "KIND,DAYS,DESCRIPTION,AMOUNT", func(l billing.ProratedLine) []any {
		return []any{l.Kind, fmt.Sprintf("%s..%s", l.PeriodStart, l.PeriodEnd.AddDays(-1)), l.Description, money(l.Amount, p.Currency)}
	}); err != nil {
		return err
	}
	fields := []any{"Preview", only(r.Preview, "nothing was changed"), "Effective", dateOrDash(p.Effective),
		"Net", fmt.Sprintf("%s (%s)", money(p.Net, p.Currency), p.Invoicing)}
	if pv := p.Preview; pv != nil {
		fields = append(fields, "Affects", fmt.Sprintf("%d services of %d accounts (%d grandfathered); revenue per period %s → %s", pv.Services, pv.Accounts,
			pv.Grandfathered, money(pv.RevenueBefore, p.Currency), money(pv.RevenueAfter, p.Currency)))
	}
	for _, why := range p.Why {
		fields = append(fields, "Why", why)
	}
	return printFields(w, fields...)
}
