package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func newDeliveryCmd(g *globals) *cobra.Command {
	return group("delivery deliveries", "Invoice delivery by email and mail: list, summarize, re-send, and the printed-invoice batch of a run",
		listCmd(g, listing[billing.InvoiceDelivery]{
			use:     "list [--run ID] [--invoice ID] [--account ACCOUNT] [--status S] [--channel email|mail]",
			short:   "List invoice deliveries (every page), oldest first, with their status and last error",
			example: `  tollgatectl delivery list --run 7 --status failed`,
			path:    "/api/v1/deliveries",
			params: []param{
				{"run", "billing_run_id", "only this billing run's deliveries", idParam},
				{"invoice", "invoice_id", "only this invoice's deliveries", idParam},
				{"account", "account_id", "only this account's deliveries", accountParam},
				{"status", "status", "only deliveries in this status: queued, sent, sent_to_vendor, mailed, returned, failed", textParam},
				{"channel", "channel", "only this channel: email, mail", textParam},
			},
			headers: "ID,INVOICE,ACCOUNT,CHANNEL,STATUS,ATTEMPTS,TO,WHEN,LETTER,LAST ERROR",
			row: func(d billing.InvoiceDelivery) []any {
				return []any{d.ID, d.InvoiceNumber, d.AccountID, d.Channel, d.Status, d.Attempts, orDash(clipText(d.To, 40)), deliveryWhen(d), orDash(d.VendorLetterID), orDash(clipText(d.LastError, 80))}
			},
		}),
		changeCmd(g, change[[]billing.DeliveryCount]{use: "summary [--run ID]",
			short:   "Count invoice deliveries by channel and status: of one billing run, or of all",
			example: "  tollgatectl delivery summary --run 7", method: http.MethodGet,
			path:   "/api/v1/deliveries/summary",
			params: []param{{"run", "billing_run_id", "only this billing run's deliveries", idParam}},
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, cs []billing.DeliveryCount) error {
				return textout.Rows(cmd.OutOrStdout(), cs, "CHANNEL,STATUS,DELIVERIES", func(x billing.DeliveryCount) []any { return []any{x.Channel, x.Status, x.Count} })
			}}),
		showCmd(g, "show ID", "Show one invoice delivery", "  tollgatectl delivery show 31", "delivery", "/api/v1/deliveries", printDelivery), newDeliveryResendCmd(g),
		changeCmd(g, change[[]billing.InvoiceDelivery]{args: []string{"invoice"},
			use: "send INVOICE [--channel email|mail]...", short: "Deliver an invoice (again), by its account's preference or the channels given",
			example: `  tollgatectl delivery send 1042`, method: http.MethodPost,
			path:   "/api/v1/invoices/%d/deliveries",
			params: []param{{"channel", "channels", "deliver by this channel (email or mail; repeat for both; default: the account's preference)", listParam}},
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, ds []billing.InvoiceDelivery) error {
				for _, d := range ds {
					fmt.Fprintf(cmd.OutOrStdout(), "delivery %d: %s by %s is %s\n", d.ID, d.InvoiceNumber, d.Channel, d.Status)
				}
				return nil
			}}),
		newDeliveryPrintedCmd(g))
}

// deliveryWhen is the time that matters for a delivery in its status.
func deliveryWhen(d billing.InvoiceDelivery) string {
	switch d.Status {
	case billing.DeliveryQueued:
		return "next " + localTime(d.NextAttemptAt)
	case billing.DeliveryMailed:
		return timeOr(d.MailedAt, time.RFC3339, "-")
	case billing.DeliveryReturned:
		return timeOr(d.ReturnedAt, time.RFC3339, "-")
	case billing.DeliveryFailed:
		return localTime(d.UpdatedAt)
	}
	return timeOr(d.SentAt, time.RFC3339, "-")
}

func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func printDelivery(w io.Writer, d billing.InvoiceDelivery) error {
	at := func(t *time.Time) any { return textout.Only(t != nil, timeOr(t, time.RFC3339, "")) }
	mail := d.Channel == billing.ChannelMail
	return textout.Fields(w, "Delivery", d.ID, "Invoice", fmt.Sprintf("%s (id %d)", d.InvoiceNumber, d.InvoiceID), "Account", d.AccountID,
		"Billing run", textout.Only(d.BillingRunID > 0, d.BillingRunID), "Channel", d.Channel, "Status", d.Status, "To", orDash(d.To), "Attempts", d.Attempts,
		"Next attempt", textout.Only(d.Status == billing.DeliveryQueued, localTime(d.NextAttemptAt)), "Last error", orDash(d.LastError),
		"Vendor letter", textout.Only(mail, orDash(d.VendorLetterID)), "Vendor status", textout.Only(mail, orDash(d.VendorStatus)), "Idempotency key", d.IdempotencyKey,
		"Sent", at(d.SentAt), "Mailed", at(d.MailedAt), "Returned", at(d.ReturnedAt), "Re-sent", textout.Only(d.Resends > 0, fmt.Sprintf("%d times", d.Resends)))
}

func newDeliveryResendCmd(g *globals) *cobra.Command {
	var run int64
	var status, channel, idemKey string
	cmd := &cobra.Command{
		Use:     "resend (ID | --run RUN [--status failed] [--channel email|mail])",
		Short:   "Deliver again: one delivery, or every failed (or returned, …) delivery of a billing run",
		Example: `  tollgatectl delivery resend 31`,
		Args:    cobra.MaximumNArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			if (len(args) == 1) == (run > 0) {
				return fmt.Errorf("give a delivery id or --run, not both")
			}
			if run > 0 {
				n, err := c.ResendRunDeliveries(cmd.Context(), orNewKey(idemKey), run, billing.DeliveryStatus(status), billing.DeliveryChannel(channel))
				if err != nil {
					return err
				}
				return g.say(cmd.OutOrStdout(), map[string]int{"queued": n}, "%d deliveries of billing run %d queued again\n", n, run)
			}
			id, err := parseIDOf("delivery", args[0])
			if err != nil {
				return err
			}
			d, err := c.ResendDelivery(cmd.Context(), orNewKey(idemKey), id)
			if err != nil {
				return err
			}
			return g.say(cmd.OutOrStdout(), d, "delivery %d (%s by %s) is %s; next attempt at %s\n", d.ID, d.InvoiceNumber, d.Channel, d.Status,
				d.NextAttemptAt.Local().Format(time.RFC3339))
		}),
	}
	fl := cmd.Flags()
	fl.Int64Var(&run, "run", 0, "re-send this billing run's deliveries")
	fl.StringVar(&status, "status", "", "with --run: the status to re-send (default failed)")
	fl.StringVar(&channel, "channel", "", "with --run: only this channel (email or mail)")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newDeliveryPrintedCmd(g *globals) *cobra.Command {
	var file string
	cmd := idCmd(g, "billing run", "printed-batch RUN --file PATH",
		"Write a billing run's invoices for accounts that get them by mail as one PDF, in mailing order",
		"  tollgatectl delivery printed-batch 7 --file run-7-print.pdf", func(cmd *cobra.Command, c *client.Client, id int64) error {
			pdf, n, err := c.PrintedInvoices(cmd.Context(), id)
			if err != nil {
				return err
			}
			if err := os.WriteFile(file, pdf, 0o644); err != nil {
				return err
			}
			return sayf(cmd, "wrote %s: %d invoices, %d bytes\n", file, n, len(pdf))
		})
	cmd.Flags().StringVar(&file, "file", "", "where to write the PDF (required)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
