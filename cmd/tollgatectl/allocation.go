package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/billing"
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
	return changeCmd(g, change[billing.Payment]{args: []string{"payment"},
		use:     "reallocate ID --from INVOICE --to INVOICE --amount AMOUNT",
		short:   "Move part of a payment from one invoice to another open invoice of its account (kept as dated allocation events)",
		example: "  tollgatectl payment reallocate 17 --from INV-000012 --to INV-000015 --amount 25.00",
		method:  http.MethodPost, path: "/api/v1/payments/%d/reallocate",
		params: []param{{"from", "from_invoice", "invoice (number or id) the payment paid (required)", textParam},
			{"to", "to_invoice", "open invoice (number or id) that receives the amount (required)", textParam},
			{"amount", "amount", "amount in the payment's currency, e.g. 25.00 (required)", textParam}},
		print: printPaymentOf})
}
