package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Account create takes the account's overrides and tax exemption with the
// same field names as account edit, validated by the same core function.
func TestAccountCreateWithOverridesAndTaxExemption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.do("POST", "/api/v1/account-types", adminToken, "type", residential); r.status != 200 {
		t.Fatalf("account type: %d %s", r.status, r.body)
	}
	count := func() int {
		var n int
		if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Bad input: 422 naming the field, nothing written.
	for _, c := range []struct{ body, field string }{
		{`"overrides":{"grace_days":400}`, "overrides.grace_days"},
		{`"overrides":{"reminder_days_before":[3,3]}`, "overrides.reminder_days_before"},
		{`"overrides":{"reactivation_rule":"never"}`, "overrides.reactivation_rule"},
		{`"tax_exempt":true`, "exemption_certificate"},
	} {
		r := e.do("POST", "/api/v1/accounts", billingToken, "bad-"+c.field, `{"name":"Jane","account_type_id":1,"currency":"USD",`+c.body+`}`)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.body, r.status, r.body, c.field)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("refused creates wrote %d accounts", n)
	}

	r := e.do("POST", "/api/v1/accounts", billingToken, "good", `{"name":"Jane","account_type_id":1,"currency":"USD",
		"overrides":{"due_days":20,"grace_days":3,"auto_suspend":false,"reactivation_rule":"full_balance","reminder_days_before":[1,5]},
		"tax_exempt":true,"exemption_certificate":"TX-EX-991"}`)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created billing.Account
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	got, err := e.db.Account(context.Background(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	o := got.Overrides
	if o.DueDays == nil || *o.DueDays != 20 || o.GraceDays == nil || *o.GraceDays != 3 || o.AutoSuspend == nil || *o.AutoSuspend ||
		o.ReactivationRule == nil || *o.ReactivationRule != billing.ReactivateFullBalance ||
		o.ReminderDaysBefore == nil || len(*o.ReminderDaysBefore) != 2 || (*o.ReminderDaysBefore)[0] != 5 || o.LateFee != nil {
		t.Errorf("stored overrides %s, want due 20, grace 3, no auto-suspend, full_balance, reminders [5 1] (sorted)", o.OverridesKey())
	}
	if !got.TaxExempt || got.ExemptionCertificate != "TX-EX-991" {
		t.Errorf("stored tax exemption %v %q", got.TaxExempt, got.ExemptionCertificate)
	}
	if created.Overrides.OverridesKey() != o.OverridesKey() || !created.TaxExempt {
		t.Errorf("the create's answer %+v does not show what was stored", created)
	}

	// The OpenAPI document describes the new fields of the create.
	doc := e.do("GET", "/api/v1/openapi.json", "", "", "").json(t)
	post := doc["paths"].(map[string]any)["/api/v1/accounts"].(map[string]any)["post"].(map[string]any)
	ref, _ := json.Marshal(post["requestBody"])
	_, name, _ := strings.Cut(string(ref), "#/components/schemas/")
	name, _, _ = strings.Cut(name, `"`)
	schema, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	props, _ := schema["properties"].(map[string]any)
	for _, f := range []string{"overrides", "tax_exempt", "exemption_certificate"} {
		if _, ok := props[f]; !ok {
			t.Errorf("OpenAPI schema %q of POST /api/v1/accounts lacks %s", name, f)
		}
	}
}

// The account import takes the same settings as columns named like them.
func TestImportAccountsCSVOverridesAndTaxExemption(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	const header = "external_id,name,account_type,currency,due_days,grace_days,reminder_days_before,auto_suspend,reactivation_rule,late_fee,invoice_message,tax_exempt,exemption_certificate\n"

	bad := header +
		"b-1,Bad Grace,residential,USD,,400,,,,,,,\n" +
		"b-2,Bad Flag,residential,USD,,,,maybe,,,,,\n" +
		"b-3,No Certificate,residential,USD,,,,,,,,true,\n" +
		"b-4,Bad Days,residential,USD,,,7 x,,,,,,\n"
	beforeA, _ := e.counts()
	r := e.importCSV("", "bad", bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad file: %d %s", r.status, r.body)
	}
	var problem struct{ Errors []struct{ Message string } }
	if err := json.Unmarshal(r.body, &problem); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, m := range problem.Errors {
		msgs = append(msgs, m.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"line 2, column grace_days: overrides.grace_days 400 is out of range",
		`line 3, column auto_suspend: auto_suspend "maybe" is not true or false`,
		"line 4, column exemption_certificate: exemption_certificate is required while tax_exempt is true",
		`line 5, column reminder_days_before: reminder_days_before "7 x"`} {
		if !strings.Contains(all, want) {
			t.Errorf("the refusal lacks %q: %s", want, all)
		}
	}
	if a, _ := e.counts(); a != beforeA {
		t.Fatalf("a refused file wrote %d accounts", a-beforeA)
	}

	good := header +
		"g-1,Grace Override,residential,USD,20,3,7;1,false,full_balance,false,Thank you,true,CERT-7\n" +
		"g-2,Inherits All,residential,USD,,,,,,,,,\n" +
		"g-3,No Reminders,residential,USD,,,none,,,,,,\n"
	res := e.result(e.importCSV("", "good", good))
	if res.AccountsCreated != 3 || len(res.Errors) != 0 {
		t.Fatalf("import: %+v", res)
	}
	account := func(ext string) billing.Account {
		as, err := e.db.Accounts(context.Background(), billing.AccountFilter{Search: ext})
		if err != nil || len(as) != 1 {
			t.Fatalf("accounts for %s: %+v %v", ext, as, err)
		}
		return as[0]
	}
	g1 := account("g-1")
	o := g1.Overrides
	if o.DueDays == nil || *o.DueDays != 20 || o.GraceDays == nil || *o.GraceDays != 3 || o.AutoSuspend == nil || *o.AutoSuspend ||
		o.ReactivationRule == nil || *o.ReactivationRule != billing.ReactivateFullBalance || o.LateFee == nil || *o.LateFee ||
		o.InvoiceMessage == nil || *o.InvoiceMessage != "Thank you" || o.ReminderDaysBefore == nil || len(*o.ReminderDaysBefore) != 2 ||
		!g1.TaxExempt || g1.ExemptionCertificate != "CERT-7" {
		t.Errorf("g-1 imported as %s, exempt %v %q", o.OverridesKey(), g1.TaxExempt, g1.ExemptionCertificate)
	}
	if g2 := account("g-2"); !g2.Overrides.IsZero() || g2.TaxExempt {
		t.Errorf("g-2 with empty cells overrides %s, exempt %v: it should inherit everything", g2.Overrides.OverridesKey(), g2.TaxExempt)
	}
	if g3 := account("g-3").Overrides; g3.ReminderDaysBefore == nil || len(*g3.ReminderDaysBefore) != 0 {
		t.Errorf("g-3 (reminder_days_before none) overrides %s, want no reminders", g3.OverridesKey())
	}
}
