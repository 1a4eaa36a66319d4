package billing

import (
	"slices"
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
// (Amount > 0) or the reversal of one (Amount < 0).
type simEvent struct {
	date   string
	amount int64
}

// simAccount is one account in memory: one invoice issued on the period
// start, its payments, its status and its service's desired state. It
// moves only through the core's plans.
type simAccount struct {
	t       AccountType
	rule    DateRule
	status  AccountStatus
	service DesiredState
	issue   Date
	due     Date
	total   int64
	paid    int64
	// why are the reasons of the account's last assessment of the day: of
	// the status change a plan made, else the sweep's verdict.
	why []Reason
}

func (a *simAccount) standing(today Date, horizon Date) Standing {
	s := Standing{AccountID: 1, Number: "A-1", Currency: "USD", Status: a.status, Balance: a.total - a.paid, Invoices: []OwedInvoice{}}
	if !a.issue.After(today) && a.paid < a.total && !a.due.After(horizon) {
		s.Invoices = append(s.Invoices, OwedInvoice{ID: 1, Number: "INV-1", DueDate: a.due, Remaining: a.total - a.paid})
	}
	if a.issue.After(today) {
		s.Balance = 0
	}
	return s
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
	for _, c := range p.StatusChanges {
		if c.From != a.status {
			t.Fatalf("%s: sweep plans a change from %s, the account is %s", today, c.From, a.status)
		}
		a.status, a.why = c.To, c.Reasons
	}
}

// settle moves money and settles through PlanSettlement.
func (a *simAccount) settle(t *testing.T, today Date, e simEvent) {
	a.paid += e.amount
	cause := SettleCause{Kind: CausePayment, PaymentID: 1}
	if e.amount < 0 {
		cause.Kind = CauseReversal
	}
	in := SettleInput{Type: a.t, Rule: a.rule, Today: today, Cause: cause, Standing: a.standing(today, Date{}.AddDays(1<<20)),
		Reminded: []bool{false}, Services: a.services(StateActive)}
	p := PlanSettlement(in)
	a.applyServices(p.ServiceChanges)
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
	}{{
		name: "Tue 2026-12-01 unpaid: suspended Tue 12-22, not 12-21", start: "2026-12-01", until: "2027-01-05", total: 5000,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}, {"2026-12-22", AccountSuspended}},
		whys:            []why{{"2026-12-16", pastDue}, {"2026-12-21", pastDue}, {"2026-12-22", suspended}},
		delinquencyDate: "2026-12-22",
	}, {
		name: "Sat 2027-05-01: delinquency date Sat 05-22 moves to Mon 05-24", start: "2027-05-01", until: "2027-06-01", total: 5000,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2027-05-01", AccountCurrent}, {"2027-05-16", AccountPastDue}, {"2027-05-24", AccountSuspended}},
		whys:            []why{{"2027-05-22", pastDue}, {"2027-05-23", pastDue}, {"2027-05-24", suspended}},
		delinquencyDate: "2027-05-24",
	}, {
		name: "Fri 2026-12-04: Fri 12-25 excluded, weekend skipped, suspended Mon 12-28", start: "2026-12-04", until: "2027-01-05", total: 5000,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-04", AccountCurrent}, {"2026-12-19", AccountPastDue}, {"2026-12-28", AccountSuspended}},
		whys:            []why{{"2026-12-25", pastDue}, {"2026-12-27", pastDue}, {"2026-12-28", suspended}},
		delinquencyDate: "2026-12-28",
	}, {
		name: "Thu 2027-11-04: Thanksgiving 11-25 moves it to Fri 11-26", start: "2027-11-04", until: "2027-12-06", total: 5000,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2027-11-04", AccountCurrent}, {"2027-11-19", AccountPastDue}, {"2027-11-26", AccountSuspended}},
		whys:            []why{{"2027-11-25", pastDue}, {"2027-11-26", suspended}},
		delinquencyDate: "2027-11-26",
	}, {
		name: "20.00 paid of 50.00 on 12-21: still suspended 12-22", start: "2026-12-01", until: "2027-01-05", total: 5000,
		events: []simEvent{{"2026-12-21", 2000}},
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}, {"2026-12-22", AccountSuspended}},
		whys:            []why{{"2026-12-22", suspended}},
		delinquencyDate: "2026-12-22",
	}, {
		name: "0.50 past due: never suspended", start: "2026-12-01", until: "2027-03-01", total: 50,
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}},
		whys: []why{{"2026-12-21", pastDue}, {"2026-12-22", []ReasonKind{ReasonInvoicePastDue, ReasonDelinquencyDate, ReasonBelowMinimum}},
			{"2027-02-26", []ReasonKind{ReasonInvoicePastDue, ReasonDelinquencyDate, ReasonBelowMinimum}}},
		delinquencyDate: "2026-12-22",
	}, {
		name:  "check paid 12-20 reversed NSF 12-28: not suspended at the reversal, suspended by the sweep of 12-29",
		start: "2026-12-01", until: "2027-01-05", total: 5000,
		events: []simEvent{{"2026-12-20", 5000}, {"2026-12-28", -5000}},
		statuses: []struct {
			from   string
			status AccountStatus
		}{{"2026-12-01", AccountCurrent}, {"2026-12-16", AccountPastDue}, {"2026-12-20", AccountCurrent},
			{"2026-12-28", AccountDelinquent}, {"2026-12-29", AccountSuspended}},
		whys: []why{{"2026-12-20", []ReasonKind{ReasonNothingPastDue}},
			{"2026-12-28", []ReasonKind{ReasonInvoicePastDue, ReasonDelinquencyDate, ReasonOverdue, ReasonSuspensionDue, ReasonSweepDecides}},
			{"2026-12-29", suspended}},
		delinquencyDate: "2026-12-22",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			typ := resType()
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
		})
	}
}
