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
)

func newPaymentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "payment",
		Aliases: []string{"payments", "pay"},
		Short:   "Record, list, show, reverse and refund check, cash, wire, money order and other payments",
	}
	cmd.AddCommand(newPaymentAddCmd(g), newPaymentListCmd(g), newPaymentShowCmd(g), newPaymentReverseCmd(g), newPaymentRefundCmd(g),
		newPaymentRefundsCmd(g), newPaymentReallocateCmd(g))
	return cmd
}

func getPayment(ctx context.Context, c *client.Client, id int64) (billing.Payment, error) {
	var p billing.Payment
	err := c.Do(ctx, http.MethodGet, idPath("/api/v1/payments", id), nil, "", nil, &p)
	return p, err
}

// paymentAccount fetches a payment's account for its number and name; the
// payment is shown without them if that fails.
func paymentAccount(ctx context.Context, c *client.Client, id int64) *billing.Account {
	a, err := getAccount(ctx, c, id)
	if err != nil {
		return nil
	}
	return &a.Account
}

func newPaymentAddCmd(g *globals) *cobra.Command {
	var method, amount, reference, payer, date, memo, applyTo, idemKey string
	cmd := &cobra.Command{
		Use:   "add ACCOUNT --method METHOD --amount AMOUNT [--reference REF] [--payer NAME] [--date YYYY-MM-DD] [--memo TEXT]",
		Short: "Record a check, cash, wire, money order or other payment; it pays the oldest open invoices first",
		Long: `Record a payment received by check, cash, wire, money order or other means.

ACCOUNT is an account id, or an account number (A-000042) or external id.
The amount is a decimal in the account's currency (49.99). The payment pays
the account's open invoices, oldest due first; what is left over stays on
the account as credit for its next invoices (or to refund). A check needs
its check number (--reference). Card and ACH payments come through the
payment gateway and are not recorded here.`,
		Example: `  tollgatectl payment add 42 --method check --amount 49.99 --reference 1001 --payer "Jane Doe"
  tollgatectl payment add A-000042 --method cash --amount 100 --date 2025-03-03 --memo "paid at the front desk"
  tollgatectl payment add 42 --method wire --amount 250.00 --reference FT2503031234 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDateFlag("date", date)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := findAccount(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			in := map[string]any{"method": strings.ToLower(strings.TrimSpace(method)), "amount": amount, "reference": reference, "payer": payer, "memo": memo}
			if !d.IsZero() {
				in["received_date"] = d
			}
			if applyTo != "" {
				if in["apply_to"], err = parseApplyTo(applyTo); err != nil {
					return err
				}
			}
			var p billing.Payment
			if err := c.Do(cmd.Context(), http.MethodPost, idPath("/api/v1/accounts", a.ID, "/payments"), nil, orNewKey(idemKey), in, &p); err != nil {
				return err
			}
			return printPayment(cmd.OutOrStdout(), g, p, &a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&method, "method", "", "how it was paid: "+manualMethodList+" (required)")
	f.StringVar(&amount, "amount", "", "amount in the account's currency, e.g. 49.99 (required)")
	f.StringVar(&reference, "reference", "", "check number (required for a check), wire reference or receipt number")
	f.StringVar(&payer, "payer", "", "who paid, as on the check")
	f.StringVar(&date, "date", "", "date received YYYY-MM-DD (default: today in the account type's time zone)")
	f.StringVar(&memo, "memo", "", "note kept with the payment")
	f.StringVar(&applyTo, "apply-to", "", "invoices to pay first, INVOICE:AMOUNT,… (e.g. INV-000012:25.00); the rest pays the oldest")
	_ = cmd.MarkFlagRequired("method")
	_ = cmd.MarkFlagRequired("amount")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newPaymentListCmd(g *globals) *cobra.Command {
	return listCmd(g, listing[billing.Payment]{
		use:   "list [--account ACCOUNT] [--batch ID]",
		short: "List payments (every page), by account or deposit batch",
		example: `  tollgatectl payment list --account 42
  tollgatectl payment list --batch 7 -o json`,
		path: "/api/v1/payments",
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
	})
}

func newPaymentShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show a payment and the invoices it paid",
		Example: "  tollgatectl payment show 17",
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "payment", func(cmd *cobra.Command, c *client.Client, id int64) error {
			p, err := getPayment(cmd.Context(), c, id)
			if err != nil {
				return err
			}
			var a *billing.Account
			if !g.json() {
				a = paymentAccount(cmd.Context(), c, p.AccountID)
			}
			return printPayment(cmd.OutOrStdout(), g, p, a)
		}),
	}
}

func printPayment(w io.Writer, g *globals, p billing.Payment, a *billing.Account) error {
	if g.json() {
		return printJSON(w, p)
	}
	k := newKV(w)
	k.row("Payment", "%d", p.ID)
	k.row("Account", "%s", accountLabel(p.AccountID, a))
	k.row("Method", "%s", p.Method)
	k.row("Reference", "%s", cell(p.Reference))
	k.row("Payer", "%s", cell(p.Payer))
	k.row("Amount", "%s", money(p.Amount, p.Currency))
	k.row("Received", "%s", p.ReceivedDate)
	status := string(p.Status)
	if p.ReversedAt != nil {
		status += " on " + p.ReversedAt.Local().Format(time.DateTime)
		if p.ReversalNote != "" {
			status += " (" + cell(p.ReversalNote) + ")"
		}
	}
	k.row("Status", "%s", status)
	if p.BatchID != nil {
		k.row("Deposit batch", "%d", *p.BatchID)
	}
	if p.Refunded > 0 {
		k.row("Refunded", "%s", money(p.Refunded, p.Currency))
	}
	k.row("Memo", "%s", cell(p.Memo))
	k.row("Posted", "%s by %s", p.PostedAt.Local().Format(time.DateTime), orDash(p.PostedBy))
	if err := k.flush(); err != nil {
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
		t := newTable(w, "INVOICE", "ID", "AMOUNT")
		for _, al := range p.Allocations {
			t.row(al.InvoiceNumber, al.InvoiceID, money(al.Amount, p.Currency))
		}
		if err := t.flush(); err != nil {
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

func newPaymentReverseCmd(g *globals) *cobra.Command {
	var reason, fee, memo, idemKey string
	cmd := &cobra.Command{
		Use:   "reverse ID --reason nsf|chargeback|entry_error [--fee AMOUNT] [--memo TEXT]",
		Short: "Reverse a payment (returned check, chargeback, entry error), optionally charging a returned-payment fee",
		Long: `Reverse a posted payment: a returned (NSF) check, a chargeback, or a
payment entered by mistake. The invoices it paid are open again, the
account's other credit is applied to them, and --fee (a decimal in the
payment's currency) is charged to the account as a returned-payment fee.`,
		Example: `  tollgatectl payment reverse 17 --reason nsf --fee 25.00 --memo "returned by First Bank 2025-03-10"
  tollgatectl payment reverse 18 --reason entry_error`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDOf("payment", args[0])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			before, err := getPayment(ctx, c, id)
			if err != nil {
				return err
			}
			r := map[string]any{"reason": strings.ToLower(strings.TrimSpace(reason)), "memo": strings.TrimSpace(memo)}
			if fee != "" {
				r["fee"] = fee
			}
			var p billing.Payment
			if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/payments", id, "/reverse"), nil, orNewKey(idemKey), r, &p); err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), p)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "payment %d (%s) reversed: %s\n", p.ID, money(p.Amount, p.Currency), r["reason"])
			if len(before.Allocations) > 0 {
				var invs []string
				for _, al := range before.Allocations {
					invs = append(invs, fmt.Sprintf("%s (%s)", al.InvoiceNumber, money(al.Amount, p.Currency)))
				}
				fmt.Fprintf(out, "the invoices it paid are open again: %s\n", strings.Join(invs, ", "))
			}
			if fee != "" {
				fmt.Fprintf(out, "returned-payment fee of %s %s charged to the account\n", p.Currency, strings.TrimSpace(fee))
			}
			fmt.Fprintln(out)
			return printPayment(out, g, p, paymentAccount(ctx, c, p.AccountID))
		},
	}
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why: nsf (returned check), chargeback, entry_error (required)")
	f.StringVar(&fee, "fee", "", "returned-payment fee to charge, in the payment's currency, e.g. 25.00 (default: none)")
	f.StringVar(&memo, "memo", "", "note kept with the reversal")
	_ = cmd.MarkFlagRequired("reason")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newPaymentRefundCmd(g *globals) *cobra.Command {
	var amount, memo, idemKey string
	cmd := &cobra.Command{
		Use:   "refund ID --amount AMOUNT [--memo TEXT]",
		Short: "Record money paid back out of a payment's unapplied credit",
		Long: `Record a refund paid back to the payer (by check or cash, outside Tollgate)
out of the part of a payment that is credit on the account. A card or ACH
payment's refund goes back through the payment gateway, the ledger first: the
amount is reserved, then the gateway is asked, then the refund is recorded. If
the gateway does not answer, the refund stays pending and is settled
automatically (see "tollgatectl payment refunds"). To take back a payment that
paid invoices, reverse it instead.`,
		Example: `  tollgatectl payment refund 17 --amount 10.00 --memo "refund check 5521"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDOf("payment", args[0])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			before, err := getPayment(ctx, c, id)
			if err != nil {
				return err
			}
			body := map[string]any{"amount": amount, "memo": strings.TrimSpace(memo)}
			var p billing.Payment
			if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/payments", id, "/refund"), nil, orNewKey(idemKey), body, &p); err != nil {
				return err
			}
			return g.say(cmd.OutOrStdout(), p, "refunded %s of payment %d; its unapplied credit is now %s\n",
				money(p.Refunded+p.RefundReserved-before.Refunded-before.RefundReserved, p.Currency), p.ID, money(p.Unallocated, p.Currency))
		},
	}
	f := cmd.Flags()
	f.StringVar(&amount, "amount", "", "amount paid back, in the payment's currency, e.g. 10.00 (required)")
	f.StringVar(&memo, "memo", "", "note kept with the refund (the refund check's number, say)")
	_ = cmd.MarkFlagRequired("amount")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newPaymentRefundsCmd(g *globals) *cobra.Command {
	cmd := listCmd(g, listing[billing.Refund]{
		use:   "refunds [--payment ID] [--status pending|completed|released] [--needs-attention]",
		short: "List refunds: pending ones, and those recovery flagged for staff",
		example: `  tollgatectl payment refunds --needs-attention
  tollgatectl payment refunds --payment 17`,
		path: "/api/v1/refunds",
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
	})
	cmd.Long = `List refunds. A card or ACH refund is reserved (pending) before the gateway is
asked, then completed or released; one left pending by a crash is settled by
the recovery job from what the gateway lists. --needs-attention lists the
refunds it could not settle (no refund with their id at the gateway, and
their idempotency key too old to send again): check the charge at the
gateway.`
	return cmd
}
