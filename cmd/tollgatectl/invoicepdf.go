package main

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
)

func newInvoicePDFCmd(g *globals) *cobra.Command {
	var file, message string
	cmd := &cobra.Command{
		Use:     "pdf ID --file PATH [--message TEXT]",
		Short:   "Write an invoice as a PDF (with its remittance slip if the account type has one)",
		Example: `  tollgatectl invoice pdf 1001 --file INV-001001.pdf`,
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "invoice", func(cmd *cobra.Command, c *client.Client, id int64) error {
			q := url.Values{}
			if strings.TrimSpace(message) != "" {
				q.Set("message", message)
			}
			return downloadPDF(cmd, c, idPath("/api/v1/invoices", id, "/pdf"), q, file)
		}),
	}
	cmd.Flags().StringVar(&file, "file", "", "where to write the PDF (required; - for standard output)")
	cmd.Flags().StringVar(&message, "message", "", "print this message instead of the account type's invoice message")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// withStatementPDF gives "account statement" the flags --from, --to and
// --file: with --file it writes the statement of [from, to] as a PDF, and
// otherwise shows the ledger as before.
func withStatementPDF(g *globals, cmd *cobra.Command) *cobra.Command {
	var file, from, to string
	show := cmd.RunE
	cmd.Use = "statement ID [--file PATH [--from YYYY-MM-DD] [--to YYYY-MM-DD]]"
	cmd.Short = "Show an account's ledger lines with the running balance, or write a statement PDF"
	cmd.Example += "\n  tollgatectl account statement 42 --from 2026-01-01 --to 2026-03-31 --file statement-q1.pdf"
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if file == "" {
			if from != "" || to != "" {
				return fmt.Errorf("--from and --to choose the period of a statement PDF; give --file too")
			}
			return show(cmd, args)
		}
		q := url.Values{} // the controller reads the dates
		for flag, v := range map[string]string{"from": from, "to": to} {
			if v = strings.TrimSpace(v); v != "" {
				q.Set(flag, v)
			}
		}
		return withID(g, "account", func(cmd *cobra.Command, c *client.Client, id int64) error {
			return downloadPDF(cmd, c, idPath("/api/v1/accounts", id, "/statement.pdf"), q, file)
		})(cmd, args)
	}
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "write the statement as a PDF to this path (- for standard output)")
	f.StringVar(&from, "from", "", "first day of the statement PDF (default: 90 days before --to)")
	f.StringVar(&to, "to", "", "last day of the statement PDF (default: today)")
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
		_, err := rawOut(cmd.OutOrStdout()).Write(data)
		return err
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", file, len(data))
	return nil
}
