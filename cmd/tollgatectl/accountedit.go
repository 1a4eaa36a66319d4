package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// newAccountEditCmds are `account edit` and `account history`.
func newAccountEditCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{newAccountEditCmd(g), newAccountHistoryCmd(g)}
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
	cmd := &cobra.Command{
		Use:   "edit ACCOUNT [--name …] [--company …] [--email …] [--type ID] [--billing-day N] …",
		Short: "Change an account's contact, billing address, delivery, locale, external id, type or billing day (only the flags given)",
		Long: `Change the fields of the flags given ("" clears one) and leave the others. The
edit carries the version just read (If-Match): if someone changed the account
in between, it is refused (412) and nothing is written; run it again. Every
change is in the audit log (account history). A new type applies from the next
billing period.`,
		Example: `  tollgatectl account edit 42 --email jane@example.org --company "Roe LLC" --reason "customer called"`,
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "account", func(cmd *cobra.Command, c *client.Client, id int64) error {
			f, ctx := cmd.Flags(), cmd.Context()
			set := func(flag string) *string { // nil for a flag not given
				return map[bool]*string{true: text[flag]}[f.Changed(flag)]
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
			if err != nil || g.json() {
				return orPrintJSON(cmd, res, err)
			}
			w := cmd.OutOrStdout()
			if res.Changed {
				t := newTable(w, "FIELD", "BEFORE", "AFTER")
				for _, field := range res.Change.Fields() {
					before, _ := json.Marshal(res.Change.Before[field])
					after, _ := json.Marshal(res.Change.After[field])
					t.row(field, string(before), string(after))
				}
				if err := t.flush(); err != nil {
					return err
				}
			}
			fmt.Fprintf(w, "Account %s is at version %d (changed: %s).\n", res.Account.Number, res.Account.Version, yesNo(res.Changed))
			for _, c := range res.Consequences {
				fmt.Fprintf(w, "Note (%s): %s\n", c.Field, c.Message)
			}
			return nil
		}),
	}
	for _, tf := range editTextFlags {
		text[tf[0]] = cmd.Flags().String(tf[0], "", tf[1])
	}
	cmd.Flags().Int64Var(&typeID, "type", 0, "move the account to this account type id (applies from the next billing period)")
	cmd.Flags().IntVar(&billingDay, "billing-day", 0, "billing day override, fixed_day types only (0 removes it)")
	addKeyFlag(cmd, &idemKey)
	return cmd
}

// orPrintJSON returns err, else prints v as JSON.
func orPrintJSON(cmd *cobra.Command, v any, err error) error {
	if err != nil {
		return err
	}
	return printJSON(cmd.OutOrStdout(), v)
}

func newAccountHistoryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "history ACCOUNT",
		Short:   "Show an account's history, newest first: edits (who, what, before and after) and status changes, promises and exemptions (why)",
		Example: "  tollgatectl account history A-000042\n  tollgatectl account history 42 -o json",
		Args:    cobra.ExactArgs(1),
		RunE: withID(g, "account", func(cmd *cobra.Command, c *client.Client, id int64) error {
			hs, err := c.AccountHistory(cmd.Context(), id)
			if err != nil || g.json() {
				return orPrintJSON(cmd, hs, err)
			}
			t := newTable(cmd.OutOrStdout(), "AT", "KIND", "ACTOR", "WHAT")
			for _, h := range hs {
				actor := orDash(h.Actor)
				if s := h.Status; s != nil && s.SweepID != 0 {
					actor += fmt.Sprintf(" (sweep %d)", s.SweepID)
				} else if s != nil && s.PaymentID != 0 {
					actor += fmt.Sprintf(" (payment %d)", s.PaymentID)
				}
				t.row(h.At.Local().Format(time.RFC3339), h.Kind, actor, h.Summary)
			}
			return t.flush()
		}),
	}
}
