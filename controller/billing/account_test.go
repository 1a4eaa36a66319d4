package billing

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPlanValidate(t *testing.T) {
	p := Plan{Name: " Fiber 100 ", Price: 5000, Currency: "usd"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Name != "Fiber 100" || p.Currency != "USD" || p.Interval != IntervalMonthly {
		t.Errorf("not normalised: %+v", p)
	}
	tests := []struct {
		name string
		p    Plan
		want []string
	}{
		{"no name", Plan{Price: 1, Currency: "USD"}, []string{"name is required"}},
		{"negative price", Plan{Name: "x", Price: -100, Currency: "USD"}, []string{"price -100"}},
		{"unknown currency", Plan{Name: "x", Currency: "XYZ"}, []string{"currency", `"XYZ"`}},
		{"unknown interval", Plan{Name: "x", Currency: "USD", Interval: "weekly"}, []string{"interval", `"weekly"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantInvalid(t, tc.p.Validate(), tc.want...) })
	}
}

func TestNewAccountValidate(t *testing.T) {
	good := NewAccount{Name: " Ada Lovelace ", Email: "ada@example.net", AccountTypeID: 1, Currency: "usd", Delivery: DeliveryBoth}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if good.Name != "Ada Lovelace" || good.Currency != "USD" {
		t.Errorf("not normalised: %+v", good)
	}
	mailOnly := NewAccount{Name: "Bob", AccountTypeID: 1, Currency: "CAD", Delivery: DeliveryMail}
	if err := mailOnly.Validate(); err != nil {
		t.Errorf("mail delivery without email: %v", err)
	}
	tests := []struct {
		name   string
		modify func(*NewAccount)
		want   []string
	}{
		{"no name", func(a *NewAccount) { a.Name = "" }, []string{"name is required"}},
		{"bad email", func(a *NewAccount) { a.Email = "ada@" }, []string{"email", `"ada@"`}},
		{"display-name email", func(a *NewAccount) { a.Email = "Ada <ada@example.net>" }, []string{"email", `"Ada <ada@example.net>"`}},
		{"two emails", func(a *NewAccount) { a.Email = "a@x.net, b@x.net" }, []string{"email"}},
		{"unknown currency", func(a *NewAccount) { a.Currency = "XYZ" }, []string{"currency", `"XYZ"`}},
		{"no currency", func(a *NewAccount) { a.Currency = "" }, []string{"currency", `""`}},
		{"unknown delivery", func(a *NewAccount) { a.Delivery = "fax" }, []string{"delivery", `"fax"`}},
		{"email delivery without email", func(a *NewAccount) { a.Email, a.Delivery = "", DeliveryEmail }, []string{"delivery", "needs an email"}},
		{"no account type", func(a *NewAccount) { a.AccountTypeID = 0 }, []string{"account_type_id", "0"}},
		{"bad anchor", func(a *NewAccount) { a.AnchorDate = Date{2026, 2, 30} }, []string{"anchor_date", "2026-02-30"}},
		{"long postal code", func(a *NewAccount) { a.Address.PostalCode = strings.Repeat("9", 21) }, []string{"address.postal_code", "21"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAccount{Name: "Ada", Email: "ada@example.net", AccountTypeID: 1, Currency: "USD"}
			tc.modify(&a)
			wantInvalid(t, a.Validate(), tc.want...)
		})
	}
}

func TestOneTimeChargeValidate(t *testing.T) {
	c := OneTimeCharge{AccountID: 1, Description: " Installation ", Amount: 2500, ChargeDate: mustDate("2026-01-05")}
	if err := c.Validate(); err != nil || c.Description != "Installation" {
		t.Fatal(c, err)
	}
	tests := []struct {
		name   string
		modify func(*OneTimeCharge)
		want   []string
	}{
		{"no account", func(c *OneTimeCharge) { c.AccountID = 0 }, []string{"account_id", "0"}},
		{"no description", func(c *OneTimeCharge) { c.Description = " " }, []string{"description is required"}},
		{"zero amount", func(c *OneTimeCharge) { c.Amount = 0 }, []string{"amount 0", "positive"}},
		{"negative amount", func(c *OneTimeCharge) { c.Amount = -5 }, []string{"amount -5", "credit"}},
		{"no date", func(c *OneTimeCharge) { c.ChargeDate = Date{} }, []string{"charge_date is required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := OneTimeCharge{AccountID: 1, Description: "Installation", Amount: 2500, ChargeDate: mustDate("2026-01-05")}
			tc.modify(&c)
			wantInvalid(t, c.Validate(), tc.want...)
		})
	}
}

func TestAccountHelpers(t *testing.T) {
	for _, s := range []AccountStatus{AccountCurrent, AccountPastDue, AccountDelinquent, AccountSuspended, AccountClosed} {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	if AccountStatus("active").Valid() {
		t.Error("active is not an account status")
	}
	at := AccountType{DefaultDelivery: DeliveryMail}
	if d := (Account{}).EffectiveDelivery(at); d != DeliveryMail {
		t.Errorf("delivery = %s", d)
	}
	if d := (Account{Delivery: DeliveryBoth}).EffectiveDelivery(at); d != DeliveryBoth {
		t.Errorf("delivery = %s", d)
	}
}

func TestJSONShapes(t *testing.T) {
	a := Account{ID: 1, Number: "A-000001", Address: Address{PostalCode: "78701"}, TaxJurisdiction: "US-TX", AnchorDate: mustDate("2026-01-31")}
	b, _ := json.Marshal(a)
	for _, f := range []string{`"postal_code":"78701"`, `"tax_jurisdiction":"US-TX"`, `"anchor_date":"2026-01-31"`, `"account_type_id":0`, `"external_id":""`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("account JSON %s lacks %s", b, f)
		}
	}
	inv := Invoice{Period: per("2026-01-01", "2026-02-01"), Lines: []InvoiceLine{{Kind: LineTax, Amount: 5}}}
	b, _ = json.Marshal(inv)
	for _, f := range []string{`"period":{"start":"2026-01-01","end":"2026-02-01"}`, `"delinquency_date":null`, `"kind":"tax"`, `"period_start":null`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("invoice JSON %s lacks %s", b, f)
		}
	}
	var back Invoice
	if err := json.Unmarshal(b, &back); err != nil || back.Period != inv.Period {
		t.Errorf("round trip: %v %+v", err, back)
	}
	tx, _ := json.Marshal(CreditTx(1, "USD", 5, "m", mustDate("2026-01-05")))
	if !strings.Contains(string(tx), `"entries":[{"ledger":"credits_and_adjustments","amount":5},{"ledger":"accounts_receivable","amount":-5}]`) {
		t.Errorf("tx JSON %s", tx)
	}
}
