package main

import (
	"fmt"
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
	var p billing.Plan
	var price, currency, interval, idemKey string
	cmd := &cobra.Command{
		Use:   "create --name NAME --price AMOUNT --currency CODE [--interval monthly] [--taxable]",
		Short: "Create a plan: a price per billing interval in one currency",
		Example: `  tollgatectl plan create --name "Fiber 100" --price 49.99 --currency USD --interval monthly --taxable
  tollgatectl plan create --name "Rural annual" --price 500 --currency USD --interval annual`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			amount, err := parseAmount(price, billing.Currency(currency))
			if err != nil {
				return fmt.Errorf("--price: %w", err)
			}
			if _, err := billing.ParseInterval(interval); err != nil {
				return fmt.Errorf("--interval %q is not one of monthly, quarterly, annual", interval)
			}
			p.Price, p.Currency, p.Interval = amount, billing.Currency(currency), billing.Interval(interval)
			c, err := g.client()
			if err != nil {
				return err
			}
			var out billing.Plan
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/plans", nil, orNewKey(idemKey), p, &out); err != nil {
				return err
			}
			return printPlans(cmd.OutOrStdout(), g, []billing.Plan{out}, true)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Name, "name", "", "plan name, unique (required)")
	f.StringVar(&price, "price", "", "price per interval as a decimal amount, e.g. 49.99 (required)")
	f.StringVar(&currency, "currency", "", "ISO 4217 currency code, e.g. USD (required)")
	f.StringVar(&interval, "interval", "monthly", "billing interval: monthly, quarterly, annual")
	f.BoolVar(&p.Taxable, "taxable", false, "tax the plan's charges at the account's jurisdiction's rates")
	for _, n := range []string{"name", "price", "currency"} {
		_ = cmd.MarkFlagRequired(n)
	}
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newPlanListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List plans",
		Example: "  tollgatectl plan list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var p pageOf[billing.Plan]
			if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/plans", nil, "", nil, &p); err != nil {
				return err
			}
			return printPlans(cmd.OutOrStdout(), g, p.Items, false)
		},
	}
}

func newPlanShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show a plan",
		Example: "  tollgatectl plan show 3",
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "plan", func(cmd *cobra.Command, c *client.Client, id int64) error {
			var p billing.Plan
			if err := c.Do(cmd.Context(), http.MethodGet, idPath("/api/v1/plans", id), nil, "", nil, &p); err != nil {
				return err
			}
			return printPlans(cmd.OutOrStdout(), g, []billing.Plan{p}, true)
		}),
	}
}

func printPlans(w io.Writer, g *globals, plans []billing.Plan, single bool) error {
	if g.json() {
		if single && len(plans) == 1 {
			return printJSON(w, plans[0])
		}
		return printJSON(w, plans)
	}
	t := newTable(w, "ID", "NAME", "PRICE", "INTERVAL", "TAXABLE")
	for _, p := range plans {
		t.row(p.ID, p.Name, money(p.Price, p.Currency), p.Interval, yesNo(p.Taxable))
	}
	return t.flush()
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
		Use:   "set --jurisdiction CODE --name NAME --rate FRACTION",
		Short: "Create or replace one tax of a jurisdiction (the rate is a fraction: 0.0825 is 8.25%)",
		Example: `  tollgatectl tax-rate set --jurisdiction US-TX-AUSTIN --name "Texas sales tax" --rate 0.0625
  tollgatectl tax-rate set --jurisdiction US-TX-AUSTIN --name "Austin city tax" --rate 0.02`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := r.Validate(); err != nil {
				return fmt.Errorf("%s", billing.ErrorMessage(err))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var out billing.TaxRate
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/tax-rates", nil, orNewKey(idemKey), r, &out); err != nil {
				return err
			}
			return printTaxRates(cmd.OutOrStdout(), g, []billing.TaxRate{out})
		},
	}
	f := set.Flags()
	f.StringVar(&r.Jurisdiction, "jurisdiction", "", "jurisdiction code accounts name in tax_jurisdiction (required)")
	f.StringVar(&r.Name, "name", "", "tax name printed on invoices (required)")
	f.StringVar(&r.Rate, "rate", "", "rate as a decimal fraction: 0.0825 is 8.25% (required)")
	for _, n := range []string{"jurisdiction", "name", "rate"} {
		_ = set.MarkFlagRequired(n)
	}
	addKeyFlag(set, &idemKey)
	list := &cobra.Command{
		Use:     "list",
		Short:   "List tax rates by jurisdiction",
		Example: "  tollgatectl tax-rate list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var p pageOf[billing.TaxRate]
			if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/tax-rates", nil, "", nil, &p); err != nil {
				return err
			}
			return printTaxRates(cmd.OutOrStdout(), g, p.Items)
		},
	}
	cmd.AddCommand(set, list)
	return cmd
}

func printTaxRates(w io.Writer, g *globals, rates []billing.TaxRate) error {
	if g.json() {
		return printJSON(w, rates)
	}
	t := newTable(w, "JURISDICTION", "NAME", "RATE", "PERCENT")
	for _, r := range rates {
		t.row(r.Jurisdiction, r.Name, r.Rate, r.Percent())
	}
	return t.flush()
}
