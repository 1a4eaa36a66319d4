package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func newInvoiceCmd(g *globals) *cobra.Command {
	return group("invoice invoices inv", "List, show, void and print (PDF) invoices",
		listCmd(g, listing[billing.Invoice]{
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
		}),
		showCmd(g, "show ID", "Show an invoice: its dates, lines, totals and why", "  tollgatectl invoice show 1001", "invoice", "/api/v1/invoices", printInvoice),
		changeCmd(g, change[billing.Invoice]{use: "void ID --reason TEXT", args: []string{"invoice"},
			short:   "Void an open invoice (a reversing journal transaction; the invoice stays on record)",
			example: `  tollgatectl invoice void 1001 --reason "billed twice after plan change"`,
			method:  http.MethodPost, path: "/api/v1/invoices/%d/void",
			params: []param{{"reason", "reason", "why the invoice is voided, recorded (required)", textParam}},
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, inv billing.Invoice) error {
				return sayf(cmd, "invoice %s (%s) is now %s\n", inv.Number, money(inv.Total, inv.Currency), inv.Status)
			}}),
		newInvoicePDFCmd(g))
}

func printInvoice(w io.Writer, inv billing.Invoice) error {
	if err := textout.Fields(w, "Invoice", fmt.Sprintf("%s (id %d)", inv.Number, inv.ID), "Account", inv.AccountID, "Status", inv.Status,
		"Period", inv.Period, "Issued", inv.IssueDate, "Due", inv.DueDate, "Delinquent from", dateOrDash(inv.DelinquencyDate)); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t := textout.NewTable(w, "KIND", "DESCRIPTION", "DAYS", "TAXABLE", "AMOUNT")
	for _, l := range inv.Lines {
		days := "-"
		if !l.PeriodStart.IsZero() {
			days = billing.Period{Start: l.PeriodStart, End: l.PeriodEnd}.String()
		}
		t.Row(l.Kind, l.Description, days, yesNo(l.Taxable), billing.FormatAmount(l.Amount, inv.Currency))
	}
	t.Row("", "", "", "Subtotal", billing.FormatAmount(inv.Subtotal, inv.Currency))
	t.Row("", "", "", "Tax", billing.FormatAmount(inv.Tax, inv.Currency))
	t.Row("", "", "", "Total", money(inv.Total, inv.Currency))
	if err := t.Flush(); err != nil {
		return err
	}
	textout.Bullets(w, "Why", inv.Why, false)
	return nil
}

func newInvoicePDFCmd(g *globals) *cobra.Command {
	var file, message string
	cmd := idCmd(g, "invoice", "pdf ID --file PATH [--message TEXT]",
		"Write an invoice as a PDF (with its remittance slip if the account type has one)",
		`  tollgatectl invoice pdf 1001 --file INV-001001.pdf`, func(cmd *cobra.Command, c *client.Client, id int64) error {
			q := url.Values{}
			if strings.TrimSpace(message) != "" {
				q.Set("message", message)
			}
			return downloadPDF(cmd, c, idPath("/api/v1/invoices", id, "/pdf"), q, file)
		})
	cmd.Flags().StringVar(&file, "file", "", "where to write the PDF (required; - for standard output)")
	cmd.Flags().StringVar(&message, "message", "", "print this message instead of the account type's invoice message")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// downloadPDF GETs a PDF from the API and writes it to file ("-": stdout).
func downloadPDF(cmd *cobra.Command, c *client.Client, path string, q url.Values, file string) error {
	data, err := c.GetFile(cmd.Context(), path, q)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(data, []byte("%PDF")) {
		return fmt.Errorf("GET %s: the answer is not a PDF (%d bytes)", path, len(data))
	}
	if file == "-" {
		_, err := textout.Raw(cmd.OutOrStdout()).Write(data)
		return err
	}
	return saveFile(cmd, file, data)
}

// saveFile writes data to file and says so. Errors: the file system's.
func saveFile(cmd *cobra.Command, file string, data []byte) error {
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return err
	}
	return sayf(cmd, "wrote %s (%d bytes)\n", file, len(data))
}
