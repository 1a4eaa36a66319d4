package billing

import (
	"slices"
	"testing"
	"time"
)

func validType() AccountType {
	return AccountType{Name: "Residential", BillingMode: BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 10, DueDays: 14, GraceDays: 7}
}

func TestAccountTypeValidateDefaults(t *testing.T) {
	at := AccountType{Name: "  Residential  "}
	if err := at.Validate(); err != nil {
		t.Fatal(err)
	}
	if at.Name != "Residential" {
		t.Errorf("name = %q, want trimmed", at.Name)
	}
	if at.BillingMode != BillingAnniversary || at.TimeZone != "UTC" || at.LateFee.Kind != LateFeeNone ||
		at.ReactivationRule != ReactivatePastDue || at.DefaultDelivery != DeliveryEmail ||
		at.BusinessHours != (BusinessHours{9, 17}) || len(at.DelinquencyWeekdays) != 7 {
		t.Errorf("defaults not filled: %+v", at)
	}
	loc, err := at.Location()
	if err != nil || loc != time.UTC {
		t.Errorf("Location() = %v, %v; want UTC", loc, err)
	}

	at = validType()
	at.DelinquencyWeekdays = []time.Weekday{time.Friday, time.Monday}
	at.HolidayCalendars = []string{"us", "US", " ca "}
	at.TimeZone = "America/Chicago"
	at.LateFee = LateFee{Kind: LateFeePercent, Percent: " 1.5 ", AfterDays: 5}
	if err := at.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(at.DelinquencyWeekdays, []time.Weekday{time.Monday, time.Friday}) {
		t.Errorf("weekdays = %v, want sorted", at.DelinquencyWeekdays)
	}
	if !slices.Equal(at.HolidayCalendars, []string{"US", "CA"}) {
		t.Errorf("calendars = %v, want upper-cased and de-duplicated", at.HolidayCalendars)
	}
	if at.LateFee.Percent != "1.5" {
		t.Errorf("percent = %q", at.LateFee.Percent)
	}
	if loc, err := at.Location(); err != nil || loc.String() != "America/Chicago" {
		t.Errorf("Location() = %v, %v", loc, err)
	}
}

func TestAccountTypeValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*AccountType)
		want   []string
	}{
		{"empty name", func(a *AccountType) { a.Name = "  " }, []string{"name is required"}},
		{"long name", func(a *AccountType) { a.Name = string(slices.Repeat([]rune{'x'}, 101)) }, []string{"name", "101", "100"}},
		{"unknown mode", func(a *AccountType) { a.BillingMode = "weekly" }, []string{"billing_mode", `"weekly"`}},
		{"fixed day without day", func(a *AccountType) { a.BillingDay = 0 }, []string{"billing_day", "required"}},
		{"billing day 32", func(a *AccountType) { a.BillingDay = 32 }, []string{"billing_day", "32"}},
		{"billing day negative (anniversary)", func(a *AccountType) { a.BillingMode = BillingAnniversary; a.BillingDay = -1 }, []string{"billing_day", "-1"}},
		{"lead days negative", func(a *AccountType) { a.InvoiceLeadDays = -1 }, []string{"invoice_lead_days", "-1"}},
		{"due days 366", func(a *AccountType) { a.DueDays = 366 }, []string{"due_days", "366"}},
		{"grace days 400", func(a *AccountType) { a.GraceDays = 400 }, []string{"grace_days", "400"}},
		{"weekday 7", func(a *AccountType) { a.DelinquencyWeekdays = []time.Weekday{1, 7} }, []string{"delinquency_weekdays", "7"}},
		{"weekday twice", func(a *AccountType) { a.DelinquencyWeekdays = []time.Weekday{1, 2, 1} }, []string{"delinquency_weekdays", "Monday", "twice"}},
		{"exclusion without date", func(a *AccountType) { a.Exclusions = []Exclusion{{Name: "x"}} }, []string{"exclusions[0]", "no date"}},
		{"exclusion Feb 30", func(a *AccountType) { a.Exclusions = []Exclusion{{Date: Date{2026, 2, 30}}} }, []string{"exclusions[0]", "2026-02-30"}},
		{"unknown calendar", func(a *AccountType) { a.HolidayCalendars = []string{"US", "XX"} }, []string{"holiday_calendars", `"XX"`}},
		{"bad time zone", func(a *AccountType) { a.TimeZone = "Mars/Base" }, []string{`time_zone "Mars/Base" is not an IANA time zone`}},
		{"Local time zone", func(a *AccountType) { a.TimeZone = "Local" }, []string{"time_zone", `"Local"`}},
		{"negative min balance", func(a *AccountType) { a.MinDelinquentBalance = -5 }, []string{"min_delinquent_balance", "-5"}},
		{"unknown late fee kind", func(a *AccountType) { a.LateFee.Kind = "daily" }, []string{"late_fee.kind", `"daily"`}},
		{"flat fee zero", func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeeFlat} }, []string{"late_fee.amount", "0"}},
		{"flat fee negative", func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeeFlat, Amount: -100} }, []string{"late_fee.amount", "-100"}},
		{"flat fee with percent", func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeeFlat, Amount: 500, Percent: "2"} }, []string{"late_fee.percent", `"2"`}},
		{"percent not a number", func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeePercent, Percent: "five"} }, []string{"late_fee.percent", `"five"`}},
		{"percent zero", func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeePercent, Percent: "0"} }, []string{"late_fee.percent", `"0"`}},
		{"percent over 100", func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeePercent, Percent: "100.01"} }, []string{"late_fee.percent", `"100.01"`}},
		{"none with amount", func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeeNone, Amount: 5} }, []string{"late_fee.kind none"}},
		{"late fee after days", func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeeFlat, Amount: 5, AfterDays: 366} }, []string{"late_fee.after_days", "366"}},
		{"negative reconnection fee", func(a *AccountType) { a.ReconnectionFee = -1 }, []string{"reconnection_fee", "-1"}},
		{"unknown reactivation", func(a *AccountType) { a.ReactivationRule = "half" }, []string{"reactivation_rule", `"half"`}},
		{"retry day 0", func(a *AccountType) { a.AutopayRetryDays = []int{0, 3} }, []string{"autopay_retry_days[0]", "0"}},
		{"retry day 61", func(a *AccountType) { a.AutopayRetryDays = []int{1, 61} }, []string{"autopay_retry_days[1]", "61"}},
		{"retry days not increasing", func(a *AccountType) { a.AutopayRetryDays = []int{1, 5, 3} }, []string{"autopay_retry_days", "[1 5 3]", "increasing"}},
		{"retry days repeated", func(a *AccountType) { a.AutopayRetryDays = []int{1, 1} }, []string{"autopay_retry_days", "increasing"}},
		{"reminder day 0", func(a *AccountType) { a.ReminderDaysBefore = []int{3, 0} }, []string{"reminder_days_before[1]", "0"}},
		{"reminder day twice", func(a *AccountType) { a.ReminderDaysBefore = []int{3, 1, 3} }, []string{"reminder_days_before", "3 twice"}},
		{"business hours inverted", func(a *AccountType) { a.BusinessHours = BusinessHours{17, 9} }, []string{"business_hours", "17-9"}},
		{"business hours past 24", func(a *AccountType) { a.BusinessHours = BusinessHours{8, 25} }, []string{"business_hours", "8-25"}},
		{"long invoice message", func(a *AccountType) { a.InvoiceMessage = string(slices.Repeat([]rune{'é'}, 1001)) }, []string{"invoice_message", "1001"}},
		{"unknown delivery", func(a *AccountType) { a.DefaultDelivery = "fax" }, []string{"default_delivery", `"fax"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := validType()
			tc.modify(&at)
			wantInvalid(t, at.Validate(), tc.want...)
		})
	}
}

func TestAccountTypeValidateAccepts(t *testing.T) {
	for name, modify := range map[string]func(*AccountType){
		"percent 100":               func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeePercent, Percent: "100"} },
		"flat fee":                  func(a *AccountType) { a.LateFee = LateFee{Kind: LateFeeFlat, Amount: 500, AfterDays: 365} },
		"business hours 0-24":       func(a *AccountType) { a.BusinessHours = BusinessHours{0, 24} },
		"reminders decreasing":      func(a *AccountType) { a.ReminderDaysBefore = []int{7, 3, 1} },
		"yearly Feb 29":             func(a *AccountType) { a.Exclusions = []Exclusion{{Date: mustDate("2028-02-29"), Yearly: true}} },
		"message of 1000 runes":     func(a *AccountType) { a.InvoiceMessage = string(slices.Repeat([]rune{'é'}, 1000)) },
		"anniversary with no day":   func(a *AccountType) { a.BillingMode = BillingAnniversary; a.BillingDay = 0 },
		"every subdivision listed":  func(a *AccountType) { a.HolidayCalendars = KnownHolidayCalendars() },
		"limits of day counts":      func(a *AccountType) { a.InvoiceLeadDays, a.DueDays, a.GraceDays = 365, 0, 365 },
		"billing day 31 fixed_day":  func(a *AccountType) { a.BillingDay = 31 },
		"retry days 1..60 increase": func(a *AccountType) { a.AutopayRetryDays = []int{1, 30, 60} },
	} {
		t.Run(name, func(t *testing.T) {
			at := validType()
			modify(&at)
			if err := at.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
