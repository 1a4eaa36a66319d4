package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func newPaymentMethodCmd(g *globals) *cobra.Command {
	return group("payment-method payment-methods pm", "Payment methods on file (gateway tokens), gateway charges and their attempts",
		newPMAddCmd(g),
		listCmd(g, listing[billing.StoredMethod]{use: "list ACCOUNT", short: "List an account's payment methods (failing ones say why)",
			args: []string{"account"}, path: "/api/v1/accounts/%d/payment-methods", headers: methodColumns, row: methodRow}),
		newPMMethodCmd(g, http.MethodDelete, "remove ACCOUNT METHOD", "Remove a payment method (removing the default turns autopay off)", ""),
		newPMMethodCmd(g, http.MethodPost, "default ACCOUNT METHOD", "Make a payment method the account's default", "/default"),
		changeCmd(g, change[billing.PaymentAttempt]{args: []string{"account"},
			use: "charge ACCOUNT --amount 53.11 [--method ID]", short: "Charge a method on file through the gateway (default method unless --method)",
			method: http.MethodPost, path: "/api/v1/accounts/%d/gateway-payments",
			params: []param{{"amount", "amount", "amount, e.g. 53.11 (required)", textParam},
				{"method", "payment_method_id", "payment method id (default: the account's default)", idParam}},
			show: asTable(attemptColumns, attemptRow)}),
		listCmd(g, listing[billing.PaymentAttempt]{use: "attempts ACCOUNT", short: "Every gateway charge attempt of an account (autopay, portal, staff)",
			args: []string{"account"}, path: "/api/v1/accounts/%d/payment-attempts", headers: attemptColumns, row: attemptRow}))
}

// parseExpiry reads "MM/YYYY" or "MM/YY".
func parseExpiry(s string) (month, year int, err error) {
	m, y, ok := strings.Cut(s, "/")
	if ok {
		month, err = strconv.Atoi(m)
	}
	if ok && err == nil {
		year, err = strconv.Atoi(y)
	}
	if !ok || err != nil || month < 1 || month > 12 {
		return 0, 0, fmt.Errorf("--exp %q is not MM/YYYY", s)
	}
	if year < 100 {
		year += 2000
	}
	return month, year, nil
}

func newPMAddCmd(g *globals) *cobra.Command {
	return changeCmd(g, change[[]billing.StoredMethod]{args: []string{"account"},
		use:     "add ACCOUNT (--test-method ID | --processor-method ID | --token TOKEN --last4 NNNN --exp MM/YYYY)",
		short:   "Put a payment method on file: the processor's method id (saved through a SetupIntent), or a token with its details",
		example: `  tollgatectl payment-method add 42 --test-method pm_card_visa --default`,
		params: []param{{"test-method", "test_method", "one of Stripe's test method ids (pm_card_visa, pm_card_chargeDeclined, pm_usBankAccount, …; test mode and the sandbox)", textParam},
			{"processor-method", "processor_method", "a payment method id (pm_…) the processor's fields created", textParam},
			{"exp", "exp", "expiry MM/YYYY (with --token)", textParam},
			{"token", "token", "payment method token from the processor", textParam}, {"brand", "brand", "card brand (with --token)", textParam},
			{"last4", "last4", "last four digits (with --token)", textParam}, {"default", "default", "make it the account's default method", switchParam}},
		send: func(ctx context.Context, c *client.Client, ids []int64, key string, in map[string]any) ([]billing.StoredMethod, error) {
			str := func(key string) string { s, _ := in[key].(string); return s }
			if id := str("test_method") + str("processor_method"); id != "" {
				// Only the processor's id goes out; the server saves it
				// through a SetupIntent.
				var out struct {
					Status        string                `json:"status"`
					Method        *billing.StoredMethod `json:"method"`
					NextActionURL string                `json:"next_action_url"`
				}
				err := c.Do(ctx, http.MethodPost, idPath("/api/v1/accounts", ids[0], "/payment-methods/setup"), nil, key,
					map[string]any{"payment_method": id, "default": in["default"] == true}, &out)
				if err == nil && out.Method == nil {
					err = fmt.Errorf("not saved: the setup is %s (the cardholder must authenticate at %s)", out.Status, out.NextActionURL)
				}
				if err != nil {
					return nil, err
				}
				return []billing.StoredMethod{*out.Method}, nil
			}
			month, year, err := parseExpiry(str("exp"))
			if err != nil {
				return nil, err
			}
			if str("token") == "" || len(str("last4")) != 4 {
				return nil, fmt.Errorf("give --test-method or --processor-method, or --token with --last4 (4 digits)")
			}
			pm := map[string]any{"token": str("token"), "kind": "card", "brand": str("brand"), "last4": str("last4"), "exp_month": month, "exp_year": year, "default": in["default"] == true}
			var m billing.StoredMethod
			err = c.Do(ctx, http.MethodPost, idPath("/api/v1/accounts", ids[0], "/payment-methods"), nil, key, pm, &m)
			return []billing.StoredMethod{m}, err
		},
		show: func(w io.Writer, ms []billing.StoredMethod) error {
			return textout.Rows(w, ms, methodColumns, methodRow)
		}})
}

// methodColumns and methodRow are a payment method table's.
const methodColumns = "ID,KIND,BRAND,LAST4,EXPIRES,DEFAULT,STATUS,WHY"

func methodRow(m billing.StoredMethod) []any {
	return []any{m.ID, m.Kind, m.Brand, m.Last4, fmt.Sprintf("%02d/%d", m.ExpMonth, m.ExpYear), m.Default, m.Status, m.Failure}
}

// newPMMethodCmd is "remove" (DELETE) or "default" (POST .../default) of
// ACCOUNT METHOD.
func newPMMethodCmd(g *globals, method, use, short, suffix string) *cobra.Command {
	return changeCmd(g, change[json.RawMessage]{use: use, short: short, args: []string{"account", "payment method"}, method: method,
		path:  "/api/v1/accounts/%d/payment-methods/%d" + suffix,
		print: func(*cobra.Command, *client.Client, []int64, json.RawMessage) error { return nil }})
}

// attemptColumns and attemptRow are a payment attempt table's.
const attemptColumns = "ID,WHEN,TRIGGER,ATTEMPT,METHOD,AMOUNT,STATUS,PAYMENT,WHY"

func attemptRow(a billing.PaymentAttempt) []any {
	pay := "-"
	if a.PaymentID != nil {
		pay = strconv.FormatInt(*a.PaymentID, 10)
	}
	return []any{a.ID, a.CreatedAt.Local().Format("2006-01-02 15:04"), a.Trigger, a.AttemptNo, a.PaymentMethodID, money(a.Amount, a.Currency), a.Status, pay,
		strings.TrimSpace(a.FailureCode + " " + a.FailureMessage)}
}

func newAutopayCmd(g *globals) *cobra.Command {
	cmd := group("autopay", "Turn an account's autopay on (needs a default payment method) or off")
	for _, on := range []bool{true, false} {
		verb := map[bool]string{true: "on", false: "off"}[on]
		cmd.AddCommand(&cobra.Command{Use: verb + " ACCOUNT", Short: "Turn autopay " + verb, Args: cobra.ExactArgs(1),
			RunE: withID(g, "account", func(cmd *cobra.Command, c *client.Client, id int64) error {
				if err := c.Do(cmd.Context(), http.MethodPut, idPath("/api/v1/accounts", id, "/autopay"), nil, orNewKey(""), map[string]bool{"enabled": on}, nil); err != nil {
					return err
				}
				return sayf(cmd, "autopay is %s for account %d\n", verb, id)
			})})
	}
	return cmd
}

func newDepositSlipCmd(g *globals) *cobra.Command {
	var format, file string
	cmd := &cobra.Command{
		Use:     "deposit-slip BATCH... --file PATH",
		Short:   "Write the deposit slip of one or more posted batches (PDF or CSV) to take to the bank",
		Example: "  tollgatectl deposit-slip 12 13 --file deposit-2026-12-05.pdf",
		Args:    cobra.MinimumNArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			if format == "" { // the controller reads the batch ids and the format
				format = map[bool]string{true: "csv", false: "pdf"}[strings.HasSuffix(file, ".csv")]
			}
			data, err := c.GetFile(cmd.Context(), "/api/v1/deposit-slips", url.Values{"batch": args, "format": {format}})
			if err != nil {
				return err
			}
			return saveFile(cmd, file, data)
		}),
	}
	cmd.Flags().StringVar(&file, "file", "", "where to write the slip (required)")
	cmd.Flags().StringVar(&format, "format", "", "pdf or csv (default: from the file name, else pdf)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
