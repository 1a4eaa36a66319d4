package billing

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"
)

// EntityAccount names accounts in the audit log.
const EntityAccount = "account"

// AccountEdit changes some of an account's writable fields: a nil field is
// left as it is. Strings are trimmed; an empty string clears a field that
// may be empty (company_name, email, phone, external_id, delivery and
// locale, which then inherit the account type's).
type AccountEdit struct {
	Name        *string   `json:"name,omitempty" doc:"Contact name; not empty."`
	CompanyName *string   `json:"company_name,omitempty" doc:"Company name; empty for none."`
	Email       *string   `json:"email,omitempty" doc:"A single bare address (alice@example.net); empty for none."`
	Phone       *string   `json:"phone,omitempty"`
	Address     *Address  `json:"address,omitempty" doc:"The billing address (replaced as a whole)."`
	Delivery    *Delivery `json:"delivery,omitempty" doc:"email, mail or both; empty for the account type's default."`
	Locale      *Locale   `json:"locale,omitempty" doc:"BCP 47, one of en-US, en-CA, en-GB, de-DE, de-AT; empty to inherit."`
	ExternalID  *string   `json:"external_id,omitempty" doc:"The account's id in the previous system; empty for none."`
	// AccountTypeID moves the account to another account type; its rules
	// apply from the next billing period.
	AccountTypeID *int64 `json:"account_type_id,omitempty" doc:"Another account type; its rules apply from the next billing period."`
	// BillingDay overrides a fixed-day account type's billing day for this
	// account (1-31); 0 removes the override.
	BillingDay *int `json:"billing_day,omitempty" doc:"Day of month the account's periods start on (fixed_day types only); 0 removes the override."`
	// Overrides replace the account's overrides of its type's billing
	// settings as a whole: a setting left out inherits the type's again;
	// {} inherits them all.
	Overrides *AccountOverrides `json:"overrides,omitempty" doc:"The account's own billing settings, replaced as a whole: a setting left out inherits the account type's; {} inherits all."`
	// TaxExempt with ExemptionCertificate (the certificate's reference,
	// required while exempt).
	TaxExempt            *bool   `json:"tax_exempt,omitempty" doc:"Invoice the account no tax; needs exemption_certificate."`
	ExemptionCertificate *string `json:"exemption_certificate,omitempty" doc:"Reference of the tax exemption certificate."`
	// Reason is kept in the audit log.
	Reason string `json:"reason,omitempty" doc:"Why; kept in the audit log."`
}

// editText is one text field of an edit with its limit.
type editText struct {
	name string
	p    *string
	max  int
}

func (e *AccountEdit) texts() []editText {
	fs := []editText{
		{"name", e.Name, 200}, {"company_name", e.CompanyName, 200}, {"email", e.Email, 254},
		{"phone", e.Phone, 50}, {"external_id", e.ExternalID, 100}, {"exemption_certificate", e.ExemptionCertificate, 100},
	}
	if addr := e.Address; addr != nil {
		fs = append(fs,
			editText{"address.line1", &addr.Line1, 200}, editText{"address.line2", &addr.Line2, 200},
			editText{"address.city", &addr.City, 100}, editText{"address.region", &addr.Region, 100},
			editText{"address.postal_code", &addr.PostalCode, 20}, editText{"address.country", &addr.Country, 100})
	}
	return fs
}

// Validate checks the edit on its own (without the account), trims its
// strings and normalises the locale.
//
// Errors: EINVALID naming the field: a text field too long or not text,
// name set but empty, email not a single bare address, delivery not "",
// email, mail or both, an unsupported locale, account_type_id not positive,
// billing_day outside 0-31, reason longer than 500 characters.
func (e *AccountEdit) Validate() error {
	for _, f := range e.texts() {
		if f.p == nil {
			continue
		}
		*f.p = strings.TrimSpace(*f.p)
		if err := CheckText(*f.p, strings.HasPrefix(f.name, "address.line"), f.max); err != nil {
			return Errorf(EINVALID, "%s %s", f.name, ErrorMessage(err))
		}
	}
	if e.Name != nil && *e.Name == "" {
		return Errorf(EINVALID, "name may not be empty")
	}
	if e.Email != nil && *e.Email != "" {
		addr, err := mail.ParseAddress(*e.Email)
		if err != nil || addr.Address != *e.Email {
			return Errorf(EINVALID, "email %q is not an email address (like alice@example.net)", *e.Email)
		}
	}
	if e.Delivery != nil {
		d := Delivery(strings.TrimSpace(string(*e.Delivery)))
		if d != "" && !d.Valid() {
			return Errorf(EINVALID, "delivery %q is not one of email, mail, both (or empty for the account type's default)", d)
		}
		*e.Delivery = d
	}
	if e.Locale != nil {
		l, err := ParseLocale(string(*e.Locale))
		if err != nil {
			return err
		}
		*e.Locale = l
	}
	if e.AccountTypeID != nil && *e.AccountTypeID <= 0 {
		return Errorf(EINVALID, "account_type_id %d must be a positive account type id", *e.AccountTypeID)
	}
	if e.BillingDay != nil {
		if err := checkBillingDay(*e.BillingDay); err != nil {
			return err
		}
	}
	if e.Overrides != nil {
		if err := e.Overrides.Validate(); err != nil {
			return err
		}
	}
	e.Reason = strings.TrimSpace(e.Reason)
	if err := CheckText(e.Reason, true, 500); err != nil {
		return Errorf(EINVALID, "reason %s", ErrorMessage(err))
	}
	return nil
}

// AuditEntry is one row of the audit log: who changed which entity when,
// the changed fields before and after (by their API names), and why.
type AuditEntry struct {
	ID       int64          `json:"id"`
	Actor    string         `json:"actor"`
	At       time.Time      `json:"at"`
	Entity   string         `json:"entity"`
	EntityID int64          `json:"entity_id"`
	Before   map[string]any `json:"before"`
	After    map[string]any `json:"after"`
	Reason   string         `json:"reason,omitempty"`
}

// Fields lists the entry's changed fields in name order.
func (a AuditEntry) Fields() []string {
	seen := map[string]bool{}
	for k := range a.Before {
		seen[k] = true
	}
	for k := range a.After {
		seen[k] = true
	}
	fs := make([]string, 0, len(seen))
	for k := range seen {
		fs = append(fs, k)
	}
	sort.Strings(fs)
	return fs
}

// Consequence kinds of an account edit.
const (
	// ConsequenceTypeNextPeriod: the new account type's rules apply from
	// the next billing period; issued invoices keep theirs.
	ConsequenceTypeNextPeriod = "account_type_from_next_period"
	// ConsequenceBillingDayNextPeriod: periods start on the new billing
	// day from the end of the last invoiced period; the next invoice
	// charges the days up to the first start on the new day, prorated (a
	// transitional period), so no day is charged twice.
	ConsequenceBillingDayNextPeriod = "billing_day_from_next_period"
)

// Consequence is what an edit causes besides the changed fields, said so
// in the response.
type Consequence struct {
	Kind    string `json:"kind" enum:"account_type_from_next_period,billing_day_from_next_period"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// AccountEditInput is what [PlanAccountEdit] decides from.
type AccountEditInput struct {
	// Account is the account as stored now; Type its account type.
	Account Account
	Type    AccountType
	// NewType is the account type the edit moves the account to (read by
	// its AccountTypeID); zero when the edit does not name one or no such
	// type exists.
	NewType AccountType
	// IfVersion is the version the editor read (If-Match).
	IfVersion int64
	Edit      AccountEdit
	Actor     string
	At        time.Time
	// LastInvoiced is the account's last invoiced (regular) period and
	// Services its billed services: what a billing-day change's preview
	// ([PlanBillingDayChange]) is decided on. Read when the edit names
	// billing_day.
	LastInvoiced Period
	Services     []LifecycleService
}

// AccountEditPlan is the decided edit: the account after it, the audit
// entry of what changed, and what it causes.
type AccountEditPlan struct {
	// Account is the record after the edit; its Version is one more than
	// before when Changed.
	Account Account
	// Changed is false when the edit changes nothing: nothing is written
	// and the version stays.
	Changed      bool
	Audit        AuditEntry
	Consequences []Consequence
	// BillingDayChange previews what the next invoice charges for the
	// transitional period, and the first regular invoice on the new day
	// after it ([LifecyclePlan].FirstRegular), when the edit moves the billing day (nil
	// otherwise).
	BillingDayChange *LifecyclePlan
}

// StaleVersionError is the error of an edit sent with a version that is
// no longer the account's ([EPRECONDITION]).
func StaleVersionError(entity string, id, sent, current int64) *Error {
	return Errorf(EPRECONDITION, "%s %d is at version %d, not %d (If-Match): someone changed it since you read it; read it again and repeat your change", entity, id, current, sent)
}

// PlanAccountEdit validates an edit against the account and decides it.
//
// Errors: EPRECONDITION when IfVersion is not the account's version; and
// EINVALID naming the field: every [AccountEdit.Validate] error; the
// account is closed (read-only); account_type_id names no account type,
// or one whose billing periods start elsewhere (a billing-day change needs
// a prorated adjustment that is not applied by an edit); billing_day on an
// account whose (new) type is not fixed_day; delivery email or both with no
// email.
func PlanAccountEdit(in AccountEditInput) (AccountEditPlan, error) {
	cur := in.Account
	if in.IfVersion != cur.Version {
		return AccountEditPlan{}, StaleVersionError(EntityAccount, cur.ID, in.IfVersion, cur.Version)
	}
	e := in.Edit
	if err := e.Validate(); err != nil {
		return AccountEditPlan{}, err
	}
	if cur.Status == AccountClosed {
		return AccountEditPlan{}, Errorf(EINVALID, "account %s is closed: a closed account is read-only", cur.Number)
	}
	next := cur
	before, after := map[string]any{}, map[string]any{}
	set := func(field string, old, new any, apply func()) {
		if old != new {
			before[field], after[field] = old, new
			apply()
		}
	}
	if e.Name != nil {
		set("name", cur.Name, *e.Name, func() { next.Name = *e.Name })
	}
	if e.CompanyName != nil {
		set("company_name", cur.CompanyName, *e.CompanyName, func() { next.CompanyName = *e.CompanyName })
	}
	if e.Email != nil {
		set("email", cur.Email, *e.Email, func() { next.Email = *e.Email })
	}
	if e.Phone != nil {
		set("phone", cur.Phone, *e.Phone, func() { next.Phone = *e.Phone })
	}
	if e.Address != nil {
		set("address", cur.Address, *e.Address, func() { next.Address = *e.Address })
	}
	if e.Delivery != nil {
		set("delivery", string(cur.Delivery), string(*e.Delivery), func() { next.Delivery = *e.Delivery })
	}
	if e.Locale != nil {
		set("locale", string(cur.Locale), string(*e.Locale), func() { next.Locale = *e.Locale })
	}
	if e.ExternalID != nil {
		set("external_id", cur.ExternalID, *e.ExternalID, func() { next.ExternalID = *e.ExternalID })
	}
	if e.Overrides != nil {
		set("overrides", overridesValue(cur.Overrides), overridesValue(*e.Overrides), func() { next.Overrides = *e.Overrides })
	}
	if e.TaxExempt != nil {
		set("tax_exempt", cur.TaxExempt, *e.TaxExempt, func() { next.TaxExempt = *e.TaxExempt })
	}
	if e.ExemptionCertificate != nil {
		set("exemption_certificate", cur.ExemptionCertificate, *e.ExemptionCertificate, func() { next.ExemptionCertificate = *e.ExemptionCertificate })
	}
	if err := CheckTaxExemption(next.TaxExempt, next.ExemptionCertificate); err != nil {
		return AccountEditPlan{}, err
	}
	var cons []Consequence
	var billingDay *LifecyclePlan
	newType := in.Type
	if e.AccountTypeID != nil && *e.AccountTypeID != cur.AccountTypeID {
		if in.NewType.ID != *e.AccountTypeID {
			return AccountEditPlan{}, Errorf(EINVALID, "account_type_id %d does not exist", *e.AccountTypeID)
		}
		newType = in.NewType
		oldDay, oldMonth := AccountAnchor(in.Type, cur)
		newDay, newMonth := AccountAnchor(newType, cur)
		if in.Type.BillingMode != newType.BillingMode || oldDay != newDay || oldMonth != newMonth {
			return AccountEditPlan{}, Errorf(EINVALID,
				"account_type_id %d: account type %q starts periods %s, %q %s; moving the account between them changes its billing day, which needs a prorated adjustment that an edit does not make",
				newType.ID, in.Type.Name, periodStartWords(in.Type, cur), newType.Name, periodStartWords(newType, cur))
		}
		set("account_type_id", cur.AccountTypeID, newType.ID, func() { next.AccountTypeID = newType.ID })
		from := nextPeriodStart(in.Type, cur, in.At)
		cons = append(cons, Consequence{Kind: ConsequenceTypeNextPeriod, Field: "account_type_id", Message: fmt.Sprintf(
			"account type %q's rules (due and grace days, reminders, late fees, suspension) apply from the next billing period (monthly plans: from %s); invoices already issued keep account type %q's dates",
			newType.Name, from, in.Type.Name)})
	}
	if e.BillingDay != nil {
		if err := CheckBillingDayOverride(newType, *e.BillingDay); err != nil {
			return AccountEditPlan{}, err
		}
		set("billing_day", cur.BillingDay, *e.BillingDay, func() { next.BillingDay = *e.BillingDay })
		oldDay, _ := AccountAnchor(newType, cur)
		if newDay, _ := AccountAnchor(newType, next); newType.BillingMode == BillingFixedDay && newDay != oldDay {
			preview, err := PlanBillingDayChange(BillingDayRequest{Context: LifecycleContext{Account: cur, Type: newType, Now: in.At,
				Actor: in.Actor, Reason: e.Reason}, NewDay: newDay, LastInvoiced: in.LastInvoiced, Services: in.Services})
			if err != nil {
				return AccountEditPlan{}, err
			}
			billingDay = &preview
			cons = append(cons, Consequence{Kind: ConsequenceBillingDayNextPeriod, Field: "billing_day", Message: fmt.Sprintf(
				"billing day %d → %d: periods already invoiced stay; the next invoice covers the days from the end of the last invoiced period to the next day %d, each service prorated (a transitional period, its lines saying so), and periods start on day %d from then — no day is charged twice. %s",
				oldDay, newDay, newDay, newDay, strings.Join(preview.Why, "; "))})
		}
	}
	if next.BillingDay != 0 && newType.BillingMode != BillingFixedDay {
		return AccountEditPlan{}, Errorf(EINVALID, "billing_day: the account's billing-day override (%d) applies only to fixed_day account types and account type %q bills on anniversaries; remove it (billing_day 0) in the same edit", next.BillingDay, newType.Name)
	}
	if (next.Delivery == DeliveryEmail || next.Delivery == DeliveryBoth) && next.Email == "" {
		field := "email"
		if e.Delivery != nil {
			field = "delivery"
		}
		return AccountEditPlan{}, Errorf(EINVALID, "%s: delivery %q needs an email", field, next.Delivery)
	}
	plan := AccountEditPlan{Account: next, Consequences: cons, BillingDayChange: billingDay}
	if len(after) == 0 {
		return plan, nil
	}
	plan.Changed = true
	plan.Account.Version = cur.Version + 1
	plan.Audit = AuditEntry{Actor: in.Actor, At: in.At, Entity: EntityAccount, EntityID: cur.ID, Before: before, After: after, Reason: e.Reason}
	return plan, nil
}

// overridesValue is overrides as the audit log shows them: the overridden
// settings' values by name, "" for none (so that the before and after of
// an edit compare as values).
func overridesValue(o AccountOverrides) string {
	if o.IsZero() {
		return ""
	}
	b, err := json.Marshal(o)
	if err != nil {
		return ""
	}
	return string(b)
}

// periodStartWords says where t starts a's periods ("on day 1 of each
// month", "on each account's anniversary").
func periodStartWords(t AccountType, a Account) string {
	if t.BillingMode == BillingFixedDay {
		day, _ := AccountAnchor(t, a)
		return fmt.Sprintf("on day %d of the month", day)
	}
	return "on the account's anniversary"
}

// nextPeriodStart is the start of the monthly period after the one that
// contains at (in t's zone).
func nextPeriodStart(t AccountType, a Account, at time.Time) Date {
	loc, err := t.Location()
	if err != nil {
		loc = time.UTC
	}
	day, month := AccountAnchor(t, a)
	return PeriodAt(DateIn(at, loc), day, month, IntervalMonthly).End
}

// HistoryEntry is one line of an account's history: an audit-logged edit
// or a status change, with a one-line summary.
type HistoryEntry struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind" enum:"edit,status"`
	Actor   string    `json:"actor"`
	Summary string    `json:"summary"`
	// Edit is set for kind edit, Status for kind status.
	Edit   *AuditEntry   `json:"edit,omitempty"`
	Status *StatusChange `json:"status,omitempty"`
}

// AccountHistory merges an account's audit entries and status changes,
// newest first (at equal times, edits before status changes, then by id
// descending).
func AccountHistory(edits []AuditEntry, statuses []StatusChange) []HistoryEntry {
	h := make([]HistoryEntry, 0, len(edits)+len(statuses))
	for i := range edits {
		e := &edits[i]
		s := "changed " + strings.Join(e.Fields(), ", ")
		if e.Reason != "" {
			s += ": " + e.Reason
		}
		h = append(h, HistoryEntry{At: e.At, Kind: "edit", Actor: e.Actor, Summary: s, Edit: e})
	}
	for i := range statuses {
		c := &statuses[i]
		s := fmt.Sprintf("%s → %s (%s)", c.From, c.To, c.Cause)
		if len(c.Why) > 0 {
			s += ": " + strings.Join(c.Why, " ")
		}
		h = append(h, HistoryEntry{At: c.At, Kind: "status", Actor: c.Actor, Summary: s, Status: c})
	}
	sort.SliceStable(h, func(i, j int) bool {
		if !h[i].At.Equal(h[j].At) {
			return h[i].At.After(h[j].At)
		}
		if h[i].Kind != h[j].Kind {
			return h[i].Kind == "edit"
		}
		return h[i].id() > h[j].id()
	})
	return h
}

func (h HistoryEntry) id() int64 {
	if h.Edit != nil {
		return h.Edit.ID
	}
	return h.Status.ID
}
