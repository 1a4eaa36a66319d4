package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

func newInvoiceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "invoice",
		Aliases: []string{"invoices", "inv"},
		Short:   "List, show, void and print (PDF) invoices",
	}
	cmd.AddCommand(newInvoiceListCmd(g), newInvoiceShowCmd(g), newInvoiceVoidCmd(g), newInvoicePDFCmd(g))
	return cmd
}

func newInvoiceListCmd(g *globals) *cobra.Command {
	return listCmd(g, listing[billing.Invoice]{
		use:     "list [--account ACCOUNT] [--status open|paid|void] [--run ID]",
		short:   "List invoices (every page), by account, status or billing run",
		example: `  tollgatectl invoice list --account 42`,
		path:    "/api/v1/invoices",
		params: []param{
			{"account", "account_id", "only this account's invoices", accountParam},
			{"status", "status", "only invoices in this status: open, paid, void", textParam},
			{"run", "billing_run_id", "only invoices of this billing run", idParam},
		},
		headers: "ID,NUMBER,ACCOUNT,PERIOD,ISSUED,DUE,TOTAL,STATUS",
		row: func(i billing.Invoice) []any {
			return []any{i.ID, i.Number, i.AccountID, i.Period, i.IssueDate, i.DueDate, money(i.Total, i.Currency), i.Status}
		},
	})
}

func newInvoiceShowCmd(g *globals) *cobra.Command {
	return showCmd(g, "show ID", "Show an invoice: its dates, lines, totals and why", "  tollgatectl invoice show 1001", "invoice", "/api/v1/invoices", printInvoice)
}

func printInvoice(w io.Writer, g *globals, inv billing.Invoice) error {
	if g.json() {
		return printJSON(w, inv)
	}
	if err := printFields(w, "Invoice", fmt.Sprintf("%s (id %d)", inv.Number, inv.ID), "Account", inv.AccountID, "Status", inv.Status,
		"Period", inv.Period, "Issued", inv.IssueDate, "Due", inv.DueDate, "Delinquent from", dateOrDash(inv.DelinquencyDate)); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t := newTable(w, "KIND", "DESCRIPTION", "DAYS", "TAXABLE", "AMOUNT")
	for _, l := range inv.Lines {
		days := "-"
		if !l.PeriodStart.IsZero() {
			days = billing.Period{Start: l.PeriodStart, End: l.PeriodEnd}.String()
		}
		t.row(l.Kind, l.Description, days, yesNo(l.Taxable), billing.FormatAmount(l.Amount, inv.Currency))
	}
	t.row("", "", "", "Subtotal", billing.FormatAmount(inv.Subtotal, inv.Currency))
	t.row("", "", "", "Tax", billing.FormatAmount(inv.Tax, inv.Currency))
	t.row("", "", "", "Total", money(inv.Total, inv.Currency))
	if err := t.flush(); err != nil {
		return err
	}
	if len(inv.Why) > 0 {
		fmt.Fprintln(w, "\nWhy:")
		for _, s := range inv.Why {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	return nil
}

func newInvoiceVoidCmd(g *globals) *cobra.Command {
	var reason, idemKey string
	cmd := &cobra.Command{
		Use:     "void ID --reason TEXT",
		Short:   "Void an open invoice (a reversing journal transaction; the invoice stays on record)",
		Example: `  tollgatectl invoice void 1001 --reason "billed twice after plan change"`,
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "invoice", func(cmd *cobra.Command, c *client.Client, id int64) error {
			var inv billing.Invoice
			body := map[string]string{"reason": reason}
			if err := c.Do(cmd.Context(), http.MethodPost, idPath("/api/v1/invoices", id, "/void"), nil, orNewKey(idemKey), body, &inv); err != nil {
				return err
			}
			return g.say(cmd.OutOrStdout(), inv, "invoice %s (%s) is now %s\n", inv.Number, money(inv.Total, inv.Currency), inv.Status)
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the invoice is voided (required; recorded)")
	_ = cmd.MarkFlagRequired("reason")
	addKeyFlag(cmd, &idemKey)
	return cmd
}
