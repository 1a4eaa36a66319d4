package billing

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// This file is the lifecycle half of the deterministic simulation
// (sim_test.go): each account's service changes plan and quantity (up and
// down, today, later or at the next period), is paused and cancelled
// through the core's lifecycle plans; its account's overrides change;
// payments go to chosen invoices and posted allocations move between
// invoices. The apply keeps, beside the service's coverage, every line
// ever charged or credited for it, and the checks weigh one against the
// other day by day.

// simPlans is the catalogue services move between (one interval: a change
// between intervals is a cancel and a new service).
func simPlans() []Plan {
	var ps []Plan
	for i := range 4 {
		ps = append(ps, Plan{ID: int64(i + 1), Name: fmt.Sprintf("Fiber %d", 50*(i+1)), Price: 1200 + 1537*int64(i),
			Currency: "USD", Interval: IntervalMonthly, Taxable: i%2 == 1})
	}
	return ps
}

// simPolicy is a random lifecycle policy of the type.
func simPolicy(r *rand.Rand) (LifecyclePolicy, error) {
	p := LifecyclePolicy{
		PlanChangeTiming:            []PlanChangeTiming{PlanChangeAsRequested, PlanChangeUpgradesNow}[r.IntN(2)],
		ChangeInvoicing:             []ChangeInvoicing{InvoiceOnNext, InvoiceImmediately}[r.IntN(2)],
		ImmediateInvoiceMinimum:     []int64{0, 500}[r.IntN(2)],
		MaxPauseDays:                []int{0, 30}[r.IntN(2)],
		PauseHoldFee:                []int64{0, 300}[r.IntN(2)],
		SuspendWhilePaused:          r.IntN(2) == 0,
		StopInvoicingWhileSuspended: false,
		OnCancel:                    []OnCancel{CancelKeepSuspended, CancelRemove}[r.IntN(2)],
	}
	return p, p.Validate()
}

// simLine is a line charged (+1) or credited (−1) for a service's days
// [from, to) (day numbers from simEpoch), of the plan or the hold fee.
type simLine struct {
	from, to, sign int
	hold           bool
	amount         int64
}

// simEpoch numbers the simulation's days.
var simEpoch = NewDate(2025, time.January, 1)

func simDay(d Date) int { return simEpoch.DaysUntil(d) }

// pendingLine is a lifecycle line waiting for the next invoice (a
// one-time charge dated on).
type pendingLine struct {
	line ProratedLine
	on   Date
}

// simPause is a pause the service has had, [from, to).
type simPause struct{ from, to Date }

// vsService is an account's service as the simulation keeps it: what the
// store keeps (terms, terms history, coverage, pending lines, scheduled
// enforcement, hold) and, for the checks, every line and every pause.
type vsService struct {
	svc       LifecycleService
	terms     []TermsFrom
	pending   []pendingLine
	scheduled []ScheduledEnforcement
	// hold is the lifecycle hold on the desired state ("" none, paused,
	// cancelled); removed says on_cancel remove took it off its POP.
	hold LifecycleCause
	// heldState is the desired state the hold began with (suspended, or
	// what a pause that keeps service on found): it stays until resumed.
	heldState DesiredState
	removed   bool
	lines     []simLine
	pauses    []simPause
	charges   int64 // one-time charge ids
}

func newVsService(id int64, p Plan, start Date) vsService {
	return vsService{svc: LifecycleService{Ref: ServiceRef{ID: id, POP: "pop-1", AccountID: id}, Name: "internet", Plan: p, Quantity: 1, Start: start}}
}

// record keeps a line charged or credited for the service.
func (v *vsService) record(s *sim, l InvoiceLine) {
	sign := 1
	if l.Kind == LineCredit {
		sign = -1
	}
	hold := strings.Contains(l.Description, holdPlanName) || strings.Contains(l.Description, "hold fee")
	v.lines = append(v.lines, simLine{from: simDay(l.PeriodStart), to: simDay(l.PeriodEnd), sign: sign, hold: hold, amount: l.Amount})
}

// chargesBefore are the pending lines dated before end as one-time
// charges, and how many they are.
func (v *vsService) chargesBefore(account int64, end Date) ([]OneTimeCharge, int) {
	var out []OneTimeCharge
	for _, p := range v.pending {
		if !p.on.Before(end) {
			break
		}
		v.charges++
		out = append(out, OneTimeCharge{ID: v.charges, AccountID: account, Description: p.line.Description, Amount: p.line.Amount,
			Taxable: p.line.Taxable, ChargeDate: p.on, ServiceID: p.line.ServiceID, PeriodStart: p.line.PeriodStart, PeriodEnd: p.line.PeriodEnd})
	}
	return out, len(out)
}

// billable is what the billing run bills for the account's service in
// period p, as the store's billing run reads it.
func (s *sim) billable(a *vsAccount, p Period) []BillableService {
	v := a.svc.svc
	h := ServiceHistory{Service: BillableService{ServiceID: v.Ref.ID, Name: v.Name, Plan: v.Plan, Quantity: v.Quantity, Start: v.Start, End: v.End},
		Terms: a.svc.terms, PauseFrom: v.PauseFrom, PauseTo: v.PauseTo}
	if s.brk == breakPauseCharge {
		h.PauseFrom, h.PauseTo = Date{}, Date{}
	}
	return h.BillableIn(p, s.pol.PauseHoldFee)
}

// lifecycleContext is what the account's lifecycle changes are decided in
// today (noon in the type's zone).
func (s *sim) lifecycleContext(a *vsAccount) LifecycleContext {
	loc, _ := s.t.Location()
	now := time.Date(s.today.Year, s.today.Month, s.today.Day, 12, 0, 0, 0, loc)
	return LifecycleContext{Account: a.acct, Type: s.typeOf(a), Policy: s.pol, Now: now, Actor: "sim"}
}

// lifecycleStep runs one lifecycle event (k in 0-19).
func (s *sim) lifecycleStep(k int) error {
	a := s.account()
	svc := a.svc.svc
	ctx := s.lifecycleContext(a)
	var plan LifecyclePlan
	var err error
	var what string
	switch {
	case k < 9:
		req := ServiceChangeRequest{Context: ctx, Service: svc}
		if k < 6 {
			req.NewPlan = s.plans[s.r.IntN(len(s.plans))]
		}
		if k >= 4 {
			req.NewQuantity = 1 + s.r.Int64N(4)
		}
		switch s.r.IntN(3) {
		case 0:
			req.EffectiveDate = s.today.AddDays(s.r.IntN(45))
		case 1:
			req.AtNextPeriod = true
		}
		what = fmt.Sprintf("change of service %d (%s × %d) to plan %d × %d from %s (next period %v)", svc.Ref.ID, svc.Plan.Name, svc.Quantity,
			req.NewPlan.ID, req.NewQuantity, req.EffectiveDate, req.AtNextPeriod)
		plan, err = PlanServiceChange(req)
	case k < 11:
		req := CancelRequest{Context: ctx, Service: svc}
		switch s.r.IntN(3) {
		case 0:
			req.Date = s.today.AddDays(s.r.IntN(45))
		case 1:
			req.EndOfPeriod = true
		}
		what = fmt.Sprintf("cancel of service %d from %s (end of period %v)", svc.Ref.ID, req.Date, req.EndOfPeriod)
		plan, err = PlanCancel(req)
		if err == nil && s.brk == breakCancelCredit {
			plan.Lines, plan.Net, plan.AccountCredit, plan.Invoicing, plan.Coverage = nil, 0, 0, InvoiceOnNext, svc.Coverage
		}
	case k < 14:
		if len(a.svc.pauses) > 0 {
			// The daily billing run has invoiced the last pause's days
			// before another is planned (a service keeps one pause).
			if err := s.billingRun(); err != nil {
				return err
			}
			svc, ctx = a.svc.svc, s.lifecycleContext(a)
		}
		from := s.today.AddDays(s.r.IntN(15))
		to := from.AddDays(1 + s.r.IntN(40))
		what = fmt.Sprintf("pause of service %d from %s to %s", svc.Ref.ID, from, to)
		plan, err = PlanPause(PauseRequest{Context: ctx, Service: svc, From: from, To: to})
	case k < 16:
		a.acct.Overrides = simOverrides(s.r)
		s.logf("account %d overrides now %s", a.acct.ID, a.acct.Overrides.OverridesKey())
		return nil
	default:
		return s.reallocate()
	}
	if err != nil {
		if ErrorCode(err) != EINVALID {
			return fmt.Errorf("%s: %v", what, err)
		}
		s.logf("%s refused: %s", what, ErrorMessage(err))
		return nil
	}
	s.logf("%s: net %d %s, effective %s", what, plan.Net, plan.Invoicing, plan.Effective)
	switch plan.Kind {
	case LifecycleCancel:
		s.cancels++
	case LifecyclePause:
		s.pauses++
	default:
		s.changes++
	}
	return s.applyLifecycle(a, plan)
}

// applyLifecycle applies a lifecycle plan as the store does.
func (s *sim) applyLifecycle(a *vsAccount, p LifecyclePlan) error {
	v := &a.svc
	for _, l := range p.Lines {
		s.logf("  %s: %d", l.Description, l.Amount)
		v.record(s, l.InvoiceLine)
	}
	switch p.Invoicing {
	case InvoiceOnNext, InvoiceFinal:
		for _, l := range p.Lines {
			if l.Amount != 0 {
				v.pending = append(v.pending, pendingLine{line: l, on: s.today})
			}
		}
	case InvoiceImmediately:
		inv, err := ComposeAdjustmentInvoice(a.acct, s.typeOf(a), p.InvoicePeriod, p.Lines, nil, s.today)
		if err != nil {
			return fmt.Errorf("adjustment invoice of account %d: %v", a.acct.ID, err)
		}
		inv.ID = int64(len(s.invoices) + 1)
		inv.Number = fmt.Sprintf("INV-%d", inv.ID)
		s.logf("  adjustment invoice %s for %s: %d due %s", inv.Number, p.InvoicePeriod, inv.Total, inv.DueDate)
		if err := s.post(a, InvoiceTx(inv), inv.Total); err != nil {
			return err
		}
		s.invoices = append(s.invoices, &vsInvoice{id: inv.ID, account: a.acct.ID, number: inv.Number, period: p.InvoicePeriod,
			issue: inv.IssueDate, due: inv.DueDate, total: inv.Total, status: InvoiceOpen, adjustment: true})
		if err := s.allocate(a, nil); err != nil {
			return err
		}
	case InvoiceAsCredit:
		if p.AccountCredit != -p.Net {
			return fmt.Errorf("cancel of service %d credits %d to the account, but its lines net %d", p.ServiceID, p.AccountCredit, p.Net)
		}
		if err := s.post(a, CreditTx(a.acct.ID, "USD", p.AccountCredit, "cancel credit", s.today), -p.AccountCredit); err != nil {
			return err
		}
		a.credits += p.AccountCredit
	}
	v.svc.Coverage = slices.Clone(p.Coverage)
	if u := p.Service; u != nil {
		if err := s.updateService(v, *u); err != nil {
			return err
		}
	}
	switch p.Kind {
	case LifecycleCancel:
		v.scheduled = slices.DeleteFunc(v.scheduled, func(e ScheduledEnforcement) bool { return !e.On.Before(p.Effective) })
	case LifecyclePlanChange:
		v.scheduled = slices.DeleteFunc(v.scheduled, func(e ScheduledEnforcement) bool {
			return e.Cause == CausePlanChanged && !e.On.Before(p.Effective)
		})
	}
	for _, e := range p.Enforcement {
		if e.On.After(s.today) {
			v.scheduled = append(v.scheduled, e)
			continue
		}
		s.enforce(a, e)
	}
	return nil
}

// updateService applies a change of the service's terms: its terms
// history from the effective date, its current terms, end and pause.
func (s *sim) updateService(v *vsService, u ServiceUpdate) error {
	if u.After.PlanID < 1 || int(u.After.PlanID) > len(s.plans) {
		return fmt.Errorf("service %d changed to unknown plan %d", u.ServiceID, u.After.PlanID)
	}
	plan := s.plans[u.After.PlanID-1]
	if u.After.PlanID != u.Before.PlanID || u.After.Quantity != u.Before.Quantity {
		if len(v.terms) == 0 {
			v.terms = []TermsFrom{{Effective: v.svc.Start, Plan: v.svc.Plan, Quantity: v.svc.quantity()}}
		}
		v.terms = slices.DeleteFunc(v.terms, func(t TermsFrom) bool { return t.Effective.After(u.Effective) })
		if last := &v.terms[len(v.terms)-1]; last.Effective == u.Effective {
			last.Plan, last.Quantity = plan, u.After.Quantity
		} else {
			v.terms = append(v.terms, TermsFrom{Effective: u.Effective, Plan: plan, Quantity: u.After.Quantity})
		}
	}
	b, af := u.Before, u.After
	switch {
	case af.PauseFrom.IsZero() && !b.PauseFrom.IsZero() && len(v.pauses) > 0:
		v.pauses = v.pauses[:len(v.pauses)-1] // dropped: the service ends first
	case !af.PauseFrom.IsZero() && af.PauseFrom == b.PauseFrom && len(v.pauses) > 0:
		v.pauses[len(v.pauses)-1].to = af.PauseTo
	case !af.PauseFrom.IsZero() && af.PauseFrom != b.PauseFrom:
		v.pauses = append(v.pauses, simPause{af.PauseFrom, af.PauseTo})
	}
	v.svc.Plan, v.svc.Quantity, v.svc.End, v.svc.PauseFrom, v.svc.PauseTo = plan, af.Quantity, af.End, af.PauseFrom, af.PauseTo
	return nil
}

// enforce applies a lifecycle enforcement change: a pause's suspension or
// a cancellation holds the service; a resume sets what ResumeState says.
func (s *sim) enforce(a *vsAccount, e ScheduledEnforcement) {
	v := &a.svc
	if e.Cause == CausePlanChanged {
		return // speed: no state and no hold (the simulation does not model speed)
	}
	if e.Cause == CauseResumed {
		state, ok, why := ResumeState(a.status, v.svc.End, e.On)
		s.logf("  service %d on %s: %s", v.svc.Ref.ID, e.On, why)
		if ok {
			v.hold, a.service = "", state
		}
		return
	}
	s.logf("  service %d on %s: %s", v.svc.Ref.ID, e.On, e.Reason)
	v.hold = e.Cause
	switch {
	case e.Remove:
		v.removed = true
	case e.State != "":
		// No State: a pause that keeps the service on holds it as it is.
		a.service = e.State
	}
	v.heldState = a.service
}

// enforceDue applies the scheduled enforcement changes due by today (the
// job at local midnight).
func (s *sim) enforceDue() error {
	for _, a := range s.accounts {
		v := &a.svc
		var later []ScheduledEnforcement
		for _, e := range v.scheduled {
			if e.On.After(s.today) {
				later = append(later, e)
				continue
			}
			s.enforce(a, e)
		}
		v.scheduled = later
	}
	return nil
}

// wantState is the desired state the account's service should have: a
// lifecycle hold's, else its account's.
func (a *vsAccount) wantState() DesiredState {
	switch {
	case a.svc.removed:
		return a.service
	case a.svc.hold != "":
		return a.svc.heldState
	case a.status == AccountSuspended:
		return StateSuspended
	}
	return StateActive
}

// reallocate moves part of a posted payment's allocation to another open
// invoice of its account through PlanReallocation.
func (s *sim) reallocate() error {
	type move struct {
		p        *vsPayment
		from, to *vsInvoice
	}
	var moves []move
	for _, p := range s.payments {
		if p.reversed {
			continue
		}
		for _, from := range s.invoices {
			if s.alloc[[2]int64{p.id, from.id}] <= 0 {
				continue
			}
			for _, to := range s.invoices {
				if to.account == p.account && to.id != from.id && to.status == InvoiceOpen && to.paid < to.total {
					moves = append(moves, move{p, from, to})
				}
			}
		}
	}
	if len(moves) == 0 {
		return nil
	}
	m := moves[s.r.IntN(len(moves))]
	given := s.alloc[[2]int64{m.p.id, m.from.id}]
	amt := 1 + s.r.Int64N(min(given, m.to.total-m.to.paid))
	pay := Payment{ID: m.p.id, AccountID: m.p.account, Currency: "USD", Method: m.p.method, Amount: m.p.amount, Refunded: m.p.refunded, Status: PaymentPosted}
	var dues []InvoiceDue
	for _, inv := range s.invoices {
		if amt, ok := s.alloc[[2]int64{m.p.id, inv.id}]; ok {
			pay.Allocations = append(pay.Allocations, Allocation{InvoiceID: inv.id, InvoiceNumber: inv.number, Amount: amt})
		}
		if inv.account == m.p.account {
			dues = append(dues, InvoiceDue{InvoiceID: inv.id, Number: inv.number, Status: inv.status, Due: inv.total - inv.paid})
		}
	}
	r := Reallocation{From: m.from.number, To: m.to.number, Amount: amt}
	plan, err := PlanReallocation(ReallocationInput{Payment: pay, Invoices: dues, Move: r})
	if err != nil {
		return fmt.Errorf("reallocation %+v of payment %d: %v", r, m.p.id, err)
	}
	s.logf("reallocate %d of payment %d from %s to %s", amt, m.p.id, m.from.number, m.to.number)
	for _, c := range plan.Changes {
		k := [2]int64{c.PaymentID, c.InvoiceID}
		if s.alloc[k] += c.Amount; s.alloc[k] == 0 {
			delete(s.alloc, k)
		}
		s.payments[c.PaymentID-1].allocated += c.Amount
		s.invoices[c.InvoiceID-1].paid += c.Amount
		s.allocEvent(c, AllocMoved)
	}
	for _, id := range plan.Paid {
		s.invoices[id-1].status = InvoicePaid
	}
	for _, id := range plan.Reopened {
		s.invoices[id-1].status = InvoiceOpen
	}
	s.reallocations++
	return nil
}

// checkAllocationEvents: the allocation events of every (payment,
// invoice) sum to its running total.
func (s *sim) checkAllocationEvents() error {
	sums := map[[2]int64]int64{}
	for _, e := range s.events {
		sums[[2]int64{e.PaymentID, e.InvoiceID}] += e.Amount
	}
	for k, amt := range sums {
		if amt != s.alloc[k] {
			return fmt.Errorf("payment %d's allocation events on invoice %d sum to %d, its allocation is %d", k[0], k[1], amt, s.alloc[k])
		}
	}
	for k, amt := range s.alloc {
		if sums[k] != amt {
			return fmt.Errorf("payment %d's allocation of %d to invoice %d has events summing to %d", k[0], amt, k[1], sums[k])
		}
	}
	return nil
}

// termsAt is the service's plan and quantity on day d per its terms
// history.
func (v *vsService) termsAt(d Date) (int64, int64) {
	if len(v.terms) == 0 {
		return v.svc.Plan.ID, v.svc.quantity()
	}
	t := v.terms[0]
	for _, u := range v.terms[1:] {
		if !u.Effective.After(d) {
			t = u
		}
	}
	return t.Plan.ID, max(t.Quantity, 1)
}

// checkService checks the service's lines against its coverage and its
// terms, day by day: no day invoiced twice (plan or hold fee), none
// credited more than invoiced, none before its start or from its end
// (a cancel), no plan charge on a paused day and no hold fee outside a
// pause; the coverage is exactly the days the lines net to, at the terms
// in force each day, and worth exactly what the lines net to.
func (s *sim) checkService(a *vsAccount) error {
	v := &a.svc
	id := v.svc.Ref.ID
	if err := validateCoverage(v.svc.Coverage); err != nil {
		return fmt.Errorf("service %d: days invoiced twice, its coverage is broken: %v", id, ErrorMessage(err))
	}
	var net, worth int64
	lo, hi := simDay(v.svc.Start), simDay(v.svc.Start)
	for _, l := range v.lines {
		net += l.amount
		lo, hi = min(lo, l.from), max(hi, l.to)
	}
	for _, sp := range v.svc.Coverage {
		worth += sp.Amount()
	}
	if net != worth {
		return fmt.Errorf("service %d: its lines net to %d, but the days its coverage holds are worth %d: a change's credits do not net", id, net, worth)
	}
	n := hi - lo + 1
	plan, hold := make([]int, n+1), make([]int, n+1)
	for _, l := range v.lines {
		c := plan
		if l.hold {
			c = hold
		}
		c[l.from-lo] += l.sign
		c[l.to-lo] -= l.sign
	}
	paused := make([]bool, n)
	for _, p := range v.pauses {
		for d := max(simDay(p.from), lo); d < min(simDay(p.to), hi); d++ {
			paused[d-lo] = true
		}
	}
	covered := make([]int, n) // 1 plan, 2 hold
	for _, sp := range v.svc.Coverage {
		kind := 1
		if sp.Hold {
			kind = 2
		}
		planID, qty := v.termsAt(sp.From)
		if !sp.Hold {
			for _, t := range v.terms {
				if t.Effective.After(sp.From) && t.Effective.Before(sp.To) {
					planID = -1 // the terms change inside the span
				}
			}
		}
		switch {
		case sp.Hold && sp.Price != s.pol.PauseHoldFee:
			return fmt.Errorf("service %d: hold fee days %s..%s charged at %d, the type's fee is %d", id, sp.From, sp.To, sp.Price, s.pol.PauseHoldFee)
		case !sp.Hold && (sp.PlanID != planID || sp.Quantity != qty):
			return fmt.Errorf("service %d: days %s..%s invoiced at plan %d × %d, but its terms then are plan %d × %d", id, sp.From, sp.To, sp.PlanID, sp.Quantity, planID, qty)
		case !sp.Hold && (sp.UnitPrice != s.plans[sp.PlanID-1].Price || sp.Price != sp.UnitPrice*sp.Quantity):
			return fmt.Errorf("service %d: days %s..%s invoiced at %d × %d = %d, plan %d costs %d", id, sp.From, sp.To, sp.UnitPrice, sp.Quantity, sp.Price, sp.PlanID, s.plans[sp.PlanID-1].Price)
		}
		for d := simDay(sp.From); d < simDay(sp.To); d++ {
			if d < lo || d >= hi {
				return fmt.Errorf("service %d: coverage day %s was never invoiced", id, simEpoch.AddDays(d))
			}
			covered[d-lo] = kind
		}
	}
	end := hi + 1
	if !v.svc.End.IsZero() {
		end = simDay(v.svc.End)
	}
	start := simDay(v.svc.Start)
	p, h := 0, 0
	for i := range n {
		p, h = p+plan[i], h+hold[i]
		d, day := lo+i, simEpoch.AddDays(lo+i)
		switch {
		case p > 1 || h > 1 || p+h > 1:
			return fmt.Errorf("service %d: day %s invoiced twice (%d times at the plan, %d at the hold fee)", id, day, p, h)
		case p < 0 || h < 0:
			return fmt.Errorf("service %d: day %s credited more than invoiced (%d at the plan, %d at the hold fee)", id, day, p, h)
		case p+h > 0 && d < start:
			return fmt.Errorf("service %d: day %s invoiced before its start %s", id, day, v.svc.Start)
		case p+h > 0 && d >= end:
			return fmt.Errorf("service %d: day %s invoiced after its end %s (cancelled): the cancel did not credit it", id, day, v.svc.End)
		case p > 0 && paused[i]:
			return fmt.Errorf("service %d: paused day %s charged at the plan", id, day)
		case h > 0 && !paused[i]:
			return fmt.Errorf("service %d: day %s charged the hold fee outside a pause", id, day)
		case covered[i] != p+2*h:
			return fmt.Errorf("service %d: day %s is covered %d (1 plan, 2 hold), but its lines net to %d at the plan and %d at the hold fee", id, day, covered[i], p, h)
		}
	}
	return nil
}
