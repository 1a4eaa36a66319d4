package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

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
	if err := printFields(w, "Batch", b.ID, "Deposit date", b.DepositDate, "Deposit account", cell(b.DepositAccount), "Status", status,
		"Created", b.CreatedAt.Local().Format(time.DateTime)+" by "+orDash(b.CreatedBy), "Memo", cell(b.Memo),
		"Payments", commas(int64(b.Count)), "Total", batchTotal(b)); err != nil {
		return err
	}
	if len(b.Lines) == 0 {
		return nil
	}
	if withLines {
		fmt.Fprintln(w)
		if err := printTable(w, b.Lines, "LINE,ACCOUNT,RESOLVED TO,METHOD,REFERENCE,PAYER,AMOUNT", func(l billing.BatchLine) []any {
			return []any{l.LineNo, cell(l.Account), lineAccount(l), l.Method, cell(l.Reference), cell(l.Payer), amountIn(l.Amount, l.Currency)}
		}); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	return printTable(w, b.Totals, "METHOD,COUNT,TOTAL", func(t billing.BatchTotal) []any {
		return []any{t.Method, commas(int64(t.Count)), amountIn(t.Total, t.Currency)}
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
		if err := printTable(w, ps, "LINE,FIELD,KIND,PROBLEM", func(p billing.BatchProblem) []any {
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
	fmt.Fprintf(w, "batch %d has %s payment(s); see them with: tollgatectl batch show %d\n", b.ID, commas(int64(b.Count)), b.ID)
	v, err := get[billing.BatchValidation](ctx, c, idPath("/api/v1/payment-batches", b.ID, "/validation"))
	for _, p := range problemsByLine(v) { // none when err
		if p.LineNo == lineNo {
			fmt.Fprintln(w, p.String())
		}
	}
	return err
}
