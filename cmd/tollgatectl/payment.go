package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func newPaymentCmd(g *globals) *cobra.Command {
	return group("payment payments pay", "Record, list, show, reverse and refund check, cash, wire, money order and other payments",
		changeCmd(g, change[billing.Payment]{args: []string{"account"},
			use:     "add ACCOUNT --method METHOD --amount AMOUNT [--reference REF] [--payer NAME] [--date YYYY-MM-DD] [--memo TEXT]",
			short:   "Record a check, cash, wire, money order or other payment; it pays the oldest open invoices first",
			example: `  tollgatectl payment add 42 --method check --amount 49.99 --reference 1001 --payer "Jane Doe"`,
			method:  http.MethodPost, path: "/api/v1/accounts/%d/payments",
			params: []param{{"method", "method", "how it was paid: " + manualMethodList + " (required)", wordParam},
				{"amount", "amount", "amount in the account's currency, e.g. 49.99 (required)", textParam},
				{"reference", "reference", "check number (a check needs it), wire reference or receipt number", textParam},
				{"payer", "payer", "who paid, as on the check", textParam},
				{"date", "received_date", "date received YYYY-MM-DD (default: today in the account type's time zone)", dateParam},
				{"memo", "memo", "note kept with the payment", textParam},
				{"apply-to", "apply_to", "invoices to pay first, INVOICE:AMOUNT,… (INV-000012:25.00); the rest pays the oldest", applyToParam}},
			print: printPaymentOf}),
		listCmd(g, listing[billing.Payment]{
			use:     "list [--account ACCOUNT] [--batch ID]",
			short:   "List payments (every page), by account or deposit batch",
			example: `  tollgatectl payment list --account 42`,
			path:    "/api/v1/payments",
			params: []param{
				{"account", "account_id", "only this account's payments", accountParam},
				{"batch", "batch_id", "only the payments posted by this deposit batch", idParam},
			},
			headers: "ID,ACCOUNT,RECEIVED,METHOD,REFERENCE,PAYER,AMOUNT,REFUNDED,STATUS,BATCH",
			row: func(p billing.Payment) []any {
				refunded, batch := "-", "-"
				if p.Refunded > 0 {
					refunded = billing.FormatAmount(p.Refunded, p.Currency)
				}
				if p.BatchID != nil {
					batch = strconv.FormatInt(*p.BatchID, 10)
				}
				return []any{p.ID, p.AccountID, p.ReceivedDate, p.Method, cell(p.Reference), cell(p.Payer), money(p.Amount, p.Currency), refunded, p.Status, batch}
			},
		}),
		changeCmd(g, change[billing.Payment]{use: "show ID", short: "Show a payment and the invoices it paid", example: "  tollgatectl payment show 17",
			args: []string{"payment"}, method: http.MethodGet, path: "/api/v1/payments/%d", print: printPaymentOf}),
		newPaymentReverseCmd(g), newPaymentRefundCmd(g),

		listCmd(g, listing[billing.Refund]{
			use:     "refunds [--payment ID] [--status pending|completed|released] [--needs-attention]",
			short:   "List refunds: pending ones, and those recovery flagged for staff",
			example: `  tollgatectl payment refunds --needs-attention`,
			path:    "/api/v1/refunds",
			params: []param{
				{"payment", "payment_id", "only this payment's refunds", idParam},
				{"status", "status", "only refunds in this status: pending, completed or released", textParam},
				{"needs-attention", "needs_attention", "only refunds flagged for staff by the recovery job", switchParam},
			},
			headers: "ID,PAYMENT,ACCOUNT,AMOUNT,STATUS,CREATED,GATEWAY REFUND,NOTE",
			row: func(r billing.Refund) []any {
				note := r.Memo
				if r.NeedsAttention != "" {
					note = "NEEDS ATTENTION: " + r.NeedsAttention
				} else if r.ReleaseReason != "" {
					note = r.ReleaseReason
				}
				return []any{r.ID, r.PaymentID, r.AccountID, money(r.Amount, r.Currency), r.Status, r.CreatedAt.Local().Format(time.DateTime), orDash(cell(r.GatewayRefund)), cell(note)}
			},
			long: `--needs-attention lists the refunds the recovery job could not settle with the
gateway: check the charge there.`,
		}),
		changeCmd(g, change[billing.Payment]{args: []string{"payment"},
			use:     "reallocate ID --from INVOICE --to INVOICE --amount AMOUNT",
			short:   "Move part of a payment from one invoice to another open invoice of its account (kept as dated allocation events)",
			example: "  tollgatectl payment reallocate 17 --from INV-000012 --to INV-000015 --amount 25.00",
			method:  http.MethodPost, path: "/api/v1/payments/%d/reallocate",
			params: []param{{"from", "from_invoice", "invoice (number or id) the payment paid (required)", textParam},
				{"to", "to_invoice", "open invoice (number or id) that receives the amount (required)", textParam},
				{"amount", "amount", "amount in the payment's currency, e.g. 25.00 (required)", textParam}},
			print: printPaymentOf}))
}

// paymentAccount fetches a payment's account for its number and name; the
// payment is shown without them if that fails.
func paymentAccount(ctx context.Context, c *client.Client, id int64) *billing.Account {
	a, err := get[accountView](ctx, c, idPath("/api/v1/accounts", id))
	if err != nil {
		return nil
	}
	return &a.Account
}

// printPaymentOf prints a payment with its account's number and name
// (paymentAccount).
func printPaymentOf(cmd *cobra.Command, c *client.Client, _ []int64, p billing.Payment) error {
	return printPayment(cmd.OutOrStdout(), p, paymentAccount(cmd.Context(), c, p.AccountID))
}

func printPayment(w io.Writer, p billing.Payment, a *billing.Account) error {
	status := string(p.Status)
	if p.ReversedAt != nil {
		status += " on " + p.ReversedAt.Local().Format(time.DateTime) + optionalText(" ", parens(oneLine(p.ReversalNote)))
	}
	if err := textout.Fields(w, "Payment", p.ID, "Account", accountLabel(p.AccountID, a), "Method", p.Method, "Reference", cell(p.Reference),
		"Payer", cell(p.Payer), "Amount", money(p.Amount, p.Currency), "Received", p.ReceivedDate, "Status", status,
		"Deposit batch", textout.OrSkip(p.BatchID), "Refunded", textout.Only(p.Refunded > 0, money(p.Refunded, p.Currency)),
		"Memo", cell(p.Memo), "Posted", p.PostedAt.Local().Format(time.DateTime)+" by "+orDash(p.PostedBy)); err != nil {
		return err
	}
	if p.Status != billing.PaymentPosted {
		return nil
	}
	fmt.Fprintln(w)
	if len(p.Allocations) == 0 {
		fmt.Fprintln(w, "Paid no invoice (the account had none open).")
	} else {
		fmt.Fprintln(w, "Paid:")
		if err := textout.Rows(w, p.Allocations, "INVOICE,ID,AMOUNT", func(al billing.Allocation) []any {
			return []any{al.InvoiceNumber, al.InvoiceID, money(al.Amount, p.Currency)}
		}); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "Unapplied credit: %s", money(p.Unallocated, p.Currency))
	if p.Unallocated > 0 {
		fmt.Fprintf(w, " (stays on the account for its next invoices; refund with: tollgatectl payment refund %d --amount ...)", p.ID)
	}
	fmt.Fprintln(w)
	return nil
}

// beforeChange is a change's send that reads the payment first (into
// *before, for what the change moved), then POSTs the change to its path
// with suffix.
func beforeChange(before *billing.Payment, suffix string) func(context.Context, *client.Client, []int64, string, map[string]any) (billing.Payment, error) {
	return func(ctx context.Context, c *client.Client, ids []int64, key string, body map[string]any) (p billing.Payment, err error) {
		if *before, err = get[billing.Payment](ctx, c, idPath("/api/v1/payments", ids[0])); err == nil {
			err = c.Do(ctx, http.MethodPost, idPath("/api/v1/payments", ids[0], suffix), nil, key, body, &p)
		}
		return p, err
	}
}

func newPaymentReverseCmd(g *globals) *cobra.Command {
	var before billing.Payment
	return changeCmd(g, change[billing.Payment]{args: []string{"payment"},
		use:     "reverse ID --reason nsf|chargeback|entry_error [--fee AMOUNT] [--memo TEXT]",
		short:   "Reverse a payment (returned check, chargeback, entry error), optionally charging a returned-payment fee",
		example: `  tollgatectl payment reverse 17 --reason nsf --fee 25.00 --memo "returned by First Bank 2025-03-10"`,
		params: []param{{"reason", "reason", "why: nsf (returned check), chargeback, entry_error (required)", wordParam},
			{"fee", "fee", "returned-payment fee to charge, in the payment's currency, e.g. 25.00 (default: none)", textParam},
			{"memo", "memo", "note kept with the reversal", textParam}},
		send: beforeChange(&before, "/reverse"),
		print: func(cmd *cobra.Command, c *client.Client, _ []int64, p billing.Payment) error {
			out, flag := cmd.OutOrStdout(), func(name string) string { return strings.TrimSpace(cmd.Flag(name).Value.String()) }
			fmt.Fprintf(out, "payment %d (%s) reversed: %s\n", p.ID, money(p.Amount, p.Currency), strings.ToLower(flag("reason")))
			if len(before.Allocations) > 0 {
				var invs []string
				for _, al := range before.Allocations {
					invs = append(invs, fmt.Sprintf("%s (%s)", al.InvoiceNumber, money(al.Amount, p.Currency)))
				}
				fmt.Fprintf(out, "the invoices it paid are open again: %s\n", strings.Join(invs, ", "))
			}
			if flag("fee") != "" {
				fmt.Fprintf(out, "returned-payment fee of %s %s charged to the account\n", p.Currency, flag("fee"))
			}
			fmt.Fprintln(out)
			return printPayment(out, p, paymentAccount(cmd.Context(), c, p.AccountID))
		}})
}

func newPaymentRefundCmd(g *globals) *cobra.Command {
	var before billing.Payment
	return changeCmd(g, change[billing.Payment]{args: []string{"payment"},
		use:     "refund ID --amount AMOUNT [--memo TEXT]",
		short:   "Record money paid back out of a payment's unapplied credit",
		example: `  tollgatectl payment refund 17 --amount 10.00 --memo "refund check 5521"`,
		params: []param{{"amount", "amount", "amount paid back, in the payment's currency, e.g. 10.00 (required)", textParam},
			{"memo", "memo", "note kept with the refund (the refund check's number, say)", textParam}},
		send: beforeChange(&before, "/refund"),
		print: func(cmd *cobra.Command, _ *client.Client, _ []int64, p billing.Payment) error {
			return sayf(cmd, "refunded %s of payment %d; its unapplied credit is now %s\n",
				money(p.Refunded+p.RefundReserved-before.Refunded-before.RefundReserved, p.Currency), p.ID, money(p.Unallocated, p.Currency))
		}})
}
