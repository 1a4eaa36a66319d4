package billing

import "time"

// BillingMode decides where billing periods start.
type BillingMode string

// Billing modes.
const (
	// BillingAnniversary starts each service's periods on the day of month
	// the service started (the 31st becomes the month's last day in shorter
	// months and returns to the 31st after).
	BillingAnniversary BillingMode = "anniversary"
	// BillingFixedDay starts every account's periods on the account type's
	// BillingDay.
	BillingFixedDay BillingMode = "fixed_day"
)

// LateFeeKind is how a late fee is computed.
type LateFeeKind string

// Late fee kinds.
const (
	LateFeeNone    LateFeeKind = "none"
	LateFeeFlat    LateFeeKind = "flat"
	LateFeePercent LateFeeKind = "percent"
)

// LateFee is charged once per invoice still unpaid AfterDays after its due
// date.
type LateFee struct {
	Kind LateFeeKind `json:"kind,omitempty" enum:"none,flat,percent"`
	// Amount in minor units (flat).
	Amount int64 `json:"amount,omitempty" minimum:"0" maximum:"100000000000"`
	// Percent of the invoice's open amount, a decimal string such as "1.5"
	// (percent kind); the fee is rounded half-even to the minor unit.
	Percent string `json:"percent,omitempty"`
	// AfterDays after the due date. Default 0 (the day after the due date).
	AfterDays int `json:"after_days,omitempty"`
}

// ReactivationRule decides what payment restores a suspended account.
type ReactivationRule string

// Reactivation rules.
const (
	// ReactivatePastDue: paying everything past due restores service.
	ReactivatePastDue ReactivationRule = "past_due"
	// ReactivateFullBalance: the whole balance must be paid.
	ReactivateFullBalance ReactivationRule = "full_balance"
)

// Delivery is how invoices reach the subscriber.
type Delivery string

// Deliveries.
const (
	DeliveryEmail Delivery = "email"
	DeliveryMail  Delivery = "mail"
	DeliveryBoth  Delivery = "both"
)

// Exclusion is a date on which no account becomes delinquent (and, when the
// account type applies the date rule to invoices, no invoice is issued).
type Exclusion struct {
	Date Date `json:"date"`
	// Yearly repeats the exclusion on the same month and day every year.
	Yearly bool   `json:"yearly,omitempty"`
	Name   string `json:"name,omitempty"`
}

// BusinessHours is the local time window in which notices may be sent.
type BusinessHours struct {
	// Start and End are hours of the day, 0-24, Start < End. Default 9-17.
	Start int `json:"start"`
	End   int `json:"end"`
}

// AccountType is a billing profile (residential, commercial, …): every
// account of the type is billed by its settings.
type AccountType struct {
	ID   int64  `json:"id,omitempty" readOnly:"true"`
	Name string `json:"name"`

	BillingMode BillingMode `json:"billing_mode,omitempty" enum:"anniversary,fixed_day"`
	// BillingDay is the day of month periods start on (fixed_day mode),
	// 1-31; days past a month's end mean its last day.
	BillingDay int `json:"billing_day,omitempty"`
	// InvoiceLeadDays: invoices are issued this many days before the period
	// starts.
	InvoiceLeadDays int `json:"invoice_lead_days"`
	// DueDays: due date = issue date + DueDays.
	DueDays int `json:"due_days"`
	// GraceDays: delinquency date = due date + GraceDays (then moved forward
	// by the date rule).
	GraceDays int `json:"grace_days"`
	// DelinquencyWeekdays are the weekdays on which accounts may become
	// delinquent. Default all seven.
	DelinquencyWeekdays []time.Weekday `json:"delinquency_weekdays,omitempty"`
	// Exclusions are dates (one-off or yearly) on which nobody becomes
	// delinquent.
	Exclusions []Exclusion `json:"exclusions,omitempty"`
	// HolidayCalendars are holiday calendars by country or region code
	// ("US", "CA", "CA-QC", "GB", "DE", …); their holidays count as
	// exclusions.
	HolidayCalendars []string `json:"holiday_calendars,omitempty"`
	// ApplyDateRuleToIssue moves invoice issue dates by the same rule.
	ApplyDateRuleToIssue bool `json:"apply_date_rule_to_issue"`
	// TimeZone is the IANA zone whose local dates all rules use.
	TimeZone string `json:"time_zone"`
	// MinDelinquentBalance: a past-due balance below this (minor units) never
	// makes an account delinquent.
	MinDelinquentBalance int64   `json:"min_delinquent_balance" minimum:"0" maximum:"100000000000"`
	LateFee              LateFee `json:"late_fee"`
	// ReconnectionFee (minor units) is charged when a suspended account is
	// restored; 0 for none.
	ReconnectionFee int64 `json:"reconnection_fee" minimum:"0" maximum:"100000000000"`
	// AutoSuspend suspends delinquent accounts' services automatically.
	AutoSuspend      bool             `json:"auto_suspend"`
	ReactivationRule ReactivationRule `json:"reactivation_rule,omitempty" enum:"past_due,full_balance"`
	// AutopayRetryDays are the days after a failed autopay charge on which
	// it is retried ([1, 3, 5]).
	AutopayRetryDays []int `json:"autopay_retry_days,omitempty"`
	// ReminderDaysBefore are the days before the delinquency date on which a
	// reminder is sent ([3, 1]).
	ReminderDaysBefore []int `json:"reminder_days_before,omitempty"`
	// SweepAt is the local time of day ("HH:MM") at which the daily
	// delinquency sweep runs for accounts of this type. Default "06:00".
	SweepAt       string        `json:"sweep_at,omitempty"`
	BusinessHours BusinessHours `json:"business_hours"`
	// InvoiceMessage is printed on every invoice (holiday hours, a
	// promotion).
	InvoiceMessage string `json:"invoice_message"`
	// RemittanceSlip adds a tear-off slip to invoice PDFs.
	RemittanceSlip  bool     `json:"remittance_slip"`
	DefaultDelivery Delivery `json:"default_delivery,omitempty" enum:"email,mail,both"`
	// Locale (BCP 47) of the type's subscribers, unless an account has its
	// own; "" = the company's (see [ResolveLocale]).
	Locale Locale `json:"locale,omitempty"`
	// Lifecycle are the settings of service lifecycle changes (plan
	// changes, pauses, cancellations; see [LifecyclePolicy]).
	Lifecycle LifecyclePolicy `json:"lifecycle,omitzero"`
	// SuspendAction is what suspending for non-payment does to the
	// accounts' services: block (cut off, the default) or throttle (keep
	// them connected at ThrottleProfile's speed, with plain HTTP redirected
	// to the portal), see [AccountType.SuspendState].
	SuspendAction SuspendAction `json:"suspend_action,omitempty" enum:"block,throttle"`
	// ThrottleProfile is the speed of a throttled service. Required with
	// suspend_action throttle; its name is set by Tollgate
	// ("throttle-<type>").
	ThrottleProfile *EdgeProfile `json:"throttle_profile,omitempty"`
	// PendingPayments is what a gateway payment still settling (an ACH
	// debit the bank has not confirmed, Stripe's "processing") does for
	// the delinquency sweep: ignore (the default: nothing until it is
	// posted), hold (an account whose pending payments cover what is past
	// due is not suspended) or restore (also restores a suspended account
	// as soon as such a payment is pending); see [PendingPaymentsMode].
	PendingPayments PendingPaymentsMode `json:"pending_payments,omitempty" enum:"ignore,hold,restore"`
	// ReceiptsFor are the channels whose payments are e-mailed a receipt:
	// portal, autopay, staff (gateway charges by trigger, and the manual
	// payments staff post), batch (a deposit batch's payments). Unset:
	// portal and autopay; [] for none.
	ReceiptsFor []ReceiptChannel `json:"receipts_for" required:"false" enum:"portal,autopay,staff,batch"`
	CreatedAt   time.Time        `json:"created_at,omitzero" readOnly:"true"`
	// Overridden names the settings an account's overrides replaced, in an
	// [EffectiveType] (nil in a stored type).
	Overridden []string `json:"-"`
}
