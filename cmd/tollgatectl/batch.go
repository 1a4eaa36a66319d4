package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
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
			}}),
		listCmd(g, listing[billing.PaymentBatch]{use: "list [--status open|posted] [--limit N]",
			short: "List deposit batches, newest first, with their totals", example: `  tollgatectl batch list --status open`,
			path: "/api/v1/payment-batches", limit: 50, params: []param{{"status", "status", "only batches in this status: open, posted", textParam}},
			headers: "ID,DEPOSIT DATE,DEPOSIT ACCOUNT,STATUS,PAYMENTS,TOTAL,CREATED,POSTED", row: func(b billing.PaymentBatch) []any {
				return []any{b.ID, b.DepositDate, cell(b.DepositAccount), b.Status, textout.Commas(int64(b.Count)), batchTotal(b),
					b.CreatedAt.Local().Format(time.DateTime), timeOr(b.PostedAt, time.DateTime, "-")}
			},
			// The listing has no lines; the totals by currency need them.
			expand: func(ctx context.Context, c *client.Client, b billing.PaymentBatch) (billing.PaymentBatch, error) {
				if b.Count == 0 {
					return b, nil
				}
				return get[billing.PaymentBatch](ctx, c, idPath("/api/v1/payment-batches", b.ID))
			}}),
		showCmd(g, "show ID", "Show a deposit batch: its lines, the accounts they resolve to, and totals by method", "  tollgatectl batch show 7",
			"batch", "/api/v1/payment-batches", func(w io.Writer, b billing.PaymentBatch) error { return printBatch(w, b, true) }),
		changeCmd(g, change[billing.PaymentBatch]{args: []string{"batch"},
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
			}, defaults: []string{"method", "check"}}),
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
				return sayf(cmd, "removed line %d of batch %d; it has %s payment(s) left\n", ids[1], ids[0], textout.Commas(int64(b.Count)))
			}}),
		newBatchValidateCmd(g), newBatchPostCmd(g), newBatchImportCmd(g))
}

// newBatch is the body that opens a batch; the controller reads the date.
type newBatch struct {
	DepositDate    string `json:"deposit_date"`
	DepositAccount string `json:"deposit_account,omitempty"`
	Memo           string `json:"memo,omitempty"`
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
			fmt.Fprintf(out, "posted batch %d: %s payment(s) received on %s\n\n", b.ID, textout.Commas(int64(b.Count)), b.DepositDate)
			return printBatch(out, b, false)
		})
	addKeyFlag(cmd, &idemKey)
	return cmd
}

// amountIn formats minor units in c, or as bare minor units when the
// currency is not known (no account of the batch was found).
func amountIn(n int64, c billing.Currency) string {
	if c == "" {
		return strconv.FormatInt(n, 10) + " (minor units)"
	}
	return money(n, c)
}

// batchTotal is the batch's total: "USD 150.00", "USD 10.00 + CAD 5.00".
func batchTotal(b billing.PaymentBatch) string {
	var parts []string
	for _, t := range b.Totals {
		if t.Method == "all" {
			parts = append(parts, amountIn(t.Total, t.Currency))
		}
	}
	return orDash(strings.Join(parts, " + "))
}

// lineAccount shows a line's account: what was typed and what it is.
func lineAccount(l billing.BatchLine) string {
	if l.AccountID == 0 {
		return "NOT FOUND"
	}
	return l.AccountNumber + " " + cell(l.AccountName)
}

// printBatch prints a batch (as JSON with -o json): its header, its lines
// if withLines, and its totals by method.
func printBatch(w io.Writer, b billing.PaymentBatch, withLines bool) error {
	status := string(b.Status)
	if b.PostedAt != nil {
		status += fmt.Sprintf(" on %s by %s", b.PostedAt.Local().Format(time.DateTime), orDash(b.PostedBy))
	}
	if err := textout.Fields(w, "Batch", b.ID, "Deposit date", b.DepositDate, "Deposit account", cell(b.DepositAccount), "Status", status,
		"Created", b.CreatedAt.Local().Format(time.DateTime)+" by "+orDash(b.CreatedBy), "Memo", cell(b.Memo),
		"Payments", textout.Commas(int64(b.Count)), "Total", batchTotal(b)); err != nil {
		return err
	}
	if len(b.Lines) == 0 {
		return nil
	}
	if withLines {
		fmt.Fprintln(w)
		if err := textout.Rows(w, b.Lines, "LINE,ACCOUNT,RESOLVED TO,METHOD,REFERENCE,PAYER,AMOUNT", func(l billing.BatchLine) []any {
			return []any{l.LineNo, cell(l.Account), lineAccount(l), l.Method, cell(l.Reference), cell(l.Payer), amountIn(l.Amount, l.Currency)}
		}); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	return textout.Rows(w, b.Totals, "METHOD,COUNT,TOTAL", func(t billing.BatchTotal) []any {
		return []any{t.Method, textout.Commas(int64(t.Count)), amountIn(t.Total, t.Currency)}
	})
}

// problemsByLine are a validation's errors and warnings by line, errors
// first on a line.
func problemsByLine(v billing.BatchValidation) []billing.BatchProblem {
	ps := append(slices.Clone(v.Errors), v.Warnings...)
	slices.SortStableFunc(ps, func(a, b billing.BatchProblem) int { return a.LineNo - b.LineNo })
	return ps
}

// printValidation prints every error and warning of a batch with its line
// (-o json: the validation as it is).
func printValidation(w io.Writer, g *globals, v billing.BatchValidation) error {
	if g.json() {
		return printJSON(w, v)
	}
	if ps := problemsByLine(v); len(ps) > 0 {
		if err := textout.Rows(w, ps, "LINE,FIELD,KIND,PROBLEM", func(p billing.BatchProblem) []any {
			return []any{p.LineNo, orDash(p.Field), map[bool]string{false: "error", true: "warning"}[p.Warning], cell(p.Message)}
		}); err != nil {
			return err
		}
	}
	switch {
	case len(v.Errors) > 0:
		fmt.Fprintf(w, "batch %d: %d error(s), %d warning(s); it cannot be posted until the errors are fixed\n", v.BatchID, len(v.Errors), len(v.Warnings))
	case len(v.Warnings) > 0:
		fmt.Fprintf(w, "batch %d: no errors, %d warning(s) to look at; it can be posted\n", v.BatchID, len(v.Warnings))
	default:
		fmt.Fprintf(w, "batch %d: no errors or warnings; it can be posted\n", v.BatchID)
	}
	return nil
}

func optionalText(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// printLineChange prints a line after it was added or fixed, and what
// validation says about it.
func printLineChange(ctx context.Context, w io.Writer, c *client.Client, verb string, b billing.PaymentBatch, lineNo int) error {
	i := slices.IndexFunc(b.Lines, func(l billing.BatchLine) bool { return l.LineNo == lineNo })
	if i < 0 {
		return fmt.Errorf("batch %d has no line %d", b.ID, lineNo)
	}
	l := b.Lines[i]
	fmt.Fprintf(w, "%s line %d of batch %d: %s (%s), %s%s, %s\n", verb, l.LineNo, b.ID, cell(l.Account), lineAccount(l), l.Method,
		optionalText(" ", cell(l.Reference)), amountIn(l.Amount, l.Currency))
	fmt.Fprintf(w, "batch %d has %s payment(s); see them with: tollgatectl batch show %d\n", b.ID, textout.Commas(int64(b.Count)), b.ID)
	v, err := get[billing.BatchValidation](ctx, c, idPath("/api/v1/payment-batches", b.ID, "/validation"))
	for _, p := range problemsByLine(v) { // none when err
		if p.LineNo == lineNo {
			fmt.Fprintln(w, p.String())
		}
	}
	return err
}
