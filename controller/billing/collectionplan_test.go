package billing

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// resType is the residential account type of the delinquency scenarios:
// America/Chicago, invoice lead 0, due 14, grace 7, Mon–Fri, yearly
// exclusion Dec 25, US federal holidays, minimum 1.00, auto-suspend,
// no reminders.
func resType() AccountType {
	return AccountType{Name: "RES", TimeZone: "America/Chicago", InvoiceLeadDays: 0, DueDays: 14, GraceDays: 7,
		DelinquencyWeekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Exclusions:          []Exclusion{{Date: mustDate("2026-12-25"), Yearly: true, Name: "Christmas"}},
		HolidayCalendars:    []string{"US"}, MinDelinquentBalance: 100, AutoSuspend: true, ReactivationRule: ReactivatePastDue}
}

// simEvent is money moving on a day, after that day's sweep: a payment
// (Amount > 0), the NSF reversal of the latest payment (Amount < 0, its
// amount negated), or a credit (Credit).
type simEvent struct {
	date   string
	amount int64
	credit bool
}

// simAccount is one account in memory: one invoice issued on the period
// start, its payments, credits and fees, its status and its service's
// desired state. It moves only through the core's plans.
type simAccount struct {
	t       AccountType
	rule    DateRule
	status  AccountStatus
	service DesiredState
	issue   Date
	due     Date
	total   int64
	// paid is what payments' allocations hold of the invoice.
	paid     int64
	payments []Payment
	// credit is the credit posted; fees the fees charged.
	credit, fees int64
	// why are the reasons of the account's last assessment of the day: of
	// the status change a plan made, else the sweep's verdict.
	why []Reason
}

func (a *simAccount) standing(today Date, horizon Date) Standing {
	s := Standing{AccountID: 1, Number: "A-1", Currency: "USD", Status: a.status, Balance: a.fees - a.credit, Credit: a.credit,
		Invoices: []OwedInvoice{}}
	for _, p := range a.payments {
		if p.Status == PaymentPosted {
			s.Balance -= p.Amount
			s.Credit += p.Unallocated
		}
	}
	if !a.issue.After(today) {
		s.Balance += a.total
		if a.paid < a.total && !a.due.After(horizon) {
			s.Invoices = append(s.Invoices, OwedInvoice{ID: 1, Number: "INV-1", DueDate: a.due, Remaining: a.total - a.paid})
		}
	}
	return s
}

// allocate applies the payments' unallocated parts to the invoice through
// PlanAllocations.
func (a *simAccount) allocate() {
	var credits []OpenCredit
	for _, p := range a.payments {
		if p.Status == PaymentPosted && p.Unallocated > 0 {
			credits = append(credits, OpenCredit{PaymentID: p.ID, Amount: p.Unallocated})
		}
	}
	allocs, _ := PlanAllocations(credits, []OpenInvoice{{InvoiceID: 1, Number: "INV-1", Amount: a.total - a.paid}})
	for _, al := range allocs {
		p := &a.payments[al.PaymentID-1]
		p.Unallocated -= al.Amount
		p.Allocations = append(p.Allocations, Allocation{InvoiceID: 1, InvoiceNumber: "INV-1", Amount: al.Amount})
		a.paid += al.Amount
	}
}

func (a *simAccount) services(not DesiredState) []ServiceRef {
	if a.service == not {
		return nil
	}
	return []ServiceRef{{ID: 1, POP: "pop-1", AccountID: 1}}
}

func (a *simAccount) applyServices(cs []ServiceChange) {
	for _, c := range cs {
		a.service = c.State
	}
}

func (a *simAccount) charge(fees []JournalTx) {
	for _, f := range fees {
		a.fees += ReceivableBalance([]JournalTx{f})
	}
}

// sweep runs the day's sweep through SweepVerdict and PlanSweep.
func (a *simAccount) sweep(t *testing.T, today Date) {
	s := a.standing(today, today.AddDays(ReminderLead(a.t)))
	if len(s.Invoices) == 0 && a.status == AccountCurrent {
		a.why = nil
		return // the sweep does not examine it
	}
	v := SweepVerdict(a.t, a.rule, today, s, Contact{Email: "a@example.com", Name: "A"})
	a.why = v.Assessment.Reasons
	if !v.NeedsWrite() {
		return
	}
	in := SweepInput{Type: a.t, Today: today, Verdicts: []Verdict{v}}
	if v.Suspends() {
		in.SuspendServices = a.services(StateSuspended)
	}
	if v.Restores() {
		in.RestoreServices = a.services(StateActive)
	}
	p := PlanSweep(in)
	a.applyServices(p.ServiceChanges)
	a.charge(p.Fees)
	for _, c := range p.StatusChanges {
		if c.From != a.status {
			t.Fatalf("%s: sweep plans a change from %s, the account is %s", today, c.From, a.status)
		}
		a.status, a.why = c.To, c.Reasons
	}
}

// settle moves money — a payment, a credit, or a reversal through
// PlanReversal — and settles through PlanSettlement.
func (a *simAccount) settle(t *testing.T, today Date, e simEvent) {
	var cause SettleCause
	switch {
	case e.credit:
		a.credit += e.amount
		cause = SettleCause{Kind: CauseCredit, CreditID: 1}
	case e.amount > 0:
		p := Payment{ID: int64(len(a.payments) + 1), AccountID: 1, Currency: "USD", Method: PayCheck, Amount: e.amount,
			Status: PaymentPosted, Unallocated: e.amount}
		a.payments = append(a.payments, p)
		a.allocate()
		cause = SettleCause{Kind: CausePayment, PaymentID: p.ID}
	default:
		p := &a.payments[len(a.payments)-1]
		if p.Amount != -e.amount {
			t.Fatalf("%s: the reversal of %d is not of the latest payment (%d)", today, -e.amount, p.Amount)
		}
		plan, err := PlanReversal(ReversalInput{Payment: *p, Reversal: Reversal{Reason: ReverseNSF}, Today: today})
		if err != nil {
			t.Fatalf("%s: %v", today, err)
		}
		if len(plan.Journal) != 1 || ReceivableBalance(plan.Journal) != p.Amount-p.Refunded {
			t.Fatalf("%s: the reversal journals %+v", today, plan.Journal)
		}
		for _, al := range plan.Unallocate {
			a.paid -= al.Amount
		}
		p.Status, p.Allocations, p.Unallocated = PaymentReversed, nil, 0
		a.allocate()
		cause = plan.Cause
	}
	in := SettleInput{Type: a.t, Rule: a.rule, Today: today, Cause: cause, Standing: a.standing(today, Date{}.AddDays(1<<20)),
		Reminded: []bool{false}, Services: a.services(StateActive)}
	p := PlanSettlement(in)
	a.applyServices(p.ServiceChanges)
	a.charge(p.Fees)
	if p.Status != nil {
		if p.Status.Cause != cause.Kind {
			t.Errorf("%s: status change caused by %q, want %q", today, p.Status.Cause, cause.Kind)
		}
		a.status, a.why = p.Status.To, p.Status.Reasons
	}
}

func reasonKinds(rs []Reason) []ReasonKind {
	out := []ReasonKind{}
	for _, r := range rs {
		out = append(out, r.Kind)
	}
	return out
}

// TestDelinquencyScenarios drives the hand-computed delinquency scenarios
// of the RES type day by day through the sweep and settlement plans (the
// daily sweep first, then the day's payments), and asserts the status at
// the end of every day and the why's reason kinds on the days that
// matter.
func TestDelinquencyScenarios(t *testing.T) {
	type why struct {
		date  string
		kinds []ReasonKind
	}
	pastDue := []ReasonKind{ReasonInvoicePastDue, ReasonDelinquencyDate}
	suspended := []ReasonKind{ReasonInvoicePastDue, ReasonDelinquencyDate, ReasonOverdue, ReasonAutoSuspended}
	for _, tc := range []struct {
		name         string
		start, until string
		total        int64
		events       []simEvent
		// statuses: from each date on (to the next entry) the status at
		// the end of the day.
		statuses []struct {
			from   string
			status AccountStatus
		}
		whys []why
		// delinquencyDate is the moved delinquency date in the why.
		delinquencyDate string
		// reconnectionFee is the type's (RES has none).
		reconnectionFee int64
		// balance is the balance at the end.
		balance int64
	}{{
		name: "Tue 2026-12-01 unpaid: suspended Tue 12-22, not 12-21", start: "2026-12-01", until: "2027-01-05", total: 5000, balance: 5000,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}, {"2026-12-22", AccountSuspended}},
		whys:            []why{{"2026-12-16", pastDue}, {"2026-12-21", pastDue}, {"2026-12-22", suspended}},
		delinquencyDate: "2026-12-22",
	}, {
		name: "Sat 2027-05-01: delinquency date Sat 05-22 moves to Mon 05-24", start: "2027-05-01", until: "2027-06-01", total: 5000, balance: 5000,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2027-05-01", AccountCurrent}, {"2027-05-16", AccountPastDue}, {"2027-05-24", AccountSuspended}},
		whys:            []why{{"2027-05-22", pastDue}, {"2027-05-23", pastDue}, {"2027-05-24", suspended}},
		delinquencyDate: "2027-05-24",
	}, {
		name: "Fri 2026-12-04: Fri 12-25 excluded, weekend skipped, suspended Mon 12-28", start: "2026-12-04", until: "2027-01-05", total: 5000, balance: 5000,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-04", AccountCurrent}, {"2026-12-19", AccountPastDue}, {"2026-12-28", AccountSuspended}},
		whys:            []why{{"2026-12-25", pastDue}, {"2026-12-27", pastDue}, {"2026-12-28", suspended}},
		delinquencyDate: "2026-12-28",
	}, {
		name: "Thu 2027-11-04: Thanksgiving 11-25 moves it to Fri 11-26", start: "2027-11-04", until: "2027-12-06", total: 5000, balance: 5000,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2027-11-04", AccountCurrent}, {"2027-11-19", AccountPastDue}, {"2027-11-26", AccountSuspended}},
		whys:            []why{{"2027-11-25", pastDue}, {"2027-11-26", suspended}},
		delinquencyDate: "2027-11-26",
	}, {
		name: "20.00 paid of 50.00 on 12-21: still suspended 12-22", start: "2026-12-01", until: "2027-01-05", total: 5000, balance: 3000,
		events: []simEvent{{"2026-12-21", 2000, false}},
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}, {"2026-12-22", AccountSuspended}},
		whys:            []why{{"2026-12-22", suspended}},
		delinquencyDate: "2026-12-22",
	}, {
		name: "0.50 past due: never suspended", start: "2026-12-01", until: "2027-03-01", total: 50, balance: 50,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}},
		whys: []why{{"2026-12-21", pastDue}, {"2026-12-22", []ReasonKind{ReasonInvoicePastDue, ReasonDelinquencyDate, ReasonBelowMinimum}},
			{"2027-02-26", []ReasonKind{ReasonInvoicePastDue, ReasonDelinquencyDate, ReasonBelowMinimum}}},
		delinquencyDate: "2026-12-22",
	}, {
		name:  "check paid 12-20 reversed NSF 12-28: not suspended at the reversal, suspended by the sweep of 12-29",
		start: "2026-12-01", until: "2027-01-05", total: 5000, balance: 5000,
		events: []simEvent{{"2026-12-20", 5000, false}, {"2026-12-28", -5000, false}},
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}, {"2026-12-20", AccountCurrent},
			{"2026-12-28", AccountDelinquent}, {"2026-12-29", AccountSuspended}},
		whys: []why{{"2026-12-20", []ReasonKind{ReasonNothingPastDue}},
			{"2026-12-28", []ReasonKind{ReasonInvoicePastDue, ReasonDelinquencyDate, ReasonOverdue, ReasonSuspensionDue, ReasonSweepDecides}},
			{"2026-12-29", suspended}},
		delinquencyDate: "2026-12-22",
	}, {
		name:  "credit 50.00 on 12-23 restores the account suspended 12-22; the 25.00 reconnection fee does not suspend it again",
		start: "2026-12-01", until: "2027-01-05", total: 5000, reconnectionFee: 2500, balance: 2500,
		events: []simEvent{{"2026-12-23", 5000, true}},
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}, {"2026-12-22", AccountSuspended}, {"2026-12-23", AccountCurrent}},
		whys: []why{{"2026-12-22", suspended}, {"2026-12-23", []ReasonKind{ReasonCreditsApplied, ReasonRestoredPaid}},
			{"2026-12-24", []ReasonKind{ReasonCreditsApplied}}, {"2027-01-05", []ReasonKind{ReasonCreditsApplied}}},
		delinquencyDate: "2026-12-22",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			typ := resType()
			typ.ReconnectionFee = tc.reconnectionFee
			rule, err := NewDateRule(typ)
			if err != nil {
				t.Fatal(err)
			}
			start := mustDate(tc.start)
			issue := start.AddDays(-typ.InvoiceLeadDays)
			a := &simAccount{t: typ, rule: rule, status: AccountCurrent, service: StateActive,
				issue: issue, due: issue.AddDays(typ.DueDays), total: tc.total}
			wantWhy := map[Date][]ReasonKind{}
			for _, w := range tc.whys {
				wantWhy[mustDate(w.date)] = w.kinds
			}
			for d := start; !d.After(mustDate(tc.until)); d = d.AddDays(1) {
				a.sweep(t, d)
				for _, e := range tc.events {
					if mustDate(e.date) == d {
						a.settle(t, d, e)
					}
				}
				want := AccountCurrent
				for _, s := range tc.statuses {
					if !mustDate(s.from).After(d) {
						want = s.status
					}
				}
				if a.status != want {
					t.Errorf("%s: status %s, want %s (why: %v)", d.Label(), a.status, want, StaffWhy(a.why))
				}
				if wantService := StateActive; want == AccountSuspended && a.service != StateSuspended || want != AccountSuspended && a.service != wantService {
					t.Errorf("%s: service %s with the account %s", d.Label(), a.service, a.status)
				}
				if kinds, ok := wantWhy[d]; ok {
					if got := reasonKinds(a.why); !slices.Equal(got, kinds) {
						t.Errorf("%s: why %v, want %v (%v)", d.Label(), got, kinds, StaffWhy(a.why))
					}
					for _, r := range a.why {
						if r.Kind == ReasonDelinquencyDate && r.Date != mustDate(tc.delinquencyDate) {
							t.Errorf("%s: delinquency date %s, want %s", d.Label(), r.Date, tc.delinquencyDate)
						}
					}
				}
			}
			if got := a.standing(mustDate(tc.until), mustDate(tc.until)).Balance; got != tc.balance {
				t.Errorf("balance %d at the end, want %d", got, tc.balance)
			}
		})
	}
}

// overdueStanding is an account of resType owing amount on an invoice due
// 2026-12-15 (delinquency date Tue 2026-12-22).
func overdueStanding(id int64, status AccountStatus, amount int64) Standing {
	return Standing{AccountID: id, Number: "A-" + string(rune('0'+id)), Currency: "USD", Status: status, Balance: amount,
		Invoices: []OwedInvoice{{ID: id, Number: "INV", DueDate: mustDate("2026-12-15"), Remaining: amount}}}
}

// TestPlanSweepGuardHoldsAPOPWhole: the guard holds the suspensions at a
// POP over its limit; an account with a service there is held whole (it
// stays delinquent, its why names the batch once the store has one), the
// others are suspended with a notice.
func TestPlanSweepGuardHoldsAPOPWhole(t *testing.T) {
	typ := resType()
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	today := mustDate("2026-12-22")
	c := Contact{Email: "x@example.com", Name: "X"}
	var vs []Verdict
	for id := int64(1); id <= 3; id++ {
		v := SweepVerdict(typ, rule, today, overdueStanding(id, AccountPastDue, 5000), c)
		if !v.Suspends() || !v.NeedsWrite() {
			t.Fatalf("account %d: verdict does not suspend: %v", id, v.Assessment.Why)
		}
		vs = append(vs, v)
	}
	in := SweepInput{Type: typ, Today: today, Guard: SuspensionGuard{MinServices: 1, POPPercent: 1}, Verdicts: vs,
		SuspendServices: []ServiceRef{{11, "pop-a", 1}, {13, "pop-a", 3}, {12, "pop-b", 1}, {22, "pop-b", 2}},
		Loads:           map[string]POPLoad{"pop-a": {Active: 100}, "pop-b": {Active: 100}}}
	if got := in.GuardPOPs(); !slices.Equal(got, []string{"pop-a", "pop-b"}) {
		t.Errorf("guard POPs %v", got)
	}
	// pop-b's 2 suspensions exceed its limit, max(1, 1% of 100); pop-a's 2
	// are within max(1, 1% of 1000).
	in.Loads["pop-a"] = POPLoad{Active: 1000}
	p := PlanSweep(in)
	if len(p.HeldReasons) != 1 || !contains(p.HeldReasons[0], "POP pop-b") {
		t.Fatalf("held reasons %q", p.HeldReasons)
	}
	if p.Held != 2 || p.Suspended != 1 || p.SuspendedServices != 1 {
		t.Errorf("held %d, suspended %d accounts and %d services; want 2, 1, 1", p.Held, p.Suspended, p.SuspendedServices)
	}
	if len(p.ServiceChanges) != 1 || p.ServiceChanges[0].Service.ID != 13 || p.ServiceChanges[0].State != StateSuspended ||
		!contains(p.ServiceChanges[0].Reason, "account A-3 delinquent: USD 50.00 past its delinquency date 2026-12-22") {
		t.Errorf("service changes %+v", p.ServiceChanges)
	}
	if len(p.Suspensions) != 3 || !p.Suspensions[0].Held || !slices.Equal(p.Suspensions[0].POPs, []string{"pop-a", "pop-b"}) ||
		!slices.Equal(p.Suspensions[0].ServiceIDs, []int64{11, 12}) || p.Suspensions[2].Held {
		t.Errorf("suspensions %+v", p.Suspensions)
	}
	p.HeldIn(7)
	for _, sc := range p.StatusChanges {
		want := AccountDelinquent
		if sc.AccountID == 3 {
			want = AccountSuspended
		}
		if sc.To != want || sc.Cause != CauseSweep {
			t.Errorf("account %d: %s by %s, want %s by sweep", sc.AccountID, sc.To, sc.Cause, want)
		}
		if held := slices.ContainsFunc(sc.Reasons, func(r Reason) bool { return r.Kind == ReasonGuardHold && r.Batch == 7 }); held != (want == AccountDelinquent) {
			t.Errorf("account %d: why %v", sc.AccountID, sc.Why)
		}
		if want == AccountDelinquent && !contains(sc.Why[len(sc.Why)-1], "suspension batch 7") {
			t.Errorf("account %d: staff why %q", sc.AccountID, sc.Why)
		}
	}
	if len(p.Notices) != 1 || p.Notices[0].AccountID != 3 || p.Notices[0].Kind != NoticeSuspended || p.Notices[0].To != c.Email {
		t.Errorf("notices %+v", p.Notices)
	}
	// The suspended account's older held suspension, if any, is moot; the
	// held ones' are not.
	if !slices.Equal(p.MootHolds, []int64{3}) {
		t.Errorf("moot holds %v", p.MootHolds)
	}
	in.Guard.Disabled = true
	if in.GuardPOPs() != nil || PlanSweep(in).Held != 0 {
		t.Error("a disabled guard holds")
	}
}

// TestPlanSweepLeavesPausedAccountsDelinquent: of three accounts whose
// verdict suspends, account 1's only service is paused and kept on until
// Jan 10, account 2 has a paused one and another to suspend, account 3
// none held. Account 1 is neither suspended nor told it is: it stays
// delinquent, saying its suspension waits for the pause's end (and what
// would restore it); 2 and 3 are suspended with their notices, 2's paused
// service untouched.
func TestPlanSweepLeavesPausedAccountsDelinquent(t *testing.T) {
	typ := resType()
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	today := mustDate("2026-12-22")
	c := Contact{Email: "x@example.com", Name: "X"}
	var vs []Verdict
	for id := int64(1); id <= 3; id++ {
		vs = append(vs, SweepVerdict(typ, rule, today, overdueStanding(id, AccountDelinquent, 5000), c))
	}
	until := mustDate("2027-01-10")
	in := SweepInput{Type: typ, Today: today, Guard: SuspensionGuard{Disabled: true}, Verdicts: vs,
		SuspendServices: []ServiceRef{{22, "pop-a", 2}, {33, "pop-a", 3}},
		KeptOn:          []HeldService{{ServiceRef{11, "pop-a", 1}, until}, {ServiceRef{21, "pop-a", 2}, until}}}
	p := PlanSweep(in)
	if p.Suspended != 2 || p.SuspendedServices != 2 || len(p.Suspensions) != 2 || p.Suspensions[0].AccountID != 2 {
		t.Fatalf("suspended %d accounts, %d services: %+v", p.Suspended, p.SuspendedServices, p.Suspensions)
	}
	for _, sc := range p.ServiceChanges {
		if sc.Service.ID == 11 || sc.Service.ID == 21 {
			t.Fatalf("a paused service changed: %+v", sc)
		}
	}
	for _, n := range p.Notices {
		if n.AccountID == 1 {
			t.Fatalf("the paused account is told %s", n.Kind)
		}
	}
	for _, sc := range p.StatusChanges {
		if sc.AccountID != 1 {
			continue
		}
		t.Fatalf("the paused account changes status: %+v", sc)
	}
	// The account's why, as a standing would read it from the plan.
	a := vs[0].Assessment.heldByPause(until)
	last := a.Reasons[len(a.Reasons)-1]
	if a.Suspend || a.Status != AccountDelinquent || last.Kind != ReasonServicesPaused || last.Date != until || last.Amount == 0 ||
		slices.ContainsFunc(a.Reasons, func(r Reason) bool { return r.Kind == ReasonAutoSuspended }) || len(a.Why) != len(a.Reasons) {
		t.Fatalf("held by the pause: %+v", a)
	}
	if sub := SubscriberWhy(a.Reasons, "en-US", today); !contains(sub[len(sub)-1], "paused until") {
		t.Fatalf("subscriber why %q", sub)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestPlanSettlementRestores: a payment that meets the reactivation rule
// restores a suspended account's services, charges the reconnection fee,
// queues a restore notice (not without an email address), ends any held
// suspension and records the status change with its typed cause and
// payment; a promise restores without a fee.
func TestPlanSettlementRestores(t *testing.T) {
	typ := resType()
	typ.ReconnectionFee = 1500
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	today := mustDate("2026-12-23")
	paid := Standing{AccountID: 4, Number: "A-4", Currency: "USD", Status: AccountSuspended, Invoices: []OwedInvoice{}}
	in := SettleInput{Type: typ, Rule: rule, Today: today, Cause: SettleCause{Kind: CausePayment, PaymentID: 12}, Standing: paid,
		Contact: Contact{Email: "a4@example.com"}, Services: []ServiceRef{{40, "pop-a", 4}}}
	p := PlanSettlement(in)
	if p.Status == nil || p.Status.From != AccountSuspended || p.Status.To != AccountCurrent || p.Status.Cause != CausePayment || p.Status.PaymentID != 12 {
		t.Fatalf("status %+v", p.Status)
	}
	if !slices.Equal(reasonKinds(p.Status.Reasons), []ReasonKind{ReasonRestoredPaid}) {
		t.Errorf("why %v", p.Status.Why)
	}
	if len(p.ServiceChanges) != 1 || p.ServiceChanges[0].State != StateActive || p.ServiceChanges[0].Reason != "payment 12 restored service" {
		t.Errorf("service changes %+v", p.ServiceChanges)
	}
	if len(p.Fees) != 1 || p.Fees[0].AccountID != 4 || p.Fees[0].Entries[1].Amount != 1500 || p.Fees[0].Validate() != nil {
		t.Errorf("fees %+v", p.Fees)
	}
	if len(p.Notices) != 1 || p.Notices[0].Kind != NoticeRestored || p.Notices[0].BusinessHours {
		t.Errorf("notices %+v", p.Notices)
	}
	if !slices.Equal(p.MootHolds, []int64{4}) {
		t.Errorf("moot holds %v", p.MootHolds)
	}

	in.Contact = Contact{}
	in.Cause = SettleCause{Kind: CausePromise}
	in.Standing = overdueStanding(4, AccountSuspended, 5000)
	in.Standing.PromiseUntil = mustDate("2026-12-31")
	p = PlanSettlement(in)
	if p.Status == nil || p.Status.To != AccountPastDue || p.Status.Cause != CausePromise || len(p.Fees) != 0 || len(p.Notices) != 0 ||
		len(p.ServiceChanges) != 1 || p.ServiceChanges[0].Reason != "promise restored service" {
		t.Errorf("promise: %+v", p)
	}

	// Current and owing nothing due: nothing to do.
	in.Standing = Standing{AccountID: 4, Status: AccountCurrent}
	if p := PlanSettlement(in); !p.Empty() {
		t.Errorf("current account: %+v", p)
	}
	// An invoice not yet due is beyond the horizon: still nothing.
	in.Standing.Invoices = []OwedInvoice{{ID: 9, DueDate: today.AddDays(3), Remaining: 100}}
	in.Reminded = []bool{true}
	if p := PlanSettlement(in); !p.Empty() {
		t.Errorf("invoice not due: %+v", p)
	}
}

// TestPlanApproval: approving a held suspension suspends the account still
// delinquent (the guard and the reminder rule no longer wait) and skips
// one that paid meanwhile.
func TestPlanApproval(t *testing.T) {
	typ := resType()
	typ.ReminderDaysBefore = []int{3}
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	still := overdueStanding(5, AccountDelinquent, 5000)
	still.Held = true
	paidUp := Standing{AccountID: 6, Status: AccountDelinquent, Currency: "USD", Invoices: []OwedInvoice{}}
	p := PlanApproval(ApprovalInput{Type: typ, Rule: rule, Today: mustDate("2026-12-23"), BatchID: 3, By: "user:alice",
		Standings: []Standing{still, paidUp}, Contacts: []Contact{{Email: "a5@example.com"}, {Email: "a6@example.com"}}})
	if !slices.Equal(p.Suspend, []int64{5}) || len(p.StatusChanges) != 1 || p.StatusChanges[0].To != AccountSuspended ||
		p.StatusChanges[0].Cause != CauseApproval {
		t.Fatalf("plan %+v", p)
	}
	rs := p.StatusChanges[0].Reasons
	if last := rs[len(rs)-1]; last.Kind != ReasonSuspensionApproved || last.Batch != 3 || last.Detail != "user:alice" {
		t.Errorf("why %v", p.StatusChanges[0].Why)
	}
	cs := p.ServiceChanges([]ServiceRef{{50, "pop-a", 5}})
	if len(cs) != 1 || cs[0].State != StateSuspended || !contains(cs[0].Reason, "(approved by user:alice)") {
		t.Errorf("service changes %+v", cs)
	}
	if len(p.Notices) != 1 || p.Notices[0].To != "a5@example.com" || p.Notices[0].Kind != NoticeSuspended {
		t.Errorf("notices %+v", p.Notices)
	}
}

func TestSettleCauseNamesTheEvent(t *testing.T) {
	for c, want := range map[SettleCause]string{
		{Kind: CausePayment, PaymentID: 12}: "payment 12", {Kind: CausePayment, BatchID: 3}: "payment batch 3",
		{Kind: CauseReversal, PaymentID: 12}: "reversal of payment 12", {Kind: CauseCredit, CreditID: 7}: "credit 7",
		{Kind: CausePromise}: "promise", {Kind: CauseExemption}: "exemption",
	} {
		if got := c.String(); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
	}
}

func TestChooseHeldAccounts(t *testing.T) {
	pending := []int64{3, 5, 8}
	if got, err := ChooseHeldAccounts(1, "pending", pending, nil); err != nil || !slices.Equal(got, pending) {
		t.Errorf("all pending: %v %v", got, err)
	}
	if got, err := ChooseHeldAccounts(1, "pending", pending, []int64{5}); err != nil || !slices.Equal(got, []int64{5}) {
		t.Errorf("one: %v %v", got, err)
	}
	if _, err := ChooseHeldAccounts(1, "pending", pending, []int64{5, 6}); ErrorCode(err) != EINVALID || !contains(err.Error(), "account 6") {
		t.Errorf("not pending: %v", err)
	}
	if _, err := ChooseHeldAccounts(1, "decided", pending, nil); ErrorCode(err) != ECONFLICT {
		t.Errorf("decided: %v", err)
	}
}
