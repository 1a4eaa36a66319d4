package billing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// lcTerms is the sequence's record of what a service is on from a date.
type lcTerms struct {
	from Date
	plan Plan
	qty  int64
}

// lcSim drives one random sequence of lifecycle changes over one service
// through the plans, applying each plan as a store would (coverage
// replaced, terms updated), and billing periods as the billing run would.
type lcSim struct {
	r       *rand.Rand
	ctx     LifecycleContext
	svc     LifecycleService
	terms   []lcTerms
	charged int64 // everything invoiced for the service: periods and plan lines
	nextID  int64
	plans   int
	lines   int
	log     []string
	// billedTo is where the billing run has invoiced to.
	billedTo Date
	// pending is the plan a change asks for, until applied.
	pending Plan
	// pauses are the pauses applied, [from, to).
	pauses []Period
}

func (s *lcSim) today() Date {
	d, _ := s.ctx.today()
	return d
}

// termsOn is what the service is on, on day d.
func (s *lcSim) termsOn(d Date) lcTerms {
	t := s.terms[0]
	for _, x := range s.terms {
		if !x.from.After(d) {
			t = x
		}
	}
	return t
}

func (s *lcSim) randPlan() Plan {
	s.nextID++
	price := []int64{0, 1, 999, 5000, 8000, 12345, s.r.Int64N(1_000_000), s.r.Int64N(MaxAmount / 100)}[s.r.IntN(8)]
	return Plan{ID: s.nextID, Name: fmt.Sprintf("Plan %d", s.nextID), Price: price, Currency: "USD", Interval: IntervalMonthly, Taxable: s.r.IntN(2) == 0}
}

// billNext invoices the period after the coverage's end as the billing run
// does: each day at the terms in force, paused days at the hold fee, none
// after the end.
func (s *lcSim) billNext() {
	from := s.svc.Start
	if !s.billedTo.IsZero() {
		from = s.billedTo
	}
	p := s.ctx.periodOf(from, IntervalMonthly)
	s.billedTo = p.End
	var spans []BilledSpan
	for d := from; d.Before(p.End); d = d.AddDays(1) {
		if !s.svc.End.IsZero() && !d.Before(s.svc.End) {
			break
		}
		var x BilledSpan
		if s.paused(d) {
			if s.ctx.Policy.PauseHoldFee == 0 {
				continue
			}
			x = BilledSpan{Period: p, From: d, To: d.AddDays(1), PlanName: holdPlanName, UnitPrice: s.ctx.Policy.PauseHoldFee, Quantity: 1, Price: s.ctx.Policy.PauseHoldFee, Hold: true}
		} else {
			t := s.termsOn(d)
			x = BilledSpan{Period: p, From: d, To: d.AddDays(1), PlanID: t.plan.ID, PlanName: t.plan.Name, UnitPrice: t.plan.Price, Quantity: t.qty, Price: t.plan.Price * t.qty, Taxable: t.plan.Taxable}
		}
		if n := len(spans); n > 0 && spans[n-1].To == d && spans[n-1].PlanID == x.PlanID && spans[n-1].Quantity == x.Quantity && spans[n-1].Price == x.Price && spans[n-1].Hold == x.Hold {
			spans[n-1].To = x.To
			continue
		}
		spans = append(spans, x)
	}
	for _, x := range spans {
		s.charged += x.Amount()
	}
	s.svc.Coverage = addCoverage(s.svc.Coverage, spans...)
	s.log = append(s.log, fmt.Sprintf("bill %v: %d spans", p, len(spans)))
}

// apply records a plan as the store would and checks the properties.
func (s *lcSim) apply(op string, plan LifecyclePlan, err error) error {
	if err != nil {
		if ErrorCode(err) != EINVALID {
			return fmt.Errorf("%s: %v", op, err)
		}
		s.log = append(s.log, fmt.Sprintf("%s refused: %s", op, ErrorMessage(err)))
		return nil
	}
	s.log = append(s.log, fmt.Sprintf("%s effective %s: lines %v", op, plan.Effective, amounts(plan)))
	if err := checkProration(s.svc.Coverage, plan); err != nil {
		return fmt.Errorf("%s: %v", op, err)
	}
	s.plans++
	s.lines += len(plan.Lines)
	for _, l := range plan.Lines {
		s.charged += l.Amount
	}
	s.svc.Coverage = plan.Coverage
	if u := plan.Service; u != nil {
		if u.After.PlanID != u.Before.PlanID || u.After.Quantity != u.Before.Quantity {
			s.terms = append(s.terms, lcTerms{from: u.Effective, plan: s.pending, qty: u.After.Quantity})
		}
		if u.After.PauseFrom != u.Before.PauseFrom || u.After.PauseTo != u.Before.PauseTo {
			s.pauses = append(s.pauses, Period{u.After.PauseFrom, u.After.PauseTo})
		}
		s.svc.End, s.svc.PauseFrom, s.svc.PauseTo = u.After.End, u.After.PauseFrom, u.After.PauseTo
	}
	return nil
}

// paused reports whether day d is in a pause.
func (s *lcSim) paused(d Date) bool {
	for _, p := range s.pauses {
		if p.Contains(d) {
			return true
		}
	}
	return false
}

// check asserts the sequence's invariants: the coverage is valid; what was
// charged in all equals what the coverage charges (no day charged twice,
// every partition exact); each covered day is charged at the terms in
// force that day (or the hold fee while paused); no day from the end on
// is covered.
func (s *lcSim) check() error {
	if err := validateCoverage(s.svc.Coverage); err != nil {
		return err
	}
	if got := coverageTotal(s.svc.Coverage); got != s.charged {
		return fmt.Errorf("charged %d in all, the coverage charges %d", s.charged, got)
	}
	for _, x := range s.svc.Coverage {
		for d := x.From; d.Before(x.To); d = d.AddDays(1) {
			if !s.svc.End.IsZero() && !d.Before(s.svc.End) {
				return fmt.Errorf("day %s after the end %s is charged (%+v)", d, s.svc.End, x)
			}
			paused := s.paused(d)
			if x.Hold {
				if !paused {
					return fmt.Errorf("day %s charged a hold fee outside the pauses %v", d, s.pauses)
				}
				continue
			}
			if paused {
				return fmt.Errorf("paused day %s charged at %s", d, x.PlanName)
			}
			if t := s.termsOn(d); t.plan.ID != x.PlanID || t.qty != x.Quantity || x.Price != t.plan.Price*t.qty {
				return fmt.Errorf("day %s charged at %s × %d, but the service was on %s × %d", d, x.PlanName, x.Quantity, t.plan.Name, t.qty)
			}
		}
	}
	return nil
}

// Property: random sequences of plan and quantity changes, pauses,
// suspended-days credits, billing runs and a cancel, on random dates and
// prices in three zones, keep every proration property: each line within
// ½ minor unit (touching its period's start or end) or 1 of its exact
// share; for every basis, charged before + lines = charged after; what was
// charged in all is exactly what the coverage charges; every covered day
// at the terms in force that day, never after the end, never a paused day.
func TestLifecycleProperty(t *testing.T) {
	zones := []string{"UTC", "America/Chicago", "Europe/Berlin"}
	applied, lines := 0, 0
	checkProperty(t, func(r *rand.Rand) error {
		zone := zones[r.IntN(len(zones))]
		typ := AccountType{ID: 1, Name: "RES", BillingMode: BillingFixedDay, BillingDay: 1 + r.IntN(31), TimeZone: zone}
		pol := LifecyclePolicy{MaxPauseDays: 1 + r.IntN(60), SuspendWhilePaused: r.IntN(2) == 0, StopInvoicingWhileSuspended: true}
		if r.IntN(2) == 0 {
			pol.PauseHoldFee = r.Int64N(2000)
		}
		if r.IntN(3) == 0 {
			pol.PlanChangeTiming = PlanChangeUpgradesNow
		}
		if r.IntN(3) == 0 {
			pol.ChangeInvoicing, pol.ImmediateInvoiceMinimum = InvoiceImmediately, r.Int64N(5000)
		}
		start := NewDate(2020, time.January, 1).AddDays(r.IntN(3000))
		loc, _ := time.LoadLocation(zone)
		s := &lcSim{r: r}
		s.ctx = LifecycleContext{Account: Account{ID: 7, Currency: "USD", AnchorDate: start}, Type: typ, Policy: pol, Actor: "test",
			Now: start.StartIn(loc).Add(time.Duration(r.IntN(24*60)) * time.Minute)}
		first := s.randPlan()
		s.terms = []lcTerms{{from: start, plan: first, qty: 1 + r.Int64N(3)}}
		s.svc = LifecycleService{Ref: ServiceRef{ID: 1, POP: "p", AccountID: 7}, Plan: first, Quantity: s.terms[0].qty, Start: start}
		s.billNext()
		var history []AccountStatusAt
		status := AccountCurrent
		for step := 0; step < 12 && s.svc.End.IsZero(); step++ {
			// Time passes; invoices run ahead of today by up to a period.
			s.ctx.Now = s.ctx.Now.Add(time.Duration(r.IntN(15*24*60)) * time.Minute)
			today := s.today()
			for s.svc.End.IsZero() && !s.billedTo.After(today.AddDays(r.IntN(20))) {
				s.billNext()
			}
			if r.IntN(3) == 0 { // the account's status changes at a random instant
				if status == AccountSuspended {
					status = AccountCurrent
				} else {
					status = AccountSuspended
				}
				history = append(history, AccountStatusAt{At: s.ctx.Now.Add(-time.Duration(r.IntN(24*60)) * time.Minute), Status: status})
				if n := len(history); n > 1 && history[n-1].At.Before(history[n-2].At) {
					history[n-1].At = history[n-2].At
				}
			}
			cur := s.termsOn(maxDate.AddDays(-1))
			s.svc.Plan, s.svc.Quantity = cur.plan, cur.qty
			var err error
			var plan LifecyclePlan
			op := ""
			switch r.IntN(6) {
			case 0, 1:
				req := ServiceChangeRequest{Context: s.ctx, Service: s.svc, EffectiveDate: today.AddDays(r.IntN(45)), AtNextPeriod: r.IntN(5) == 0}
				if r.IntN(3) > 0 {
					s.pending = s.randPlan()
					req.NewPlan = s.pending
				} else {
					s.pending = cur.plan
				}
				if r.IntN(2) == 0 {
					req.NewQuantity = 1 + r.Int64N(4)
				}
				op = "change"
				plan, err = PlanServiceChange(req)
			case 2:
				from := today.AddDays(r.IntN(30))
				op = "pause"
				plan, err = PlanPause(PauseRequest{Context: s.ctx, Service: s.svc, From: from, To: from.AddDays(1 + r.IntN(pol.MaxPauseDays+5))})
			case 3, 4:
				from := today.AddDays(-40)
				op = "suspended days"
				plan, err = PlanSuspendedDaysCredit(SuspendedDaysRequest{Context: s.ctx, Service: s.svc, From: from, To: today.AddDays(1), Initial: AccountCurrent, History: history})
			default:
				if r.IntN(3) > 0 {
					continue
				}
				op = "cancel"
				plan, err = PlanCancel(CancelRequest{Context: s.ctx, Service: s.svc, Date: today.AddDays(r.IntN(40)), EndOfPeriod: r.IntN(4) == 0})
			}
			if err := s.apply(op, plan, err); err != nil {
				return fmt.Errorf("%v\nafter %q", err, s.log)
			}
			if err := s.check(); err != nil {
				return fmt.Errorf("after %s: %v\nlog %q", op, err, s.log)
			}
		}
		applied, lines = applied+s.plans, lines+s.lines
		return nil
	})
	if applied < propertySequences*3 || lines < propertySequences*3 {
		t.Errorf("only %d plans with %d lines applied in %d sequences: the generator mostly makes refused or empty requests", applied, lines, propertySequences)
	}
	t.Logf("%d plans with %d lines applied", applied, lines)
}
