package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
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
	cmd := &cobra.Command{
		Use:     "account",
		Aliases: []string{"accounts", "acct"},
		Short:   "Create, list and show subscriber accounts, their balances, statements and collection standing",
	}
	cmd.AddCommand(newAccountCreateCmd(g), newAccountListCmd(g), newAccountShowCmd(g), withStatementPDF(g, newAccountStatementCmd(g)))
	cmd.AddCommand(newAccountCollectionCmds(g)...)
	cmd.AddCommand(newAccountLocaleCmd(g))
	cmd.AddCommand(append(newAccountEditCmds(g), newAccountCloseCmds(g)...)...)
	return cmd
}

func newAccountLocaleCmd(g *globals) *cobra.Command {
	var idemKey string
	cmd := &cobra.Command{
		Use:   "locale ID LOCALE",
		Short: "Set the locale the subscriber reads (notices, the portal's why); \"\" inherits the account type's",
		Long: `Set the account's own locale (BCP 47: en-US, en-CA, en-GB, de-DE, de-AT): the
language, amounts ("$53.11", "53,11 €") and dates ("Saturday, December 18")
of its notices and of the portal's why. An empty LOCALE inherits the account
type's, else the company's (company.locale), else en-US.`,
		Example: `  tollgatectl account locale 42 de-DE
  tollgatectl account locale 42 ""`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDOf("account", args[0])
			if err != nil {
				return err
			}
			locale, err := billing.ParseLocale(args[1])
			if err != nil {
				return fmt.Errorf("%s", billing.ErrorMessage(err))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var a billing.Account
			body := map[string]billing.Locale{"locale": locale}
			if err := c.Do(cmd.Context(), http.MethodPut, fmt.Sprintf("/api/v1/accounts/%d/locale", id), nil, orNewKey(idemKey), body, &a); err != nil {
				return err
			}
			return printAccount(cmd.OutOrStdout(), g, accountView{Account: a}, false)
		},
	}
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newAccountCreateCmd(g *globals) *cobra.Command {
	var in billing.NewAccount
	var currency, delivery, idemKey string
	cmd := &cobra.Command{
		Use:   "create --name NAME --type ID --currency CODE [flags]",
		Short: "Create a subscriber account (an existing --external-id returns that account)",
		Example: `  tollgatectl account create --name "Jane Doe" --type 1 --currency USD --email jane@example.net \
      --address-line1 "1 Main St" --city Austin --region TX --postal-code 78701 --country US \
      --tax-jurisdiction US-TX-AUSTIN --external-id legacy-1042`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Currency, in.Delivery = billing.Currency(currency), billing.Delivery(delivery)
			c, err := g.client()
			if err != nil {
				return err
			}
			var a billing.Account
			if err := c.Do(cmd.Context(), http.MethodPost, "/api/v1/accounts", nil, orNewKey(idemKey), in, &a); err != nil {
				return err
			}
			return printAccount(cmd.OutOrStdout(), g, accountView{Account: a}, false)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Name, "name", "", "subscriber's name (required)")
	f.Int64Var(&in.AccountTypeID, "type", 0, "account type id (required; see account-type list)")
	f.StringVar(&currency, "currency", "", "ISO 4217 currency the account is billed in (required)")
	f.StringVar(&in.Email, "email", "", "email address for invoices and notices")
	f.StringVar(&in.Phone, "phone", "", "phone number")
	f.StringVar(&in.ExternalID, "external-id", "", "the account's id in your previous system (makes re-runs safe)")
	f.StringVar(&in.TaxJurisdiction, "tax-jurisdiction", "", "tax jurisdiction code (see tax-rate list; empty: untaxed)")
	f.StringVar(&delivery, "delivery", "", "invoice delivery: email, mail, both (default: the account type's)")
	f.StringVar((*string)(&in.Locale), "locale", "", "locale the subscriber reads: en-US, en-CA, en-GB, de-DE, de-AT (default: the account type's)")
	f.StringVar(&in.Address.Line1, "address-line1", "", "postal address, first line")
	f.StringVar(&in.Address.Line2, "address-line2", "", "postal address, second line")
	f.StringVar(&in.Address.City, "city", "", "city")
	f.StringVar(&in.Address.Region, "region", "", "state, province or region")
	f.StringVar(&in.Address.PostalCode, "postal-code", "", "postal code")
	f.StringVar(&in.Address.Country, "country", "", "country")
	for _, n := range []string{"name", "type", "currency"} {
		_ = cmd.MarkFlagRequired(n)
	}
	addKeyFlag(cmd, &idemKey)
	return cmd
}

func newAccountListCmd(g *globals) *cobra.Command {
	return listCmd(g, listing[billing.Account]{
		use:   "list [--type ID] [--status STATUS] [--search TEXT]",
		short: "List accounts (every page), by type, status or a search",
		example: `  tollgatectl account list --status delinquent
  tollgatectl account list --type 2 --search "main st" -o json`,
		path: "/api/v1/accounts",
		params: []param{
			{"type", "account_type_id", "only accounts of this account type id", idParam},
			{"status", "status", "only accounts in this status: current, past_due, delinquent, suspended, closed", textParam},
			{"search", "q", "substring of number, external id, name or email", textParam},
		},
		headers: "ID,NUMBER,NAME,TYPE,STATUS,CURRENCY,EMAIL,EXTERNAL ID",
		row: func(a billing.Account) []any {
			return []any{a.ID, a.Number, a.Name, a.AccountTypeID, a.Status, a.Currency, orDash(a.Email), orDash(a.ExternalID)}
		},
	})
}

func getAccount(ctx context.Context, c *client.Client, id int64) (accountView, error) {
	var a accountView
	err := c.Do(ctx, http.MethodGet, idPath("/api/v1/accounts", id), nil, "", nil, &a)
	return a, err
}

func newAccountShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "show ACCOUNT",
		Short:   "Show an account with its balance (derived from the ledger); ACCOUNT is an account number (A-000042), external id or id",
		Example: "  tollgatectl account show 42\n  tollgatectl account show A-000042",
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "account", func(cmd *cobra.Command, c *client.Client, id int64) error {
			a, err := getAccount(cmd.Context(), c, id)
			if err != nil {
				return err
			}
			return printAccount(cmd.OutOrStdout(), g, a, true)
		}),
	}
}

func printAccount(w io.Writer, g *globals, a accountView, balance bool) error {
	if g.json() {
		if !balance {
			return printJSON(w, a.Account)
		}
		return printJSON(w, a)
	}
	k := newKV(w)
	k.row("ID", "%d", a.ID)
	k.row("Number", "%s", a.Number)
	k.row("Name", "%s", a.Name)
	k.row("External ID", "%s", orDash(a.ExternalID))
	k.row("Account type", "%d", a.AccountTypeID)
	k.row("Status", "%s", a.Status)
	k.row("Currency", "%s", a.Currency)
	if balance {
		b := money(a.Balance, a.Currency)
		if a.Balance < 0 {
			b += " (credit)"
		}
		k.row("Balance", "%s", b)
	}
	k.row("Email", "%s", orDash(a.Email))
	k.row("Phone", "%s", orDash(a.Phone))
	var addr []string
	for _, s := range []string{a.Address.Line1, a.Address.Line2, strings.TrimSpace(a.Address.City + " " + a.Address.Region + " " + a.Address.PostalCode), a.Address.Country} {
		if s != "" {
			addr = append(addr, strings.ReplaceAll(s, "\n", ", "))
		}
	}
	k.row("Address", "%s", orDash(strings.Join(addr, ", ")))
	k.row("Tax jurisdiction", "%s", orDash(a.TaxJurisdiction))
	k.row("Delivery", "%s", orDash(string(a.Delivery)))
	k.row("Locale", "%s", orDash(string(a.Locale)))
	k.row("Anchor date", "%s", dateOrDash(a.AnchorDate))
	k.row("Created", "%s", a.CreatedAt.Local().Format(time.RFC3339))
	return k.flush()
}

func newAccountStatementCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "statement ACCOUNT",
		Short:   "Show an account's ledger lines with the running balance",
		Example: "  tollgatectl account statement 42",
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "account", func(cmd *cobra.Command, c *client.Client, id int64) error {
			a, err := getAccount(cmd.Context(), c, id)
			if err != nil {
				return err
			}
			var st statementView
			if err := c.Do(cmd.Context(), http.MethodGet, idPath("/api/v1/accounts", id, "/statement"), nil, "", nil, &st); err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), st)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Account %s, %s (%s)\n\n", a.Number, a.Name, a.Currency)
			w := newTable(out, "DATE", "KIND", "MEMO", "INVOICE", "AMOUNT", "BALANCE")
			for _, l := range st.Lines {
				w.row(l.EffectiveDate, l.Kind, l.Memo, orDash(l.InvoiceNumber), billing.FormatAmount(l.Amount, a.Currency), billing.FormatAmount(l.RunningBalance, a.Currency))
			}
			if err := w.flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nBalance: %s\n", money(st.Balance, a.Currency))
			return nil
		}),
	}
}

func newChargeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "charge",
		Aliases: []string{"charges"},
		Short:   "Add one-time charges (installation, equipment, fees) to accounts' next invoices",
	}
	var description, amount, date, idemKey string
	var taxable bool
	add := &cobra.Command{
		Use:   "add ACCOUNT --description TEXT --amount AMOUNT [--taxable] [--date YYYY-MM-DD]",
		Short: "Add a one-time charge, billed on the account's next invoice",
		Example: `  tollgatectl charge add 42 --description "Installation" --amount 99.00 --taxable
  tollgatectl charge add 42 --description "Router" --amount 79.50 --date 2025-03-01`,
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
			in := map[string]any{"description": description, "amount": amount, "taxable": taxable, "charge_date": d}
			var out billing.OneTimeCharge
			if err := c.Do(cmd.Context(), http.MethodPost, idPath("/api/v1/accounts", a.ID, "/charges"), nil, orNewKey(idemKey), in, &out); err != nil {
				return err
			}
			return g.say(cmd.OutOrStdout(), out, "charge %d: %s %q for account %s, dated %s (taxable: %s); billed on the next invoice\n",
				out.ID, money(out.Amount, a.Currency), out.Description, a.Number, out.ChargeDate, yesNo(out.Taxable))
		},
	}
	f := add.Flags()
	f.StringVar(&description, "description", "", "what the charge is for, printed on the invoice (required)")
	f.StringVar(&amount, "amount", "", "amount in the account's currency, e.g. 25.00 (required)")
	f.BoolVar(&taxable, "taxable", false, "tax the charge at the account's jurisdiction's rates")
	f.StringVar(&date, "date", "", "charge date YYYY-MM-DD (default: today)")
	_ = add.MarkFlagRequired("description")
	_ = add.MarkFlagRequired("amount")
	addKeyFlag(add, &idemKey)
	cmd.AddCommand(add)
	return cmd
}

func newCreditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "credit",
		Aliases: []string{"credits"},
		Short:   "Credit accounts (goodwill, corrections), posted to the ledger at once",
	}
	var amount, memo, date, idemKey string
	add := &cobra.Command{
		Use:     "add ACCOUNT --amount AMOUNT --memo TEXT [--date YYYY-MM-DD]",
		Short:   "Credit an account; the credit reduces its balance at once",
		Example: `  tollgatectl credit add 42 --amount 10.00 --memo "outage 2025-03-02, 2 days"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDateFlag("date", date)
			if err != nil {
				return err
			}
			if strings.TrimSpace(memo) == "" {
				return fmt.Errorf("--memo is required: say why the account is credited")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := findAccount(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			body := map[string]any{"amount": amount, "memo": memo}
			if !d.IsZero() {
				body["effective_date"] = d
			}
			var tx billing.JournalTx
			if err := c.Do(cmd.Context(), http.MethodPost, idPath("/api/v1/accounts", a.ID, "/credits"), nil, orNewKey(idemKey), body, &tx); err != nil {
				return err
			}
			var amt int64 // what the credit's entries move
			for _, e := range tx.Entries {
				amt += max(e.Amount, 0)
			}
			return g.say(cmd.OutOrStdout(), tx, "credited %s to account %s on %s (journal transaction %d): %s\n",
				money(amt, a.Currency), a.Number, tx.EffectiveDate, tx.ID, tx.Memo)
		},
	}
	f := add.Flags()
	f.StringVar(&amount, "amount", "", "amount in the account's currency, e.g. 10.00 (required)")
	f.StringVar(&memo, "memo", "", "why the account is credited (required)")
	f.StringVar(&date, "date", "", "effective date YYYY-MM-DD (default: today)")
	_ = add.MarkFlagRequired("amount")
	_ = add.MarkFlagRequired("memo")
	addKeyFlag(add, &idemKey)
	cmd.AddCommand(add)
	return cmd
}
