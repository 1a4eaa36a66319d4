package billing

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Limits of account type settings.
const (
	maxAccountTypeName = 100
	maxDayCount        = 365 // lead, due, grace and late-fee days
	maxScheduleDay     = 60  // autopay retry and reminder days
	maxInvoiceMessage  = 1000
)

// Valid reports whether m is a known billing mode.
func (m BillingMode) Valid() bool { return m == BillingAnniversary || m == BillingFixedDay }

// Valid reports whether k is a known late fee kind.
func (k LateFeeKind) Valid() bool { return k == LateFeeNone || k == LateFeeFlat || k == LateFeePercent }

// Valid reports whether r is a known reactivation rule.
func (r ReactivationRule) Valid() bool { return r == ReactivatePastDue || r == ReactivateFullBalance }

// Valid reports whether d is a known delivery method ("" is not).
func (d Delivery) Valid() bool { return d == DeliveryEmail || d == DeliveryMail || d == DeliveryBoth }

// Validate checks every billing setting of the account type and fills the
// defaults of those left empty:
//
//   - billing_mode: anniversary
//   - delinquency_weekdays: all seven days
//   - time_zone: "UTC"
//   - late_fee.kind: none
//   - reactivation_rule: past_due
//   - business_hours: 9-17 (when both are 0)
//   - default_delivery: email
//
// It also normalises: the name is trimmed, weekdays are sorted, holiday
// calendar codes are upper-cased and de-duplicated, the late fee percent is
// trimmed.
//
// Errors: every problem is an EINVALID *Error whose message names the field
// (by its JSON name) and the bad value, e.g.
// `time_zone "Mars/Base" is not an IANA time zone`. Validate stops at the
// first problem.
func (t *AccountType) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		return Errorf(EINVALID, "name is required")
	}
	if n := utf8.RuneCountInString(t.Name); n > maxAccountTypeName {
		return Errorf(EINVALID, "name is %d characters long; at most %d are allowed", n, maxAccountTypeName)
	}

	if _, err := t.SweepOffset(); err != nil {
		return err
	}
	if err := t.Lifecycle.Validate(); err != nil {
		return Errorf(EINVALID, "lifecycle.%s", ErrorMessage(err))
	}
	if err := t.validateSuspendAction(); err != nil {
		return err
	}
	l, err := ParseLocale(string(t.Locale))
	if err != nil {
		return err
	}
	t.Locale = l
	if t.BillingMode == "" {
		t.BillingMode = BillingAnniversary
	}
	if !t.BillingMode.Valid() {
		return Errorf(EINVALID, "billing_mode %q is not one of anniversary, fixed_day", t.BillingMode)
	}
	switch {
	case t.BillingMode == BillingFixedDay && t.BillingDay == 0:
		return Errorf(EINVALID, "billing_day is required (1-31) with billing_mode fixed_day")
	case t.BillingDay < 0 || t.BillingDay > 31:
		return Errorf(EINVALID, "billing_day %d is not a day of the month (1-31)", t.BillingDay)
	}

	for _, f := range []struct {
		name string
		v    int
	}{
		{"invoice_lead_days", t.InvoiceLeadDays},
		{"due_days", t.DueDays},
		{"grace_days", t.GraceDays},
	} {
		if f.v < 0 || f.v > maxDayCount {
			return Errorf(EINVALID, "%s %d is out of range 0-%d", f.name, f.v, maxDayCount)
		}
	}

	wd, err := validWeekdays(t.DelinquencyWeekdays)
	if err != nil {
		return err
	}
	t.DelinquencyWeekdays = wd
	if err := validExclusions(t.Exclusions); err != nil {
		return err
	}
	for i := range t.Exclusions {
		t.Exclusions[i].Name = strings.TrimSpace(t.Exclusions[i].Name)
	}
	cals, err := validCalendars(t.HolidayCalendars)
	if err != nil {
		return err
	}
	t.HolidayCalendars = cals

	if t.TimeZone == "" {
		t.TimeZone = "UTC"
	}
	if _, err := t.Location(); err != nil {
		return err
	}

	if t.MinDelinquentBalance < 0 {
		return Errorf(EINVALID, "min_delinquent_balance %d must not be negative", t.MinDelinquentBalance)
	}
	if err := t.LateFee.validate(); err != nil {
		return err
	}
	if t.ReconnectionFee < 0 {
		return Errorf(EINVALID, "reconnection_fee %d must not be negative", t.ReconnectionFee)
	}
	for _, a := range []struct {
		field  string
		amount int64
	}{{"min_delinquent_balance", t.MinDelinquentBalance}, {"reconnection_fee", t.ReconnectionFee}, {"late_fee.amount", t.LateFee.Amount}} {
		if err := CheckAmount(a.field, a.amount); err != nil {
			return err
		}
	}
	if t.ReactivationRule == "" {
		t.ReactivationRule = ReactivatePastDue
	}
	if !t.ReactivationRule.Valid() {
		return Errorf(EINVALID, "reactivation_rule %q is not one of past_due, full_balance", t.ReactivationRule)
	}

	for i, d := range t.AutopayRetryDays {
		if d < 1 || d > maxScheduleDay {
			return Errorf(EINVALID, "autopay_retry_days[%d] %d is out of range 1-%d", i, d, maxScheduleDay)
		}
		if i > 0 && d <= t.AutopayRetryDays[i-1] {
			return Errorf(EINVALID, "autopay_retry_days %v must be strictly increasing", t.AutopayRetryDays)
		}
	}
	for i, d := range t.ReminderDaysBefore {
		if d < 1 || d > maxScheduleDay {
			return Errorf(EINVALID, "reminder_days_before[%d] %d is out of range 1-%d", i, d, maxScheduleDay)
		}
		if slices.Index(t.ReminderDaysBefore, d) != i {
			return Errorf(EINVALID, "reminder_days_before %v lists %d twice", t.ReminderDaysBefore, d)
		}
	}

	if t.BusinessHours == (BusinessHours{}) {
		t.BusinessHours = BusinessHours{Start: 9, End: 17}
	}
	if h := t.BusinessHours; h.Start < 0 || h.End > 24 || h.Start >= h.End {
		return Errorf(EINVALID, "business_hours %d-%d must satisfy 0 <= start < end <= 24", h.Start, h.End)
	}

	if n := utf8.RuneCountInString(t.InvoiceMessage); n > maxInvoiceMessage {
		return Errorf(EINVALID, "invoice_message is %d characters long; at most %d are allowed", n, maxInvoiceMessage)
	}
	if t.DefaultDelivery == "" {
		t.DefaultDelivery = DeliveryEmail
	}
	if !t.DefaultDelivery.Valid() {
		return Errorf(EINVALID, "default_delivery %q is not one of email, mail, both", t.DefaultDelivery)
	}
	if t.PendingPayments == "" {
		t.PendingPayments = PendingIgnore
	}
	if !t.PendingPayments.Valid() {
		return Errorf(EINVALID, "pending_payments %q is not one of ignore, hold, restore", t.PendingPayments)
	}
	if t.ReceiptsFor, err = validReceiptsFor(t.ReceiptsFor); err != nil {
		return err
	}
	return nil
}

// Location returns the account type's time zone ("" means UTC).
//
// Errors: EINVALID when time_zone is not an IANA zone name this system's
// time zone database knows ("Local" is refused: it depends on the host).
func (t AccountType) Location() (*time.Location, error) {
	if t.TimeZone == "" {
		return time.UTC, nil
	}
	if t.TimeZone == "Local" {
		return nil, Errorf(EINVALID, "time_zone %q is not an IANA time zone", t.TimeZone)
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return nil, Errorf(EINVALID, "time_zone %q is not an IANA time zone", t.TimeZone)
	}
	return loc, nil
}

// validWeekdays checks delinquency weekdays and returns them sorted; an
// empty list means all seven.
func validWeekdays(in []time.Weekday) ([]time.Weekday, error) {
	if len(in) == 0 {
		return []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}, nil
	}
	var seen [7]bool
	for _, w := range in {
		if w < time.Sunday || w > time.Saturday {
			return nil, Errorf(EINVALID, "delinquency_weekdays value %d is not a weekday (0 = Sunday ... 6 = Saturday)", int(w))
		}
		if seen[w] {
			return nil, Errorf(EINVALID, "delinquency_weekdays lists %s twice", w)
		}
		seen[w] = true
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return out, nil
}

// validExclusions checks that every exclusion has a real date.
func validExclusions(ex []Exclusion) error {
	for i, e := range ex {
		if e.Date.IsZero() {
			return Errorf(EINVALID, "exclusions[%d] has no date", i)
		}
		if !e.Date.valid() {
			return Errorf(EINVALID, "exclusions[%d] date %s is not a calendar date", i, e.Date)
		}
		if n := utf8.RuneCountInString(e.Name); n > maxAccountTypeName {
			return Errorf(EINVALID, "exclusions[%d] name is %d characters long; at most %d are allowed", i, n, maxAccountTypeName)
		}
	}
	return nil
}

// validCalendars upper-cases, de-duplicates and checks holiday calendar
// codes.
func validCalendars(in []string) ([]string, error) {
	var out []string
	for _, c := range in {
		code := strings.ToUpper(strings.TrimSpace(c))
		if _, ok := holidayCalendars[code]; !ok {
			return nil, Errorf(EINVALID, "holiday_calendars value %q is not a known holiday calendar (one of %s)", c, strings.Join(KnownHolidayCalendars(), ", "))
		}
		if !slices.Contains(out, code) {
			out = append(out, code)
		}
	}
	return out, nil
}

// valid reports whether d names a real calendar day (not Feb 30).
func (d Date) valid() bool { return NewDate(d.Year, d.Month, d.Day) == d }

// validate checks a late fee's settings for its kind.
func (f *LateFee) validate() error {
	if f.Kind == "" {
		f.Kind = LateFeeNone
	}
	f.Percent = strings.TrimSpace(f.Percent)
	switch f.Kind {
	case LateFeeNone:
		if f.Amount != 0 || f.Percent != "" {
			return Errorf(EINVALID, "late_fee.kind none takes no amount or percent (got amount %d, percent %q)", f.Amount, f.Percent)
		}
	case LateFeeFlat:
		if f.Amount <= 0 {
			return Errorf(EINVALID, "late_fee.amount %d must be positive for late_fee.kind flat", f.Amount)
		}
		if f.Percent != "" {
			return Errorf(EINVALID, "late_fee.percent %q is not used with late_fee.kind flat", f.Percent)
		}
	case LateFeePercent:
		if f.Amount != 0 {
			return Errorf(EINVALID, "late_fee.amount %d is not used with late_fee.kind percent", f.Amount)
		}
		p, err := decimal.NewFromString(f.Percent)
		if err != nil || !p.IsPositive() || p.GreaterThan(decimal.NewFromInt(100)) {
			return Errorf(EINVALID, "late_fee.percent %q must be a decimal number greater than 0 and at most 100", f.Percent)
		}
	default:
		return Errorf(EINVALID, "late_fee.kind %q is not one of none, flat, percent", f.Kind)
	}
	if f.AfterDays < 0 || f.AfterDays > maxDayCount {
		return Errorf(EINVALID, "late_fee.after_days %d is out of range 0-%d", f.AfterDays, maxDayCount)
	}
	return nil
}

// SweepOffset is how long after local midnight the type's daily
// delinquency sweep runs (sweep_at, default 06:00). EINVALID for a
// sweep_at that is not HH:MM.
func (t AccountType) SweepOffset() (time.Duration, error) {
	at := t.SweepAt
	if at == "" {
		at = "06:00"
	}
	tm, err := time.Parse("15:04", at)
	if err != nil {
		return 0, Errorf(EINVALID, "sweep_at %q is not a time of day HH:MM (e.g. 06:00)", t.SweepAt)
	}
	return time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute, nil
}
