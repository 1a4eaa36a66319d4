package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func newAccountTypeCmd(g *globals) *cobra.Command {
	return group("account-type account-types at", "Create, list, show and update account types (billing profiles and their settings)",
		newAccountTypeWriteCmd(g, false),
		listCmd(g, listing[billing.AccountType]{
			use: "list", short: "List account types with their main billing settings",
			example: "  tollgatectl account-type list",
			path:    "/api/v1/account-types",
			headers: "ID,NAME,BILLING,LEAD,DUE,GRACE,TIME ZONE,AUTO-SUSPEND,DELIVERY",
			row: func(t billing.AccountType) []any {
				return []any{t.ID, t.Name, billingMode(t), t.InvoiceLeadDays, t.DueDays, t.GraceDays, t.TimeZone, yesNo(t.AutoSuspend), orDash(string(t.DefaultDelivery))}
			},
		}),
		showCmd(g, "show ID", "Show an account type's billing settings",
			"  tollgatectl account-type show 1\n  tollgatectl account-type show 1 -o json > type.json", "account type", "/api/v1/account-types", printAccountType), newAccountTypeWriteCmd(g, true))
}

const accountTypeExample = `# residential.yaml
name: residential
billing_mode: fixed_day
billing_day: 1
invoice_lead_days: 10
due_days: 14
grace_days: 5
delinquency_weekdays: [1, 2, 3, 4]    # Monday-Thursday
holiday_calendars: [US]
exclusions:
  - {date: 2025-12-24, yearly: true, name: Christmas Eve}
time_zone: America/Chicago
min_delinquent_balance: 500           # minor units
late_fee: {kind: flat, amount: 1000, after_days: 0}
auto_suspend: true
reactivation_rule: past_due
pending_payments: hold                # ignore | hold | restore: ACH payments still settling
receipts_for: [portal, autopay]       # e-mail a receipt for these payments (also: staff, batch)
default_delivery: email`

// newAccountTypeWriteCmd is "create --file" or, with update, "update ID --file".
func newAccountTypeWriteCmd(g *globals, update bool) *cobra.Command {
	var file string
	ch := change[billing.AccountType]{use: "create --file TYPE.yaml",
		short:   "Create an account type from a YAML or JSON file of its settings",
		example: "  tollgatectl account-type create --file residential.yaml\n\n" + "  " + strings.ReplaceAll(accountTypeExample, "\n", "\n  "),
		send: func(ctx context.Context, c *client.Client, ids []int64, key string, _ map[string]any) (t billing.AccountType, err error) {
			data, contentType, err := readDocument(file)
			if err != nil {
				return t, err
			}
			method, path := http.MethodPost, "/api/v1/account-types"
			if update {
				method, path = http.MethodPut, idPath(path, ids[0])
			}
			err = c.DoRaw(ctx, method, path, nil, key, contentType, data, &t)
			return t, err
		},
		show: printAccountType}
	if update {
		ch.use, ch.args = "update ID --file TYPE.yaml", []string{"account type"}
		ch.short = "Replace an account type's settings from a YAML or JSON file (every setting: unset ones take their defaults)"
		ch.example = "  tollgatectl account-type update 1 --file type.json"
	}
	cmd := changeCmd(g, ch)
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file with the account type's settings (- for stdin)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func billingMode(t billing.AccountType) string {
	if t.BillingMode == billing.BillingFixedDay {
		return fmt.Sprintf("fixed day %d", t.BillingDay)
	}
	return string(t.BillingMode)
}

func printAccountType(w io.Writer, t billing.AccountType) error {
	days := make([]string, len(t.DelinquencyWeekdays))
	for i, d := range t.DelinquencyWeekdays {
		days[i] = d.String()[:3]
	}
	var ex []string
	for _, e := range t.Exclusions {
		s := e.Date.String()
		if e.Yearly {
			s = fmt.Sprintf("%02d-%02d yearly", e.Date.Month, e.Date.Day)
		}
		if e.Name != "" {
			s += " (" + e.Name + ")"
		}
		ex = append(ex, s)
	}
	fee := map[billing.LateFeeKind]string{billing.LateFeeFlat: fmt.Sprintf("%d (minor units) %d days after due", t.LateFee.Amount, t.LateFee.AfterDays),
		billing.LateFeePercent: fmt.Sprintf("%s%% of the open amount %d days after due", t.LateFee.Percent, t.LateFee.AfterDays)}[t.LateFee.Kind]
	return textout.Fields(w, "ID", t.ID, "Name", t.Name, "Billing", billingMode(t),
		"Days", fmt.Sprintf("invoice %d days before the period, due %d days after issue, delinquent %d days after due", t.InvoiceLeadDays, t.DueDays, t.GraceDays),
		"Delinquent on", orDash(strings.Join(days, ", ")), "Exclusions", orDash(strings.Join(ex, ", ")),
		"Holiday calendars", orDash(strings.Join(t.HolidayCalendars, ", ")), "Date rule on issue", yesNo(t.ApplyDateRuleToIssue),
		"Time zone", t.TimeZone, "Min delinquent balance", fmt.Sprintf("%d (minor units)", t.MinDelinquentBalance),
		"Late fee", cmp.Or(fee, "none"), "Reconnection fee", fmt.Sprintf("%d (minor units)", t.ReconnectionFee),
		"Auto-suspend", yesNo(t.AutoSuspend), "Reactivation", orDash(string(t.ReactivationRule)),
		"Autopay retry days", orDash(joinNumbers(t.AutopayRetryDays, ", ")), "Reminder days before", orDash(joinNumbers(t.ReminderDaysBefore, ", ")),
		"Business hours", fmt.Sprintf("%02d-%02d", t.BusinessHours.Start, t.BusinessHours.End), "Invoice message", orDash(t.InvoiceMessage),
		"Remittance slip", yesNo(t.RemittanceSlip), "Default delivery", orDash(string(t.DefaultDelivery)),
		"Pending payments", cmp.Or(string(t.PendingPayments), string(billing.PendingIgnore)),
		"Receipts for", receiptsFor(t))
}

func newPlanCmd(g *globals) *cobra.Command {
	return group("plan plans", "Create, list and show service plans (recurring prices)",
		append(newPlanPriceCmds(g),
			changeCmd(g, change[billing.Plan]{use: "create --name NAME --price AMOUNT --currency CODE [--interval monthly] [--taxable]",
				short:   "Create a plan: a price per billing interval in one currency",
				example: `  tollgatectl plan create --name "Fiber 100" --price 49.99 --currency USD --interval monthly --taxable`,
				method:  http.MethodPost, path: "/api/v1/plans",
				params: []param{{"name", "name", "plan name, unique (required)", textParam},
					{"price", "price", "price per interval as a decimal amount, e.g. 49.99 (required)", textParam},
					{"currency", "currency", "ISO 4217 currency code, e.g. USD (required)", textParam},
					{"interval", "interval", "billing interval: monthly (the default), quarterly, annual", textParam},
					{"taxable", "taxable", "tax the plan's charges at the account's jurisdiction's rates", switchParam}},
				show: asTable(planColumns, planRow)}),
			listCmd(g, listing[billing.Plan]{use: "list", short: "List plans", example: "  tollgatectl plan list",
				path: "/api/v1/plans", headers: planColumns, row: planRow}),
			showCmd(g, "show ID", "Show a plan", "  tollgatectl plan show 3", "plan", "/api/v1/plans", asTable(planColumns, planRow)),
			newPlanProfileCmd(g))...)
}

// planColumns are a plan table's.
const planColumns = "ID,NAME,PRICE,INTERVAL,TAXABLE"

func planRow(p billing.Plan) []any {
	return []any{p.ID, p.Name, money(p.Price, p.Currency), p.Interval, yesNo(p.Taxable)}
}

func newTaxRateCmd(g *globals) *cobra.Command {
	set := changeCmd(g, change[billing.TaxRate]{use: "set --jurisdiction CODE --name NAME --rate FRACTION",
		short:   "Create or replace one tax of a jurisdiction (the rate is a fraction: 0.0825 is 8.25%)",
		example: `  tollgatectl tax-rate set --jurisdiction US-TX-AUSTIN --name "Texas sales tax" --rate 0.0625`,
		method:  http.MethodPost, path: "/api/v1/tax-rates",
		params: []param{{"jurisdiction", "jurisdiction", "jurisdiction code accounts name in tax_jurisdiction (required)", textParam},
			{"name", "name", "tax name printed on invoices (required)", textParam},
			{"rate", "rate", "rate as a decimal fraction: 0.0825 is 8.25% (required)", textParam}},
		show: asTable(taxRateColumns, taxRateRow)})
	list := listCmd(g, listing[billing.TaxRate]{use: "list", short: "List tax rates by jurisdiction", example: "  tollgatectl tax-rate list",
		path: "/api/v1/tax-rates", headers: taxRateColumns, row: taxRateRow})
	return group("tax-rate tax-rates", "Set and list the tax rates of tax jurisdictions", set, list)
}

const taxRateColumns = "JURISDICTION,NAME,RATE,PERCENT"

func taxRateRow(r billing.TaxRate) []any { return []any{r.Jurisdiction, r.Name, r.Rate, r.Percent()} }

// receiptsFor names the channels whose payments get an e-mailed receipt.
func receiptsFor(t billing.AccountType) string {
	if t.ReceiptsFor == nil {
		t.ReceiptsFor = billing.DefaultReceiptChannels
	}
	names := make([]string, len(t.ReceiptsFor))
	for i, c := range t.ReceiptsFor {
		names[i] = string(c)
	}
	return orDash(strings.Join(names, ", "))
}
