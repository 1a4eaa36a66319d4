package billing

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// This file holds the collection plans: what the delinquency sweep, the
// settlement after money moved and the approval of a held suspension
// decide, computed from plain inputs. The store reads the inputs and
// applies a plan as it is; it decides nothing itself.

// StatusCause is what changed an account's status, as the status audit log
// records it.
type StatusCause string

// Status causes.
const (
	CauseSweep     StatusCause = "sweep"
	CausePayment   StatusCause = "payment"
	CauseCredit    StatusCause = "credit"
	CauseReversal  StatusCause = "reversal"
	CauseApproval  StatusCause = "approval"
	CausePromise   StatusCause = "promise"
	CauseExemption StatusCause = "exemption"
	// CausePendingPayment: a gateway payment became pending (processing),
	// which restores service under pending_payments restore.
	CausePendingPayment StatusCause = "pending_payment"
	// CauseRefund: a refund made at the gateway (its dashboard) took money
	// of payment PaymentID back.
	CauseRefund StatusCause = "refund"
)

// SettleCause is the event a settlement follows.
type SettleCause struct {
	// Kind is payment, credit, reversal, promise or exemption.
	Kind StatusCause
	// PaymentID is the payment posted (payment) or reversed (reversal); 0
	// for none.
	PaymentID int64
	// BatchID is the payment batch whose posting this is (payment); 0 for
	// none.
	BatchID int64
	// CreditID is the credit (credit).
	CreditID int64
}

// String names the event: "payment 12", "payment batch 3", "reversal of
// payment 12", "credit 7", "promise", "exemption".
func (c SettleCause) String() string {
	switch {
	case c.Kind == CausePayment && c.BatchID != 0:
		return fmt.Sprintf("payment batch %d", c.BatchID)
	case c.Kind == CausePayment:
		return fmt.Sprintf("payment %d", c.PaymentID)
	case c.Kind == CauseReversal:
		return fmt.Sprintf("reversal of payment %d", c.PaymentID)
	case c.Kind == CauseCredit:
		return fmt.Sprintf("credit %d", c.CreditID)
	case c.Kind == CausePendingPayment:
		return "pending payment"
	case c.Kind == CauseRefund:
		return fmt.Sprintf("refund of payment %d", c.PaymentID)
	}
	return string(c.Kind)
}

// Contact is where an account's notices go.
type Contact struct {
	Email, Name string
}

// address addresses n to c; false if c has no email address (no notice
// goes to such an account).
func (c Contact) address(n Notice) (Notice, bool) {
	n.To, n.Data.AccountName = c.Email, c.Name
	return n, c.Email != ""
}

// ServiceRef is a service a plan may change, with its POP and account.
type ServiceRef struct {
	ID        int64  `json:"id"`
	POP       string `json:"pop"`
	AccountID int64  `json:"account_id"`
}

// ServiceChange sets a service's desired state, for Reason.
type ServiceChange struct {
	Service ServiceRef
	State   DesiredState
	Reason  string
}

// StatusChangePlan changes an account's status.
type StatusChangePlan struct {
	AccountID int64
	From, To  AccountStatus
	Cause     StatusCause
	// PaymentID is the payment that caused it, if any.
	PaymentID int64
	// Reasons say why, as structured steps; Why is their staff words.
	Reasons []Reason
	Why     []string
}

// Verdict is one account's standing with the core's assessment of it: the
// per-account step of a sweep plan.
type Verdict struct {
	Standing   Standing
	Assessment Assessment
	Contact    Contact
}

// SweepVerdict assesses an account for the sweep (see [Assess]). The staff
// words of the why are rendered only for a verdict that changes something
// (NeedsWrite): most accounts a sweep examines change nothing, and a 1M
// account sweep would otherwise write sentences for all of them.
func SweepVerdict(t AccountType, rule DateRule, today Date, s Standing, c Contact) Verdict {
	v := Verdict{Standing: s, Assessment: assess(t, rule, today, s), Contact: c}
	if v.NeedsWrite() {
		v.Assessment.Why = StaffWhy(v.Assessment.Reasons)
	}
	return v
}

// NeedsWrite reports whether the verdict changes anything: a sweep plans
// (and locks) only such accounts.
func (v Verdict) NeedsWrite() bool {
	a := v.Assessment
	return a.Status != v.Standing.Status || a.Suspend || a.Restore || a.Reminder != nil
}

// Suspends reports whether the verdict suspends the account (unless the
// guard holds it): the store reads its services that are not suspended.
func (v Verdict) Suspends() bool { return v.Assessment.Suspend }

// Restores reports whether the verdict restores the account: the store
// reads its services that are not active.
func (v Verdict) Restores() bool { return v.Assessment.Restore }

// suspensionReason is the reason recorded on each suspended service.
func (v Verdict) suspensionReason() string {
	return fmt.Sprintf("account %s delinquent: %s past its delinquency date %s", v.Standing.Number,
		Money{Amount: v.Assessment.Overdue, Currency: v.Standing.Currency}, v.Assessment.DelinquencyDate)
}

// notice is a notice about the verdict's standing.
func (v Verdict) notice(kind NoticeKind, businessHours bool) Notice {
	s, a := v.Standing, v.Assessment
	d := NoticeData{AccountNumber: s.Number, Currency: s.Currency, Amount: a.PastDue, Balance: s.Balance,
		DelinquencyDate: a.DelinquencyDate, Why: a.Why, Reasons: a.Reasons}
	for _, inv := range a.OverdueInvoices {
		d.InvoiceNumbers = append(d.InvoiceNumbers, inv.Number)
	}
	if len(s.Invoices) > 0 {
		d.DueDate = s.Invoices[0].DueDate
	}
	return Notice{AccountID: s.AccountID, Kind: kind, Data: d, BusinessHours: businessHours}
}

// reminderNotice is the reminder the verdict asks for.
func (v Verdict) reminderNotice() Notice {
	a := v.Assessment
	n := v.notice(NoticeReminder, true)
	n.InvoiceID, n.DaysBefore = a.Reminder.InvoiceID, a.Reminder.DaysBefore
	n.Data.DelinquencyDate = a.Reminder.DelinquencyDate
	for _, inv := range v.Standing.Invoices {
		if inv.ID == a.Reminder.InvoiceID {
			n.Data.DueDate = inv.DueDate
			n.Data.InvoiceNumbers = []string{inv.Number}
			n.Data.Amount = inv.Remaining
		}
	}
	return n
}

// SweepInput is what a sweep plan is computed from.
type SweepInput struct {
	Type  AccountType
	Today Date
	// Now stamps the fees' posting time.
	Now   time.Time
	Guard SuspensionGuard
	// Verdicts are the accounts that need a write ([Verdict.NeedsWrite]),
	// in id order.
	Verdicts []Verdict
	// SuspendServices are the services not suspended of the accounts whose
	// verdict suspends, ordered by POP and id; RestoreServices those not
	// active of the accounts whose verdict restores.
	SuspendServices, RestoreServices []ServiceRef
	// KeptOn are the services of the accounts whose verdict suspends that
	// a lifecycle hold keeps on (paused on a type that does not suspend
	// paused services), with the pause's end: the sweep never changes
	// them, and an account with no other service to suspend is not
	// suspended — nor told it is — while they are held: it stays
	// delinquent, and the first sweep after the pause ends suspends it.
	KeptOn []HeldService
	// Loads are the active services and the 30-day median of daily
	// suspensions of the POPs [SweepInput.GuardPOPs] names.
	Loads map[string]POPLoad
}

// GuardPOPs are the POPs whose loads the guard weighs (none when it is
// disabled), in SuspendServices' order.
func (in SweepInput) GuardPOPs() []string {
	if in.Guard.Disabled {
		return nil
	}
	var pops []string
	for i, s := range in.SuspendServices {
		if i == 0 || in.SuspendServices[i-1].POP != s.POP {
			pops = append(pops, s.POP)
		}
	}
	return pops
}

// SweepPlan is what a sweep does. The store applies it in one
// transaction, in this order: ServiceChanges (suspensions first, then
// restores, each in POP order), the held batch with its items, Fees, the
// status changes with MootHolds, then Notices.
type SweepPlan struct {
	ServiceChanges []ServiceChange
	// SuspendedServices counts the suspensions among ServiceChanges.
	SuspendedServices int
	// Suspensions are the accounts suspended or held, in id order.
	Suspensions []PlannedSuspension
	// HeldReasons say which limits the held POPs exceeded; not empty iff
	// some suspensions are held (a suspension batch holds those of
	// Suspensions with Held set).
	HeldReasons []string
	// Suspended, Held, Restored and Reminders count accounts and the
	// reminders among Notices.
	Suspended, Held, Restored, Reminders int
	// Fees are the reconnection fees of accounts restored because they
	// paid (one per account).
	Fees          []JournalTx
	StatusChanges []StatusChangePlan
	// MootHolds are accounts whose pending held suspensions are moot (they
	// are restored or no longer delinquent).
	MootHolds []int64
	// Notices are addressed; reminders the store already has are skipped.
	Notices []Notice
}

// PlanSweep plans a sweep: it suspends the accounts whose verdict
// suspends, except at POPs where the guard holds the sweep's suspensions
// (an account with a service at a held POP is held whole and stays
// delinquent); restores those whose verdict restores, charging the
// reconnection fee to those that paid; records every status change with
// its reasons; and queues the reminders, suspension notices (inside
// business hours) and restore notices (at once) of accounts with an email
// address.
func PlanSweep(in SweepInput) SweepPlan {
	var p SweepPlan
	// The guard.
	load := map[string]int{}
	for _, s := range in.SuspendServices {
		load[s.POP]++
	}
	heldPOP := map[string]bool{}
	for _, pop := range in.GuardPOPs() {
		l := in.Loads[pop]
		l.POP, l.Suspensions = pop, load[pop]
		if hold, why := in.Guard.Hold(l); hold {
			heldPOP[pop] = true
			p.HeldReasons = append(p.HeldReasons, why)
		}
	}
	held := map[int64]bool{}
	for _, s := range in.SuspendServices {
		if heldPOP[s.POP] {
			held[s.AccountID] = true
		}
	}
	// Tens of thousands of accounts in a big sweep: the lists are sized
	// once (growing them copied their large elements again and again).
	p.ServiceChanges = make([]ServiceChange, 0, len(in.SuspendServices)+len(in.RestoreServices))
	p.StatusChanges = make([]StatusChangePlan, 0, len(in.Verdicts))
	p.Notices = make([]Notice, 0, len(in.Verdicts))
	perAccount := make(map[int64][]ServiceRef, len(in.Verdicts))
	// A type that throttles keeps its delinquent subscribers connected at
	// its throttle profile's speed instead of cutting them off.
	suspendState, throttled := in.Type.SuspendState(), ""
	if suspendState == StateThrottled {
		throttled = "; " + ThrottledWords(in.Type.ThrottleProfile)
	}
	for _, s := range in.SuspendServices {
		perAccount[s.AccountID] = append(perAccount[s.AccountID], s)
		if held[s.AccountID] {
			continue
		}
		// Verdicts are in id order: found without a map of them all.
		i, ok := slices.BinarySearchFunc(in.Verdicts, s.AccountID, func(v Verdict, id int64) int { return cmp.Compare(v.Standing.AccountID, id) })
		if ok {
			p.ServiceChanges = append(p.ServiceChanges, ServiceChange{Service: s, State: suspendState, Reason: in.Verdicts[i].suspensionReason() + throttled})
		}
	}
	p.SuspendedServices = len(p.ServiceChanges)
	for _, s := range in.RestoreServices {
		p.ServiceChanges = append(p.ServiceChanges, ServiceChange{Service: s, State: StateActive, Reason: "restored by the delinquency sweep"})
	}

	keptOn := make(map[int64]Date, len(in.KeptOn))
	for _, h := range in.KeptOn {
		if until, seen := keptOn[h.Service.AccountID]; !seen || h.Until.After(until) {
			keptOn[h.Service.AccountID] = h.Until
		}
	}
	var restoredNotices []Notice
	for _, v := range in.Verdicts {
		s, a := v.Standing, v.Assessment
		id := s.AccountID
		a = a.keptOnByPause(len(perAccount[id]) > 0, keptOn[id])
		if a.Suspend {
			ps := PlannedSuspension{AccountID: id, Number: s.Number, ServiceIDs: []int64{}, POPs: []string{}, Held: held[id], Why: a.Why}
			for _, svc := range perAccount[id] {
				ps.ServiceIDs = append(ps.ServiceIDs, svc.ID)
				if len(ps.POPs) == 0 || ps.POPs[len(ps.POPs)-1] != svc.POP {
					ps.POPs = append(ps.POPs, svc.POP)
				}
			}
			if held[id] {
				p.Held++
			} else {
				p.Suspended++
			}
			p.Suspensions = append(p.Suspensions, ps)
		}
		if held[id] {
			a.Status = AccountDelinquent
			a = a.With(Reason{Kind: ReasonGuardHold})
		}
		if a.Status != s.Status {
			p.StatusChanges = append(p.StatusChanges, StatusChangePlan{AccountID: id, From: s.Status, To: a.Status, Cause: CauseSweep,
				Reasons: a.Reasons, Why: a.Why})
		}
		if a.Restore || (a.Status != s.Status && a.Status != AccountDelinquent) {
			p.MootHolds = append(p.MootHolds, id)
		}
		if a.Reminder != nil {
			if n, ok := v.Contact.address(Verdict{s, a, v.Contact}.reminderNotice()); ok {
				p.Notices = append(p.Notices, n)
				p.Reminders++
			}
		}
		if a.Suspend && !held[id] {
			if n, ok := v.Contact.address(Verdict{s, a, v.Contact}.notice(NoticeSuspended, true)); ok {
				n.Data.ThrottledTo = throttledTo(in.Type)
				p.Notices = append(p.Notices, n)
			}
		}
		if a.Restore {
			p.Restored++
			if fee, ok := reconnectionFee(in.Type, v, in.Today, in.Now); ok {
				p.Fees = append(p.Fees, fee)
			}
			if n, ok := v.Contact.address(v.notice(NoticeRestored, false)); ok {
				restoredNotices = append(restoredNotices, n)
			}
		}
	}
	p.Notices = append(p.Notices, restoredNotices...)
	return p
}

// HeldService is a service a lifecycle hold keeps on until Until (the
// day its pause ends).
type HeldService struct {
	Service ServiceRef
	Until   Date
}

// keptOnByPause is the assessment as the sweep carries it out on an
// account with services to suspend (suspendable) or not, whose services a
// pause keeps on until until (zero: none): one that suspends an account
// with nothing to suspend but a service a pause keeps on is held by the
// pause ([Assessment.heldByPause]); any other is a as it is. [PlanSweep]
// and [StandingAssessment] decide it alike, so an account's standing says
// what the sweep does.
func (a Assessment) keptOnByPause(suspendable bool, until Date) Assessment {
	if !a.Suspend || suspendable || until.IsZero() {
		return a
	}
	return a.heldByPause(until)
}

// StandingAssessment is assessment a of an account as the next sweep
// carries it out, given the account's services (its standing's) and type
// t: the sweep suspends the services with no lifecycle hold that are not
// in t's suspend state already, and leaves alone those a pause keeps on
// (held paused, not suspended; [SweepInput].KeptOn). An account whose
// only services to suspend are kept on is not suspended: it is delinquent
// and its suspension waits for the latest pause's end, as the sweep
// decides ([PlanSweep]). The store's standing and its sweep preview thus
// say the same.
func StandingAssessment(t AccountType, a Assessment, services []ServiceStanding) Assessment {
	if !a.Suspend {
		return a
	}
	suspend, suspendable := t.SuspendState(), false
	var until Date
	for _, s := range services {
		switch {
		case s.Held == "" && s.DesiredState != suspend:
			suspendable = true
		case s.Held == CausePaused && s.DesiredState != StateSuspended && s.PauseTo.After(until):
			until = s.PauseTo
		}
	}
	return a.keptOnByPause(suspendable, until)
}

// heldByPause is a suspending assessment of an account whose only services
// to suspend are held on by a pause until until: not suspended (no
// service would be), delinquent, saying why instead of announcing a
// suspension.
func (a Assessment) heldByPause(until Date) Assessment {
	a.Suspend = false
	a.Status = AccountDelinquent
	r := Reason{}
	if n := len(a.Reasons); n > 0 && a.Reasons[n-1].Kind == ReasonAutoSuspended {
		// What would restore it stays said (amount, rule).
		r = a.Reasons[n-1]
		a.Reasons = a.Reasons[: n-1 : n-1]
		if len(a.Why) == n {
			a.Why = a.Why[: n-1 : n-1]
		}
	}
	r.Kind, r.Date, r.Detail = ReasonServicesPaused, until, ""
	return a.With(r)
}

// HeldIn records the suspension batch that holds the plan's held
// suspensions in the reasons of their status changes.
func (p *SweepPlan) HeldIn(batchID int64) {
	for i := range p.StatusChanges {
		c := &p.StatusChanges[i]
		for k, r := range c.Reasons {
			if r.Kind == ReasonGuardHold && r.Batch == 0 {
				c.Reasons = slices.Clone(c.Reasons) // the array may be shared
				c.Reasons[k].Batch = batchID
				c.Why = StaffWhy(c.Reasons)
			}
		}
	}
}

// reconnectionFee is the type's reconnection fee for an account restored
// because it paid.
func reconnectionFee(t AccountType, v Verdict, today Date, now time.Time) (JournalTx, bool) {
	if t.ReconnectionFee <= 0 || !v.Assessment.Paid {
		return JournalTx{}, false
	}
	jt := FeeTx(v.Standing.AccountID, v.Standing.Currency, t.ReconnectionFee, "reconnection fee", today)
	jt.PostedAt = now
	return jt, true
}

// SettleInput is what a settlement plan is computed from.
type SettleInput struct {
	Type  AccountType
	Rule  DateRule
	Today Date
	// Now stamps the fees' posting time.
	Now   time.Time
	Cause SettleCause
	// Standing's Invoices are all the account's open invoices with money
	// owed, oldest due first; Reminded says, for each, whether a reminder
	// about it was sent (Standing.Reminded is ignored).
	Standing Standing
	Reminded []bool
	Contact  Contact
	// Services are the account's services that are not active.
	Services []ServiceRef
}

// SettlementPlan is what a settlement does, applied in the transaction
// that moved the money: ServiceChanges, Fees, MootHolds and Notices, then
// Status.
type SettlementPlan struct {
	Status         *StatusChangePlan
	ServiceChanges []ServiceChange
	Fees           []JournalTx
	MootHolds      []int64
	Notices        []Notice
}

// Empty reports whether the plan changes nothing.
func (p SettlementPlan) Empty() bool {
	return p.Status == nil && len(p.ServiceChanges) == 0 && len(p.Fees) == 0 && len(p.MootHolds) == 0 && len(p.Notices) == 0
}

// PlanSettlement re-assesses an account after money moved (a payment, a
// credit, a reversal, a promise or an exemption): it restores a suspended
// account that now meets its reactivation rule or is held out of
// suspension (with the reconnection fee if it paid, and a restore notice)
// and updates its status. It never suspends: an account the sweep would
// suspend becomes delinquent, and the next sweep decides (a reversed
// payment leads to suspension only through it).
func PlanSettlement(in SettleInput) SettlementPlan {
	var p SettlementPlan
	t, s := EffectiveType(in.Type, in.Standing.Overrides), in.Standing
	horizon := in.Today.AddDays(ReminderLead(t))
	s.Invoices, s.Reminded = make([]OwedInvoice, 0, len(in.Standing.Invoices)), false
	for i, inv := range in.Standing.Invoices {
		if !inv.DueDate.After(horizon) {
			s.Invoices = append(s.Invoices, inv)
			s.Reminded = s.Reminded || (i < len(in.Reminded) && in.Reminded[i])
		}
	}
	if len(s.Invoices) == 0 && s.Status != AccountPastDue && s.Status != AccountDelinquent && s.Status != AccountSuspended {
		return p // current and owes nothing due: nothing to settle
	}
	a := Assess(t, in.Rule, in.Today, s)
	if a.Suspend {
		// Not suspended here: the reasons say what the next sweep will do,
		// not that it was done.
		a.Reasons = StandingReasons(s.Status, a)
		a.Suspend, a.Status = false, AccountDelinquent
		if s.Status == AccountCurrent || s.Status == AccountPastDue {
			a.Reasons = append(a.Reasons, Reason{Kind: ReasonSweepDecides})
		}
		a.Why = StaffWhy(a.Reasons)
	}
	v := Verdict{Standing: s, Assessment: a, Contact: in.Contact}
	if a.Restore {
		for _, svc := range in.Services {
			p.ServiceChanges = append(p.ServiceChanges, ServiceChange{Service: svc, State: StateActive, Reason: in.Cause.String() + " restored service"})
		}
		if fee, ok := reconnectionFee(t, v, in.Today, in.Now); ok {
			p.Fees = append(p.Fees, fee)
		}
		p.MootHolds = append(p.MootHolds, s.AccountID)
		if n, ok := in.Contact.address(v.notice(NoticeRestored, false)); ok {
			p.Notices = append(p.Notices, n)
		}
	}
	if a.Status != s.Status {
		p.Status = &StatusChangePlan{AccountID: s.AccountID, From: s.Status, To: a.Status, Cause: in.Cause.Kind,
			PaymentID: in.Cause.PaymentID, Reasons: a.Reasons, Why: a.Why}
		if a.Status != AccountDelinquent && len(p.MootHolds) == 0 {
			p.MootHolds = append(p.MootHolds, s.AccountID)
		}
	}
	return p
}

// ApprovalInput is what the plan of approving held suspensions is
// computed from.
type ApprovalInput struct {
	Type  AccountType
	Rule  DateRule
	Today Date
	// BatchID is the suspension batch; By the staff member approving.
	BatchID int64
	By      string
	// Standings are the chosen accounts of the batch (of Type), with
	// their contacts.
	Standings []Standing
	Contacts  []Contact
}

// ApprovalPlan suspends the approved accounts still delinquent.
type ApprovalPlan struct {
	// Suspend are the accounts to suspend: the store reads their services
	// that are not suspended and changes them through
	// [ApprovalPlan.ServiceChanges].
	Suspend       []int64
	StatusChanges []StatusChangePlan
	Notices       []Notice
	reasons       map[int64]string
	// states: the state each account's suspension gives its services
	// (its type's [AccountType.SuspendState]).
	states map[int64]DesiredState
}

// PlanApproval plans the approval of held suspensions: an account still
// delinquent is suspended now (neither the guard nor the reminder rule
// waits once staff approved), with a suspension notice; one that paid or
// was held out meanwhile is left alone (its item is skipped).
func PlanApproval(in ApprovalInput) ApprovalPlan {
	p := ApprovalPlan{reasons: map[int64]string{}, states: map[int64]DesiredState{}}
	state, throttled := in.Type.SuspendState(), ""
	if state == StateThrottled {
		throttled = "; " + ThrottledWords(in.Type.ThrottleProfile)
	}
	for i, s := range in.Standings {
		s.Held, s.Reminded = false, true
		a := Assess(in.Type, in.Rule, in.Today, s)
		if s.Status != AccountDelinquent || !(a.Suspend || a.Status == AccountDelinquent) {
			continue
		}
		a.Suspend, a.Status = true, AccountSuspended
		a = a.With(Reason{Kind: ReasonSuspensionApproved, Detail: in.By, Batch: in.BatchID})
		v := Verdict{Standing: s, Assessment: a}
		if i < len(in.Contacts) {
			v.Contact = in.Contacts[i]
		}
		p.Suspend = append(p.Suspend, s.AccountID)
		p.reasons[s.AccountID] = v.suspensionReason() + throttled + " (approved by " + in.By + ")"
		p.states[s.AccountID] = state
		p.StatusChanges = append(p.StatusChanges, StatusChangePlan{AccountID: s.AccountID, From: s.Status, To: a.Status,
			Cause: CauseApproval, Reasons: a.Reasons, Why: a.Why})
		if n, ok := v.Contact.address(v.notice(NoticeSuspended, true)); ok {
			n.Data.ThrottledTo = throttledTo(in.Type)
			p.Notices = append(p.Notices, n)
		}
	}
	return p
}

// throttledTo is the speed a suspension of type t leaves ("1 Mbit/s"), or
// "" when it cuts off.
func throttledTo(t AccountType) string {
	if !t.Throttles() {
		return ""
	}
	return t.ThrottleProfile.SpeedWords()
}

// Merge adds o's accounts (another account type's) to p.
func (p *ApprovalPlan) Merge(o ApprovalPlan) {
	if p.reasons == nil {
		p.reasons = map[int64]string{}
	}
	if p.states == nil {
		p.states = map[int64]DesiredState{}
	}
	for k, v := range o.states {
		p.states[k] = v
	}
	p.Suspend = append(p.Suspend, o.Suspend...)
	p.StatusChanges = append(p.StatusChanges, o.StatusChanges...)
	p.Notices = append(p.Notices, o.Notices...)
	for k, v := range o.reasons {
		p.reasons[k] = v
	}
}

// ServiceChanges suspends (or, for a type that throttles, throttles) svcs,
// the services not so of p.Suspend.
func (p ApprovalPlan) ServiceChanges(svcs []ServiceRef) []ServiceChange {
	out := make([]ServiceChange, 0, len(svcs))
	for _, s := range svcs {
		state := p.states[s.AccountID]
		if state == "" {
			state = StateSuspended
		}
		out = append(out, ServiceChange{Service: s, State: state, Reason: p.reasons[s.AccountID]})
	}
	return out
}

// StandingReasons are the reasons an account's standing shows staff and
// the subscriber: the assessment's, with what the next sweep will do
// instead of what a sweep did (the account of status is not suspended
// yet, or not yet of the assessed status).
func StandingReasons(status AccountStatus, a Assessment) []Reason {
	rs := a.Reasons
	if n := len(rs); a.Suspend && n > 0 && rs[n-1].Kind == ReasonAutoSuspended {
		rs = append(rs[:n-1:n-1], rs[n-1])
		rs[n-1].Kind = ReasonSuspensionDue
	} else if a.Status != status && status != AccountSuspended {
		rs = append(rs[:len(rs):len(rs)], Reason{Kind: ReasonStatusDue, Status: a.Status})
	}
	return rs
}

// SettlesOnPayment reports whether a payment to an account of status s
// is settled ([PlanSettlement]) in the transaction that posts it: a
// delinquent or suspended account may be restored (or change status) at
// once. Any other account's status follows at the next sweep, and its
// payments take the store's fast path.
func SettlesOnPayment(s AccountStatus) bool {
	return s == AccountDelinquent || s == AccountSuspended
}

// ChooseHeldAccounts decides which items of suspension batch id a decision
// (approve or cancel) covers: every pending one when accounts is empty,
// else accounts. status is the batch's. Errors: ECONFLICT when the batch
// is already decided; EINVALID naming an account not pending in it.
func ChooseHeldAccounts(id int64, status string, pending, accounts []int64) ([]int64, error) {
	if status != "pending" {
		return nil, Errorf(ECONFLICT, "suspension batch %d is already decided", id)
	}
	if len(accounts) == 0 {
		return pending, nil
	}
	for _, a := range accounts {
		if !slices.Contains(pending, a) {
			return nil, Errorf(EINVALID, "account %d is not pending in suspension batch %d", a, id)
		}
	}
	return accounts, nil
}
