package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
)

func newInvoicePDFCmd(g *globals) *cobra.Command {
	var file, message string
	cmd := &cobra.Command{
		Use:   "pdf ID --file PATH [--message TEXT]",
		Short: "Write an invoice as a PDF (with its remittance slip if the account type has one)",
		Example: `  tollgatectl invoice pdf 1001 --file INV-001001.pdf
  tollgatectl invoice pdf 1001 --file reprint.pdf --message "Reprinted at your request"`,
		Args: cobra.ExactArgs(1),
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
		q := url.Values{}
		for flag, v := range map[string]string{"from": from, "to": to} {
			d, err := parseDateFlag(flag, v)
			if err != nil {
				return err
			}
			if !d.IsZero() {
				q.Set(flag, d.String())
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
	data, err := getFile(cmd.Context(), c, path, q)
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

// getFile GETs a binary answer; an error status becomes a *client.Problem.
func getFile(ctx context.Context, c *client.Client, path string, q url.Values) ([]byte, error) {
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/pdf, application/problem+json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		p := &client.Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		if json.Unmarshal(data, p) != nil || p.Detail == "" {
			p.Detail = strings.TrimSpace(string(data))
		}
		return nil, p
	}
	return data, nil
}
