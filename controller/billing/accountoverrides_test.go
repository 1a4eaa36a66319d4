package billing

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// overrideType is a type with five days' grace that auto-suspends.
func overrideType() AccountType {
	return AccountType{ID: 1, Name: "Residential", DueDays: 10, GraceDays: 5, AutoSuspend: true,
		ReactivationRule: ReactivatePastDue, TimeZone: "UTC", InvoiceMessage: "Thanks!",
		LateFee: LateFee{Kind: LateFeeFlat, Amount: 500}}
}

func TestEffectiveTypeInheritsWhatIsNotOverridden(t *testing.T) {
	typ := overrideType()
	if got := EffectiveType(typ, AccountOverrides{}); !reflect.DeepEqual(got, typ) {
		t.Errorf("no overrides: %+v, want the type itself", got)
	}
	o := AccountOverrides{GraceDays: ptrTo(14), AutoSuspend: ptrTo(false), LateFee: ptrTo(false),
		ReminderDaysBefore: &[]int{}, InvoiceMessage: ptrTo("Your own terms")}
	eff := EffectiveType(typ, o)
	if eff.GraceDays != 14 || eff.AutoSuspend || eff.LateFee.Kind != LateFeeNone || eff.InvoiceMessage != "Your own terms" ||
		eff.DueDays != 10 || eff.ReactivationRule != ReactivatePastDue {
		t.Errorf("effective %+v", eff)
	}
	if want := []string{"grace_days", "reminder_days_before", "auto_suspend", "late_fee", "invoice_message"}; !reflect.DeepEqual(eff.Overridden, want) {
		t.Errorf("overridden %v, want %v", eff.Overridden, want)
	}
	// A later change to the type reaches the settings the account inherits,
	// not those it overrides.
	typ.DueDays, typ.GraceDays = 20, 3
	eff = EffectiveType(typ, o)
	if eff.DueDays != 20 || eff.GraceDays != 14 {
		t.Errorf("after the type changed: due %d grace %d, want 20 (inherited) and 14 (own)", eff.DueDays, eff.GraceDays)
	}
	if typ.LateFee.Kind != LateFeeFlat {
		t.Error("EffectiveType changed the type it was given")
	}
}

func TestEffectiveTypesComputesOncePerDistinctOverrides(t *testing.T) {
	e := NewEffectiveTypes(overrideType())
	a := e.Of(AccountOverrides{GraceDays: ptrTo(14)})
	b := e.Of(AccountOverrides{GraceDays: ptrTo(14)})
	c := e.Of(AccountOverrides{GraceDays: ptrTo(15)})
	if a.GraceDays != 14 || b.GraceDays != 14 || c.GraceDays != 15 || len(e.memo) != 2 {
		t.Errorf("grace %d %d %d, %d cached", a.GraceDays, b.GraceDays, c.GraceDays, len(e.memo))
	}
	if e.Of(AccountOverrides{}).Overridden != nil || len(e.memo) != 2 {
		t.Error("no overrides is not the type itself")
	}
}

func TestAccountOverridesValidate(t *testing.T) {
	for _, c := range []struct {
		o    AccountOverrides
		want string
	}{
		{AccountOverrides{DueDays: ptrTo(-1)}, "overrides.due_days -1"},
		{AccountOverrides{GraceDays: ptrTo(366)}, "overrides.grace_days 366"},
		{AccountOverrides{ReminderDaysBefore: &[]int{3, 0}}, "overrides.reminder_days_before[1] 0"},
		{AccountOverrides{ReminderDaysBefore: &[]int{3, 3}}, "lists 3 twice"},
		{AccountOverrides{ReactivationRule: ptrTo(ReactivationRule("never"))}, `overrides.reactivation_rule "never"`},
		{AccountOverrides{InvoiceMessage: ptrTo(strings.Repeat("x", 1001))}, "overrides.invoice_message is 1001"},
	} {
		wantInvalid(t, c.o.Validate(), c.want)
	}
	o := AccountOverrides{ReminderDaysBefore: &[]int{1, 7, 3}, ReactivationRule: ptrTo(ReactivationRule(" full_balance ")), InvoiceMessage: ptrTo(" hi ")}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*o.ReminderDaysBefore, []int{7, 3, 1}) || *o.ReactivationRule != ReactivateFullBalance || *o.InvoiceMessage != "hi" {
		t.Errorf("normalised %v %q %q", *o.ReminderDaysBefore, *o.ReactivationRule, *o.InvoiceMessage)
	}
}

// TestAssessUsesOverridesAndSaysSo: the account's own grace days move its
// delinquency date, its own auto-suspend setting keeps it from suspension,
// and both reasons say the setting is the account's own, to staff and to
// the subscriber.
func TestAssessUsesOverridesAndSaysSo(t *testing.T) {
	typ := overrideType()
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	today := mustDate("2026-12-10")
	s := Standing{AccountID: 7, Number: "A-000007", Currency: "USD", Status: AccountPastDue, Balance: 5000, Reminded: true,
		Invoices: []OwedInvoice{{ID: 1, Number: "INV-1", DueDate: mustDate("2026-12-01"), Remaining: 5000}}}
	if a := Assess(typ, rule, today, s); !a.Suspend {
		t.Fatalf("the type's own settings: %+v, want a suspension", a.Why)
	}

	s.Overrides = AccountOverrides{GraceDays: ptrTo(14)}
	a := Assess(typ, rule, today, s)
	if a.Suspend || a.Status != AccountPastDue || a.DelinquencyDate != mustDate("2026-12-15") {
		t.Fatalf("grace 14: %s %s %v", a.Status, a.DelinquencyDate, a.Why)
	}
	var grace Reason
	for _, r := range a.Reasons {
		if r.Kind == ReasonDelinquencyDate {
			grace = r
		}
		if r.Kind == ReasonInvoicePastDue && r.Override {
			t.Error("the invoice's due date is marked as an override")
		}
	}
	if !grace.Override || !strings.Contains(grace.Staff(), "14 days' grace") || !strings.Contains(grace.Staff(), "this account's own setting") {
		t.Errorf("grace reason %+v: %q", grace, grace.Staff())
	}
	sub := strings.Join(SubscriberWhy(a.Reasons, "en-US", today), " ")
	if !strings.Contains(sub, "a term agreed for your account") {
		t.Errorf("subscriber why %q does not say the term is the account's own", sub)
	}

	s.Overrides = AccountOverrides{AutoSuspend: ptrTo(false)}
	a = Assess(typ, rule, today, s)
	if a.Suspend || a.Status != AccountDelinquent {
		t.Fatalf("no auto-suspend: %s %v", a.Status, a.Why)
	}
	last := a.Reasons[len(a.Reasons)-1]
	if last.Kind != ReasonNoAutoSuspend || !last.Override || !strings.Contains(a.Why[len(a.Why)-1], "this account's own setting") {
		t.Errorf("last reason %+v: %q", last, a.Why[len(a.Why)-1])
	}
}

func TestPlanLateFeesSkipsAccountsThatTurnThemOff(t *testing.T) {
	date, now := mustDate("2026-12-20"), time.Date(2026, 12, 20, 6, 0, 0, 0, time.UTC)
	fees := PlanLateFees(overrideType(), date, now, []LateFeeInvoice{
		{ID: 1, AccountID: 7, Number: "INV-1", Currency: "USD", Total: 5000},
		{ID: 2, AccountID: 8, Number: "INV-2", Currency: "USD", Total: 5000, Overrides: AccountOverrides{LateFee: ptrTo(false)}},
		{ID: 3, AccountID: 9, Number: "INV-3", Currency: "USD", Total: 5000, Overrides: AccountOverrides{LateFee: ptrTo(true)}},
	})
	if len(fees) != 2 || *fees[0].InvoiceID != 1 || *fees[1].InvoiceID != 3 {
		t.Errorf("fees %+v, want on INV-1 and INV-3 only", fees)
	}
}

func TestPlanAccountEditOverridesAndTaxExemption(t *testing.T) {
	in := editFixture()
	in.Edit = AccountEdit{Overrides: &AccountOverrides{GraceDays: ptrTo(14)}, TaxExempt: ptrTo(true), ExemptionCertificate: ptrTo(" TX-123 ")}
	p, err := PlanAccountEdit(in)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Changed || *p.Account.Overrides.GraceDays != 14 || !p.Account.TaxExempt || p.Account.ExemptionCertificate != "TX-123" {
		t.Fatalf("plan %+v", p.Account)
	}
	if p.Audit.After["overrides"] != `{"grace_days":14}` || p.Audit.Before["overrides"] != "" || p.Audit.After["tax_exempt"] != true {
		t.Errorf("audit %+v", p.Audit)
	}

	// {} inherits everything again.
	in.Account = p.Account
	in.IfVersion = p.Account.Version
	in.Edit = AccountEdit{Overrides: &AccountOverrides{}}
	if p, err = PlanAccountEdit(in); err != nil || !p.Account.Overrides.IsZero() || p.Audit.After["overrides"] != "" {
		t.Errorf("clear: %v %+v", err, p.Audit)
	}

	in = editFixture()
	in.Edit = AccountEdit{TaxExempt: ptrTo(true)}
	_, err = PlanAccountEdit(in)
	wantInvalid(t, err, "exemption_certificate is required")
	in.Edit = AccountEdit{Overrides: &AccountOverrides{DueDays: ptrTo(-3)}}
	_, err = PlanAccountEdit(in)
	wantInvalid(t, err, "overrides.due_days -3")
}

func TestPlanTypeChangeImpact(t *testing.T) {
	a := overrideType()
	b := a
	b.GraceDays, b.InvoiceLeadDays = 7, 3
	changed := ChangedSettings(a, b)
	if !reflect.DeepEqual(changed, []string{"grace_days", "invoice_lead_days"}) {
		t.Fatalf("changed %v", changed)
	}
	got := PlanTypeChangeImpact(changed, 100, map[string]int64{"grace_days": 4})
	want := []TypeChangeImpact{{Setting: "grace_days", Inherit: 96, Overrides: 4}, {Setting: "invoice_lead_days", Inherit: 100}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("impact %+v, want %+v", got, want)
	}
}

// TestComposeInvoiceOverridesAndTaxExemption: the account's own due days
// set the due date, and a tax-exempt account is invoiced no tax.
func TestComposeInvoiceOverridesAndTaxExemption(t *testing.T) {
	at, a, jan := composeFixture(t)
	req := InvoiceRequest{Account: a, Type: at, Period: jan,
		Services: []BillableService{svc(1, fiber, "2026-01-15", "")}, Charges: []OneTimeCharge{installed}, TaxRates: []TaxRate{texas}}
	taxed, _, err := ComposeInvoice(req)
	if err != nil || taxed.Tax == 0 {
		t.Fatalf("taxed invoice: %v, tax %d", err, taxed.Tax)
	}
	req.Account.TaxExempt, req.Account.ExemptionCertificate = true, "TX-EX-1"
	req.Type = EffectiveType(at, AccountOverrides{DueDays: ptrTo(at.DueDays + 5)})
	exempt, _, err := ComposeInvoice(req)
	if err != nil {
		t.Fatal(err)
	}
	if exempt.Tax != 0 || exempt.Total != taxed.Subtotal {
		t.Errorf("exempt invoice tax %d total %d, want 0 and %d", exempt.Tax, exempt.Total, taxed.Subtotal)
	}
	if exempt.DueDate != taxed.DueDate.AddDays(5) {
		t.Errorf("due %s, want five days after %s", exempt.DueDate, taxed.DueDate)
	}
}
