package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

func newBatchCmd(g *globals) *cobra.Command {
	return group("batch batches deposit", "Enter a bank deposit's checks and cash as a batch, check it, then post it as one unit",
		changeCmd(g, change[billing.PaymentBatch]{use: "open --date YYYY-MM-DD [--deposit-account TEXT] [--memo TEXT]",
			short:   "Open a deposit batch to enter the payments of one bank deposit",
			example: `  tollgatectl batch open --date 2025-03-03 --deposit-account "First Bank ****1234"`,
			method:  http.MethodPost, path: "/api/v1/payment-batches",
			params: []param{{"date", "deposit_date", "deposit date YYYY-MM-DD; the payments are received on it (required)", dateParam},
				{"deposit-account", "deposit_account", "the bank account the deposit goes to", textParam},
				{"memo", "memo", "note kept with the batch", textParam}},
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, b billing.PaymentBatch) error {
				return sayf(cmd, "opened batch %d for the deposit of %s%s\nadd its payments with: tollgatectl batch add %d --account A-000042 --amount 50.00 --reference 1001\n",
					b.ID, b.DepositDate, optionalText(" to ", b.DepositAccount), b.ID)
			}}), newBatchListCmd(g),
		showCmd(g, "show ID", "Show a deposit batch: its lines, the accounts they resolve to, and totals by method", "  tollgatectl batch show 7",
			"batch", "/api/v1/payment-batches", func(w io.Writer, b billing.PaymentBatch) error { return printBatch(w, b, true) }), newBatchAddCmd(g),
		changeCmd(g, change[billing.PaymentBatch]{args: []string{"batch", "line"},
			use:     "fix ID LINE [--account REF] [--method METHOD] [--amount AMOUNT] [--reference REF] [--payer NAME] [--memo TEXT]",
			short:   "Correct one line of an open deposit batch (only the flags given change)",
			example: `  tollgatectl batch fix 7 5 --amount 45.00 --reference 1017`,
			params:  lineParams(true),
			send: func(ctx context.Context, c *client.Client, ids []int64, key string, given map[string]any) (out billing.PaymentBatch, err error) {
				id, lineNo := ids[0], int(ids[1])
				if len(given) == 0 {
					return out, fmt.Errorf("nothing to change: give --account, --method, --amount, --reference, --payer or --memo")
				}
				b, err := get[billing.PaymentBatch](ctx, c, idPath("/api/v1/payment-batches", id))
				if err != nil {
					return out, err
				}
				i := slices.IndexFunc(b.Lines, func(l billing.BatchLine) bool { return l.LineNo == lineNo })
				if i < 0 {
					return out, fmt.Errorf("batch %d has no line %d (see tollgatectl batch show %d)", id, lineNo, id)
				}
				// The line as it is, with the flags given; without --amount the
				// controller keeps the line's amount.
				old := b.Lines[i]
				next := map[string]any{"account": old.Account, "method": old.Method, "reference": old.Reference, "payer": old.Payer, "memo": old.Memo}
				maps.Copy(next, given)
				err = c.Do(ctx, http.MethodPut, idPath("/api/v1/payment-batches", id, "/lines/", strconv.Itoa(lineNo)), nil, key, next, &out)
				return out, err
			},
			print: func(cmd *cobra.Command, c *client.Client, ids []int64, b billing.PaymentBatch) error {
				return printLineChange(cmd.Context(), cmd.OutOrStdout(), c, "fixed", b, int(ids[1]))
			}}),
		changeCmd(g, change[billing.PaymentBatch]{use: "remove ID LINE", args: []string{"batch", "line"},
			short:   "Remove one line of an open deposit batch (the other lines keep their numbers)",
			example: "  tollgatectl batch remove 7 3",
			method:  http.MethodDelete, path: "/api/v1/payment-batches/%d/lines/%d",
			print: func(cmd *cobra.Command, _ *client.Client, ids []int64, b billing.PaymentBatch) error {
				return sayf(cmd, "removed line %d of batch %d; it has %s payment(s) left\n", ids[1], ids[0], commas(int64(b.Count)))
			}}), newBatchValidateCmd(g), newBatchPostCmd(g), newBatchImportCmd(g))
}

// newBatch is the body that opens a batch; the controller reads the date.
type newBatch struct {
	DepositDate    string `json:"deposit_date"`
	DepositAccount string `json:"deposit_account,omitempty"`
	Memo           string `json:"memo,omitempty"`
}

func newBatchListCmd(g *globals) *cobra.Command {
	var status string
	var limit int
	cmd := &cobra.Command{
		Use:     "list [--status open|posted] [--limit N]",
		Short:   "List deposit batches, newest first, with their totals",
		Example: `  tollgatectl batch list --status open`,
		Args:    cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			ctx := cmd.Context()
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if status != "" {
				q.Set("status", status)
			}
			var p pageOf[billing.PaymentBatch]
			if err := c.Do(ctx, http.MethodGet, "/api/v1/payment-batches", q, "", nil, &p); err != nil || g.json() {
				return orPrintJSON(cmd, p.Items, err)
			}
			// The listing has no lines; the totals by currency need them.
			for i, b := range p.Items {
				if b.Count > 0 {
					var err error
					if p.Items[i], err = get[billing.PaymentBatch](ctx, c, idPath("/api/v1/payment-batches", b.ID)); err != nil {
						return err
					}
				}
			}
			return printList(cmd.OutOrStdout(), g, p.Items, "ID,DEPOSIT DATE,DEPOSIT ACCOUNT,STATUS,PAYMENTS,TOTAL,CREATED,POSTED", func(b billing.PaymentBatch) []any {
				return []any{b.ID, b.DepositDate, cell(b.DepositAccount), b.Status, commas(int64(b.Count)), batchTotal(b),
					b.CreatedAt.Local().Format(time.DateTime), timeOr(b.PostedAt, time.DateTime, "-")}
			})
		}),
	}
	cmd.Flags().StringVar(&status, "status", "", "only batches in this status: open, posted")
	cmd.Flags().IntVar(&limit, "limit", 50, "how many batches to show")
	return cmd
}

// manualMethodList names the methods staff record by hand.
const manualMethodList = "check, cash, wire, money_order, other"

// lineParams are the flags of one batch line, named like the import
// file's columns; the controller checks what they hold. For batch fix
// (fix) each is sent only when given, and says it defaults to unchanged.
func lineParams(fix bool) []param {
	unchanged, required, kind := "", " (required)", textParam
	if fix {
		unchanged, required, kind = " (default: unchanged)", " (default: unchanged)", givenParam
	}
	return []param{{"account", "account", "account number (A-000042), external id or id" + required, kind},
		{"method", "method", "how it was paid: " + manualMethodList + unchanged, kind},
		{"amount", "amount", "amount in the account's currency, e.g. 50.00" + required, kind},
		{"reference", "reference", "check number (a check needs it), wire reference or receipt number" + unchanged, kind},
		{"payer", "payer", "who paid, as on the check" + unchanged, kind}, {"memo", "memo", "note kept with the payment" + unchanged, kind}}
}

func newBatchAddCmd(g *globals) *cobra.Command {
	cmd := changeCmd(g, change[billing.PaymentBatch]{args: []string{"batch"},
		use:     "add ID --account REF --amount AMOUNT [--method METHOD] [--reference REF] [--payer NAME] [--memo TEXT]",
		short:   "Add a payment to an open deposit batch",
		example: `  tollgatectl batch add 7 --account A-000042 --method check --amount 50.00 --reference 1001 --payer "Jane Doe"`,
		params:  lineParams(false),
		send: func(ctx context.Context, c *client.Client, ids []int64, key string, line map[string]any) (b billing.PaymentBatch, err error) {
			err = c.Do(ctx, http.MethodPost, idPath("/api/v1/payment-batches", ids[0], "/lines"), nil, key, map[string]any{"lines": []any{line}}, &b)
			return b, err
		},
		print: func(cmd *cobra.Command, c *client.Client, _ []int64, b billing.PaymentBatch) error {
			last := 0
			for _, l := range b.Lines {
				last = max(last, l.LineNo)
			}
			return printLineChange(cmd.Context(), cmd.OutOrStdout(), c, "added", b, last)
		}})
	setDefaults(cmd, "method", "check")
	return cmd
}

func newBatchValidateCmd(g *globals) *cobra.Command {
	return idCmd(g, "batch", "validate ID",
		"Check every line of a batch: errors (exit 1) stop posting, warnings do not",
		"  tollgatectl batch validate 7", func(cmd *cobra.Command, c *client.Client, id int64) error {
			v, err := get[billing.BatchValidation](cmd.Context(), c, idPath("/api/v1/payment-batches", id, "/validation"))
			if err != nil {
				return err
			}
			if err := printValidation(cmd.OutOrStdout(), g, v); err != nil || len(v.Errors) == 0 {
				return err
			}
			return fmt.Errorf("batch %d has %d error(s); fix them with tollgatectl batch fix %d LINE ... (or batch remove %d LINE), then post it",
				id, len(v.Errors), id, id)
		})
}

func newBatchPostCmd(g *globals) *cobra.Command {
	var idemKey string
	cmd := idCmd(g, "batch", "post ID",
		"Post every payment of a batch as one unit; a batch with any bad line posts nothing",
		`  tollgatectl batch post 7`, func(cmd *cobra.Command, c *client.Client, id int64) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			// The answer is the batch with all its lines; it is fetched
			// afresh rather than decoded, as the API replays at most 1 MiB of
			// a first answer to a retry.
			if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/payment-batches", id, "/post"), nil, orNewKey(idemKey), nil, nil); err != nil {
				var p *client.Problem
				if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity {
					return err
				}
				v, verr := get[billing.BatchValidation](ctx, c, idPath("/api/v1/payment-batches", id, "/validation"))
				if verr != nil || len(v.Errors) == 0 {
					return err // not a bad line: an empty batch, say
				}
				return cmp.Or(printValidation(cmd.OutOrStdout(), g, v), fmt.Errorf("batch %d has %d bad line(s); nothing was posted: "+
					"fix them with tollgatectl batch fix %d LINE ... (or batch remove %d LINE), then post it", id, len(v.Errors), id, id))
			}
			b, err := get[billing.PaymentBatch](ctx, c, idPath("/api/v1/payment-batches", id))
			if err != nil || g.json() {
				return orPrintJSON(cmd, b, err)
			}
			fmt.Fprintf(out, "posted batch %d: %s payment(s) received on %s\n\n", b.ID, commas(int64(b.Count)), b.DepositDate)
			return printBatch(out, b, false)
		})
	addKeyFlag(cmd, &idemKey)
	return cmd
}
