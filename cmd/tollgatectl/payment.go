package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// maxPaymentAmount is the largest payment the controller accepts, in minor
// units (billing.NewPayment.Validate).
const maxPaymentAmount = 1_000_000_000_00

// manualMethodList names the methods staff record by hand.
const manualMethodList = "check, cash, wire, money_order, other"

// textLimits are the longest reference, payer and memo a payment keeps, in
// bytes (billing.NewPayment.Validate). A deposit batch's validation does not
// check them but posting does, without naming the line, so they are checked
// here before anything is sent.
var textLimits = []struct {
	field string
	max   int
}{{"reference", 100}, {"payer", 200}, {"memo", 500}}

func newPaymentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "payment",
		Aliases: []string{"payments", "pay"},
		Short:   "Record, list, show, reverse and refund check, cash, wire, money order and other payments",
	}
	cmd.AddCommand(newPaymentAddCmd(g), newPaymentListCmd(g), newPaymentShowCmd(g), newPaymentReverseCmd(g), newPaymentRefundCmd(g),
		newPaymentRefundsCmd(g))
	return cmd
}

// fieldProblem is what is wrong with one field of a payment staff entered.
type fieldProblem struct{ field, msg string }

// flagErrors turns problems with a command's flags into one error.
func flagErrors(ps []fieldProblem) error {
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = "--" + p.field + ": " + p.msg
	}
	return errors.New(strings.Join(msgs, "; "))
}

// parseManualMethod parses a method staff may record by hand.
func parseManualMethod(s string) (billing.PaymentMethod, error) {
	m := billing.PaymentMethod(strings.ToLower(strings.TrimSpace(s)))
	switch {
	case m.Manual():
		return m, nil
	case m.Valid():
		return "", fmt.Errorf("method %q is charged through the payment gateway, not recorded by hand; use one of %s", s, manualMethodList)
	}
	return "", fmt.Errorf("method %q is not one of %s", s, manualMethodList)
}

// checkAmountSyntax checks that s is a positive decimal amount ("49.99")
// without knowing the currency; parsePaymentAmount then checks its decimal
// places in the account's currency.
func checkAmountSyntax(s string) error {
	v := strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(v, ".")
	digits := func(x string) bool {
		for _, r := range x {
			if r < '0' || r > '9' {
				return false
			}
		}
		return x != ""
	}
	switch {
	case v == "":
		return fmt.Errorf("amount is missing")
	case strings.HasPrefix(v, "-"):
		return fmt.Errorf("amount %q must not be negative", s)
	case !digits(whole) || (hasDot && !digits(frac)):
		return fmt.Errorf("amount %q is not a decimal number like 49.99", s)
	case strings.Trim(whole+frac, "0") == "":
		return fmt.Errorf("amount %q must be more than zero", s)
	}
	return nil
}

// parsePaymentAmount parses a payment's amount in currency c.
func parsePaymentAmount(s string, c billing.Currency) (int64, error) {
	n, err := parseAmount(s, c)
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return 0, fmt.Errorf("amount %q must be more than zero", s)
	case n > maxPaymentAmount:
		return 0, fmt.Errorf("amount %q is larger than any payment Tollgate accepts", s)
	}
	return n, nil
}

// checkText checks the length of a payment's reference, payer and memo.
func checkText(reference, payer, memo string) []fieldProblem {
	var ps []fieldProblem
	for i, v := range []string{reference, payer, memo} {
		if l := textLimits[i]; len(strings.TrimSpace(v)) > l.max {
			ps = append(ps, fieldProblem{l.field, fmt.Sprintf("%s is too long (%d bytes; at most %d)", l.field, len(strings.TrimSpace(v)), l.max)})
		}
	}
	return ps
}

// paymentInput is one payment as staff typed it: a batch line, a row of an
// import file or the flags of a command.
type paymentInput struct {
	Account, Method, Amount, Reference, Payer, Memo string
}

// check trims the input and reports every problem that can be seen without
// the account's currency. An empty method is a check.
func (in *paymentInput) check() (billing.PaymentMethod, []fieldProblem) {
	for _, p := range []*string{&in.Account, &in.Method, &in.Amount, &in.Reference, &in.Payer, &in.Memo} {
		*p = strings.TrimSpace(*p)
	}
	var ps []fieldProblem
	if in.Account == "" {
		ps = append(ps, fieldProblem{"account", "the account (number, external id or id) is missing"})
	}
	if in.Method == "" {
		in.Method = string(billing.PayCheck)
	}
	m, err := parseManualMethod(in.Method)
	if err != nil {
		ps = append(ps, fieldProblem{"method", err.Error()})
	}
	if err := checkAmountSyntax(in.Amount); err != nil {
		ps = append(ps, fieldProblem{"amount", err.Error()})
	}
	if m == billing.PayCheck && in.Reference == "" {
		ps = append(ps, fieldProblem{"reference", "a check needs its check number"})
	}
	return m, append(ps, checkText(in.Reference, in.Payer, in.Memo)...)
}

func isNotFound(err error) bool {
	var p *client.Problem
	return errors.As(err, &p) && p.Status == http.StatusNotFound
}

func isUnprocessable(err error) bool {
	var p *client.Problem
	return errors.As(err, &p) && p.Status == http.StatusUnprocessableEntity
}

// bookListAllOver is how many unknown accounts an accountBook looks up one
// by one; more, and it lists every account instead (1,000 per request).
const bookListAllOver = 50

// accountBook finds accounts the way the controller resolves a batch line's
// account: by account number first, else by external id, else by numeric
// id (exact matches, after trimming spaces). It keeps what it fetched.
type accountBook struct {
	c     *client.Client
	byID  map[int64]*billing.Account
	byRef map[string]*billing.Account // nil: no such account
	// all is set once every account was listed; then byNumber and byExt
	// index them.
	all             bool
	byNumber, byExt map[string]*billing.Account
}

func newAccountBook(c *client.Client) *accountBook {
	return &accountBook{c: c, byID: map[int64]*billing.Account{}, byRef: map[string]*billing.Account{}}
}

func (b *accountBook) keep(a billing.Account) *billing.Account {
	p := &a
	b.byID[a.ID] = p
	return p
}

func (b *accountBook) loadAll(ctx context.Context) error {
	if b.all {
		return nil
	}
	all, err := listAll[billing.Account](ctx, b.c, "/api/v1/accounts", nil)
	if err != nil {
		return err
	}
	b.byNumber, b.byExt = make(map[string]*billing.Account, len(all)), make(map[string]*billing.Account, len(all))
	for _, a := range all {
		p := b.keep(a)
		b.byNumber[a.Number] = p
		if a.ExternalID != "" {
			b.byExt[a.ExternalID] = p
		}
	}
	b.all = true
	return nil
}

// numericRef reports whether ref is an account id as the controller reads
// one: 1 to 18 digits.
func numericRef(ref string) (int64, bool) {
	if len(ref) == 0 || len(ref) > 18 {
		return 0, false
	}
	for _, r := range ref {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	return id, err == nil
}

// fetchIDs makes sure the accounts with these ids are known (ids of
// accounts that do not exist stay unknown).
func (b *accountBook) fetchIDs(ctx context.Context, ids []int64) error {
	var missing []int64
	seen := map[int64]bool{}
	for _, id := range ids {
		if id > 0 && b.byID[id] == nil && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 || b.all {
		return nil
	}
	if len(missing) > bookListAllOver {
		return b.loadAll(ctx)
	}
	for _, id := range missing {
		a, err := getAccount(ctx, b.c, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		b.keep(a.Account)
	}
	return nil
}

// resolve looks up the accounts refs name; lookup then answers.
func (b *accountBook) resolve(ctx context.Context, refs []string) error {
	var missing []string
	long := false
	seen := map[string]bool{}
	for _, r := range refs {
		r = strings.TrimSpace(r)
		if _, known := b.byRef[r]; known || r == "" || seen[r] {
			continue
		}
		seen[r] = true
		missing = append(missing, r)
		long = long || len(r) > 100 // longer than a search may be
	}
	if len(missing) == 0 {
		return nil
	}
	if len(missing) > bookListAllOver || long {
		if err := b.loadAll(ctx); err != nil {
			return err
		}
	}
	for _, r := range missing {
		if b.all {
			b.byRef[r] = b.match(r)
			continue
		}
		a, err := b.search(ctx, r)
		if err != nil {
			return err
		}
		b.byRef[r] = a
	}
	return nil
}

func (b *accountBook) match(ref string) *billing.Account {
	if a := b.byNumber[ref]; a != nil {
		return a
	}
	if a := b.byExt[ref]; a != nil {
		return a
	}
	if id, ok := numericRef(ref); ok {
		return b.byID[id]
	}
	return nil
}

func (b *accountBook) search(ctx context.Context, ref string) (*billing.Account, error) {
	found, err := listAll[billing.Account](ctx, b.c, "/api/v1/accounts", url.Values{"q": {ref}})
	if err != nil {
		return nil, err
	}
	var ext *billing.Account
	for _, a := range found {
		p := b.keep(a)
		if a.Number == ref {
			return p, nil
		}
		if a.ExternalID == ref && ext == nil {
			ext = p
		}
	}
	if ext != nil {
		return ext, nil
	}
	id, ok := numericRef(ref)
	if !ok {
		return nil, nil
	}
	if a := b.byID[id]; a != nil {
		return a, nil
	}
	a, err := getAccount(ctx, b.c, id)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return b.keep(a.Account), nil
}

// lookup returns the account ref names (after resolve), or nil.
func (b *accountBook) lookup(ref string) *billing.Account { return b.byRef[strings.TrimSpace(ref)] }

// findAccount finds the account a command's ACCOUNT argument (or --account
// flag) names: an id (all digits), or an account number (A-000042) or
// external id. Commands that need only the id use resolveIDOf and
// accountIDOf, which follow the same rule. Errors: an empty ref, no such
// account, or the API's.
func findAccount(ctx context.Context, c *client.Client, ref string) (billing.Account, error) {
	ref = strings.TrimSpace(ref)
	if _, err := strconv.ParseUint(ref, 10, 64); err == nil {
		id, err := parseIDOf("account", ref)
		if err != nil {
			return billing.Account{}, err
		}
		a, err := getAccount(ctx, c, id)
		return a.Account, err
	}
	if ref == "" {
		return billing.Account{}, fmt.Errorf("ACCOUNT is empty: give an account id, number (A-000042) or external id")
	}
	book := newAccountBook(c)
	if err := book.resolve(ctx, []string{ref}); err != nil {
		return billing.Account{}, err
	}
	if a := book.lookup(ref); a != nil {
		return *a, nil
	}
	return billing.Account{}, fmt.Errorf("account %q: no account has this number or external id", ref)
}

// cell flattens text staff or a bank file entered (a payer on two lines of
// a check scan, say) for a table or key-value cell; "-" if empty.
func cell(s string) string {
	return orDash(strings.Join(strings.Fields(s), " "))
}

// accountLabel names an account: "A-000042 Jane Doe (id 42)".
func accountLabel(id int64, a *billing.Account) string {
	if a == nil || a.ID != id {
		return fmt.Sprintf("id %d", id)
	}
	return fmt.Sprintf("%s %s (id %d)", a.Number, cell(a.Name), a.ID)
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
	var method, amount, reference, payer, date, memo, idemKey string
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
			var ps []fieldProblem
			m, err := parseManualMethod(method)
			if err != nil {
				ps = append(ps, fieldProblem{"method", err.Error()})
			}
			if err := checkAmountSyntax(amount); err != nil {
				ps = append(ps, fieldProblem{"amount", err.Error()})
			}
			if m == billing.PayCheck && strings.TrimSpace(reference) == "" {
				ps = append(ps, fieldProblem{"reference", "a check needs its check number"})
			}
			if err := flagErrors(append(ps, checkText(reference, payer, memo)...)); err != nil {
				return err
			}
			d, err := parseDateFlag("date", date)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			a, err := findAccount(ctx, c, args[0])
			if err != nil {
				return err
			}
			amt, err := parsePaymentAmount(amount, a.Currency)
			if err != nil {
				return fmt.Errorf("--amount: %w", err)
			}
			in := billing.NewPayment{Method: m, Amount: amt, Reference: strings.TrimSpace(reference), Payer: strings.TrimSpace(payer),
				ReceivedDate: d, Memo: strings.TrimSpace(memo)}
			var p billing.Payment
			if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/accounts", a.ID, "/payments"), nil, orNewKey(idemKey), in, &p); err != nil {
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
	_ = cmd.MarkFlagRequired("method")
	_ = cmd.MarkFlagRequired("amount")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newPaymentListCmd(g *globals) *cobra.Command {
	var batch int64
	var account accountFlag
	cmd := &cobra.Command{
		Use:   "list [--account ACCOUNT] [--batch ID]",
		Short: "List payments (every page), by account or deposit batch",
		Example: `  tollgatectl payment list --account 42
  tollgatectl payment list --batch 7 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 0 {
				return fmt.Errorf("--batch %d is not a batch id", batch)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			accountID, err := account.id(cmd.Context(), c)
			if err != nil {
				return err
			}
			q := url.Values{}
			if accountID > 0 {
				q.Set("account_id", strconv.FormatInt(accountID, 10))
			}
			if batch > 0 {
				q.Set("batch_id", strconv.FormatInt(batch, 10))
			}
			all, err := listAll[billing.Payment](cmd.Context(), c, "/api/v1/payments", q)
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), all)
			}
			w := newTable(cmd.OutOrStdout(), "ID", "ACCOUNT", "RECEIVED", "METHOD", "REFERENCE", "PAYER", "AMOUNT", "REFUNDED", "STATUS", "BATCH")
			for _, p := range all {
				refunded, batch := "-", "-"
				if p.Refunded > 0 {
					refunded = billing.FormatAmount(p.Refunded, p.Currency)
				}
				if p.BatchID != nil {
					batch = strconv.FormatInt(*p.BatchID, 10)
				}
				w.row(p.ID, p.AccountID, p.ReceivedDate, p.Method, cell(p.Reference), cell(p.Payer), money(p.Amount, p.Currency), refunded, p.Status, batch)
			}
			return w.flush()
		},
	}
	f := cmd.Flags()
	addAccountFlag(cmd, &account, "only this account's payments")
	f.Int64Var(&batch, "batch", 0, "only the payments posted by this deposit batch")
	return cmd
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
			r := billing.Reversal{Reason: billing.ReversalReason(strings.ToLower(strings.TrimSpace(reason))), Memo: strings.TrimSpace(memo)}
			if err := r.Validate(); err != nil {
				return fmt.Errorf("--reason %q is not one of nsf, chargeback, entry_error", reason)
			}
			if ps := checkText("", "", memo); len(ps) > 0 {
				return flagErrors(ps)
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
			if fee != "" {
				if r.Fee, err = parseAmount(fee, before.Currency); err != nil {
					return fmt.Errorf("--fee: %w", err)
				}
			}
			var p billing.Payment
			if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/payments", id, "/reverse"), nil, orNewKey(idemKey), r, &p); err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), p)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "payment %d (%s) reversed: %s\n", p.ID, money(p.Amount, p.Currency), r.Reason)
			if len(before.Allocations) > 0 {
				var invs []string
				for _, al := range before.Allocations {
					invs = append(invs, fmt.Sprintf("%s (%s)", al.InvoiceNumber, money(al.Amount, p.Currency)))
				}
				fmt.Fprintf(out, "the invoices it paid are open again: %s\n", strings.Join(invs, ", "))
			}
			if r.Fee > 0 {
				fmt.Fprintf(out, "returned-payment fee of %s charged to the account\n", money(r.Fee, p.Currency))
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
			if err := checkAmountSyntax(amount); err != nil {
				return fmt.Errorf("--amount: %w", err)
			}
			if ps := checkText("", "", memo); len(ps) > 0 {
				return flagErrors(ps)
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
			amt, err := parsePaymentAmount(amount, before.Currency)
			if err != nil {
				return fmt.Errorf("--amount: %w", err)
			}
			body := map[string]any{"amount": amt}
			if m := strings.TrimSpace(memo); m != "" {
				body["memo"] = m
			}
			var p billing.Payment
			if err := c.Do(ctx, http.MethodPost, idPath("/api/v1/payments", id, "/refund"), nil, orNewKey(idemKey), body, &p); err != nil {
				if isUnprocessable(err) && before.Status == billing.PaymentPosted && amt > before.Unallocated {
					return fmt.Errorf("--amount %s is more than payment %d's unapplied credit (%s); reverse the payment instead",
						money(amt, before.Currency), id, money(before.Unallocated, before.Currency))
				}
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), p)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "refunded %s of payment %d; its unapplied credit is now %s\n",
				money(amt, p.Currency), p.ID, money(p.Unallocated, p.Currency))
			return nil
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
	var payment int64
	var status string
	var attention bool
	cmd := &cobra.Command{
		Use:   "refunds [--payment ID] [--status pending|completed|released] [--needs-attention]",
		Short: "List refunds: pending ones, and those recovery flagged for staff",
		Long: `List refunds. A card or ACH refund is reserved (pending) before the gateway is
asked, then completed or released; one left pending by a crash is settled by
the recovery job from what the gateway lists. --needs-attention lists the
refunds it could not settle (no refund with their id at the gateway, and
their idempotency key too old to send again): check the charge at the
gateway.`,
		Example: `  tollgatectl payment refunds --needs-attention
  tollgatectl payment refunds --payment 17`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if payment < 0 {
				return fmt.Errorf("--payment %d is not a payment id", payment)
			}
			switch status {
			case "", "pending", "completed", "released":
			default:
				return fmt.Errorf("--status %q is not one of pending, completed, released", status)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if payment > 0 {
				q.Set("payment_id", strconv.FormatInt(payment, 10))
			}
			if status != "" {
				q.Set("status", status)
			}
			if attention {
				q.Set("needs_attention", "true")
			}
			all, err := listAll[billing.Refund](cmd.Context(), c, "/api/v1/refunds", q)
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), all)
			}
			w := newTable(cmd.OutOrStdout(), "ID", "PAYMENT", "ACCOUNT", "AMOUNT", "STATUS", "CREATED", "GATEWAY REFUND", "NOTE")
			for _, r := range all {
				note := r.Memo
				if r.NeedsAttention != "" {
					note = "NEEDS ATTENTION: " + r.NeedsAttention
				} else if r.ReleaseReason != "" {
					note = r.ReleaseReason
				}
				w.row(r.ID, r.PaymentID, r.AccountID, money(r.Amount, r.Currency), r.Status, r.CreatedAt.Local().Format(time.DateTime), orDash(cell(r.GatewayRefund)), cell(note))
			}
			return w.flush()
		},
	}
	f := cmd.Flags()
	f.Int64Var(&payment, "payment", 0, "only this payment's refunds")
	f.StringVar(&status, "status", "", "only refunds in this status: pending, completed or released")
	f.BoolVar(&attention, "needs-attention", false, "only refunds flagged for staff by the recovery job")
	return cmd
}
