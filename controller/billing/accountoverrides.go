package billing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// AccountOverrides are an account's own values of some of its account
// type's billing settings. Each setting is inherit-or-override: nil
// inherits the type's value (so a later change to the type reaches the
// account), a value overrides it for this account alone. Unlike systems
// that copy a type's defaults into each account when it is created, an
// account stores only what it overrides.
//
// Every decision about the account (billing run, sweep, settlement, late
// fees, reminders, invoice message) uses [EffectiveType] of its type and
// overrides.
type AccountOverrides struct {
	DueDays   *int `json:"due_days,omitempty" doc:"Due date = issue date + this many days (0-365); absent inherits the type's."`
	GraceDays *int `json:"grace_days,omitempty" doc:"Delinquency date = due date + this many days (0-365); absent inherits."`
	// ReminderDaysBefore: an empty list (not absent) sends no reminders.
	ReminderDaysBefore *[]int            `json:"reminder_days_before,omitempty" doc:"Days before the delinquency date a reminder is sent (1-60 each); [] for none; absent inherits."`
	AutoSuspend        *bool             `json:"auto_suspend,omitempty" doc:"Suspend automatically when delinquent; absent inherits."`
	ReactivationRule   *ReactivationRule `json:"reactivation_rule,omitempty" enum:"past_due,full_balance" doc:"What payment restores service; absent inherits."`
	// LateFee false charges this account no late fee; true charges the
	// type's late fee (whatever the type says it is, now or later).
	LateFee        *bool   `json:"late_fee,omitempty" doc:"false: no late fees for this account; true: the type's late fee; absent inherits."`
	InvoiceMessage *string `json:"invoice_message,omitempty" doc:"Printed on the account's invoices instead of the type's; absent inherits."`
}

// Override setting names: the JSON names of [AccountOverrides]' fields.
const (
	SettingDueDays            = "due_days"
	SettingGraceDays          = "grace_days"
	SettingReminderDaysBefore = "reminder_days_before"
	SettingAutoSuspend        = "auto_suspend"
	SettingReactivationRule   = "reactivation_rule"
	SettingLateFee            = "late_fee"
	SettingInvoiceMessage     = "invoice_message"
)

// OverridableSettings are the account type settings an account may
// override, in a fixed order.
var OverridableSettings = []string{SettingDueDays, SettingGraceDays, SettingReminderDaysBefore,
	SettingAutoSuspend, SettingReactivationRule, SettingLateFee, SettingInvoiceMessage}

// IsZero reports whether o overrides nothing (the account inherits every
// setting).
// It is on the path of every account a sweep or a billing run reads, so it
// only compares pointers.
func (o AccountOverrides) IsZero() bool {
	return o.DueDays == nil && o.GraceDays == nil && o.ReminderDaysBefore == nil && o.AutoSuspend == nil &&
		o.ReactivationRule == nil && o.LateFee == nil && o.InvoiceMessage == nil
}

// Settings lists the settings o overrides, in [OverridableSettings] order.
func (o AccountOverrides) Settings() []string {
	var out []string
	for _, s := range []struct {
		name string
		set  bool
	}{
		{SettingDueDays, o.DueDays != nil}, {SettingGraceDays, o.GraceDays != nil},
		{SettingReminderDaysBefore, o.ReminderDaysBefore != nil}, {SettingAutoSuspend, o.AutoSuspend != nil},
		{SettingReactivationRule, o.ReactivationRule != nil}, {SettingLateFee, o.LateFee != nil},
		{SettingInvoiceMessage, o.InvoiceMessage != nil},
	} {
		if s.set {
			out = append(out, s.name)
		}
	}
	return out
}

// Overrides reports whether o overrides setting (one of
// [OverridableSettings]).
func (o AccountOverrides) Overrides(setting string) bool {
	return slices.Contains(o.Settings(), setting)
}

// Validate checks every override and normalises it (the reactivation rule
// and invoice message trimmed, reminder days sorted from the largest).
//
// Errors: EINVALID naming the field (overrides.<setting>): due or grace days
// outside 0-365, a reminder day outside 1-60 or listed twice, a
// reactivation rule other than past_due or full_balance, an invoice message
// longer than 1000 characters or not text.
func (o *AccountOverrides) Validate() error {
	for _, f := range []struct {
		name string
		v    *int
	}{{SettingDueDays, o.DueDays}, {SettingGraceDays, o.GraceDays}} {
		if f.v != nil && (*f.v < 0 || *f.v > maxDayCount) {
			return Errorf(EINVALID, "overrides.%s %d is out of range 0-%d", f.name, *f.v, maxDayCount)
		}
	}
	if o.ReminderDaysBefore != nil {
		days := slices.Clone(*o.ReminderDaysBefore)
		if days == nil {
			days = []int{}
		}
		for i, d := range days {
			if d < 1 || d > maxScheduleDay {
				return Errorf(EINVALID, "overrides.reminder_days_before[%d] %d is out of range 1-%d", i, d, maxScheduleDay)
			}
			if slices.Index(days, d) != i {
				return Errorf(EINVALID, "overrides.reminder_days_before %v lists %d twice", days, d)
			}
		}
		slices.SortFunc(days, func(a, b int) int { return b - a })
		o.ReminderDaysBefore = &days
	}
	if o.ReactivationRule != nil {
		r := ReactivationRule(strings.TrimSpace(string(*o.ReactivationRule)))
		if !r.Valid() {
			return Errorf(EINVALID, "overrides.reactivation_rule %q is not one of past_due, full_balance", r)
		}
		o.ReactivationRule = &r
	}
	if o.InvoiceMessage != nil {
		m := strings.TrimSpace(*o.InvoiceMessage)
		if n := utf8.RuneCountInString(m); n > maxInvoiceMessage {
			return Errorf(EINVALID, "overrides.invoice_message is %d characters long; at most %d are allowed", n, maxInvoiceMessage)
		}
		if err := CheckText(m, true, maxInvoiceMessage); err != nil {
			return Errorf(EINVALID, "overrides.invoice_message %s", ErrorMessage(err))
		}
		o.InvoiceMessage = &m
	}
	return nil
}

// EffectiveType is account type t as it applies to an account with
// overrides o: t with each overridden setting replaced by the account's
// own. An account that overrides nothing gets t itself. Its Overridden
// lists the settings that came from o, so that the reasons of a decision
// can say so.
func EffectiveType(t AccountType, o AccountOverrides) AccountType {
	settings := o.Settings()
	if len(settings) == 0 {
		return t
	}
	if o.DueDays != nil {
		t.DueDays = *o.DueDays
	}
	if o.GraceDays != nil {
		t.GraceDays = *o.GraceDays
	}
	if o.ReminderDaysBefore != nil {
		t.ReminderDaysBefore = slices.Clone(*o.ReminderDaysBefore)
	}
	if o.AutoSuspend != nil {
		t.AutoSuspend = *o.AutoSuspend
	}
	if o.ReactivationRule != nil {
		t.ReactivationRule = *o.ReactivationRule
	}
	if o.LateFee != nil && !*o.LateFee {
		t.LateFee = LateFee{Kind: LateFeeNone}
	}
	if o.InvoiceMessage != nil {
		t.InvoiceMessage = *o.InvoiceMessage
	}
	t.Overridden = settings
	return t
}

// overridden reports whether t (an [EffectiveType]) has setting from the
// account's overrides.
func (t AccountType) overridden(setting string) bool { return slices.Contains(t.Overridden, setting) }

// OverridesKey is a comparable key of o: accounts with equal keys have the
// same [EffectiveType] of a type, so a run over many accounts computes it
// once per distinct key ("" for no overrides).
func (o AccountOverrides) OverridesKey() string {
	if o.IsZero() {
		return ""
	}
	var b strings.Builder
	if o.DueDays != nil {
		fmt.Fprintf(&b, "d%d;", *o.DueDays)
	}
	if o.GraceDays != nil {
		fmt.Fprintf(&b, "g%d;", *o.GraceDays)
	}
	if o.ReminderDaysBefore != nil {
		fmt.Fprintf(&b, "r%v;", *o.ReminderDaysBefore)
	}
	if o.AutoSuspend != nil {
		fmt.Fprintf(&b, "a%t;", *o.AutoSuspend)
	}
	if o.ReactivationRule != nil {
		fmt.Fprintf(&b, "x%s;", *o.ReactivationRule)
	}
	if o.LateFee != nil {
		fmt.Fprintf(&b, "l%t;", *o.LateFee)
	}
	if o.InvoiceMessage != nil {
		fmt.Fprintf(&b, "m%q;", *o.InvoiceMessage)
	}
	return b.String()
}

// EffectiveTypes computes [EffectiveType] once per distinct overrides of a
// run's accounts: accounts without overrides cost a map look-up.
type EffectiveTypes struct {
	base AccountType
	memo map[string]AccountType
}

// NewEffectiveTypes returns the cache for accounts of type t.
func NewEffectiveTypes(t AccountType) *EffectiveTypes {
	return &EffectiveTypes{base: t}
}

// Of is t's effective type for an account with overrides o.
func (e *EffectiveTypes) Of(o AccountOverrides) AccountType {
	if o.IsZero() {
		return e.base
	}
	k := o.OverridesKey()
	if t, ok := e.memo[k]; ok {
		return t
	}
	if e.memo == nil {
		e.memo = map[string]AccountType{}
	}
	t := EffectiveType(e.base, o)
	e.memo[k] = t
	return t
}

// TypeChangeImpact counts, for each setting a change to an account type
// touches, the type's accounts that inherit it (the change reaches them)
// and those that override it (it does not).
type TypeChangeImpact struct {
	Setting   string `json:"setting"`
	Inherit   int64  `json:"inherit" doc:"Accounts that inherit the setting: the change applies to them."`
	Overrides int64  `json:"overrides" doc:"Accounts with their own value: the change does not reach them."`
}

// PlanTypeChangeImpact says how many of a type's accounts a change of
// settings reaches: total is the type's (open) accounts, overriding how
// many of them override each setting. Settings that cannot be overridden
// reach every account.
func PlanTypeChangeImpact(settings []string, total int64, overriding map[string]int64) []TypeChangeImpact {
	out := make([]TypeChangeImpact, 0, len(settings))
	for _, s := range settings {
		n := overriding[s]
		out = append(out, TypeChangeImpact{Setting: s, Inherit: total - n, Overrides: n})
	}
	return out
}

// ChangedSettings names the settings (by JSON name) in which account type
// b differs from a, for the settings an account can override and the
// other billing settings that decide what the account owes and when.
func ChangedSettings(a, b AccountType) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add(SettingDueDays, a.DueDays != b.DueDays)
	add(SettingGraceDays, a.GraceDays != b.GraceDays)
	add(SettingReminderDaysBefore, !slices.Equal(a.ReminderDaysBefore, b.ReminderDaysBefore))
	add(SettingAutoSuspend, a.AutoSuspend != b.AutoSuspend)
	add(SettingReactivationRule, a.ReactivationRule != b.ReactivationRule)
	add(SettingLateFee, a.LateFee != b.LateFee)
	add(SettingInvoiceMessage, a.InvoiceMessage != b.InvoiceMessage)
	add("invoice_lead_days", a.InvoiceLeadDays != b.InvoiceLeadDays)
	add("min_delinquent_balance", a.MinDelinquentBalance != b.MinDelinquentBalance)
	add("reconnection_fee", a.ReconnectionFee != b.ReconnectionFee)
	add("time_zone", a.TimeZone != b.TimeZone)
	add("delinquency_weekdays", !slices.Equal(a.DelinquencyWeekdays, b.DelinquencyWeekdays))
	add("holiday_calendars", !slices.Equal(a.HolidayCalendars, b.HolidayCalendars))
	add("exclusions", !slices.Equal(a.Exclusions, b.Exclusions))
	add("name", a.Name != b.Name)
	return out
}

// SetOverrides fills the edit's overrides and tax exemption from their
// text forms (the CLI's flags): settings, if not nil, is "SETTING=VALUE"
// pairs separated by ";" applied to the account's current overrides cur
// (a VALUE that is JSON — 14, true, [7,3] — is taken as such, any other
// as text; "inherit" removes the override); taxCert, if not nil, is the
// exemption certificate ("" ends the exemption).
//
// Errors: EINVALID naming a pair that is not SETTING=VALUE with a known
// setting, or whose value does not fit the setting.
func (e *AccountEdit) SetOverrides(cur AccountOverrides, settings, taxCert *string) error {
	if taxCert != nil {
		exempt, cert := *taxCert != "", *taxCert
		e.TaxExempt, e.ExemptionCertificate = &exempt, &cert
	}
	if settings == nil {
		return nil
	}
	raw, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for _, pair := range strings.Split(*settings, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if k = strings.TrimSpace(k); !ok || !slices.Contains(OverridableSettings, k) {
			return Errorf(EINVALID, "overrides %q: want SETTING=VALUE with SETTING one of %s", pair, strings.Join(OverridableSettings, ", "))
		}
		switch v = strings.TrimSpace(v); {
		case v == "inherit":
			delete(m, k)
		case json.Valid([]byte(v)):
			m[k] = json.RawMessage(v)
		default:
			m[k], _ = json.Marshal(v)
		}
	}
	raw, _ = json.Marshal(m)
	var o AccountOverrides
	if err := json.Unmarshal(raw, &o); err != nil {
		return Errorf(EINVALID, "overrides %q: a value does not fit its setting (%v)", *settings, err)
	}
	e.Overrides = &o
	return nil
}
