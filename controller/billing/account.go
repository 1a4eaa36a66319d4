package billing

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// AccountStatus is where an account is in the collection cycle.
type AccountStatus string

// Account statuses: current → past_due → delinquent → suspended → (payment
// meeting the reactivation rule) → current; closed accounts are not billed.
const (
	AccountCurrent    AccountStatus = "current"
	AccountPastDue    AccountStatus = "past_due"
	AccountDelinquent AccountStatus = "delinquent"
	AccountSuspended  AccountStatus = "suspended"
	AccountClosed     AccountStatus = "closed"
)

// Valid reports whether s is a known status.
func (s AccountStatus) Valid() bool {
	switch s {
	case AccountCurrent, AccountPastDue, AccountDelinquent, AccountSuspended, AccountClosed:
		return true
	}
	return false
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// Account is a subscriber's billing account.
type Account struct {
	ID int64 `json:"id"`
	// Number is the human account number ("A-000042"), assigned by the
	// store.
	Number string `json:"number"`
	// ExternalID is the account's id in the ISP's previous system, so that
	// imports are idempotent ("" if none).
	ExternalID    string        `json:"external_id"`
	Name          string        `json:"name"`
	Email         string        `json:"email"`
	Phone         string        `json:"phone"`
	Address       Address       `json:"address"`
	AccountTypeID int64         `json:"account_type_id"`
	Currency      Currency      `json:"currency"`
	Status        AccountStatus `json:"status"`
	// TaxJurisdiction selects the tax rates that apply ("" = untaxed).
	TaxJurisdiction string `json:"tax_jurisdiction"`
	// Delivery overrides the account type's default delivery ("" = the
	// type's default).
	Delivery Delivery `json:"delivery"`
	// AnchorDate anchors anniversary billing: the first service start.
	// Zero means the account's creation date (in the account type's zone).
	AnchorDate Date `json:"anchor_date"`
	// Locale (BCP 47, "en-US", "de-DE") is the language and formats of what
	// the subscriber reads; "" = the account type's, else the company's,
	// else en-US (see [ResolveLocale]).
	Locale    Locale    `json:"locale"`
	CreatedAt time.Time `json:"created_at"`
	// CompanyName is the subscriber's company ("" for a person).
	CompanyName string `json:"company_name"`
	// BillingDay overrides a fixed-day account type's billing day for this
	// account (0 = the type's). Periods follow it from the end of the last
	// invoiced period: the billing run invoices the days up to the first
	// period start on the new day as a transitional period, prorated
	// ([PlanBillingDayChange] previews it), so no day is charged twice.
	BillingDay int `json:"billing_day,omitempty"`
	// Version counts the account's edits (from 1): its ETag; an edit names
	// the version it read (If-Match).
	Version int64 `json:"version"`
	// Overrides are the account's own values of some of its type's billing
	// settings (see [EffectiveType]); empty inherits them all.
	Overrides AccountOverrides `json:"overrides"`
	// TaxExempt accounts are invoiced no tax; ExemptionCertificate is the
	// reference of the certificate that exempts them (required when
	// exempt).
	TaxExempt            bool   `json:"tax_exempt"`
	ExemptionCertificate string `json:"exemption_certificate,omitempty"`
}

// EffectiveDelivery is how the account's invoices are delivered: its own
// delivery, else the account type's default, else email.
func (a Account) EffectiveDelivery(t AccountType) Delivery {
	switch {
	case a.Delivery != "":
		return a.Delivery
	case t.DefaultDelivery != "":
		return t.DefaultDelivery
	}
	return DeliveryEmail
}

// NewAccount is the input that creates an account: its writable fields.
type NewAccount struct {
	ExternalID      string   `json:"external_id,omitempty"`
	Name            string   `json:"name"`
	CompanyName     string   `json:"company_name,omitempty"`
	Email           string   `json:"email,omitempty"`
	Phone           string   `json:"phone,omitempty"`
	Address         Address  `json:"address"`
	AccountTypeID   int64    `json:"account_type_id"`
	Currency        Currency `json:"currency"`
	TaxJurisdiction string   `json:"tax_jurisdiction,omitempty"`
	Delivery        Delivery `json:"delivery,omitempty" enum:"email,mail,both"`
	// AnchorDate: zero means the creation date.
	AnchorDate Date `json:"anchor_date"`
	// Locale overrides the account type's locale for this subscriber
	// (BCP 47, one of [SupportedLocales]; "" = inherit).
	Locale Locale `json:"locale,omitempty"`
	// Overrides are the account's own values of its type's billing
	// settings (a setting left out inherits the type's), as account edit
	// sets them.
	Overrides AccountOverrides `json:"overrides,omitzero" doc:"The account's own billing settings: a setting left out inherits the account type's."`
	// TaxExempt with ExemptionCertificate (the certificate's reference,
	// required while exempt).
	TaxExempt            bool   `json:"tax_exempt,omitempty" doc:"Invoice the account no tax; needs exemption_certificate."`
	ExemptionCertificate string `json:"exemption_certificate,omitempty" doc:"Reference of the tax exemption certificate."`
	// BillingDay overrides a fixed-day account type's billing day for this
	// account from its first period (0, the default: the type's day); see
	// [CheckBillingDayOverride].
	BillingDay int `json:"billing_day,omitempty" minimum:"0" maximum:"31" doc:"Day of month the account's periods start on (fixed_day account types only); 0 or left out: the account type's."`
}

// CheckBillingDayOverride checks an account's billing-day override (0:
// none) against its account type: a day of the month, and only for a
// fixed_day type (an anniversary type starts each account's periods on
// its own anchor date).
//
// Errors: EINVALID naming billing_day.
func CheckBillingDayOverride(t AccountType, day int) error {
	if err := checkBillingDay(day); err != nil {
		return err
	}
	if day != 0 && t.BillingMode != BillingFixedDay {
		return Errorf(EINVALID, "billing_day: account type %q bills on each account's anniversary, not on a fixed day; a billing-day override applies only to fixed_day account types", t.Name)
	}
	return nil
}

// checkBillingDay checks a billing-day override is a day of the month or
// 0 (none). Errors: EINVALID naming billing_day.
func checkBillingDay(day int) error {
	if day < 0 || day > 31 {
		return Errorf(EINVALID, "billing_day %d is not a day of the month (1-31, or 0 to use the account type's)", day)
	}
	return nil
}

// Validate checks the input, trims its strings and normalises the currency.
//
// Errors: EINVALID naming the field: name missing or too long; email not a
// single bare address (net/mail syntax, "alice@example.net"); an
// unsupported currency; delivery not "", email, mail or both; delivery
// email or both without an email; account_type_id not positive; an
// anchor_date that is not a calendar date; an unsupported locale; any text
// field too long; an override out of range ([AccountOverrides.Validate],
// naming overrides.<setting>); billing_day outside 0-31; tax_exempt
// without exemption_certificate. (Whether the account type takes a
// billing_day is [CheckBillingDayOverride]'s, with the type.)
func (a *NewAccount) Validate() error {
	for _, f := range []struct {
		name string
		p    *string
		max  int
	}{
		{"external_id", &a.ExternalID, 100},
		{"name", &a.Name, 200},
		{"company_name", &a.CompanyName, 200},
		{"email", &a.Email, 254},
		{"phone", &a.Phone, 50},
		{"tax_jurisdiction", &a.TaxJurisdiction, 100},
		{"address.line1", &a.Address.Line1, 200},
		{"address.line2", &a.Address.Line2, 200},
		{"address.city", &a.Address.City, 100},
		{"address.region", &a.Address.Region, 100},
		{"address.postal_code", &a.Address.PostalCode, 20},
		{"address.country", &a.Address.Country, 100},
		{"exemption_certificate", &a.ExemptionCertificate, 100},
	} {
		*f.p = strings.TrimSpace(*f.p)
		if n := utf8.RuneCountInString(*f.p); n > f.max {
			return Errorf(EINVALID, "%s is %d characters long; at most %d are allowed", f.name, n, f.max)
		}
	}
	if a.Name == "" {
		return Errorf(EINVALID, "name is required")
	}
	if a.Email != "" {
		addr, err := mail.ParseAddress(a.Email)
		if err != nil || addr.Address != a.Email {
			return Errorf(EINVALID, "email %q is not an email address (like alice@example.net)", a.Email)
		}
	}
	if a.AccountTypeID <= 0 {
		return Errorf(EINVALID, "account_type_id %d must be a positive account type id", a.AccountTypeID)
	}
	c, err := ParseCurrency(string(a.Currency))
	if err != nil {
		return err
	}
	a.Currency = c
	if a.Delivery != "" && !a.Delivery.Valid() {
		return Errorf(EINVALID, "delivery %q is not one of email, mail, both (or empty for the account type's default)", a.Delivery)
	}
	if (a.Delivery == DeliveryEmail || a.Delivery == DeliveryBoth) && a.Email == "" {
		return Errorf(EINVALID, "delivery %q needs an email", a.Delivery)
	}
	l, err := ParseLocale(string(a.Locale))
	if err != nil {
		return err
	}
	a.Locale = l
	if !a.AnchorDate.IsZero() && !a.AnchorDate.valid() {
		return Errorf(EINVALID, "anchor_date %s is not a calendar date", a.AnchorDate)
	}
	if err := a.Overrides.Validate(); err != nil {
		return err
	}
	if err := checkBillingDay(a.BillingDay); err != nil {
		return err
	}
	return CheckTaxExemption(a.TaxExempt, a.ExemptionCertificate)
}

// CheckTaxExemption checks an account's tax exemption: exempt needs the
// reference of the certificate on file. Account create, import and edit
// check it alike. Errors: EINVALID naming exemption_certificate.
func CheckTaxExemption(exempt bool, certificate string) error {
	if exempt && strings.TrimSpace(certificate) == "" {
		return Errorf(EINVALID, "exemption_certificate is required while tax_exempt is true (the reference of the certificate on file)")
	}
	return nil
}

// OneTimeCharge is a charge billed once, on the first invoice whose period
// ends after its ChargeDate (installation, equipment, a fee entered by
// staff).
type OneTimeCharge struct {
	ID          int64  `json:"id,omitempty" readOnly:"true"`
	AccountID   int64  `json:"account_id"`
	Description string `json:"description"`
	// Amount in minor units of the account's currency. Charges entered
	// through the charges API are positive; a negative amount (an invoice
	// adjustment) becomes a credit line.
	Amount     int64 `json:"amount" minimum:"1" maximum:"100000000000"`
	Taxable    bool  `json:"taxable"`
	ChargeDate Date  `json:"charge_date"`
	// ServiceID, PeriodStart and PeriodEnd (exclusive) are set on a
	// lifecycle change's line waiting for the next invoice (a plan change's
	// credit and charge): the service and days it is for.
	ServiceID   *int64 `json:"service_id,omitempty" readOnly:"true"`
	PeriodStart Date   `json:"period_start,omitzero" readOnly:"true"`
	PeriodEnd   Date   `json:"period_end,omitzero" readOnly:"true"`
	// InvoiceID is the invoice that billed the charge (nil until billed).
	InvoiceID *int64    `json:"invoice_id,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero" readOnly:"true"`
}

// Validate checks a new charge and trims its description.
//
// Errors: EINVALID naming the field: account_id not positive, description
// empty or longer than 200 characters, amount not positive (credits go
// through the credits API), charge_date missing or not a calendar date.
func (c *OneTimeCharge) Validate() error {
	if c.AccountID <= 0 {
		return Errorf(EINVALID, "account_id %d must be a positive account id", c.AccountID)
	}
	c.Description = strings.TrimSpace(c.Description)
	if c.Description == "" {
		return Errorf(EINVALID, "description is required")
	}
	if n := utf8.RuneCountInString(c.Description); n > 200 {
		return Errorf(EINVALID, "description is %d characters long; at most 200 are allowed", n)
	}
	if c.Amount <= 0 {
		return Errorf(EINVALID, "amount %d must be positive (minor units); use a credit to reduce a balance", c.Amount)
	}
	if err := CheckAmount("amount", c.Amount); err != nil {
		return err
	}
	if c.ChargeDate.IsZero() {
		return Errorf(EINVALID, "charge_date is required")
	}
	if !c.ChargeDate.valid() {
		return Errorf(EINVALID, "charge_date %s is not a calendar date", c.ChargeDate)
	}
	if err := CheckDate("charge_date", c.ChargeDate); err != nil {
		return err
	}
	return nil
}

// AccountAnchor returns the anchor of an account's billing periods for
// [PeriodAt]: in fixed_day mode the account's billing day (its override,
// Account.BillingDay) or else the account type's, and January;
// in anniversary mode the day and month of the account's anchor date (its
// AnchorDate, or if zero its creation date in the account type's zone).
// It never fails: an unusable zone counts as UTC, a missing billing day as
// 1, and an account with neither anchor nor creation time is anchored on
// January 1.
func AccountAnchor(t AccountType, a Account) (anchorDay int, anchorMonth time.Month) {
	if t.BillingMode == BillingFixedDay {
		day := t.BillingDay
		if a.BillingDay > 0 {
			day = a.BillingDay
		}
		return min(max(day, 1), 31), time.January
	}
	d := accountAnchorDate(t, a)
	if d.IsZero() {
		return 1, time.January
	}
	return d.Day, d.Month
}

// accountAnchorDate is the account's first billable day: AnchorDate, or its
// creation date in the type's zone; zero if neither is known.
func accountAnchorDate(t AccountType, a Account) Date {
	if !a.AnchorDate.IsZero() {
		return a.AnchorDate
	}
	if a.CreatedAt.IsZero() {
		return Date{}
	}
	loc, err := t.Location()
	if err != nil {
		loc = time.UTC
	}
	return DateIn(a.CreatedAt, loc)
}
