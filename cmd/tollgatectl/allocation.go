package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
)

// parseApplyTo reads --apply-to INV:AMOUNT,… (invoice number or id, a
// decimal in the account's currency) as the API's apply_to.
func parseApplyTo(s string) ([]map[string]string, error) {
	var out []map[string]string
	for _, part := range strings.Split(s, ",") {
		inv, amount, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || inv == "" || amount == "" {
			return nil, fmt.Errorf("--apply-to %q: want INVOICE:AMOUNT[,INVOICE:AMOUNT…], e.g. INV-000012:25.00", part)
		}
		out = append(out, map[string]string{"invoice": inv, "amount": amount})
	}
	return out, nil
}

func newPaymentReallocateCmd(g *globals) *cobra.Command {
	var r client.Reallocation
	var idemKey string
	cmd := &cobra.Command{
		Use:     "reallocate ID --from INVOICE --to INVOICE --amount AMOUNT",
		Short:   "Move part of a payment from one invoice to another open invoice of its account (kept as dated allocation events)",
		Example: "  tollgatectl payment reallocate 17 --from INV-000012 --to INV-000015 --amount 25.00",
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "payment", func(cmd *cobra.Command, c *client.Client, id int64) error {
			p, err := c.ReallocatePayment(cmd.Context(), orNewKey(idemKey), id, r)
			if err != nil || g.json() {
				return orPrintJSON(cmd, p, err)
			}
			return printPayment(cmd.OutOrStdout(), p, paymentAccount(cmd.Context(), c, p.AccountID))
		}),
	}
	f := cmd.Flags()
	f.StringVar(&r.From, "from", "", "invoice (number or id) the payment paid (required)")
	f.StringVar(&r.To, "to", "", "open invoice (number or id) that receives the amount (required)")
	f.StringVar(&r.Amount, "amount", "", "amount in the payment's currency, e.g. 25.00 (required)")
	for _, n := range []string{"from", "to", "amount"} {
		_ = cmd.MarkFlagRequired(n)
	}
	addKeyFlag(cmd, &idemKey)
	return cmd
}
