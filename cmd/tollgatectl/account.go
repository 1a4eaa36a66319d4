package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

// accountView is GET /api/v1/accounts/{id}: the account and its balance.
type accountView struct {
	billing.Account
	Balance int64 `json:"balance"`
}

type statementView struct {
	Balance int64                   `json:"balance"`
	Lines   []billing.StatementLine `json:"lines"`
}

func newAccountCmd(g *globals) *cobra.Command {
	return group("account accounts acct", "Create, list and show subscriber accounts, their balances, statements and collection standing",
		append(append(newAccountCloseCmds(g), newAccountStandingCmds(g)...),
			changeCmd(g, change[billing.Account]{
				use:     "create --name NAME --type ID --currency CODE [flags]",
				short:   "Create a subscriber account (an existing --external-id returns that account)",
				example: `  tollgatectl account create --name "Jane Doe" --type 1 --currency USD --email jane@example.net --external-id legacy-1042`,
				method:  http.MethodPost, path: "/api/v1/accounts",
				params: []param{{"name", "name", "subscriber's name (required)", textParam},
					{"type", "account_type_id", "account type id; see account-type list (required)", idParam},
					{"currency", "currency", "ISO 4217 currency the account is billed in (required)", textParam},
					{"email", "email", "email address for invoices and notices", textParam}, {"phone", "phone", "phone number", textParam},
					{"external-id", "external_id", "the account's id in your previous system (makes re-runs safe)", textParam},
					{"tax-jurisdiction", "tax_jurisdiction", "tax jurisdiction code (see tax-rate list; empty: untaxed)", textParam},
					{"delivery", "delivery", "invoice delivery: email, mail, both (default: the account type's)", textParam},
					{"locale", "locale", "en-US, en-CA, en-GB, de-DE, de-AT (default: the account type's)", textParam},
					{"address-line1", "address.line1", "postal address, first line", textParam}, {"address-line2", "address.line2", "postal address, second line", textParam},
					{"city", "address.city", "city", textParam}, {"region", "address.region", "state, province or region", textParam},
					{"postal-code", "address.postal_code", "postal code", textParam}, {"country", "address.country", "country", textParam}},
				print: func(cmd *cobra.Command, _ *client.Client, _ []int64, a billing.Account) error {
					return printAccount(cmd.OutOrStdout(), accountView{Account: a}, false)
				}}),
			listCmd(g, listing[billing.Account]{
				use:     "list [--type ID] [--status STATUS] [--search TEXT]",
				short:   "List accounts (every page), by type, status or a search",
				example: `  tollgatectl account list --status delinquent --search "main st"`,
				path:    "/api/v1/accounts",
				params: []param{
					{"type", "account_type_id", "only accounts of this account type id", idParam},
					{"status", "status", "only accounts in this status: current, past_due, delinquent, suspended, closed", textParam},
					{"search", "q", "substring of number, external id, name or email", textParam},
				},
				headers: "ID,NUMBER,NAME,TYPE,STATUS,CURRENCY,EMAIL,EXTERNAL ID",
				row: func(a billing.Account) []any {
					return []any{a.ID, a.Number, a.Name, a.AccountTypeID, a.Status, a.Currency, orDash(a.Email), orDash(a.ExternalID)}
				},
			}),
			showCmd(g, "show ACCOUNT", "Show an account with its balance; ACCOUNT is an account number (A-000042), external id or id",
				"  tollgatectl account show A-000042", "account", "/api/v1/accounts", func(w io.Writer, a accountView) error { return printAccount(w, a, true) }),
			newAccountStatementCmd(g),
			changeCmd(g, change[billing.Account]{args: []string{"account"}, textArg: "locale",
				use:     "locale ACCOUNT LOCALE",
				short:   "Set the locale the subscriber reads (notices, the portal's why); \"\" inherits the account type's",
				example: "  tollgatectl account locale 42 de-DE",
				method:  http.MethodPut, path: "/api/v1/accounts/%d/locale",
				print: func(cmd *cobra.Command, _ *client.Client, _ []int64, a billing.Account) error {
					return printAccount(cmd.OutOrStdout(), accountView{Account: a}, false)
				}}),
			newAccountEditCmd(g),
			listCmd(g, listing[billing.HistoryEntry]{use: "history ACCOUNT",
				short:   "Show an account's history, newest first: edits (who, what, before and after) and status changes, promises and exemptions (why)",
				example: "  tollgatectl account history A-000042", args: []string{"account"}, path: "/api/v1/accounts/%d/history",
				headers: "AT,KIND,ACTOR,WHAT",
				row: func(h billing.HistoryEntry) []any {
					actor := orDash(h.Actor)
					if s := h.Status; s != nil && s.SweepID != 0 {
						actor += fmt.Sprintf(" (sweep %d)", s.SweepID)
					} else if s != nil && s.PaymentID != 0 {
						actor += fmt.Sprintf(" (payment %d)", s.PaymentID)
					}
					return []any{localTime(h.At), h.Kind, actor, h.Summary}
				}}))...)
}

func printAccount(w io.Writer, a accountView, balance bool) error {
	bal := money(a.Balance, a.Currency)
	if a.Balance < 0 {
		bal += " (credit)"
	}
	ad := a.Address
	addr := joinNonEmpty(", ", ad.Line1, ad.Line2, strings.TrimSpace(ad.City+" "+ad.Region+" "+ad.PostalCode), ad.Country)
	return textout.Fields(w, "ID", a.ID, "Number", a.Number, "Name", a.Name, "External ID", orDash(a.ExternalID), "Account type", a.AccountTypeID,
		"Status", a.Status, "Currency", a.Currency, "Balance", textout.Only(balance, bal), "Email", orDash(a.Email), "Phone", orDash(a.Phone),
		"Address", orDash(strings.ReplaceAll(addr, "\n", ", ")), "Tax jurisdiction", orDash(a.TaxJurisdiction),
		"Delivery", orDash(string(a.Delivery)), "Locale", orDash(string(a.Locale)), "Anchor date", dateOrDash(a.AnchorDate),
		"Created", a.CreatedAt.Local().Format(time.RFC3339))
}

func newAccountStatementCmd(g *globals) *cobra.Command {
	var file, from, to string
	cmd := idCmd(g, "account", "statement ID [--file PATH [--from YYYY-MM-DD] [--to YYYY-MM-DD]]",
		"Show an account's ledger lines with the running balance, or write a statement PDF",
		"  tollgatectl account statement 42\n  tollgatectl account statement 42 --from 2026-01-01 --to 2026-03-31 --file statement-q1.pdf", func(cmd *cobra.Command, c *client.Client, id int64) error {
			if file == "" && (from != "" || to != "") {
				return fmt.Errorf("--from and --to choose the period of a statement PDF; give --file too")
			} else if file != "" { // the statement of [from, to] as a PDF; the controller reads the dates
				q := url.Values{}
				for flag, v := range map[string]string{"from": from, "to": to} {
					if v = strings.TrimSpace(v); v != "" {
						q.Set(flag, v)
					}
				}
				return downloadPDF(cmd, c, idPath("/api/v1/accounts", id, "/statement.pdf"), q, file)
			}
			a, err := get[accountView](cmd.Context(), c, idPath("/api/v1/accounts", id))
			if err != nil {
				return err
			}
			st, err := get[statementView](cmd.Context(), c, idPath("/api/v1/accounts", id, "/statement"))
			if err != nil || g.json() {
				return orPrintJSON(cmd, st, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Account %s, %s (%s)\n\n", a.Number, a.Name, a.Currency)
			if err := textout.Rows(out, st.Lines, "DATE,KIND,MEMO,INVOICE,AMOUNT,BALANCE", func(l billing.StatementLine) []any {
				return []any{l.EffectiveDate, l.Kind, l.Memo, orDash(l.InvoiceNumber), billing.FormatAmount(l.Amount, a.Currency), billing.FormatAmount(l.RunningBalance, a.Currency)}
			}); err != nil {
				return err
			}
			return sayf(cmd, "\nBalance: %s\n", money(st.Balance, a.Currency))
		})
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "write the statement as a PDF to this path (- for standard output)")
	f.StringVar(&from, "from", "", "first day of the statement PDF (default: 90 days before --to)")
	f.StringVar(&to, "to", "", "last day of the statement PDF (default: today)")
	return cmd
}

func newChargeCmd(g *globals) *cobra.Command {
	return group("charge charges", "Add one-time charges (installation, equipment, fees) to accounts' next invoices", changeCmd(g, change[billing.OneTimeCharge]{args: []string{"account"},
		use:     "add ACCOUNT --description TEXT --amount AMOUNT [--taxable] [--date YYYY-MM-DD]",
		short:   "Add a one-time charge, billed on the account's next invoice",
		example: `  tollgatectl charge add 42 --description "Installation" --amount 99.00 --taxable`,
		method:  http.MethodPost, path: "/api/v1/accounts/%d/charges",
		params: []param{{"description", "description", "what the charge is for, printed on the invoice (required)", textParam},
			{"amount", "amount", "amount in the account's currency, e.g. 25.00 (required)", textParam},
			{"taxable", "taxable", "tax the charge at the account's jurisdiction's rates", switchParam},
			{"date", "charge_date", "charge date YYYY-MM-DD (default: today)", dateParam}},
		print: func(cmd *cobra.Command, c *client.Client, ids []int64, ch billing.OneTimeCharge) error {
			a, err := get[accountView](cmd.Context(), c, idPath("/api/v1/accounts", ids[0]))
			if err != nil {
				return err
			}
			return sayf(cmd, "charge %d: %s %q for account %s, dated %s (taxable: %s); billed on the next invoice\n",
				ch.ID, money(ch.Amount, a.Currency), ch.Description, a.Number, ch.ChargeDate, yesNo(ch.Taxable))
		}}))
}

func newCreditCmd(g *globals) *cobra.Command {
	return group("credit credits", "Credit accounts (goodwill, corrections), posted to the ledger at once", changeCmd(g, change[billing.JournalTx]{args: []string{"account"},
		use:     "add ACCOUNT --amount AMOUNT --memo TEXT [--date YYYY-MM-DD]",
		short:   "Credit an account; the credit reduces its balance at once",
		example: `  tollgatectl credit add 42 --amount 10.00 --memo "outage 2025-03-02, 2 days"`,
		method:  http.MethodPost, path: "/api/v1/accounts/%d/credits",
		params: []param{{"amount", "amount", "amount in the account's currency, e.g. 10.00 (required)", textParam},
			{"memo", "memo", "why the account is credited (required)", textParam},
			{"date", "effective_date", "effective date YYYY-MM-DD (default: today)", dateParam}},
		print: func(cmd *cobra.Command, c *client.Client, ids []int64, tx billing.JournalTx) error {
			a, err := get[accountView](cmd.Context(), c, idPath("/api/v1/accounts", ids[0]))
			if err != nil {
				return err
			}
			var amt int64 // what the credit's entries move
			for _, e := range tx.Entries {
				amt += max(e.Amount, 0)
			}
			return sayf(cmd, "credited %s to account %s on %s (journal transaction %d): %s\n", money(amt, a.Currency), a.Number, tx.EffectiveDate, tx.ID, tx.Memo)
		}}))
}

// editTextFlags are account edit's text flags and their usage.
var editTextFlags = [][2]string{{"name", "contact name"}, {"company", "company name"}, {"email", "email address"},
	{"phone", "phone number"}, {"external-id", "id in your previous system"}, {"delivery", "email, mail, both (\"\": the type's)"},
	{"locale", "en-US, en-CA, en-GB, de-DE, de-AT (\"\": the type's)"}, {"address-line1", "billing address, first line"},
	{"address-line2", "billing address, second line"}, {"city", "city"}, {"region", "state or region"},
	{"postal-code", "postal code"}, {"country", "country"}, {"reason", "why (kept in the audit log)"}, {"overrides", "the account's own settings, \"grace_days=14;late_fee=false;auto_suspend=inherit\" (due_days, grace_days, reminder_days_before, auto_suspend, reactivation_rule, late_fee, invoice_message; inherit: the type's)"}, {"tax-exempt", "exemption certificate reference: no tax (\"\" ends it)"}}

func newAccountEditCmd(g *globals) *cobra.Command {
	var idemKey string
	var typeID int64
	var billingDay int
	text := map[string]*string{}
	cmd := idCmd(g, "account", "edit ACCOUNT [--name …] [--company …] [--email …] [--type ID] [--billing-day N] …",
		"Change an account's contact, billing address, delivery, locale, external id, type or billing day (only the flags given)",
		`  tollgatectl account edit 42 --email jane@example.org --company "Roe LLC" --reason "customer called"`, func(cmd *cobra.Command, c *client.Client, id int64) error {
			f, ctx := cmd.Flags(), cmd.Context()
			set := func(flag string) *string {
				if !f.Changed(flag) {
					return nil
				}
				return text[flag]
			}
			e := billing.AccountEdit{Name: set("name"), CompanyName: set("company"), Email: set("email"), Phone: set("phone"),
				ExternalID: set("external-id"), Delivery: (*billing.Delivery)(set("delivery")), Locale: (*billing.Locale)(set("locale")),
				Reason: *text["reason"]}
			if f.Changed("type") {
				e.AccountTypeID = &typeID
			}
			if f.Changed("billing-day") {
				e.BillingDay = &billingDay
			}
			a, err := c.Account(ctx, id) // its version is the ETag the edit sends back
			if err != nil {
				return err
			}
			addr := a.Address
			for flag, p := range map[string]*string{"address-line1": &addr.Line1, "address-line2": &addr.Line2, "city": &addr.City,
				"region": &addr.Region, "postal-code": &addr.PostalCode, "country": &addr.Country} {
				if v := set(flag); v != nil {
					*p, e.Address = *v, &addr
				}
			}
			if err := e.SetOverrides(a.Overrides, set("overrides"), set("tax-exempt")); err != nil {
				return err
			}
			if e == (billing.AccountEdit{Reason: e.Reason}) {
				return fmt.Errorf("nothing to change: give --name, --company, --email, --phone, --external-id, --delivery, --locale, --type, --billing-day, --overrides, --tax-exempt or an address flag")
			}
			res, err := c.EditAccount(ctx, orNewKey(idemKey), id, a.Version, e)
			if err != nil {
				return err
			} else if g.json() {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			if res.Changed {
				t := textout.NewTable(w, "FIELD", "BEFORE", "AFTER")
				for _, field := range res.Change.Fields() {
					before, _ := json.Marshal(res.Change.Before[field])
					after, _ := json.Marshal(res.Change.After[field])
					t.Row(field, string(before), string(after))
				}
				if err := t.Flush(); err != nil {
					return err
				}
			}
			fmt.Fprintf(w, "Account %s is at version %d (changed: %s).\n", res.Account.Number, res.Account.Version, yesNo(res.Changed))
			for _, c := range res.Consequences {
				fmt.Fprintf(w, "Note (%s): %s\n", c.Field, c.Message)
			}
			return nil
		})
	for _, tf := range editTextFlags {
		text[tf[0]] = cmd.Flags().String(tf[0], "", tf[1])
	}
	cmd.Flags().Int64Var(&typeID, "type", 0, "move the account to this account type id (applies from the next billing period)")
	cmd.Flags().IntVar(&billingDay, "billing-day", 0, "billing day override, fixed_day types only (0 removes it)")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

// newAccountCloseCmds are `account close` (billing) and `account reopen` (admin), sent with If-Match.
func newAccountCloseCmds(g *globals) (cmds []*cobra.Command) {
	for _, c := range [][2]string{{"close", "Close an account: cancel its services, issue its final invoice, keep its credit (or --refund-credit)"}, {"reopen", "Reopen a closed account (admin); its services stay cancelled"}} {
		body, key := client.AccountClose{}, ""
		cmd := &cobra.Command{Use: c[0] + " ACCOUNT", Short: c[1], Args: cobra.ExactArgs(1),
			RunE: withID(g, "account", func(cmd *cobra.Command, cl *client.Client, id int64) error {
				r, err := cl.AccountLifecycle(cmd.Context(), orNewKey(key), id, 0, c[0], body)
				return orPrintJSON(cmd, r, err)
			})}
		cmd.Flags().StringVar(&body.Reason, "reason", "", "why (kept in the audit log)")
		cmd.Flags().BoolVar(&body.RefundCredit, "refund-credit", false, "close: refund the credit left after the final invoice instead of keeping it")
		addKeyFlag(cmd, &key)
		cmds = append(cmds, cmd)
	}
	return cmds
}
