package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// batchCSVColumns are the columns of a batch import file.
var batchCSVColumns = billing.BatchCSVColumns

// methodOrder is the order totals by method are shown in.
var methodOrder = []billing.PaymentMethod{billing.PayCheck, billing.PayCash, billing.PayMoneyOrder, billing.PayWire, billing.PayOther}

func newBatchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "batch",
		Aliases: []string{"batches", "deposit"},
		Short:   "Enter a bank deposit's checks and cash as a batch, check it, then post it as one unit",
		Long: `A deposit batch holds the payments of one bank deposit: the checks, cash and
money orders taken in, or a bank's lockbox file. Open a batch, add its
payments (or import a file), fix what validation reports, then post it: all
its payments are posted together, or none is. A posted batch never changes.

A line's account is what staff typed: an account number (A-000042), an
external id or an account id. Amounts are decimals in the account's currency.`,
	}
	cmd.AddCommand(newBatchOpenCmd(g), newBatchListCmd(g), newBatchShowCmd(g), newBatchAddCmd(g), newBatchFixCmd(g),
		newBatchRemoveCmd(g), newBatchValidateCmd(g), newBatchPostCmd(g), newBatchImportCmd(g))
	return cmd
}

// newBatch is the body that opens a batch.
type newBatch struct {
	DepositDate    billing.Date `json:"deposit_date"`
	DepositAccount string       `json:"deposit_account,omitempty"`
	Memo           string       `json:"memo,omitempty"`
}

func makeNewBatch(date, depositAccount, memo string, today bool) (newBatch, error) {
	d, err := parseDateFlag("date", date)
	if err != nil {
		return newBatch{}, err
	}
	if d.IsZero() && today {
		d = billing.DateOf(time.Now())
	}
	nb := newBatch{DepositDate: d, DepositAccount: strings.TrimSpace(depositAccount), Memo: strings.TrimSpace(memo)}
	if n := len(nb.DepositAccount); n > 100 {
		return nb, fmt.Errorf("--deposit-account is too long (%d bytes; at most 100)", n)
	}
	if n := len(nb.Memo); n > 500 {
		return nb, fmt.Errorf("--memo is too long (%d bytes; at most 500)", n)
	}
	return nb, nil
}

func getBatch(ctx context.Context, c *client.Client, id int64) (billing.PaymentBatch, error) {
	var b billing.PaymentBatch
	err := c.Do(ctx, http.MethodGet, idPath("/api/v1/payment-batches", id), nil, "", nil, &b)
	return b, err
}

func getValidation(ctx context.Context, c *client.Client, id int64) (billing.BatchValidation, error) {
	var v billing.BatchValidation
	err := c.Do(ctx, http.MethodGet, idPath("/api/v1/payment-batches", id, "/validation"), nil, "", nil, &v)
	return v, err
}

func linePath(batchID int64, lineNo int) string {
	return idPath("/api/v1/payment-batches", batchID, "/lines/", strconv.Itoa(lineNo))
}

func parseLineNo(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("line %q is not a positive number", s)
	}
	return n, nil
}

func lineIDs(lines []billing.BatchLine) []int64 {
	ids := make([]int64, 0, len(lines))
	for _, l := range lines {
		if l.AccountID > 0 {
			ids = append(ids, l.AccountID)
		}
	}
	return ids
}

// lineCurrencies returns a function giving each line's currency: its
// account's, or for a line whose account is not found, the currency most of
// the lines' accounts use ("" if none is found). The book must know the
// accounts (fetchIDs).
func lineCurrencies(book *accountBook, lines []billing.BatchLine) func(billing.BatchLine) billing.Currency {
	counts := map[billing.Currency]int{}
	for _, l := range lines {
		if a := book.byID[l.AccountID]; a != nil {
			counts[a.Currency]++
		}
	}
	main := mostUsed(counts)
	return func(l billing.BatchLine) billing.Currency {
		if a := book.byID[l.AccountID]; a != nil {
			return a.Currency
		}
		return main
	}
}

func mostUsed(counts map[billing.Currency]int) billing.Currency {
	var best billing.Currency
	for c, n := range counts {
		if best == "" || n > counts[best] || (n == counts[best] && c < best) {
			best = c
		}
	}
	return best
}

// amountIn formats minor units in c, or as bare minor units when the
// currency is not known (no account of the batch was found).
func amountIn(n int64, c billing.Currency) string {
	if c == "" {
		return strconv.FormatInt(n, 10) + " (minor units)"
	}
	return money(n, c)
}

type methodTotal struct {
	Method   billing.PaymentMethod
	Currency billing.Currency
	Count    int
	Total    int64
}

// totalsByMethod sums lines by method and currency, in methodOrder.
func totalsByMethod(lines []billing.BatchLine, cur func(billing.BatchLine) billing.Currency) []methodTotal {
	var out []methodTotal
	for _, l := range lines {
		c := cur(l)
		i := slices.IndexFunc(out, func(t methodTotal) bool { return t.Method == l.Method && t.Currency == c })
		if i < 0 {
			out = append(out, methodTotal{Method: l.Method, Currency: c})
			i = len(out) - 1
		}
		out[i].Count++
		out[i].Total += l.Amount
	}
	rank := func(m billing.PaymentMethod) int {
		if i := slices.Index(methodOrder, m); i >= 0 {
			return i
		}
		return len(methodOrder)
	}
	slices.SortFunc(out, func(a, b methodTotal) int {
		if d := rank(a.Method) - rank(b.Method); d != 0 {
			return d
		}
		return strings.Compare(string(a.Currency), string(b.Currency))
	})
	return out
}

// sumByCurrency is the lines' total: "USD 150.00", "USD 10.00 + CAD 5.00".
func sumByCurrency(lines []billing.BatchLine, cur func(billing.BatchLine) billing.Currency) string {
	sums := map[billing.Currency]int64{}
	var curs []billing.Currency
	for _, l := range lines {
		c := cur(l)
		if _, ok := sums[c]; !ok {
			curs = append(curs, c)
		}
		sums[c] += l.Amount
	}
	if len(curs) == 0 {
		return "-"
	}
	slices.Sort(curs)
	parts := make([]string, len(curs))
	for i, c := range curs {
		parts[i] = amountIn(sums[c], c)
	}
	return strings.Join(parts, " + ")
}

func printTotals(w io.Writer, lines []billing.BatchLine, cur func(billing.BatchLine) billing.Currency) error {
	totals := totalsByMethod(lines, cur)
	t := newTable(w, "METHOD", "COUNT", "TOTAL")
	all := map[billing.Currency]*methodTotal{}
	var curs []billing.Currency
	for _, mt := range totals {
		t.row(mt.Method, commas(int64(mt.Count)), amountIn(mt.Total, mt.Currency))
		if all[mt.Currency] == nil {
			all[mt.Currency] = &methodTotal{Currency: mt.Currency}
			curs = append(curs, mt.Currency)
		}
		all[mt.Currency].Count += mt.Count
		all[mt.Currency].Total += mt.Total
	}
	slices.Sort(curs)
	for _, c := range curs {
		t.row("all", commas(int64(all[c].Count)), amountIn(all[c].Total, c))
	}
	return t.flush()
}

// lineAccount shows a line's account: what was typed and what it is.
func lineAccount(l billing.BatchLine, book *accountBook) string {
	if l.AccountID == 0 {
		return "NOT FOUND"
	}
	if a := book.byID[l.AccountID]; a != nil {
		return a.Number + " " + cell(a.Name)
	}
	return fmt.Sprintf("%s (id %d)", cell(l.AccountName), l.AccountID)
}

// printBatch prints a batch: its header, its lines if withLines, and its
// totals by method. The book must know the lines' accounts.
func printBatch(w io.Writer, b billing.PaymentBatch, book *accountBook, withLines bool) error {
	cur := lineCurrencies(book, b.Lines)
	k := newKV(w)
	k.row("Batch", "%d", b.ID)
	k.row("Deposit date", "%s", b.DepositDate)
	k.row("Deposit account", "%s", cell(b.DepositAccount))
	status := string(b.Status)
	if b.PostedAt != nil {
		status += fmt.Sprintf(" on %s by %s", b.PostedAt.Local().Format(time.DateTime), orDash(b.PostedBy))
	}
	k.row("Status", "%s", status)
	k.row("Created", "%s by %s", b.CreatedAt.Local().Format(time.DateTime), orDash(b.CreatedBy))
	k.row("Memo", "%s", cell(b.Memo))
	k.row("Payments", "%s", commas(int64(b.Count)))
	k.row("Total", "%s", sumByCurrency(b.Lines, cur))
	if err := k.flush(); err != nil {
		return err
	}
	if len(b.Lines) == 0 {
		return nil
	}
	if withLines {
		fmt.Fprintln(w)
		t := newTable(w, "LINE", "ACCOUNT", "RESOLVED TO", "METHOD", "REFERENCE", "PAYER", "AMOUNT")
		for _, l := range b.Lines {
			t.row(l.LineNo, cell(l.Account), lineAccount(l, book), l.Method, cell(l.Reference), cell(l.Payer), amountIn(l.Amount, cur(l)))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	return printTotals(w, b.Lines, cur)
}

// showBatch fetches what printBatch needs and prints the batch.
func showBatch(ctx context.Context, w io.Writer, g *globals, c *client.Client, book *accountBook, b billing.PaymentBatch, withLines bool) error {
	if g.json() {
		return printJSON(w, b)
	}
	if book == nil {
		book = newAccountBook(c)
	}
	if err := book.fetchIDs(ctx, lineIDs(b.Lines)); err != nil {
		return err
	}
	return printBatch(w, b, book, withLines)
}

// sortProblems orders problems by line, errors before warnings.
func sortProblems(ps []billing.BatchProblem) {
	slices.SortStableFunc(ps, func(a, b billing.BatchProblem) int {
		if a.LineNo != b.LineNo {
			return a.LineNo - b.LineNo
		}
		if a.Warning != b.Warning {
			if a.Warning {
				return 1
			}
			return -1
		}
		return 0
	})
}

func kind(warning bool) string {
	if warning {
		return "warning"
	}
	return "error"
}

// printValidation prints every error and warning of a batch with its line.
func printValidation(w io.Writer, v billing.BatchValidation) error {
	ps := append(slices.Clone(v.Errors), v.Warnings...)
	sortProblems(ps)
	if len(ps) > 0 {
		t := newTable(w, "LINE", "FIELD", "KIND", "PROBLEM")
		for _, p := range ps {
			t.row(p.LineNo, orDash(p.Field), kind(p.Warning), cell(p.Message))
		}
		if err := t.flush(); err != nil {
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

func badLinesError(v billing.BatchValidation) error {
	return fmt.Errorf("batch %d has %d bad line(s); nothing was posted: fix them with tollgatectl batch fix %d LINE ... (or batch remove %d LINE), then post it",
		v.BatchID, len(v.Errors), v.BatchID, v.BatchID)
}

func newBatchOpenCmd(g *globals) *cobra.Command {
	var date, depositAccount, memo, idemKey string
	cmd := &cobra.Command{
		Use:   "open --date YYYY-MM-DD [--deposit-account TEXT] [--memo TEXT]",
		Short: "Open a deposit batch to enter the payments of one bank deposit",
		Example: `  tollgatectl batch open --date 2025-03-03 --deposit-account "First Bank ****1234"
  tollgatectl batch open --date 2025-03-03 --memo "front desk, morning" -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nb, err := makeNewBatch(date, depositAccount, memo, false)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var b billing.PaymentBatch
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/payment-batches", nil, orNewKey(idemKey), nb, &b); err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "opened batch %d for the deposit of %s%s\nadd its payments with: tollgatectl batch add %d --account A-000042 --amount 50.00 --reference 1001\n",
				b.ID, b.DepositDate, optionalText(" to ", b.DepositAccount), b.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&date, "date", "", "deposit date YYYY-MM-DD; the payments are received on it (required)")
	f.StringVar(&depositAccount, "deposit-account", "", "the bank account the deposit goes to")
	f.StringVar(&memo, "memo", "", "note kept with the batch")
	_ = cmd.MarkFlagRequired("date")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func optionalText(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

func newBatchListCmd(g *globals) *cobra.Command {
	var status string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--status open|posted] [--limit N]",
		Short: "List deposit batches, newest first, with their totals",
		Example: `  tollgatectl batch list --status open
  tollgatectl batch list --limit 10 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch billing.BatchStatus(status) {
			case "", billing.BatchOpen, billing.BatchPosted:
			default:
				return fmt.Errorf("--status %q is not one of open, posted", status)
			}
			if limit < 1 || limit > 1000 {
				return fmt.Errorf("--limit %d is not between 1 and 1000", limit)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if status != "" {
				q.Set("status", status)
			}
			var p pageOf[billing.PaymentBatch]
			if err := c.Do(ctx, http.MethodGet, "/api/v1/payment-batches", q, "", nil, &p); err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), p.Items)
			}
			// The listing has no lines; the totals need the lines' accounts'
			// currencies.
			book := newAccountBook(c)
			full := make([]billing.PaymentBatch, len(p.Items))
			var ids []int64
			for i, b := range p.Items {
				full[i] = b
				if b.Count > 0 {
					if full[i], err = getBatch(ctx, c, b.ID); err != nil {
						return err
					}
					ids = append(ids, lineIDs(full[i].Lines)...)
				}
			}
			if err := book.fetchIDs(ctx, ids); err != nil {
				return err
			}
			w := newTable(cmd.OutOrStdout(), "ID", "DEPOSIT DATE", "DEPOSIT ACCOUNT", "STATUS", "PAYMENTS", "TOTAL", "CREATED", "POSTED")
			for _, b := range full {
				posted := "-"
				if b.PostedAt != nil {
					posted = b.PostedAt.Local().Format(time.DateTime)
				}
				w.row(b.ID, b.DepositDate, cell(b.DepositAccount), b.Status, commas(int64(b.Count)), sumByCurrency(b.Lines, lineCurrencies(book, b.Lines)), b.CreatedAt.Local().Format(time.DateTime), posted)
			}
			return w.flush()
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only batches in this status: open, posted")
	cmd.Flags().IntVar(&limit, "limit", 50, "how many batches to show")
	return cmd
}

func newBatchShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show a deposit batch: its lines, the accounts they resolve to, and totals by method",
		Example: "  tollgatectl batch show 7",
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "batch", func(cmd *cobra.Command, c *client.Client, id int64) error {
			b, err := getBatch(cmd.Context(), c, id)
			if err != nil {
				return err
			}
			return showBatch(cmd.Context(), cmd.OutOrStdout(), g, c, nil, b, true)
		}),
	}
}

// lineFlags are the flags of one batch line.
type lineFlags struct{ account, method, amount, reference, payer, memo string }

func (lf *lineFlags) register(cmd *cobra.Command, fix bool) {
	f := cmd.Flags()
	unchanged, method := "", "check"
	if fix {
		unchanged, method = " (default: unchanged)", ""
	}
	f.StringVar(&lf.account, "account", "", "account number (A-000042), external id or id"+unchanged)
	f.StringVar(&lf.method, "method", method, "how it was paid: "+manualMethodList+unchanged)
	f.StringVar(&lf.amount, "amount", "", "amount in the account's currency, e.g. 50.00"+unchanged)
	f.StringVar(&lf.reference, "reference", "", "check number (required for a check), wire reference or receipt number"+unchanged)
	f.StringVar(&lf.payer, "payer", "", "who paid, as on the check"+unchanged)
	f.StringVar(&lf.memo, "memo", "", "note kept with the payment"+unchanged)
}

// printLineChange prints a line after it was added or fixed, and what
// validation says about it.
func printLineChange(ctx context.Context, w io.Writer, g *globals, c *client.Client, book *accountBook, verb string, b billing.PaymentBatch, lineNo int) error {
	if g.json() {
		return printJSON(w, b)
	}
	i := slices.IndexFunc(b.Lines, func(l billing.BatchLine) bool { return l.LineNo == lineNo })
	if i < 0 {
		return fmt.Errorf("batch %d has no line %d", b.ID, lineNo)
	}
	l := b.Lines[i]
	if err := book.fetchIDs(ctx, []int64{l.AccountID}); err != nil {
		return err
	}
	var cur billing.Currency
	if a := book.byID[l.AccountID]; a != nil {
		cur = a.Currency
	}
	fmt.Fprintf(w, "%s line %d of batch %d: %s (%s), %s%s, %s\n", verb, l.LineNo, b.ID, cell(l.Account), lineAccount(l, book), l.Method,
		optionalText(" ", cell(l.Reference)), amountIn(l.Amount, cur))
	fmt.Fprintf(w, "batch %d has %s payment(s); see them with: tollgatectl batch show %d\n", b.ID, commas(int64(b.Count)), b.ID)
	v, err := getValidation(ctx, c, b.ID)
	if err != nil {
		return err
	}
	ps := append(slices.Clone(v.Errors), v.Warnings...)
	sortProblems(ps)
	for _, p := range ps {
		if p.LineNo == lineNo {
			fmt.Fprintln(w, p.String())
		}
	}
	return nil
}

func newBatchAddCmd(g *globals) *cobra.Command {
	var lf lineFlags
	var idemKey string
	cmd := &cobra.Command{
		Use:   "add ID --account REF --amount AMOUNT [--method METHOD] [--reference REF] [--payer NAME] [--memo TEXT]",
		Short: "Add a payment to an open deposit batch",
		Example: `  tollgatectl batch add 7 --account A-000042 --method check --amount 50.00 --reference 1001 --payer "Jane Doe"
  tollgatectl batch add 7 --account legacy-1042 --method cash --amount 20`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDOf("batch", args[0])
			if err != nil {
				return err
			}
			in := paymentInput{Account: lf.account, Method: lf.method, Amount: lf.amount, Reference: lf.reference, Payer: lf.payer, Memo: lf.memo}
			m, ps := in.check()
			if err := flagErrors(ps); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			book := newAccountBook(c)
			if err := book.resolve(ctx, []string{in.Account}); err != nil {
				return err
			}
			a := book.lookup(in.Account)
			if a == nil {
				return fmt.Errorf("--account %q: no account has this number, external id or id", in.Account)
			}
			amt, err := parsePaymentAmount(in.Amount, a.Currency)
			if err != nil {
				return fmt.Errorf("--amount: %w", err)
			}
			line := billing.BatchLine{Account: in.Account, Method: m, Amount: amt, Reference: in.Reference, Payer: in.Payer, Memo: in.Memo}
			var b billing.PaymentBatch
			body := map[string]any{"lines": []billing.BatchLine{line}}
			if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/payment-batches", id, "/lines"), nil, orNewKey(idemKey), body, &b); err != nil {
				return err
			}
			last := 0
			for _, l := range b.Lines {
				last = max(last, l.LineNo)
			}
			return printLineChange(ctx, cmd.OutOrStdout(), g, c, book, "added", b, last)
		},
	}
	lf.register(cmd, false)
	_ = cmd.MarkFlagRequired("account")
	_ = cmd.MarkFlagRequired("amount")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newBatchFixCmd(g *globals) *cobra.Command {
	var lf lineFlags
	var idemKey string
	cmd := &cobra.Command{
		Use:   "fix ID LINE [--account REF] [--method METHOD] [--amount AMOUNT] [--reference REF] [--payer NAME] [--memo TEXT]",
		Short: "Correct one line of an open deposit batch (only the flags given change)",
		Example: `  tollgatectl batch fix 7 3 --account A-000044
  tollgatectl batch fix 7 5 --amount 45.00 --reference 1017`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDOf("batch", args[0])
			if err != nil {
				return err
			}
			lineNo, err := parseLineNo(args[1])
			if err != nil {
				return err
			}
			set := cmd.Flags().Changed
			if !slices.ContainsFunc(batchCSVColumns, set) { // the line's flags are named like the file's columns
				return fmt.Errorf("nothing to change: give --account, --method, --amount, --reference, --payer or --memo")
			}
			var ps []fieldProblem
			if set("account") && strings.TrimSpace(lf.account) == "" {
				ps = append(ps, fieldProblem{"account", "the account (number, external id or id) is missing"})
			}
			var m billing.PaymentMethod
			if set("method") {
				if m, err = parseManualMethod(lf.method); err != nil {
					ps = append(ps, fieldProblem{"method", err.Error()})
				}
			}
			if set("amount") {
				if err := checkAmountSyntax(lf.amount); err != nil {
					ps = append(ps, fieldProblem{"amount", err.Error()})
				}
			}
			if err := flagErrors(append(ps, checkText(lf.reference, lf.payer, lf.memo)...)); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			b, err := getBatch(ctx, c, id)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(b.Lines, func(l billing.BatchLine) bool { return l.LineNo == lineNo })
			if i < 0 {
				return fmt.Errorf("batch %d has no line %d (see tollgatectl batch show %d)", id, lineNo, id)
			}
			old := b.Lines[i]
			next := billing.BatchLine{Account: old.Account, Method: old.Method, Amount: old.Amount, Reference: old.Reference, Payer: old.Payer, Memo: old.Memo}
			if set("account") {
				next.Account = strings.TrimSpace(lf.account)
			}
			if set("method") {
				next.Method = m
			}
			if set("reference") {
				next.Reference = strings.TrimSpace(lf.reference)
			}
			if set("payer") {
				next.Payer = strings.TrimSpace(lf.payer)
			}
			if set("memo") {
				next.Memo = strings.TrimSpace(lf.memo)
			}
			if next.Method == billing.PayCheck && next.Reference == "" {
				return fmt.Errorf("--reference: line %d is a check and needs its check number", lineNo)
			}

			// The amount is in the line's account's currency. The old line's
			// currency is its account's, or (account not found) the one of
			// the batch's other accounts, which a deposit shares.
			book := newAccountBook(c)
			ref := old.AccountID
			if ref == 0 {
				if j := slices.IndexFunc(b.Lines, func(l billing.BatchLine) bool { return l.AccountID > 0 }); j >= 0 {
					ref = b.Lines[j].AccountID
				}
			}
			if err := book.fetchIDs(ctx, []int64{ref}); err != nil {
				return err
			}
			var oldCur, newCur billing.Currency
			if a := book.byID[ref]; a != nil {
				oldCur = a.Currency
			}
			newCur = oldCur
			if set("account") {
				if err := book.resolve(ctx, []string{next.Account}); err != nil {
					return err
				}
				a := book.lookup(next.Account)
				if a == nil {
					return fmt.Errorf("--account %q: no account has this number, external id or id", next.Account)
				}
				newCur = a.Currency
			}
			switch {
			case set("amount") && newCur == "":
				return fmt.Errorf("--amount: line %d's account is not found, so its currency is unknown: give --account too", lineNo)
			case set("amount"):
				if next.Amount, err = parsePaymentAmount(lf.amount, newCur); err != nil {
					return fmt.Errorf("--amount: %w", err)
				}
			case newCur != oldCur:
				was := "an unknown currency"
				if oldCur != "" {
					was = string(oldCur)
				}
				return fmt.Errorf("line %d's amount was entered in %s but %s is billed in %s: give --amount too", lineNo, was, next.Account, newCur)
			}
			var out billing.PaymentBatch
			if err := c.Do(ctx, http.MethodPut, linePath(id, lineNo), nil, orNewKey(idemKey), next, &out); err != nil {
				return err
			}
			return printLineChange(ctx, cmd.OutOrStdout(), g, c, book, "fixed", out, lineNo)
		},
	}
	lf.register(cmd, true)
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newBatchRemoveCmd(g *globals) *cobra.Command {
	var idemKey string
	cmd := &cobra.Command{
		Use:     "remove ID LINE",
		Short:   "Remove one line of an open deposit batch (the other lines keep their numbers)",
		Example: "  tollgatectl batch remove 7 3",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDOf("batch", args[0])
			if err != nil {
				return err
			}
			lineNo, err := parseLineNo(args[1])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var b billing.PaymentBatch
			if err := c.Do(cmd.Context(), http.MethodDelete, linePath(id, lineNo), nil, orNewKey(idemKey), nil, &b); err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed line %d of batch %d; it has %s payment(s) left\n", lineNo, id, commas(int64(b.Count)))
			return nil
		},
	}
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newBatchValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate ID",
		Short: "Check every line of a batch: errors (exit 1) stop posting, warnings do not",
		Long: `Check every line of a deposit batch and print each error and warning with its
line: an account that is not found, a method that cannot be entered by hand,
a check without its number (errors); a check number seen twice for one
account, in the batch or already posted (warnings). Exits 1 if there is any
error.`,
		Example: "  tollgatectl batch validate 7",
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "batch", func(cmd *cobra.Command, c *client.Client, id int64) error {
			v, err := getValidation(cmd.Context(), c, id)
			if err != nil {
				return err
			}
			if g.json() {
				err = printJSON(cmd.OutOrStdout(), v)
			} else {
				err = printValidation(cmd.OutOrStdout(), v)
			}
			if err != nil {
				return err
			}
			if len(v.Errors) > 0 {
				return fmt.Errorf("batch %d has %d error(s); fix them with tollgatectl batch fix %d LINE ... (or batch remove %d LINE), then post it",
					id, len(v.Errors), id, id)
			}
			return nil
		}),
	}
}

func newBatchPostCmd(g *globals) *cobra.Command {
	var idemKey string
	cmd := &cobra.Command{
		Use:   "post ID",
		Short: "Post every payment of a batch as one unit; a batch with any bad line posts nothing",
		Example: `  tollgatectl batch post 7
  tollgatectl batch post 7 --idempotency-key deposit-2025-03-03`,
		Args: cobra.ExactArgs(1),
		RunE: withID(g, "batch", func(cmd *cobra.Command, c *client.Client, id int64) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			// The answer is the batch with all its lines; it is fetched
			// afresh rather than decoded, as the API replays at most 1 MiB of
			// a first answer to a retry.
			if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/payment-batches", id, "/post"), nil, orNewKey(idemKey), nil, nil); err != nil {
				if !isUnprocessable(err) {
					return err
				}
				v, verr := getValidation(ctx, c, id)
				if verr != nil || len(v.Errors) == 0 {
					return err // not a bad line: an empty batch, say
				}
				if g.json() {
					verr = printJSON(out, v)
				} else {
					verr = printValidation(out, v)
				}
				if verr != nil {
					return verr
				}
				return badLinesError(v)
			}
			b, err := getBatch(ctx, c, id)
			if err != nil {
				return err
			}
			if !g.json() {
				fmt.Fprintf(out, "posted batch %d: %s payment(s) received on %s\n\n", b.ID, commas(int64(b.Count)), b.DepositDate)
			}
			return showBatch(ctx, out, g, c, nil, b, false)
		}),
	}
	addKeyFlag(cmd, &idemKey)
	return cmd
}

// lineProblem is a problem with a line of an import file (and, once the
// file is a batch, the line of the batch).
type lineProblem struct {
	Line      int    `json:"line"`
	BatchLine int    `json:"batch_line,omitempty"`
	Column    string `json:"column,omitempty"`
	Message   string `json:"message"`
	Warning   bool   `json:"warning,omitempty"`
}

// batchImportView is batch import's JSON output.
type batchImportView struct {
	File     string                `json:"file"`
	Rows     int                   `json:"rows"`
	Problems []lineProblem         `json:"problems"`
	Batch    *billing.PaymentBatch `json:"batch,omitempty"`
}

// printFileProblems prints problems with the file's lines (and the batch's,
// once there is a batch).
func printFileProblems(w io.Writer, ps []lineProblem) error {
	batch := slices.ContainsFunc(ps, func(p lineProblem) bool { return p.BatchLine > 0 })
	t := newTable(w, "LINE", "COLUMN", "PROBLEM")
	if batch {
		t = newTable(w, "LINE", "BATCH LINE", "COLUMN", "KIND", "PROBLEM")
	}
	for _, p := range ps {
		line := "-"
		if p.Line > 0 {
			line = strconv.Itoa(p.Line)
		}
		msg := cell(p.Message)
		if batch {
			t.row(line, p.BatchLine, orDash(p.Column), kind(p.Warning), msg)
		} else {
			t.row(line, orDash(p.Column), msg)
		}
	}
	return t.flush()
}

func newBatchImportCmd(g *globals) *cobra.Command {
	var date, depositAccount, memo, idemKey string
	var post bool
	var batchID int64
	cmd := &cobra.Command{
		Use:   "import FILE.csv [--date YYYY-MM-DD] [--deposit-account TEXT] [--batch ID] [--post]",
		Short: "Import a bank lockbox or check-scanner file as a deposit batch: check every row, open the batch, validate it, optionally post it",
		Long: `Import a bank lockbox or check-scanner export as a deposit batch.

The first line names the columns, in any case and any order:
  ` + strings.Join(batchCSVColumns, ", ") + `
account and amount are required. account is an account number (A-000042),
external id or id; method is one of ` + manualMethodList + ` (empty: check);
amount is a decimal in the account's currency (49.99); a check needs its
check number in reference. Other columns are an error.

The controller parses and checks the whole file (POST
/api/v1/payment-batches/{id}/import): every problem of every row (its format,
an unknown account, an amount its currency cannot hold, a check without its
number) is printed with its line and column, nothing is added, and the command
exits 1; the batch it opened stays open and empty, so run the command again
with --batch N once the file is fixed. Otherwise every row becomes a line of
the batch (in file order) and warnings (duplicate checks) are printed; --post
then posts it and its totals are printed.

The requests' Idempotency-Keys derive from the file's SHA-256, the date,
the deposit account and the memo, so running the same import again (after an
interruption) finds the same batch instead of entering the payments twice.`,
		Example: `  tollgatectl batch import lockbox-2025-03-03.csv --date 2025-03-03 --deposit-account "First Bank ****1234"
  tollgatectl batch import lockbox-2025-03-03.csv --date 2025-03-03 --post

  # lockbox-2025-03-03.csv
  account,amount,reference,payer
  A-000042,49.99,1001,Jane Doe
  A-000043,120.00,5531,ACME Corp`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nb, err := makeNewBatch(date, depositAccount, memo, true)
			if err != nil {
				return err
			}
			if len(idemKey) > 200 {
				return fmt.Errorf("--idempotency-key is longer than 200 characters")
			}
			if batchID < 0 {
				return fmt.Errorf("--batch %d is not a batch id", batchID)
			}
			return runBatchImport(cmd, g, args[0], nb, batchID, post, idemKey)
		},
	}
	f := cmd.Flags()
	f.StringVar(&date, "date", "", "deposit date YYYY-MM-DD; the payments are received on it (default: today)")
	f.StringVar(&depositAccount, "deposit-account", "", "the bank account the deposit goes to")
	f.StringVar(&memo, "memo", "", "note kept with the batch")
	f.BoolVar(&post, "post", false, "post the batch if validation finds no error")
	f.Int64Var(&batchID, "batch", 0, "add the file to this open batch instead of opening one")
	f.StringVar(&idemKey, "idempotency-key", "", "base of the Idempotency-Keys to send (default: derived from the file and flags); re-run with the same key to retry safely")
	return cmd
}

// importKey derives the base of an import's Idempotency-Keys from what it
// sends.
func importKey(data []byte, nb newBatch) string {
	h := sha256.New()
	h.Write(data)
	fmt.Fprintf(h, "\x00%s\x00%s\x00%s", nb.DepositDate, nb.DepositAccount, nb.Memo)
	return fmt.Sprintf("batch-import-%x", h.Sum(nil)[:16])
}

func runBatchImport(cmd *cobra.Command, g *globals, path string, nb newBatch, batchID int64, post bool, idemKey string) error {
	ctx, out, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	book := newAccountBook(c)
	view := batchImportView{File: path, Problems: []lineProblem{}}
	base := idemKey
	if base == "" {
		base = importKey(data, nb)
	}

	// Open the batch (or take the one given): the one an earlier run of
	// this import opened if there is one (the same key answers with the
	// same batch). A replayed answer is the first one, so the batch is
	// fetched afresh.
	var b billing.PaymentBatch
	if batchID == 0 {
		if err := c.Do(ctx, http.MethodPost, "/api/v1/payment-batches", nil, base+"-open", nb, &b); err != nil {
			return err
		}
		batchID = b.ID
	}
	if b, err = getBatch(ctx, c, batchID); err != nil {
		return err
	}
	if b.Status == billing.BatchPosted {
		fmt.Fprintf(stderr, "%s was already imported and posted as batch %d\n", path, b.ID)
		return printImported(ctx, out, g, c, book, view, b)
	}

	// The controller parses and checks the whole file, and adds all of it
	// or nothing. The same key replays the first answer, so running the
	// same import again adds nothing twice.
	res, err := c.ImportBatchCSV(ctx, fmt.Sprintf("%s-import-%d", base, b.ID), b.ID, data, false)
	if errs, ok := client.ImportErrors(err); ok {
		view.Problems = problemsOf(errs)
		view.Batch = &b
		var perr error
		if g.json() {
			perr = printJSON(out, view)
		} else {
			perr = printFileProblems(out, view.Problems)
		}
		if perr != nil {
			return perr
		}
		n := 0
		for _, p := range view.Problems {
			if !p.Warning {
				n++
			}
		}
		return fmt.Errorf("%s has %d problem(s); nothing was added to batch %d, which stays open: fix the file and run the same command with --batch %d",
			path, n, b.ID, b.ID)
	}
	if err != nil {
		return err
	}
	view.Rows = res.Rows
	for _, w := range res.Warnings {
		view.Problems = append(view.Problems, lineProblem{Line: w.Line, Column: w.Column, Message: w.Reason, Warning: true})
	}
	if len(view.Problems) > 0 && !g.json() {
		if err := printFileProblems(out, view.Problems); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	if post {
		if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/payment-batches", b.ID, "/post"), nil, base+"-post", nil, nil); err != nil {
			return fmt.Errorf("posting batch %d: %w\nsee tollgatectl batch validate %d", b.ID, err, b.ID)
		}
	}
	if b, err = getBatch(ctx, c, b.ID); err != nil {
		return err
	}
	return printImported(ctx, out, g, c, book, view, b)
}

// problemsOf turns the problems of a refused import into the file's
// problems; the API marks warnings with a "warning: " prefix.
func problemsOf(errs []billing.ImportError) []lineProblem {
	ps := make([]lineProblem, 0, len(errs))
	for _, e := range errs {
		p := lineProblem{Line: e.Line, Column: e.Column, Message: e.Reason}
		if rest, ok := strings.CutPrefix(e.Reason, "warning: "); ok {
			p.Warning = true
			p.Message = strings.TrimPrefix(rest, billing.ImportError{Line: e.Line, Column: e.Column}.Error())
		}
		ps = append(ps, p)
	}
	return ps
}

func printImported(ctx context.Context, w io.Writer, g *globals, c *client.Client, book *accountBook, view batchImportView, b billing.PaymentBatch) error {
	if g.json() {
		view.Batch = &b
		return printJSON(w, view)
	}
	if b.Status == billing.BatchPosted {
		fmt.Fprintf(w, "posted batch %d: %s payment(s) from %s, received on %s\n\n", b.ID, commas(int64(b.Count)), view.File, b.DepositDate)
	} else {
		fmt.Fprintf(w, "batch %d holds %s payment(s) from %s and is open; nothing is posted yet: post it with tollgatectl batch post %d\n\n",
			b.ID, commas(int64(b.Count)), view.File, b.ID)
	}
	return showBatch(ctx, w, g, c, book, b, false)
}
