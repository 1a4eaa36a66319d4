package main

import (
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

func newPlanCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "plan",
		Aliases: []string{"plans"},
		Short:   "Create, list and show service plans (recurring prices)",
	}
	cmd.AddCommand(newPlanCreateCmd(g), newPlanListCmd(g), newPlanShowCmd(g))
	return cmd
}

func newPlanCreateCmd(g *globals) *cobra.Command {
	var name, price, currency, interval, idemKey string
	var taxable bool
	cmd := &cobra.Command{
		Use:     "create --name NAME --price AMOUNT --currency CODE [--interval monthly] [--taxable]",
		Short:   "Create a plan: a price per billing interval in one currency",
		Example: `  tollgatectl plan create --name "Fiber 100" --price 49.99 --currency USD --interval monthly --taxable`,
		Args:    cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			body := map[string]any{"name": name, "price": price, "currency": currency, "interval": interval, "taxable": taxable}
			var out billing.Plan
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/plans", nil, orNewKey(idemKey), body, &out); err != nil {
				return err
			}
			return printPlan(cmd.OutOrStdout(), g, out)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "plan name, unique (required)")
	f.StringVar(&price, "price", "", "price per interval as a decimal amount, e.g. 49.99 (required)")
	f.StringVar(&currency, "currency", "", "ISO 4217 currency code, e.g. USD (required)")
	f.StringVar(&interval, "interval", "monthly", "billing interval: monthly, quarterly, annual")
	f.BoolVar(&taxable, "taxable", false, "tax the plan's charges at the account's jurisdiction's rates")
	for _, n := range []string{"name", "price", "currency"} {
		_ = cmd.MarkFlagRequired(n)
	}
	addKeyFlag(cmd, &idemKey)
	return cmd
}

// planColumns are a plan table's.
const planColumns = "ID,NAME,PRICE,INTERVAL,TAXABLE"

func planRow(p billing.Plan) []any {
	return []any{p.ID, p.Name, money(p.Price, p.Currency), p.Interval, yesNo(p.Taxable)}
}

func printPlan(w io.Writer, g *globals, p billing.Plan) error {
	if g.json() {
		return printJSON(w, p)
	}
	return printList(w, g, []billing.Plan{p}, planColumns, planRow)
}

func newPlanListCmd(g *globals) *cobra.Command {
	return listCmd(g, listing[billing.Plan]{use: "list", short: "List plans", example: "  tollgatectl plan list",
		path: "/api/v1/plans", headers: planColumns, row: planRow})
}

func newPlanShowCmd(g *globals) *cobra.Command {
	return showCmd(g, "show ID", "Show a plan", "  tollgatectl plan show 3", "plan", "/api/v1/plans", printPlan)
}

func newTaxRateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tax-rate",
		Aliases: []string{"tax-rates"},
		Short:   "Set and list the tax rates of tax jurisdictions",
	}
	var r billing.TaxRate
	var idemKey string
	set := &cobra.Command{
		Use:     "set --jurisdiction CODE --name NAME --rate FRACTION",
		Short:   "Create or replace one tax of a jurisdiction (the rate is a fraction: 0.0825 is 8.25%)",
		Example: `  tollgatectl tax-rate set --jurisdiction US-TX-AUSTIN --name "Texas sales tax" --rate 0.0625`,
		Args:    cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			var out billing.TaxRate
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/tax-rates", nil, orNewKey(idemKey), r, &out); err != nil {
				return err
			}
			return printList(cmd.OutOrStdout(), g, []billing.TaxRate{out}, taxRateColumns, taxRateRow)
		}),
	}
	f := set.Flags()
	f.StringVar(&r.Jurisdiction, "jurisdiction", "", "jurisdiction code accounts name in tax_jurisdiction (required)")
	f.StringVar(&r.Name, "name", "", "tax name printed on invoices (required)")
	f.StringVar(&r.Rate, "rate", "", "rate as a decimal fraction: 0.0825 is 8.25% (required)")
	for _, n := range []string{"jurisdiction", "name", "rate"} {
		_ = set.MarkFlagRequired(n)
	}
	addKeyFlag(set, &idemKey)
	list := listCmd(g, listing[billing.TaxRate]{use: "list", short: "List tax rates by jurisdiction", example: "  tollgatectl tax-rate list",
		path: "/api/v1/tax-rates", headers: taxRateColumns, row: taxRateRow})
	cmd.AddCommand(set, list)
	return cmd
}

const taxRateColumns = "JURISDICTION,NAME,RATE,PERCENT"

func taxRateRow(r billing.TaxRate) []any { return []any{r.Jurisdiction, r.Name, r.Rate, r.Percent()} }
