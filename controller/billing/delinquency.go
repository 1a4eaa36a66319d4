package billing

import (
	"fmt"
	"time"
)

// OwedInvoice is an open invoice with money still owed on it, as the
// delinquency sweep sees it.
type OwedInvoice struct {
	ID        int64
	Number    string
	DueDate   Date
	Remaining int64
}

// Standing is what the delinquency sweep knows of one account: the input of
// [Assess].
type Standing struct {
	AccountID int64
	Number    string
	Currency  Currency
	Status    AccountStatus
	// Exempt accounts are never made delinquent or suspended.
	Exempt       bool
	ExemptReason string
	// PromiseUntil, when not zero, holds the account out of delinquency and
	// suspension through that date.
	PromiseUntil Date
	// Invoices are the open invoices with money owed that are due before
	// today or within the reminder lead (see [ReminderLead]), oldest due
	// first.
	Invoices []OwedInvoice
	// Balance is the account's ledger balance (positive: owed).
	Balance int64
	// Credit is what the account holds on credit that no invoice's
	// allocations hold: credits, write-offs, the unallocated parts of
	// payments and invoices with a negative total (credit notes). It pays the oldest invoices first (see [Assess]); charges
	// no invoice carries (late, reconnection and returned-payment fees)
	// are owed — they are in Balance — but never past due, so they never
	// take the credit away from an invoice.
	Credit int64
	// Reminded: a reminder about one of Invoices was sent before now.
	Reminded bool
	// Held: the account's suspension waits in a pending suspension batch.
	Held bool
	// Overrides are the account's own billing settings: [Assess] decides
	// by [EffectiveType] of the type and them.
	Overrides AccountOverrides
	// Pending is what the account's gateway payments still settling
	// (processing charge attempts: not journaled, not allocated) amount
	// to; the type's PendingPayments says whether it counts.
	Pending int64
}

// ReminderDue asks for a reminder about an invoice.
type ReminderDue struct {
	InvoiceID int64
	// DaysBefore is how many days before the invoice's delinquency date the
	// reminder is for; 0 is the notice sent at delinquency when no earlier
	// reminder went out.
	DaysBefore      int
	DelinquencyDate Date
}

// Assessment is the sweep's verdict on one account.
type Assessment struct {
	Status AccountStatus
	// Why explains Status in precise words for staff: the [Reason.Staff]
	// sentences of Reasons.
	Why []string
	// Reasons explain Status as structured steps; subscribers read them
	// through [SubscriberWhy].
	Reasons []Reason
	// PastDue is what is owed on invoices whose due date has passed.
	PastDue int64
	// Overdue is what is owed on invoices whose delinquency date has come.
	Overdue int64
	// DelinquencyDate is the (rule-moved) delinquency date of the oldest
	// past-due invoice; zero if none.
	DelinquencyDate Date
	// Suspend: the account's services are to be suspended now.
	Suspend bool
	// Restore: the account's services are to be restored now; Paid says it
	// is because the reactivation rule is met (a reconnection fee applies),
	// not because of a promise or an exemption.
	Restore, Paid bool
	// Reminder, if not nil, is a reminder to queue (the store ignores one it
	// already has).
	Reminder *ReminderDue
	// OverdueInvoices are the invoices past their delinquency date.
	OverdueInvoices []OwedInvoice
}

// ReminderLead is how many days ahead of today the sweep must look at
// invoices' due dates to send every reminder of t: a reminder N days before
// the delinquency date of an invoice not yet due.
func ReminderLead(t AccountType) int {
	lead := 0
	for _, n := range t.ReminderDaysBefore {
		lead = max(lead, n-t.GraceDays)
	}
	return lead
}

// ReminderLeadOf is [ReminderLead] over the accounts of t with any of
// overrides: the largest of t's and each [EffectiveType]'s, so that one
// read of a type's invoices serves every account.
func ReminderLeadOf(t AccountType, overrides []AccountOverrides) int {
	lead := ReminderLead(t)
	for _, o := range overrides {
		lead = max(lead, ReminderLead(EffectiveType(t, o)))
	}
	return lead
}

// RemindersOn reports whether t sends reminders before delinquency; when it
// does, no account of t is suspended without a prior reminder.
func RemindersOn(t AccountType) bool { return len(t.ReminderDaysBefore) > 0 }

// Assess derives an account's status from what it owes and its account type
// (due date + grace days, moved forward past days the rule disallows;
// minimum balance; promise to pay; exemption) on the local date today, and
// decides what to do about it: suspend, restore, remind.
//
// Transitions: an account is past due once an invoice's due date has passed;
// delinquent once an invoice's delinquency date has come with at least the
// minimum delinquent balance owed on such invoices — and only on a day the
// rule allows; suspended when delinquent and the type auto-suspends, unless
// reminders are on and none was sent yet, or the suspension is held for
// approval. A suspended account is restored when the reactivation rule is
// met (past-due amount or full balance paid), a promise to pay is recorded
// or it is made exempt. Closed accounts are left alone.
//
// Credit on the account (Standing.Credit) pays the oldest invoices first,
// before any fee: a credit that covers an overdue invoice keeps covering
// it when a fee — the reconnection fee the restore charges — or a newer
// invoice comes after it. What is owed is never more than the balance.
func Assess(t AccountType, rule DateRule, today Date, s Standing) Assessment {
	a := assess(t, rule, today, s)
	a.Why = StaffWhy(a.Reasons)
	return a
}

// With returns a with r added to its reasons (and its staff why), leaving
// the slices of a itself unchanged.
func (a Assessment) With(r Reason) Assessment {
	a.Reasons = append(a.Reasons[:len(a.Reasons):len(a.Reasons)], r)
	a.Why = append(a.Why[:len(a.Why):len(a.Why)], r.Staff())
	return a
}

// assess is [Assess] without the staff words.
func assess(t AccountType, rule DateRule, today Date, s Standing) Assessment {
	return assessWith(t, rule, today, s, true)
}

// assessWith is assess, with its reasons only if reasons is true: without
// them it decides the same and builds none (a sweep's first pass only asks
// whether anything changes, of hundreds of thousands of accounts).
func assessWith(t AccountType, rule DateRule, today Date, s Standing, reasons bool) Assessment {
	a := Assessment{Status: s.Status}
	if !s.Overrides.IsZero() && t.Overridden == nil {
		t = EffectiveType(t, s.Overrides)
	}
	add := func(r Reason) {
		if !reasons {
			return
		}
		if a.Reasons == nil {
			a.Reasons = make([]Reason, 0, 6) // enough for most
		}
		r.Currency = s.Currency
		if len(t.Overridden) > 0 {
			r.Override = reasonOverridden(t, r.Kind)
		}
		a.Reasons = append(a.Reasons, r)
	}
	if s.Status == AccountClosed {
		add(Reason{Kind: ReasonAccountClosed})
		return a
	}
	threshold := max(1, t.MinDelinquentBalance)

	var oldestPastDue bool
	var next *OwedInvoice // the oldest invoice not yet at its delinquency date
	var nextDate Date
	credit, credited := max(s.Credit, 0), int64(0)
	for _, inv := range s.Invoices {
		// Credit pays the oldest invoices first.
		if c := min(credit, inv.Remaining); c > 0 {
			inv.Remaining -= c
			credit, credited = credit-c, credited+c
		}
		if inv.Remaining <= 0 {
			continue
		}
		due, skips := rule.Next(inv.DueDate.AddDays(t.GraceDays))
		if inv.DueDate.Before(today) {
			a.PastDue += inv.Remaining
			if !oldestPastDue {
				oldestPastDue = true
				a.DelinquencyDate = due
				add(Reason{Kind: ReasonInvoicePastDue, Invoice: inv.Number, Amount: inv.Remaining, Date: inv.DueDate})
				r := Reason{Kind: ReasonDelinquencyDate, Date: due, Days: t.GraceDays}
				if reasons && len(skips) > 0 {
					r.Detail = describeMove("Its delinquency date", inv.DueDate.AddDays(t.GraceDays), due, skips)
				}
				add(r)
			}
		}
		if !due.After(today) {
			a.Overdue += inv.Remaining
			a.OverdueInvoices = append(a.OverdueInvoices, inv)
		} else if next == nil {
			next, nextDate = &inv, due
		}
	}
	// What is owed is never more than the balance (a caller that does not
	// know the account's credit leaves it to the balance).
	if bal := max(s.Balance, 0); a.PastDue > bal || a.Overdue > bal {
		credited += max(a.PastDue, a.Overdue) - bal
		a.PastDue, a.Overdue = min(a.PastDue, bal), min(a.Overdue, bal)
	}
	if credited > 0 {
		add(Reason{Kind: ReasonCreditsApplied, Amount: credited})
	}
	if len(s.Invoices) > 1 && a.PastDue > 0 {
		add(Reason{Kind: ReasonTotalPastDue, Amount: a.PastDue})
	}

	promised := !s.PromiseUntil.IsZero() && !s.PromiseUntil.Before(today)
	switch {
	case s.Exempt:
		add(Reason{Kind: ReasonExempt, Detail: s.ExemptReason})
	case promised:
		add(Reason{Kind: ReasonPromiseToPay, Date: s.PromiseUntil})
	}
	held := s.Exempt || promised
	// A pending payment that covers what is past due holds the account
	// (pending_payments hold or restore); restoring a suspended one is
	// decided below.
	pendingHeld := false
	if owed := max(a.PastDue, a.Overdue); !held && owed > 0 && s.Pending >= owed && t.PendingPayments.counts() {
		pendingHeld = true
		add(Reason{Kind: ReasonPendingPayment, Amount: s.Pending, Limit: owed})
	}
	delinquentNow := a.Overdue >= threshold && !held && !pendingHeld
	if a.Overdue > 0 && a.Overdue < threshold && !held && !pendingHeld {
		add(Reason{Kind: ReasonBelowMinimum, Amount: a.Overdue, Limit: threshold})
	}
	base := AccountCurrent
	if a.PastDue > 0 {
		base = AccountPastDue
	}

	if s.Status == AccountSuspended {
		met, restore := reactivationMet(t, s, a, threshold)
		switch {
		case met:
			a.Restore, a.Paid = true, true
			restore.Kind = ReasonRestoredPaid
			add(restore)
		case held:
			a.Restore = true
			add(Reason{Kind: ReasonRestoredHeld})
		case pendingHeld && t.PendingPayments == PendingRestore && pendingRestores(t, s, a, threshold):
			a.Restore = true
			add(Reason{Kind: ReasonRestoredPending, Amount: s.Pending})
		default:
			restore.Kind, restore.ThrottledTo = ReasonSuspended, throttledTo(t)
			add(restore)
			return a
		}
		a.Status = base
		if delinquentNow {
			// Paid enough to be restored, but still owing more than the minimum
			// past its delinquency date (full_balance rule with credit, or
			// past_due rule with a lower threshold): delinquent, not suspended.
			a.Status = AccountDelinquent
		}
		return a
	}

	if !delinquentNow {
		a.Status = base
		if base == AccountCurrent && len(a.Reasons) == 0 {
			add(Reason{Kind: ReasonNothingPastDue})
		}
		a.Reminder = reminderFor(t, today, next, nextDate, held || pendingHeld)
		return a
	}

	add(Reason{Kind: ReasonOverdue, Amount: a.Overdue, Limit: threshold})
	allowed, whyNot := rule.Allowed(today)
	if s.Status != AccountDelinquent && !allowed {
		// Nobody becomes delinquent on a day the billing team does not work.
		a.Status = base
		add(Reason{Kind: ReasonDelinquencyWaits, Date: today, Detail: whyNot})
		return a
	}
	a.Status = AccountDelinquent
	switch {
	case !allowed:
		// Nor is anyone suspended on such a day.
		add(Reason{Kind: ReasonSuspensionWaits, Date: today, Detail: whyNot})
	case !t.AutoSuspend:
		add(Reason{Kind: ReasonNoAutoSuspend, Detail: t.Name})
	case s.Held:
		add(Reason{Kind: ReasonGuardHold})
	case RemindersOn(t) && !s.Reminded:
		add(Reason{Kind: ReasonAwaitingReminder})
		a.Reminder = &ReminderDue{InvoiceID: a.OverdueInvoices[0].ID, DaysBefore: 0, DelinquencyDate: a.DelinquencyDate}
	default:
		a.Suspend = true
		a.Status = AccountSuspended
		_, restore := reactivationMet(t, s, a, threshold)
		restore.Kind, restore.Detail, restore.ThrottledTo = ReasonAutoSuspended, t.Name, throttledTo(t)
		add(restore)
	}
	return a
}

// reminderFor is the reminder due today, if any, about the invoice next
// whose delinquency date nextDate is still ahead: for the smallest N of the
// type's reminder days with nextDate − N ≤ today (a late sweep sends the
// latest reminder, not every one it missed).
func reminderFor(t AccountType, today Date, next *OwedInvoice, nextDate Date, held bool) *ReminderDue {
	if next == nil || held || !RemindersOn(t) {
		return nil
	}
	best := -1
	for _, n := range t.ReminderDaysBefore {
		if n > 0 && !nextDate.AddDays(-n).After(today) && (best < 0 || n < best) {
			best = n
		}
	}
	if best < 0 {
		return nil
	}
	return &ReminderDue{InvoiceID: next.ID, DaysBefore: best, DelinquencyDate: nextDate}
}

// reactivationMet reports whether a suspended account meets its type's
// reactivation rule, and the rule as a reason (without its kind): Rule,
// and the Amount to pay when it is not met.
func reactivationMet(t AccountType, s Standing, a Assessment, threshold int64) (bool, Reason) {
	if t.ReactivationRule == ReactivateFullBalance {
		r := Reason{Rule: ReactivateFullBalance}
		if s.Balance <= 0 {
			return true, r
		}
		r.Amount = s.Balance
		return false, r
	}
	// With no grace days an invoice is overdue on its due date, a day before
	// it is past due: what is overdue counts as past due here, or the sweep
	// would restore (and charge the reconnection fee to) the account it just
	// suspended.
	owed := max(a.PastDue, a.Overdue)
	r := Reason{Rule: ReactivatePastDue}
	if owed < threshold {
		return true, r
	}
	r.Amount = owed
	return false, r
}

// pendingRestores reports whether a suspended account's pending payments
// would meet its reactivation rule once posted: the rule applied to the
// balance and past-due amounts less what is pending.
func pendingRestores(t AccountType, s Standing, a Assessment, threshold int64) bool {
	s.Balance -= s.Pending
	a.PastDue, a.Overdue = max(a.PastDue-s.Pending, 0), max(a.Overdue-s.Pending, 0)
	met, _ := reactivationMet(t, s, a, threshold)
	return met
}

func optionalReason(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

// SweepTrigger says why a delinquency sweep ran.
type SweepTrigger string

// Sweep triggers.
const (
	SweepScheduled SweepTrigger = "schedule"
	SweepManual    SweepTrigger = "manual"
)

// SweepActor is the actor recorded for scheduled sweeps' decisions (the
// job runner's daily sweep), and for a sweep whose request names none.
const SweepActor = "job:delinquency-sweep"

// SweepRequest asks for a delinquency sweep of one account type.
type SweepRequest struct {
	AccountTypeID int64
	Trigger       SweepTrigger
	// Actor names who asked: "job:delinquency-sweep", "user:alice".
	Actor string
	// DryRun computes everything and changes nothing (the preview).
	DryRun bool
	Guard  SuspensionGuard
}

// SweepResult is what a sweep did (or, for a dry run, would do).
type SweepResult struct {
	ID            int64        `json:"id,omitempty"`
	AccountTypeID int64        `json:"account_type_id"`
	Trigger       SweepTrigger `json:"trigger"`
	LocalDate     Date         `json:"local_date"`
	DryRun        bool         `json:"dry_run"`
	// AlreadyRan: a scheduled sweep for this type and local date had run;
	// nothing was done.
	AlreadyRan bool `json:"already_ran"`
	// Examined counts the accounts that owe something or are not current.
	Examined      int `json:"examined"`
	StatusChanges int `json:"status_changes"`
	// Suspended and Restored count accounts; SuspendedServices services.
	Suspended         int `json:"suspended"`
	SuspendedServices int `json:"suspended_services"`
	Restored          int `json:"restored"`
	// Held counts accounts whose suspension the guard held in HeldBatchID.
	Held        int   `json:"held"`
	HeldBatchID int64 `json:"held_batch_id,omitempty"`
	// HeldReasons says which limits the held POPs exceeded.
	HeldReasons []string `json:"held_reasons,omitempty"`
	Reminders   int      `json:"reminders"`
	// Suspensions lists the accounts suspended or held (at most 1,000).
	Suspensions []PlannedSuspension `json:"suspensions"`
	StartedAt   time.Time           `json:"started_at"`
	FinishedAt  time.Time           `json:"finished_at"`
}

// PlannedSuspension is an account a sweep suspends or holds.
type PlannedSuspension struct {
	AccountID  int64    `json:"account_id"`
	Number     string   `json:"number"`
	ServiceIDs []int64  `json:"service_ids"`
	POPs       []string `json:"pops"`
	Held       bool     `json:"held"`
	Why        []string `json:"why"`
}

// SuspensionGuard is the blast-radius guard: a sweep's suspensions at a POP
// are held for approval when they exceed the largest of MinServices,
// POPPercent of the POP's active services, and MedianFactor times the
// POP's median daily suspensions over the last 30 days. Restores are never
// held. The zero value means the defaults.
type SuspensionGuard struct {
	// MinServices: this many suspensions at a POP are never held. Default 25.
	MinServices int `yaml:"min_services" json:"min_services"`
	// POPPercent of a POP's active services may be suspended by one sweep
	// without approval. Default 10.
	POPPercent float64 `yaml:"pop_percent" json:"pop_percent"`
	// MedianFactor times the 30-day median of daily suspensions at the POP
	// may be suspended without approval. Default 3.
	MedianFactor float64 `yaml:"median_factor" json:"median_factor"`
	// Disabled turns the guard off (every suspension goes through).
	Disabled bool `yaml:"disabled" json:"disabled"`
}

// WithDefaults fills in zero fields.
func (g SuspensionGuard) WithDefaults() SuspensionGuard {
	if g.MinServices == 0 {
		g.MinServices = 25
	}
	if g.POPPercent == 0 {
		g.POPPercent = 10
	}
	if g.MedianFactor == 0 {
		g.MedianFactor = 3
	}
	return g
}

// Validate reports a negative setting (EINVALID naming it).
func (g SuspensionGuard) Validate() error {
	switch {
	case g.MinServices < 0:
		return Errorf(EINVALID, "guard min_services %d is negative", g.MinServices)
	case g.POPPercent < 0 || g.POPPercent > 100:
		return Errorf(EINVALID, "guard pop_percent %g is not between 0 and 100", g.POPPercent)
	case g.MedianFactor < 0:
		return Errorf(EINVALID, "guard median_factor %g is negative", g.MedianFactor)
	}
	return nil
}

// POPLoad is what one sweep would suspend at a POP, with the POP's context.
type POPLoad struct {
	POP         string
	Suspensions int
	// Active services at the POP before the sweep.
	Active int
	// Median is the median of the POP's daily suspensions over 30 days.
	Median float64
}

// Hold reports whether the guard holds the load, and why in words.
func (g SuspensionGuard) Hold(l POPLoad) (bool, string) {
	if g.Disabled {
		return false, ""
	}
	g = g.WithDefaults()
	pct := g.POPPercent / 100 * float64(l.Active)
	med := g.MedianFactor * l.Median
	limit := max(float64(g.MinServices), pct, med)
	if float64(l.Suspensions) <= limit {
		return false, ""
	}
	return true, fmt.Sprintf("POP %s: %d suspensions exceed the limit of %.0f (the largest of %d services, %g%% of %d active services = %.1f, %g × 30-day median %.1f = %.1f)",
		l.POP, l.Suspensions, limit, g.MinServices, g.POPPercent, l.Active, pct, g.MedianFactor, l.Median, med)
}

// SuspensionBatch is a sweep's suspensions held by the blast-radius guard
// until staff approve them (all or some) or cancel them.
type SuspensionBatch struct {
	ID      int64  `json:"id"`
	SweepID int64  `json:"sweep_id"`
	Status  string `json:"status" enum:"pending,decided"`
	// Reasons say which limits the held POPs exceeded.
	Reasons   []string              `json:"reasons"`
	CreatedAt time.Time             `json:"created_at"`
	DecidedAt *time.Time            `json:"decided_at,omitempty"`
	DecidedBy string                `json:"decided_by,omitempty"`
	Pending   int                   `json:"pending"`
	Items     []SuspensionBatchItem `json:"items,omitempty"`
}

// SuspensionBatchItem is one held account.
type SuspensionBatchItem struct {
	AccountID  int64    `json:"account_id"`
	Number     string   `json:"number"`
	ServiceIDs []int64  `json:"service_ids"`
	POPs       []string `json:"pops"`
	Why        []string `json:"why"`
	// Status: pending; approved (suspended); skipped (approved or restored,
	// but no longer delinquent); cancelled.
	Status    string     `json:"status" enum:"pending,approved,skipped,cancelled"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
}

// StatusChange is one entry of an account's status audit log.
type StatusChange struct {
	ID   int64         `json:"id"`
	From AccountStatus `json:"from"`
	To   AccountStatus `json:"to"`
	// Cause: sweep, payment, credit, reversal, approval, promise, exemption.
	Cause     string    `json:"cause"`
	Actor     string    `json:"actor"`
	Why       []string  `json:"why"`
	SweepID   int64     `json:"sweep_id,omitempty"`
	PaymentID int64     `json:"payment_id,omitempty"`
	At        time.Time `json:"at"`
}

// AccountStanding is an account's collection status as staff and the
// subscriber see it, with the plain-language why computed now.
type AccountStanding struct {
	AccountID int64         `json:"account_id"`
	Number    string        `json:"number"`
	Status    AccountStatus `json:"status"`
	// Why is the staff's precise wording of Reasons.
	Why []string `json:"why"`
	// Reasons explain Status as structured steps; the portal renders them
	// for the subscriber ([SubscriberWhy]) in Locale.
	Reasons []Reason `json:"reasons"`
	// Locale is the account's own locale, else its type's ("" for
	// neither: the company's applies).
	Locale Locale `json:"locale"`
	// Today is the local date (the account type's time zone) the standing
	// was computed on.
	Today           Date       `json:"today"`
	StatusChangedAt *time.Time `json:"status_changed_at,omitempty"`
	Currency        Currency   `json:"currency"`
	Balance         int64      `json:"balance"`
	PastDue         int64      `json:"past_due"`
	Overdue         int64      `json:"overdue"`
	DelinquencyDate Date       `json:"delinquency_date"`
	// NextInvoiceDate is the day the billing run next invoices the account
	// ([NextInvoiceDate]); null for a closed account.
	NextInvoiceDate Date   `json:"next_invoice_date"`
	PromiseUntil    Date   `json:"promise_until"`
	PromiseNote     string `json:"promise_note"`
	Exempt          bool   `json:"exempt"`
	ExemptReason    string `json:"exempt_reason"`
	// HeldInBatch is the pending suspension batch holding the account, if
	// any.
	HeldInBatch int64             `json:"held_in_batch,omitempty"`
	Services    []ServiceStanding `json:"services"`
	// Overrides name the account type settings the account overrides
	// with its own ([AccountOverrides]); the reasons resting on one say so.
	Overrides []string `json:"overrides,omitempty"`
}

// ServiceStanding is a service's desired state and what its POP's agent
// last confirmed.
type ServiceStanding struct {
	ID              int64        `json:"id"`
	POP             string       `json:"pop"`
	DesiredState    DesiredState `json:"desired_state"`
	Reason          string       `json:"reason"`
	ObservedState   DesiredState `json:"observed_state"`
	LastConfirmedAt *time.Time   `json:"last_confirmed_at,omitempty"`
	// Profile is the speed the current desired state gives the service
	// (the plan's when active, the throttle profile when throttled; absent
	// when none); ObservedProfile the name of the profile the agent read
	// back from the device ("" when none).
	Profile         *EdgeProfile `json:"profile,omitempty"`
	ObservedProfile string       `json:"observed_profile,omitempty"`
	// Revision is the POP revision of the current desired state;
	// ConfirmedRevision the highest one the agent has applied and read
	// back.
	Revision          int64 `json:"revision"`
	ConfirmedRevision int64 `json:"confirmed_revision"`
	// Pending, when not empty, says why the agent's result for the current
	// desired state is pending (see [Confirmation.Pending]).
	Pending string `json:"pending,omitempty"`
	// Held is the lifecycle hold on the service's desired state
	// (CausePaused, CauseCancelled; empty for none): the sweep and
	// settlements leave a held service alone. PauseTo is the first day
	// after its pause (zero: no pause).
	Held    LifecycleCause `json:"held,omitempty"`
	PauseTo Date           `json:"pause_to,omitzero"`
}

// SuspendedForPayment reports whether the service is suspended (or
// throttled) for money owed: so and not held (a pause or a cancel suspends a service
// for another reason, which paying does not lift).
func (s ServiceStanding) SuspendedForPayment() bool {
	return s.DesiredState.LosesService() && s.Held == ""
}

// PausedUntil reports the day a paused service resumes (the zero Date and
// false for a service not paused).
func (s ServiceStanding) PausedUntil() (Date, bool) {
	if s.Held != CausePaused || s.PauseTo.IsZero() {
		return Date{}, false
	}
	return s.PauseTo, true
}

// Confirmed reports whether the POP's agent has applied the service's
// current desired state and read the device back in that state.
func (s ServiceStanding) Confirmed() bool {
	return s.ConfirmedRevision >= s.Revision && s.ObservedState == s.DesiredState
}
