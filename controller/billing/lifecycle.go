package billing

import (
	"fmt"
	"slices"
	"time"
)

// This file holds what every service lifecycle plan shares: the account
// type's lifecycle settings, a service's invoiced coverage, and the plan
// a change decides. The plans themselves are in planchange.go (plan and
// quantity changes), cancel.go, pause.go, suspendeddays.go, billingday.go
// and priceversion.go. Every plan is a pure function of plain inputs; the
// store reads the inputs and applies a plan as it is, in one transaction.
//
// The money rule is one: a change credits, day by day, what invoices have
// already charged for the days it changes, at exactly the price and over
// exactly the period they were charged at, and charges the new terms for
// the same days. Both sides are [Prorate] pieces of a period, so whatever
// sequence of changes a period sees, its pieces sum exactly to what the
// days cost, and no day is charged twice.

// PlanChangeTiming is when a plan change takes effect, as the account type
// decides.
type PlanChangeTiming string

// Plan change timings.
const (
	// PlanChangeAsRequested: every change takes effect on the date asked
	// for (today when none is given).
	PlanChangeAsRequested PlanChangeTiming = "as_requested"
	// PlanChangeUpgradesNow: upgrades take effect on the date asked for,
	// downgrades at the start of the next billing period after it.
	PlanChangeUpgradesNow PlanChangeTiming = "upgrades_now_downgrades_next_period"
)

// ChangeInvoicing is where the lines of a mid-period change go.
type ChangeInvoicing string

// Change invoicings: the account type's setting, and the plan's decision.
const (
	// InvoiceOnNext: the lines go on the account's next invoice.
	InvoiceOnNext ChangeInvoicing = "next_invoice"
	// InvoiceImmediately: an invoice with the lines is issued now (when
	// they amount to at least the type's minimum; otherwise they go on the
	// next invoice).
	InvoiceImmediately ChangeInvoicing = "immediate_invoice"
	// InvoiceFinal: the lines go on the service's final invoice (a cancel
	// with days still to invoice, or other services to bill).
	InvoiceFinal ChangeInvoicing = "final_invoice"
	// InvoiceAsCredit: nothing else is due; the lines' (negative) sum is
	// posted as a credit to the account ([CreditTx]) with the lines as its
	// detail.
	InvoiceAsCredit ChangeInvoicing = "account_credit"
)

// OnCancel is what a cancelled service's enforcement becomes.
type OnCancel string

// On-cancel choices.
const (
	// CancelKeepSuspended (the default) keeps the service at its POP,
	// suspended, until staff decommission it: RADIUS authorize keeps
	// answering "suspended" (walled garden) for its User-Name, RouterOS
	// keeps its address in the suspended address list, SNMP keeps its port
	// down. A cancelled subscriber never gets free service.
	CancelKeepSuspended OnCancel = "keep_suspended"
	// CancelRemove removes the service from its POP: the agent takes its
	// address off the RouterOS list (so the address is unrestricted until
	// reassigned), forgets its RADIUS sessions (authorize answers "no
	// restriction" for its User-Name, so the NAS must stop accepting the
	// user) and stops managing its SNMP port (left as it was). Choose it
	// when the line is disconnected physically or the NAS account deleted.
	CancelRemove OnCancel = "remove"
)

// DefaultMaxPauseDays is the longest pause when the account type sets
// none.
const DefaultMaxPauseDays = 90

// LifecyclePolicy is an account type's settings for service lifecycle
// changes. The zero value is usable: changes as requested, on the next
// invoice, pauses of up to [DefaultMaxPauseDays] without a fee and without
// suspension, suspended days invoiced, cancelled services kept suspended.
type LifecyclePolicy struct {
	PlanChangeTiming PlanChangeTiming `json:"plan_change_timing,omitempty" enum:"as_requested,upgrades_now_downgrades_next_period"`
	// ChangeInvoicing is next_invoice or immediate_invoice.
	ChangeInvoicing ChangeInvoicing `json:"change_invoicing,omitempty" enum:"next_invoice,immediate_invoice"`
	// ImmediateInvoiceMinimum (minor units): with immediate_invoice, a
	// change whose lines amount to less is put on the next invoice instead.
	ImmediateInvoiceMinimum int64 `json:"immediate_invoice_minimum,omitempty" minimum:"0" maximum:"100000000000"`
	// MaxPauseDays is the longest pause (vacation hold); 0 means
	// [DefaultMaxPauseDays].
	MaxPauseDays int `json:"max_pause_days,omitempty" minimum:"0" maximum:"366"`
	// PauseHoldFee (minor units per month) is charged, prorated by day,
	// for the paused days instead of the plan; 0 for none.
	PauseHoldFee int64 `json:"pause_hold_fee,omitempty" minimum:"0" maximum:"100000000000"`
	// SuspendWhilePaused suspends a paused service at its POP until it
	// resumes.
	SuspendWhilePaused bool `json:"suspend_while_paused,omitempty"`
	// StopInvoicingWhileSuspended credits the days on which the account
	// was suspended at local midnight.
	StopInvoicingWhileSuspended bool     `json:"stop_invoicing_while_suspended,omitempty"`
	OnCancel                    OnCancel `json:"on_cancel,omitempty" enum:"keep_suspended,remove"`
}

// Validate fills the policy's defaults (as_requested, next_invoice,
// keep_suspended, [DefaultMaxPauseDays]) and checks it.
//
// Errors: EINVALID naming the field: an unknown timing, invoicing or
// on_cancel; a negative or too large amount; max_pause_days outside
// 0-366.
func (p *LifecyclePolicy) Validate() error {
	if p.PlanChangeTiming == "" {
		p.PlanChangeTiming = PlanChangeAsRequested
	}
	if p.PlanChangeTiming != PlanChangeAsRequested && p.PlanChangeTiming != PlanChangeUpgradesNow {
		return Errorf(EINVALID, "plan_change_timing %q is not one of as_requested, upgrades_now_downgrades_next_period", p.PlanChangeTiming)
	}
	if p.ChangeInvoicing == "" {
		p.ChangeInvoicing = InvoiceOnNext
	}
	if p.ChangeInvoicing != InvoiceOnNext && p.ChangeInvoicing != InvoiceImmediately {
		return Errorf(EINVALID, "change_invoicing %q is not one of next_invoice, immediate_invoice", p.ChangeInvoicing)
	}
	if p.OnCancel == "" {
		p.OnCancel = CancelKeepSuspended
	}
	if p.OnCancel != CancelKeepSuspended && p.OnCancel != CancelRemove {
		return Errorf(EINVALID, "on_cancel %q is not one of keep_suspended, remove", p.OnCancel)
	}
	if p.MaxPauseDays == 0 {
		p.MaxPauseDays = DefaultMaxPauseDays
	}
	if p.MaxPauseDays < 0 || p.MaxPauseDays > 366 {
		return Errorf(EINVALID, "max_pause_days %d is out of range 1-366", p.MaxPauseDays)
	}
	for _, a := range []struct {
		field  string
		amount int64
	}{{"immediate_invoice_minimum", p.ImmediateInvoiceMinimum}, {"pause_hold_fee", p.PauseHoldFee}} {
		if a.amount < 0 {
			return Errorf(EINVALID, "%s %d must not be negative", a.field, a.amount)
		}
		if err := CheckAmount(a.field, a.amount); err != nil {
			return err
		}
	}
	return nil
}

// maxPause is the policy's longest pause in days.
func (p LifecyclePolicy) maxPause() int {
	if p.MaxPauseDays <= 0 {
		return DefaultMaxPauseDays
	}
	return p.MaxPauseDays
}

// BilledSpan is a run of days of a service that an invoice has charged (or
// that a plan's lines charge), with what they were charged at: Price over
// Period, prorated by day. The store keeps a service's coverage — its
// spans, which never overlap — beside its invoices, and replaces it with
// a plan's Coverage when it applies the plan.
type BilledSpan struct {
	// Period is the plan period the price is for (a month for a monthly
	// plan); From and To (exclusive) are the charged days inside it.
	Period Period `json:"period"`
	From   Date   `json:"from"`
	To     Date   `json:"to"`
	// PlanID and PlanName name the plan charged (the hold for a hold fee).
	PlanID   int64  `json:"plan_id,omitempty"`
	PlanName string `json:"plan_name"`
	// UnitPrice is the plan's price per Period, Quantity the service's
	// quantity; Price = UnitPrice × Quantity is what the whole Period costs.
	UnitPrice int64 `json:"unit_price"`
	Quantity  int64 `json:"quantity"`
	Price     int64 `json:"price"`
	Taxable   bool  `json:"taxable,omitempty"`
	// Hold marks a pause's hold fee rather than the plan.
	Hold bool `json:"hold,omitempty"`
}

// Amount is what the span charges: Price prorated over Period for
// [From, To).
func (s BilledSpan) Amount() int64 { return Prorate(s.Price, s.Period, s.From, s.To) }

// Days is the number of days the span charges.
func (s BilledSpan) Days() int { return max(0, s.From.DaysUntil(s.To)) }

// terms names what the span charges: "Fiber 50", "Fiber 50 × 3".
func (s BilledSpan) terms() string { return termsWords(s.PlanName, s.Quantity) }

func termsWords(name string, quantity int64) string {
	if quantity > 1 {
		return fmt.Sprintf("%s × %d", name, quantity)
	}
	return name
}

// validateCoverage checks spans are inside their periods, ordered and
// disjoint.
func validateCoverage(spans []BilledSpan) error {
	for i, s := range spans {
		switch {
		case s.Period.Days() == 0:
			return Errorf(EINVALID, "coverage[%d]: period %s..%s is empty", i, s.Period.Start, s.Period.End)
		case !s.From.Before(s.To):
			return Errorf(EINVALID, "coverage[%d]: from %s is not before to %s", i, s.From, s.To)
		case s.From.Before(s.Period.Start) || s.To.After(s.Period.End):
			return Errorf(EINVALID, "coverage[%d]: days %s..%s lie outside its period %s", i, s.From, s.To, s.Period)
		case s.Price < 0 || s.Price > MaxAmount:
			return Errorf(EINVALID, "coverage[%d]: price %d is out of range", i, s.Price)
		case i > 0 && s.From.Before(spans[i-1].To):
			return Errorf(EINVALID, "coverage[%d]: days %s..%s overlap or precede the span before", i, s.From, s.To)
		}
	}
	return nil
}

// ProratedLine is an invoice line a lifecycle plan adds, with its basis:
// the line charges (or, negative, credits) FullAmount over Period for the
// line's days [PeriodStart, PeriodEnd).
type ProratedLine struct {
	InvoiceLine
	Period     Period `json:"period"`
	FullAmount int64  `json:"full_amount"`
}

// Days is the number of days the line is for.
func (l ProratedLine) Days() int { return max(0, l.PeriodStart.DaysUntil(l.PeriodEnd)) }

// ScheduledEnforcement is a desired-state change a plan causes for one
// service, on a local date: the store writes it through the enforcement
// outbox now when On is today or earlier, else a job applies it at local
// midnight of On. One of cause CausePlanChanged changes no state and sets
// no hold: it is the service's new plan's speed, a revision carrying the
// plan's profile (when the service's state receives one and its record
// does not carry it already).
type ScheduledEnforcement struct {
	Service ServiceRef   `json:"service"`
	On      Date         `json:"on"`
	State   DesiredState `json:"state,omitempty"`
	// Remove takes the service off its POP (on_cancel: remove).
	Remove bool           `json:"remove,omitempty"`
	Cause  LifecycleCause `json:"cause"`
	Reason string         `json:"reason"`
}

// LifecycleCause is why a lifecycle plan changes a service's enforcement.
type LifecycleCause string

// Lifecycle causes.
const (
	CauseCancelled LifecycleCause = "cancelled"
	CausePaused    LifecycleCause = "paused"
	CauseResumed   LifecycleCause = "resumed"
	// CausePlanChanged: the service's plan changed; its speed follows on
	// the change's effective date.
	CausePlanChanged LifecycleCause = "plan_changed"
)

// ServiceTerms are the billing terms of a service that lifecycle changes
// edit (the audit log's before and after).
type ServiceTerms struct {
	PlanID   int64  `json:"plan_id,omitempty"`
	PlanName string `json:"plan_name,omitempty"`
	Quantity int64  `json:"quantity,omitempty"`
	// End is the first day without service (zero: open-ended).
	End Date `json:"end_date,omitzero"`
	// PauseFrom and PauseTo (exclusive) bound a pause (zero: none).
	PauseFrom Date `json:"pause_from,omitzero"`
	PauseTo   Date `json:"pause_to,omitzero"`
}

// ServiceUpdate is a change of a service's terms from a local date on:
// the service's terms history gains After from Effective, replacing any
// change planned for a later date (the plan's Coverage already credits
// what such a change charged).
type ServiceUpdate struct {
	ServiceID int64        `json:"service_id"`
	Effective Date         `json:"effective"`
	Before    ServiceTerms `json:"before"`
	After     ServiceTerms `json:"after"`
	// EndedPause is the service's earlier pause, over by now, that a new
	// pause replaces on the service: it is kept in the service's pause
	// history, whose days the billing run never charges at the plan.
	EndedPause *PauseSpan `json:"ended_pause,omitempty"`
}

// LifecycleAudit is the audit log entry of a lifecycle change: who
// changed which entity when, the changed fields before and after (by
// their API names), and why. It has the audit log's shape (actor, at,
// entity, id, before/after, reason).
type LifecycleAudit struct {
	Actor    string         `json:"actor"`
	At       time.Time      `json:"at"`
	Entity   string         `json:"entity"`
	EntityID int64          `json:"entity_id"`
	Action   LifecycleKind  `json:"action"`
	Before   map[string]any `json:"before"`
	After    map[string]any `json:"after"`
	Reason   string         `json:"reason,omitempty"`
}

// Audit entities of lifecycle changes.
const (
	auditEntityService = "service"
	auditEntityAccount = "account"
	auditEntityPlan    = "plan"
)

// LifecycleKind is the change a lifecycle plan makes.
type LifecycleKind string

// Lifecycle kinds.
const (
	LifecyclePlanChange     LifecycleKind = "plan_change"
	LifecycleQuantityChange LifecycleKind = "quantity_change"
	LifecycleCancel         LifecycleKind = "cancel"
	LifecyclePause          LifecycleKind = "pause"
	LifecycleSuspendedDays  LifecycleKind = "suspended_days_credit"
	LifecycleBillingDay     LifecycleKind = "billing_day_change"
	LifecyclePriceChange    LifecycleKind = "price_change"
)

// LifecyclePlan is what a lifecycle change decides, for the store to apply
// in one transaction: add Lines where Invoicing says (or post AccountCredit
// as a credit), replace the service's coverage with Coverage, apply the
// service, account or plan update, write Enforcement through the outbox,
// and write Audit. A plan never needs the store to decide anything.
type LifecyclePlan struct {
	Kind LifecycleKind `json:"kind"`
	// AccountID and ServiceID are the account and service changed (0 when
	// the change is not about one: a plan's price).
	AccountID int64 `json:"account_id,omitempty"`
	ServiceID int64 `json:"service_id,omitempty"`
	// Currency is the account's (the plan's for a price change): what the
	// amounts are in.
	Currency Currency `json:"currency"`
	// Effective is the first local day the change applies to.
	Effective Date `json:"effective"`
	// Lines are the invoice lines to add: credits (negative) for days
	// already invoiced at the old terms, charges at the new.
	Lines []ProratedLine `json:"lines"`
	// Net is the sum of Lines.
	Net int64 `json:"net"`
	// Invoicing is where the lines go. InvoicePeriod is, for
	// immediate_invoice, the billing period the adjustment invoice issued
	// now with the lines belongs to (an invoice of its own beside the
	// period's regular one), and for billing_run the transitional period
	// the billing run invoices; zero otherwise.
	Invoicing     ChangeInvoicing `json:"invoicing"`
	InvoicePeriod Period          `json:"invoice_period,omitzero"`
	// AccountCredit (> 0) is posted as a credit when Invoicing is
	// account_credit: −Net.
	AccountCredit int64 `json:"account_credit,omitempty"`
	// Coverage is the service's invoiced coverage after the plan (nil when
	// the plan is not about one service).
	Coverage []BilledSpan `json:"coverage,omitempty"`
	// Service is the change to the service's terms; Account the account's
	// new billing day; Price the plan's new price version.
	Service *ServiceUpdate `json:"service,omitempty"`
	Account *AccountUpdate `json:"account,omitempty"`
	Price   *PriceVersion  `json:"price,omitempty"`
	// Preview says what a price change affects.
	Preview *PricePreview `json:"preview,omitempty"`
	// FirstRegular is, for a billing-day change, the first regular invoice
	// on the new day (after the transitional one, when there is one): its
	// period and recurring lines as the billing run will invoice them.
	FirstRegular *InvoicePreview `json:"first_regular,omitempty"`
	// Enforcement are the desired-state changes the change causes.
	Enforcement []ScheduledEnforcement `json:"enforcement,omitempty"`
	Audit       LifecycleAudit         `json:"audit"`
	// Why says, for staff, what was decided and why.
	Why []string `json:"why"`
}

// LifecycleContext is what every service lifecycle change is decided in:
// the account, its type (whose zone makes the local dates) and the type's
// lifecycle policy, the time from the injected clock, and who asks why.
type LifecycleContext struct {
	Account Account
	Type    AccountType
	Policy  LifecyclePolicy
	Now     time.Time
	Actor   string
	// Reason is the staff's note for the audit log (optional).
	Reason string
}

// begin is what every service change checks first: the type's lifecycle
// policy, the service (its account not closed, its start, quantity,
// currency and coverage); it returns today in the type's zone. Errors:
// EINVALID naming what is wrong.
func (c LifecycleContext) begin(svc LifecycleService) (Date, error) {
	if err := c.Policy.Validate(); err != nil {
		return Date{}, err
	}
	today, err := c.today()
	if err != nil {
		return Date{}, err
	}
	return today, svc.check(c.Account)
}

// today is the local date of Now in the account type's zone.
func (c LifecycleContext) today() (Date, error) {
	loc, err := c.Type.Location()
	if err != nil {
		return Date{}, err
	}
	return DateIn(c.Now, loc), nil
}

// periodOf is the plan period of interval iv containing d, anchored like
// the account.
func (c LifecycleContext) periodOf(d Date, iv Interval) Period {
	day, month := AccountAnchor(c.Type, c.Account)
	return PeriodAt(d, day, month, iv)
}

// audit starts the plan's audit entry.
func (c LifecycleContext) audit(kind LifecycleKind, entity string, id int64) LifecycleAudit {
	return LifecycleAudit{Actor: c.Actor, At: c.Now, Entity: entity, EntityID: id, Action: kind,
		Before: map[string]any{}, After: map[string]any{}, Reason: c.Reason}
}

// LifecycleService is a service as lifecycle changes see it: its terms,
// its dates, and the days invoices have already charged.
type LifecycleService struct {
	Ref  ServiceRef `json:"ref"`
	Name string     `json:"name"`
	Plan Plan       `json:"plan"`
	// Quantity multiplies the plan's price; 0 counts as 1.
	Quantity int64 `json:"quantity"`
	// Start is the first day of service; End the first day without (zero:
	// open-ended).
	Start Date `json:"start"`
	End   Date `json:"end"`
	// PauseFrom and PauseTo bound a pause already planned (zero: none).
	PauseFrom Date `json:"pause_from"`
	PauseTo   Date `json:"pause_to"`
	// Coverage is the days invoices have charged, in order, disjoint.
	Coverage []BilledSpan `json:"coverage"`
}

func (s LifecycleService) quantity() int64 { return max(s.Quantity, 1) }

func (s LifecycleService) terms() ServiceTerms {
	return ServiceTerms{PlanID: s.Plan.ID, PlanName: s.Plan.Name, Quantity: s.quantity(), End: s.End, PauseFrom: s.PauseFrom, PauseTo: s.PauseTo}
}

// check validates what every change needs of the service.
func (s LifecycleService) check(a Account) error {
	switch {
	case a.Status == AccountClosed:
		return Errorf(EINVALID, "service %d belongs to closed account %s: a closed account's services do not change (reopen the account first)", s.Ref.ID, a.Number)
	case s.Start.IsZero():
		return Errorf(EINVALID, "service %d has no start date", s.Ref.ID)
	case s.Quantity < 0:
		return Errorf(EINVALID, "service %d: quantity %d must be at least 1", s.Ref.ID, s.Quantity)
	case s.Plan.Currency != "" && a.Currency != "" && s.Plan.Currency != a.Currency:
		return Errorf(EINVALID, "service %d: plan %q is priced in %s but the account is billed in %s", s.Ref.ID, s.Plan.Name, s.Plan.Currency, a.Currency)
	}
	return validateCoverage(s.Coverage)
}

// removeDays takes the days [from, to) out of coverage for which keep
// says so (nil: every span): it returns the coverage left and the pieces
// taken out, each with its span's basis. Pieces are [Prorate] pieces of
// the same period and price as the span they came from, so the pieces
// left and taken sum exactly to what the span charged.
func removeDays(coverage []BilledSpan, from, to Date, take func(BilledSpan) bool) (left, taken []BilledSpan) {
	for _, s := range coverage {
		a, b := s.From, s.To
		if from.After(a) {
			a = from
		}
		if to.Before(b) {
			b = to
		}
		if !a.Before(b) || (take != nil && !take(s)) {
			left = append(left, s)
			continue
		}
		if s.From.Before(a) {
			head := s
			head.To = a
			left = append(left, head)
		}
		piece := s
		piece.From, piece.To = a, b
		taken = append(taken, piece)
		if b.Before(s.To) {
			tail := s
			tail.From = b
			left = append(left, tail)
		}
	}
	return left, taken
}

// addCoverage merges spans into coverage, in date order.
func addCoverage(coverage []BilledSpan, spans ...BilledSpan) []BilledSpan {
	out := append(slices.Clone(coverage), spans...)
	slices.SortStableFunc(out, func(x, y BilledSpan) int { return x.From.Compare(y.From) })
	return out
}

// creditLine credits a piece of coverage: minus what its days were
// charged.
func creditLine(s BilledSpan, serviceID int64, desc string) ProratedLine {
	id := serviceID
	return ProratedLine{
		InvoiceLine: InvoiceLine{Kind: LineCredit, Description: desc, ServiceID: &id,
			PeriodStart: s.From, PeriodEnd: s.To, Amount: -s.Amount(), Taxable: s.Taxable},
		Period: s.Period, FullAmount: -s.Price,
	}
}

// chargeLine charges a span.
func chargeLine(s BilledSpan, serviceID int64, desc string) ProratedLine {
	id := serviceID
	return ProratedLine{
		InvoiceLine: InvoiceLine{Kind: LineRecurring, Description: desc, ServiceID: &id,
			PeriodStart: s.From, PeriodEnd: s.To, Amount: s.Amount(), Taxable: s.Taxable},
		Period: s.Period, FullAmount: s.Price,
	}
}

// shortDate formats a date the way invoice lines say it: "Mar 10".
func shortDate(d Date) string { return d.Month.String()[:3] + " " + fmt.Sprint(d.Day) }

// daysWords says which days of a period a piece is: "22 of 31 days, Mar
// 10 to Mar 31".
func daysWords(s BilledSpan) string {
	return fmt.Sprintf("%d of %d days, %s to %s", s.Days(), s.Period.Days(), shortDate(s.From), shortDate(s.To.AddDays(-1)))
}

// price formats a period price: "80.00/monthly".
func priceWords(amount int64, c Currency, iv Interval) string {
	if iv == "" {
		iv = IntervalMonthly
	}
	return FormatAmount(amount, c) + "/" + string(iv)
}

// finish sums the plan's lines and decides where they go for a change
// whose lines follow the type's invoicing setting.
func (p *LifecyclePlan) finish(pol LifecyclePolicy, c Currency, today Date, iv Interval, ctx LifecycleContext) {
	p.Net = 0
	for _, l := range p.Lines {
		p.Net += l.Amount
	}
	p.Invoicing = InvoiceOnNext
	if len(p.Lines) == 0 {
		return
	}
	if pol.ChangeInvoicing == InvoiceImmediately {
		minimum := pol.ImmediateInvoiceMinimum
		switch {
		case p.Net > 0 && p.Net >= minimum:
			p.Invoicing = InvoiceImmediately
			p.InvoicePeriod = ctx.periodOf(today, iv)
			p.Why = append(p.Why, fmt.Sprintf("invoiced now: the change amounts to %s, at least the minimum %s", FormatAmount(p.Net, c), FormatAmount(minimum, c)))
		case p.Net > 0:
			p.Why = append(p.Why, fmt.Sprintf("on the next invoice: the change amounts to %s, below the minimum %s for an invoice of its own", FormatAmount(p.Net, c), FormatAmount(minimum, c)))
		default:
			p.Why = append(p.Why, fmt.Sprintf("on the next invoice: the change amounts to %s, a credit", FormatAmount(p.Net, c)))
		}
	}
}
