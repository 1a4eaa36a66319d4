package billing

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptrTo[T any](v T) *T { return &v }

// editFixture is a current account of a fixed-day type (day 1), at version 3.
func editFixture() AccountEditInput {
	fixed := AccountType{ID: 1, Name: "Residential", BillingMode: BillingFixedDay, BillingDay: 1, TimeZone: "America/Chicago"}
	return AccountEditInput{
		Account: Account{ID: 7, Number: "A-000007", Name: "Jane Roe", Email: "jane@example.net", Phone: "555-0100",
			Address: Address{Line1: "1 Main St", City: "Springfield"}, AccountTypeID: 1, Currency: "USD",
			Status: AccountCurrent, Delivery: DeliveryEmail, Version: 3},
		Type:      fixed,
		IfVersion: 3,
		Actor:     "clerk",
		At:        time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC),
	}
}

func TestPlanAccountEditRecordsOnlyChangedFields(t *testing.T) {
	in := editFixture()
	in.Edit = AccountEdit{Name: ptrTo(" Jane Roe "), Email: ptrTo(" jane.roe@example.net "), CompanyName: ptrTo("Roe LLC"),
		Locale: ptrTo(Locale("de_de")), Reason: "customer called"}
	p, err := PlanAccountEdit(in)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Changed || p.Account.Version != 4 {
		t.Fatalf("changed %v version %d, want true and 4", p.Changed, p.Account.Version)
	}
	if p.Account.Email != "jane.roe@example.net" || p.Account.CompanyName != "Roe LLC" || p.Account.Locale != "de-DE" || p.Account.Name != "Jane Roe" {
		t.Errorf("new record %+v", p.Account)
	}
	wantBefore := map[string]any{"email": "jane@example.net", "company_name": "", "locale": ""}
	wantAfter := map[string]any{"email": "jane.roe@example.net", "company_name": "Roe LLC", "locale": "de-DE"}
	if !reflect.DeepEqual(p.Audit.Before, wantBefore) || !reflect.DeepEqual(p.Audit.After, wantAfter) {
		t.Errorf("audit before %v after %v; want %v and %v (name unchanged, so absent)", p.Audit.Before, p.Audit.After, wantBefore, wantAfter)
	}
	if p.Audit.Actor != "clerk" || p.Audit.Entity != EntityAccount || p.Audit.EntityID != 7 || p.Audit.Reason != "customer called" || !p.Audit.At.Equal(in.At) {
		t.Errorf("audit %+v", p.Audit)
	}
	if got := p.Audit.Fields(); !reflect.DeepEqual(got, []string{"company_name", "email", "locale"}) {
		t.Errorf("fields %v", got)
	}
	if len(p.Consequences) != 0 {
		t.Errorf("consequences %v, want none", p.Consequences)
	}
}

func TestPlanAccountEditNoChangeWritesNothing(t *testing.T) {
	in := editFixture()
	in.Edit = AccountEdit{Name: ptrTo("Jane Roe"), Address: &Address{Line1: "1 Main St", City: "Springfield"}}
	p, err := PlanAccountEdit(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Changed || p.Account.Version != 3 || p.Audit.Before != nil {
		t.Errorf("an edit that changes nothing: %+v", p)
	}
}

func TestPlanAccountEditRefuses(t *testing.T) {
	anniversary := AccountType{ID: 2, Name: "Business", BillingMode: BillingAnniversary}
	fixed15 := AccountType{ID: 3, Name: "Day 15", BillingMode: BillingFixedDay, BillingDay: 15}
	tests := []struct {
		name   string
		change func(*AccountEditInput)
		want   []string
	}{
		{"bad email", func(in *AccountEditInput) { in.Edit.Email = ptrTo("jane at example") }, []string{"email", "jane at example"}},
		{"email with a name", func(in *AccountEditInput) { in.Edit.Email = ptrTo("Jane <jane@example.net>") }, []string{"email"}},
		{"empty name", func(in *AccountEditInput) { in.Edit.Name = ptrTo("  ") }, []string{"name may not be empty"}},
		{"long name", func(in *AccountEditInput) { in.Edit.Name = ptrTo(strings.Repeat("x", 201)) }, []string{"name", "201 characters"}},
		{"control character", func(in *AccountEditInput) { in.Edit.Phone = ptrTo("555\x00") }, []string{"phone", "control character"}},
		{"address too long", func(in *AccountEditInput) { in.Edit.Address = &Address{PostalCode: strings.Repeat("9", 21)} }, []string{"address.postal_code"}},
		{"unknown locale", func(in *AccountEditInput) { in.Edit.Locale = ptrTo(Locale("fr-FR")) }, []string{"locale", "fr-FR", "en-US"}},
		{"bad delivery", func(in *AccountEditInput) { in.Edit.Delivery = ptrTo(Delivery("fax")) }, []string{"delivery", "fax"}},
		{"email delivery without email", func(in *AccountEditInput) { in.Edit.Email = ptrTo("") }, []string{"email", "needs an email"}},
		{"both without email", func(in *AccountEditInput) {
			in.Account.Email, in.Account.Delivery = "", ""
			in.Edit.Delivery = ptrTo(DeliveryBoth)
		}, []string{"delivery", "needs an email"}},
		{"type id not positive", func(in *AccountEditInput) { in.Edit.AccountTypeID = ptrTo(int64(0)) }, []string{"account_type_id 0"}},
		{"unknown type", func(in *AccountEditInput) { in.Edit.AccountTypeID = ptrTo(int64(99)) }, []string{"account_type_id 99 does not exist"}},
		{"type with another billing day", func(in *AccountEditInput) {
			in.Edit.AccountTypeID, in.NewType = ptrTo(int64(3)), fixed15
		}, []string{"account_type_id 3", "day 1", "day 15", "prorated"}},
		{"anniversary type from fixed", func(in *AccountEditInput) {
			in.Edit.AccountTypeID, in.NewType = ptrTo(int64(2)), anniversary
		}, []string{"account_type_id 2", "anniversary"}},
		{"billing day on anniversary type", func(in *AccountEditInput) {
			in.Type, in.Account.AccountTypeID = anniversary, 2
			in.Edit.BillingDay = ptrTo(10)
		}, []string{"billing_day", "fixed_day"}},
		{"billing day out of range", func(in *AccountEditInput) { in.Edit.BillingDay = ptrTo(32) }, []string{"billing_day 32"}},
		{"closed account", func(in *AccountEditInput) {
			in.Account.Status = AccountClosed
			in.Edit.Phone = ptrTo("1")
		}, []string{"closed", "read-only"}},
		{"reason too long", func(in *AccountEditInput) { in.Edit.Reason = strings.Repeat("r", 501) }, []string{"reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := editFixture()
			tt.change(&in)
			_, err := PlanAccountEdit(in)
			wantInvalid(t, err, tt.want...)
		})
	}
}

func TestPlanAccountEditStaleVersion(t *testing.T) {
	in := editFixture()
	in.IfVersion = 2
	in.Edit.Phone = ptrTo("555-0199")
	_, err := PlanAccountEdit(in)
	if ErrorCode(err) != EPRECONDITION || !strings.Contains(ErrorMessage(err), "version 3, not 2") {
		t.Fatalf("error %v, want EPRECONDITION naming versions 3 and 2", err)
	}
}

func TestPlanAccountEditTypeChangeAppliesFromNextPeriod(t *testing.T) {
	in := editFixture()
	business := AccountType{ID: 4, Name: "Business", BillingMode: BillingFixedDay, BillingDay: 1, TimeZone: "America/Chicago", DueDays: 30}
	in.Edit.AccountTypeID, in.NewType = ptrTo(int64(4)), business
	p, err := PlanAccountEdit(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Account.AccountTypeID != 4 || p.Audit.Before["account_type_id"] != int64(1) || p.Audit.After["account_type_id"] != int64(4) {
		t.Errorf("account %+v audit %+v", p.Account, p.Audit)
	}
	if len(p.Consequences) != 1 || p.Consequences[0].Kind != ConsequenceTypeNextPeriod ||
		!strings.Contains(p.Consequences[0].Message, "from 2027-01-01") {
		t.Errorf("consequences %+v, want the type's rules from the next period (2027-01-01)", p.Consequences)
	}
}

func TestPlanAccountEditBillingDay(t *testing.T) {
	in := editFixture()
	in.Edit.BillingDay = ptrTo(15)
	p, err := PlanAccountEdit(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Account.BillingDay != 15 || len(p.Consequences) != 1 || p.Consequences[0].Kind != ConsequenceBillingDayNextPeriod ||
		!strings.Contains(p.Consequences[0].Message, "billing day 1 → 15") {
		t.Fatalf("plan %+v", p)
	}
	// Nothing invoiced yet: nothing to adjust.
	if p.BillingDayChange == nil || len(p.BillingDayChange.Lines) != 0 {
		t.Fatalf("preview %+v", p.BillingDayChange)
	}
	// With December invoiced and a Fiber 50 service, the preview is the
	// transitional period Jan 1..14: 14 of the 31 days of Dec 15..Jan 14.
	withInvoice := in
	withInvoice.LastInvoiced = per("2026-12-01", "2027-01-01")
	withInvoice.Services = []LifecycleService{{Ref: ServiceRef{ID: 3, AccountID: 7}, Name: "Home",
		Plan: Plan{ID: 1, Name: "Fiber 50", Price: 5000, Currency: "USD", Interval: IntervalMonthly}, Start: mustDate("2026-01-01")}}
	pv, err := PlanAccountEdit(withInvoice)
	want := Prorate(5000, per("2026-12-15", "2027-01-15"), mustDate("2027-01-01"), mustDate("2027-01-15"))
	if err != nil || pv.BillingDayChange == nil || pv.BillingDayChange.InvoicePeriod != per("2027-01-01", "2027-01-15") ||
		pv.BillingDayChange.Net != want || !strings.Contains(pv.Consequences[0].Message, "transitional period") {
		t.Fatalf("preview %+v %v; want %d for Jan 1..14", pv.BillingDayChange, err, want)
	}
	// The override moves the periods.
	if d, _ := AccountAnchor(in.Type, p.Account); d != 15 {
		t.Errorf("anchor day %d, want the override's 15", d)
	}
	// Removing it again moves them back to the type's day.
	in.Account, in.IfVersion = p.Account, p.Account.Version
	in.Edit = AccountEdit{BillingDay: ptrTo(0)}
	p, err = PlanAccountEdit(in)
	if err != nil || p.Account.BillingDay != 0 || p.Audit.Before["billing_day"] != 15 || len(p.Consequences) != 1 ||
		!strings.Contains(p.Consequences[0].Message, "billing day 15 → 1") {
		t.Fatalf("remove override: %+v %v", p, err)
	}
	if d, _ := AccountAnchor(in.Type, p.Account); d != 1 {
		t.Errorf("anchor day %d, want the type's 1", d)
	}
}

func TestAccountHistoryNewestFirst(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	edits := []AuditEntry{
		{ID: 1, Actor: "clerk", At: t0.Add(time.Hour), After: map[string]any{"email": "a@b.c"}, Before: map[string]any{"email": ""}},
		{ID: 2, Actor: "root", At: t0.Add(3 * time.Hour), After: map[string]any{"phone": "1", "name": "X"}, Reason: "typo"},
	}
	statuses := []StatusChange{
		{ID: 5, From: AccountCurrent, To: AccountPastDue, Cause: "sweep", Actor: "job:sweep", At: t0.Add(2 * time.Hour), Why: []string{"invoice overdue"}},
		{ID: 6, From: AccountPastDue, To: AccountCurrent, Cause: "payment", Actor: "clerk", At: t0.Add(3 * time.Hour)},
	}
	h := AccountHistory(edits, statuses)
	var got []string
	for _, e := range h {
		got = append(got, e.Kind+": "+e.Summary)
	}
	want := []string{
		"edit: changed name, phone: typo",
		"status: past_due → current (payment)",
		"status: current → past_due (sweep): invoice overdue",
		"edit: changed email",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history\n%q\nwant\n%q", got, want)
	}
}
