package billing

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPlanCancel(t *testing.T) {
	startMar := lcService(lcFiber50, 1)
	startMar.Start = mustDate("2027-03-01")
	startFeb20 := lcService(lcFiber50, 1)
	startFeb20.Start = mustDate("2027-02-20")
	hold := BilledSpan{Period: lcMarch27, From: mustDate("2027-03-12"), To: mustDate("2027-03-26"), PlanName: holdPlanName, UnitPrice: 500, Quantity: 1, Price: 500, Hold: true}
	paused := lcService(lcFiber50, 1,
		BilledSpan{Period: lcMarch27, From: lcMarch27.Start, To: mustDate("2027-03-12"), PlanID: 1, PlanName: "Fiber 50", UnitPrice: 5000, Quantity: 1, Price: 5000},
		hold,
		BilledSpan{Period: lcMarch27, From: mustDate("2027-03-26"), To: lcMarch27.End, PlanID: 1, PlanName: "Fiber 50", UnitPrice: 5000, Quantity: 1, Price: 5000})
	berlin := LifecycleContext{Account: lcAccount(), Type: lcType("Europe/Berlin"), Now: time.Date(2027, 3, 27, 23, 30, 0, 0, time.UTC)}
	remove := lcContext("2027-03-10", LifecyclePolicy{OnCancel: CancelRemove})
	tests := []struct {
		name          string
		ctx           LifecycleContext
		svc           LifecycleService
		date          string
		endOfPeriod   bool
		others        bool
		wantEffective string
		wantLines     []int64
		wantInvoicing ChangeInvoicing
		wantCredit    int64
		wantDesc      string
	}{
		{name: "today, other services billed", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), others: true,
			wantEffective: "2027-03-10", wantLines: []int64{-3548}, wantInvoicing: InvoiceOnNext,
			wantDesc: "Fiber 50 cancelled from Mar 10: credit 22 of 31 days, Mar 10 to Mar 31, of Fiber 50 (50.00/monthly)"},
		{name: "today, last service, everything invoiced: a credit", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: startMar,
			wantEffective: "2027-03-10", wantLines: []int64{-3548}, wantInvoicing: InvoiceAsCredit, wantCredit: 3548},
		{name: "today, last service, days still to invoice: the final invoice", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: startFeb20,
			wantEffective: "2027-03-10", wantLines: []int64{-3548}, wantInvoicing: InvoiceFinal},
		// 12/31 × 50.00 = 19.35 (5000 − F(19) = 5000 − 3065).
		{name: "a future date", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), date: "2027-03-20", others: true,
			wantEffective: "2027-03-20", wantLines: []int64{-1935}, wantInvoicing: InvoiceOnNext},
		{name: "end of period credits nothing", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), endOfPeriod: true,
			wantEffective: "2027-04-01", wantInvoicing: InvoiceOnNext},
		{name: "on the service's first day credits all it was charged", ctx: lcContext("2027-03-01", LifecyclePolicy{}), svc: startMar, date: "2027-03-01",
			wantEffective: "2027-03-01", wantLines: []int64{-5000}, wantInvoicing: InvoiceAsCredit, wantCredit: 5000},
		{name: "a paused service's hold fee is credited too", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: paused, date: "2027-03-20", others: true,
			// hold Mar 20–25: F(25) − F(19) of 5.00 = 403 − 306; plan Mar 26–31: 5000 − F(25) = 5000 − 4032.
			wantEffective: "2027-03-20", wantLines: []int64{-97, -968}, wantInvoicing: InvoiceOnNext},
		{name: "Berlin DST day, just after local midnight", ctx: berlin, svc: lcService(lcFiber50, 1), others: true,
			wantEffective: "2027-03-28", wantLines: []int64{-645}, wantInvoicing: InvoiceOnNext},
		{name: "on_cancel remove", ctx: remove, svc: lcService(lcFiber50, 1), others: true,
			wantEffective: "2027-03-10", wantLines: []int64{-3548}, wantInvoicing: InvoiceOnNext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := CancelRequest{Context: tc.ctx, Service: tc.svc, EndOfPeriod: tc.endOfPeriod, OtherServicesBilled: tc.others}
			if tc.date != "" {
				req.Date = mustDate(tc.date)
			}
			plan, err := PlanCancel(req)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Effective != mustDate(tc.wantEffective) || plan.Service.After.End != plan.Effective {
				t.Errorf("effective %s, end %s, want %s", plan.Effective, plan.Service.After.End, tc.wantEffective)
			}
			if got := amounts(plan); fmt.Sprint(got) != fmt.Sprint(tc.wantLines) {
				t.Errorf("lines %v, want %v", got, tc.wantLines)
			}
			if plan.Invoicing != tc.wantInvoicing || plan.AccountCredit != tc.wantCredit {
				t.Errorf("invoicing %s credit %d, want %s %d (why %q)", plan.Invoicing, plan.AccountCredit, tc.wantInvoicing, tc.wantCredit, plan.Why)
			}
			if tc.wantDesc != "" && lineDesc(plan, 0) != tc.wantDesc {
				t.Errorf("description %q, want %q", lineDesc(plan, 0), tc.wantDesc)
			}
			for _, s := range plan.Coverage {
				if !s.To.After(plan.Effective) {
					continue
				}
				t.Errorf("coverage after the end: %+v", s)
			}
			if err := checkProration(tc.svc.Coverage, plan); err != nil {
				t.Error(err)
			}
			if len(plan.Enforcement) != 1 {
				t.Fatalf("enforcement %+v", plan.Enforcement)
			}
			e := plan.Enforcement[0]
			wantRemove := tc.ctx.Policy.OnCancel == CancelRemove
			if e.On != plan.Effective || e.Cause != CauseCancelled || e.Remove != wantRemove || (!wantRemove && e.State != StateSuspended) || e.Service.ID != 10 {
				t.Errorf("enforcement %+v", e)
			}
		})
	}
}

func TestPlanCancelRefuses(t *testing.T) {
	ctx := lcContext("2027-03-10", LifecyclePolicy{})
	future := lcService(lcFiber50, 1, []BilledSpan{}...)
	future.Start = mustDate("2027-03-20")
	ended := lcService(lcFiber50, 1)
	ended.End = mustDate("2027-03-15")
	for _, tc := range []struct {
		name      string
		req       CancelRequest
		fragments []string
	}{
		{"before the service's start", CancelRequest{Context: ctx, Service: future, Date: mustDate("2027-03-15")}, []string{"date 2027-03-15", "before the service's start 2027-03-20"}},
		{"in the past", CancelRequest{Context: ctx, Service: lcService(lcFiber50, 1), Date: mustDate("2027-03-09")}, []string{"date 2027-03-09", "before today"}},
		{"after its end", CancelRequest{Context: ctx, Service: ended, Date: mustDate("2027-03-20")}, []string{"date 2027-03-20", "end 2027-03-15"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PlanCancel(tc.req)
			wantInvalid(t, err, tc.fragments...)
		})
	}
}

// A service that starts mid-period and stops mid-period: the first
// invoice charges its start (22/31), the cancel credits the days after
// its stop, and what is left is exactly the [Prorate] piece of the days it
// had service.
func TestStartAndStop(t *testing.T) {
	at, a := lcType("America/Chicago"), lcAccount()
	inv, ok, err := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: lcMarch27,
		Services: []BillableService{{ServiceID: 10, Name: "Home", Plan: lcFiber50, Start: mustDate("2027-03-10")}}})
	if err != nil || !ok || len(inv.Lines) != 1 || inv.Lines[0].Amount != 3548 {
		t.Fatalf("start invoice %+v %v %v", inv.Lines, ok, err)
	}
	span := BilledSpan{Period: lcMarch27, From: inv.Lines[0].PeriodStart, To: inv.Lines[0].PeriodEnd, PlanID: 1, PlanName: "Fiber 50", UnitPrice: 5000, Quantity: 1, Price: 5000, Taxable: true}
	svc := lcService(lcFiber50, 1, span)
	svc.Start = mustDate("2027-03-10")
	plan, err := PlanCancel(CancelRequest{Context: lcContext("2027-03-12", LifecyclePolicy{}), Service: svc, Date: mustDate("2027-03-20")})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkProration(svc.Coverage, plan); err != nil {
		t.Fatal(err)
	}
	left := Prorate(5000, lcMarch27, mustDate("2027-03-10"), mustDate("2027-03-20"))
	if got := amounts(plan); fmt.Sprint(got) != "[-1935]" || left != 3548-1935 || coverageTotal(plan.Coverage) != left {
		t.Errorf("cancel lines %v, kept %d, want the 10 days' piece %d", got, coverageTotal(plan.Coverage), left)
	}
	if plan.Invoicing != InvoiceAsCredit || plan.AccountCredit != 1935 {
		t.Errorf("invoicing %s credit %d", plan.Invoicing, plan.AccountCredit)
	}
}

func TestPlanPause(t *testing.T) {
	marApr := lcService(lcFiber50, 1, invoiced(lcFiber50, 1, lcMarch27), invoiced(lcFiber50, 1, lcApril27))
	nov := per("2027-11-01", "2027-12-01")
	novSvc := lcService(lcFiber50, 1, invoiced(lcFiber50, 1, nov))
	tests := []struct {
		name      string
		ctx       LifecycleContext
		svc       LifecycleService
		from, to  string
		wantLines []int64
		wantDesc  []string
		suspends  bool // the type suspends paused services
	}{
		// Mar 12–25: F(25) − F(11) = 4032 − 1774.
		{name: "14 days without a fee", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), from: "2027-03-12", to: "2027-03-26",
			wantLines: []int64{-2258}, wantDesc: []string{"Fiber 50 paused Mar 12 to Mar 25: credit 14 of 31 days, Mar 12 to Mar 25, of Fiber 50 (50.00/monthly)"}},
		// The hold: F(25) − F(11) of 5.00 = 403 − 177.
		{name: "14 days with a 5.00 hold fee", ctx: lcContext("2027-03-10", LifecyclePolicy{PauseHoldFee: 500}), svc: lcService(lcFiber50, 1), from: "2027-03-12", to: "2027-03-26",
			wantLines: []int64{-2258, 226}, wantDesc: []string{"", "Fiber 50 paused Mar 12 to Mar 25: hold fee 14 of 31 days, Mar 12 to Mar 25 (5.00/monthly)"}},
		{name: "suspended while paused", ctx: lcContext("2027-03-10", LifecyclePolicy{SuspendWhilePaused: true}), svc: lcService(lcFiber50, 1), from: "2027-03-12", to: "2027-03-26",
			wantLines: []int64{-2258}, suspends: true},
		// Mar 25–31: 5000 − F(24) = 1129; Apr 1–7: 7/30 × 50.00 = 11.67.
		{name: "across two invoiced periods", ctx: lcContext("2027-03-20", LifecyclePolicy{}), svc: marApr, from: "2027-03-25", to: "2027-04-08",
			wantLines: []int64{-1129, -1167}},
		{name: "not invoiced yet: nothing to credit", ctx: lcContext("2027-03-20", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), from: "2027-04-05", to: "2027-04-20"},
		// Chicago falls back on Sun 2027-11-07 (a 25-hour day); Nov 5–11
		// is 7 of 30 days: F(11) − F(4) = 1833 − 667.
		{name: "Chicago fall-back week", ctx: lcContext("2027-11-01", LifecyclePolicy{}), svc: novSvc, from: "2027-11-05", to: "2027-11-12",
			wantLines: []int64{-1166}},
		{name: "exactly the longest pause", ctx: lcContext("2027-03-10", LifecyclePolicy{MaxPauseDays: 30}), svc: lcService(lcFiber50, 1), from: "2027-03-10", to: "2027-04-09",
			wantLines: []int64{-3548}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PlanPause(PauseRequest{Context: tc.ctx, Service: tc.svc, From: mustDate(tc.from), To: mustDate(tc.to)})
			if err != nil {
				t.Fatal(err)
			}
			if got := amounts(plan); fmt.Sprint(got) != fmt.Sprint(tc.wantLines) {
				t.Errorf("lines %v, want %v", got, tc.wantLines)
			}
			for i, d := range tc.wantDesc {
				if d != "" && lineDesc(plan, i) != d {
					t.Errorf("line %d %q, want %q", i, lineDesc(plan, i), d)
				}
			}
			if err := checkProration(tc.svc.Coverage, plan); err != nil {
				t.Error(err)
			}
			// Held from From to To either way; suspended only when the
			// type says so (no State: kept as it is).
			if len(plan.Enforcement) != 2 {
				t.Fatalf("enforcement %+v", plan.Enforcement)
			}
			wantState, wantReason := DesiredState(""), "paused until "+tc.to+" (service kept on)"
			if tc.suspends {
				wantState, wantReason = StateSuspended, "paused until "+tc.to
			}
			e := plan.Enforcement
			if e[0].On != mustDate(tc.from) || e[0].State != wantState || e[0].Cause != CausePaused || e[0].Reason != wantReason ||
				e[1].On != mustDate(tc.to) || e[1].State != StateActive || e[1].Cause != CauseResumed {
				t.Errorf("enforcement %+v", e)
			}
			if plan.Service.After.PauseFrom != mustDate(tc.from) || plan.Service.After.PauseTo != mustDate(tc.to) {
				t.Errorf("service update %+v", plan.Service)
			}
		})
	}
}

func TestPlanPauseRefuses(t *testing.T) {
	ctx := lcContext("2027-03-10", LifecyclePolicy{})
	pausing := lcService(lcFiber50, 1)
	pausing.PauseFrom, pausing.PauseTo = mustDate("2027-03-20"), mustDate("2027-03-30")
	for _, tc := range []struct {
		name      string
		ctx       LifecycleContext
		svc       LifecycleService
		from, to  string
		fragments []string
	}{
		{"longer than the default 90 days", ctx, lcService(lcFiber50, 1), "2027-03-10", "2027-06-09", []string{"to 2027-06-09", "91 days", "max_pause_days 90"}},
		{"longer than the type allows", lcContext("2027-03-10", LifecyclePolicy{MaxPauseDays: 30}), lcService(lcFiber50, 1), "2027-03-10", "2027-04-10", []string{"31 days", "max_pause_days 30"}},
		{"in the past", ctx, lcService(lcFiber50, 1), "2027-03-09", "2027-03-20", []string{"from 2027-03-09", "before today"}},
		{"to not after from", ctx, lcService(lcFiber50, 1), "2027-03-20", "2027-03-20", []string{"to 2027-03-20 must be after from"}},
		{"overlapping a planned pause", ctx, pausing, "2027-03-25", "2027-04-05", []string{"already has a pause from 2027-03-20 to 2027-03-30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PlanPause(PauseRequest{Context: tc.ctx, Service: tc.svc, From: mustDate(tc.from), To: mustDate(tc.to)})
			wantInvalid(t, err, tc.fragments...)
		})
	}
	_, err := PlanPause(PauseRequest{Context: ctx, Service: lcService(lcFiber50, 1), To: mustDate("2027-03-20")})
	wantInvalid(t, err, "from is required")
}

// TestPlanPauseKeepsTheEndedPause: a second pause, once the first is over,
// replaces it on the service and hands it to the pause history (the
// billing run leaves out the days of both); a first pause hands nothing.
func TestPlanPauseKeepsTheEndedPause(t *testing.T) {
	ctx := lcContext("2027-04-12", LifecyclePolicy{})
	paused := lcService(lcFiber50, 1)
	paused.PauseFrom, paused.PauseTo = mustDate("2027-04-05"), mustDate("2027-04-10")
	plan, err := PlanPause(PauseRequest{Context: ctx, Service: paused, From: mustDate("2027-04-20"), To: mustDate("2027-04-25")})
	if err != nil {
		t.Fatal(err)
	}
	if u := plan.Service; u == nil || u.EndedPause == nil || *u.EndedPause != (PauseSpan{mustDate("2027-04-05"), mustDate("2027-04-10")}) ||
		u.After.PauseFrom != mustDate("2027-04-20") {
		t.Fatalf("update %+v", plan.Service)
	}
	plan, err = PlanPause(PauseRequest{Context: ctx, Service: lcService(lcFiber50, 1), From: mustDate("2027-04-20"), To: mustDate("2027-04-25")})
	if err != nil || plan.Service.EndedPause != nil {
		t.Fatalf("a first pause: %+v %v", plan.Service, err)
	}
}

// The billing run bills a pause not invoiced yet the same as the pause's
// credits do once invoiced: the plan around it and the hold fee during.
func TestPausedBillable(t *testing.T) {
	at, a := lcType("America/Chicago"), lcAccount()
	s := BillableService{ServiceID: 10, Name: "Home", Plan: lcFiber50, Start: mustDate("2027-01-01")}
	inv, ok, err := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: lcMarch27,
		Services: PausedBillable(s, mustDate("2027-03-12"), mustDate("2027-03-26"), 500)})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	var got []int64
	for _, l := range inv.Lines {
		got = append(got, l.Amount)
	}
	if fmt.Sprint(got) != "[1774 968 226]" || inv.Total != 5000-2258+226 {
		t.Errorf("lines %v total %d", got, inv.Total)
	}
	if !strings.HasPrefix(inv.Lines[2].Description, "Vacation hold") {
		t.Errorf("hold line %q", inv.Lines[2].Description)
	}
	if n := len(PausedBillable(s, mustDate("2027-03-12"), mustDate("2027-03-12"), 500)); n != 1 {
		t.Errorf("an empty pause splits the service into %d", n)
	}
}

func TestResumeState(t *testing.T) {
	on := mustDate("2027-03-26")
	for status, want := range map[AccountStatus]DesiredState{AccountCurrent: StateActive, AccountPastDue: StateActive, AccountDelinquent: StateActive,
		AccountSuspended: StateSuspended, AccountClosed: StateSuspended} {
		if got, resume, why := ResumeState(status, Date{}, on); got != want || !resume || why == "" {
			t.Errorf("ResumeState(%s) = %s %v %q, want %s", status, got, resume, why, want)
		}
	}
	if _, resume, why := ResumeState(AccountCurrent, on, on); resume || !strings.Contains(why, "ended on 2027-03-26") {
		t.Errorf("a cancelled service resumes: %v %q", resume, why)
	}
	if _, resume, _ := ResumeState(AccountCurrent, on.AddDays(1), on); !resume {
		t.Error("a service ending after the pause does not resume")
	}
}

// Cancelling a paused service ends its pause: it never resumes.
func TestPlanCancelDuringPause(t *testing.T) {
	ctx := lcContext("2027-03-10", LifecyclePolicy{})
	s := lcService(lcFiber50, 1)
	s.PauseFrom, s.PauseTo = mustDate("2027-03-12"), mustDate("2027-03-26")
	for _, tc := range []struct {
		date          string
		wantPauseFrom string
		wantPauseTo   string
	}{
		{"2027-03-20", "2027-03-12", "2027-03-20"},
		{"2027-03-11", "", ""},
		{"2027-03-28", "2027-03-12", "2027-03-26"},
	} {
		plan, err := PlanCancel(CancelRequest{Context: ctx, Service: s, Date: mustDate(tc.date)})
		if err != nil {
			t.Fatal(err)
		}
		var from, to Date
		if tc.wantPauseFrom != "" {
			from, to = mustDate(tc.wantPauseFrom), mustDate(tc.wantPauseTo)
		}
		if a := plan.Service.After; a.PauseFrom != from || a.PauseTo != to {
			t.Errorf("cancel on %s: pause after %s..%s, want %s..%s", tc.date, a.PauseFrom, a.PauseTo, tc.wantPauseFrom, tc.wantPauseTo)
		}
	}
}

func TestPlanSuspendedDaysCredit(t *testing.T) {
	stop := LifecyclePolicy{StopInvoicingWhileSuspended: true}
	chicago := func(day string, hh, mm int) time.Time { return lcAt("America/Chicago", day, hh, mm) }
	tests := []struct {
		name      string
		typ       AccountType
		pol       LifecyclePolicy
		now       time.Time
		history   []AccountStatusAt
		wantLines []int64
		wantFrom  []string
		wantDesc  string
	}{
		{
			// Suspended Wed 14:00, restored Mon 09:00: at midnight on Mar
			// 4–8 (5 days): F(8) − F(3) = 1290 − 484.
			name: "five midnights", typ: lcType("America/Chicago"), pol: stop, now: chicago("2027-03-20", 10, 0),
			history:   []AccountStatusAt{{chicago("2027-03-03", 14, 0), AccountSuspended}, {chicago("2027-03-08", 9, 0), AccountCurrent}},
			wantLines: []int64{-806}, wantFrom: []string{"2027-03-04"},
			wantDesc: "Suspended Mar 4 to Mar 8 at local midnight: credit 5 of 31 days, Mar 4 to Mar 8, of Fiber 50 (50.00/monthly); the account type stops invoicing while suspended",
		},
		{
			name: "two runs", typ: lcType("America/Chicago"), pol: stop, now: chicago("2027-03-31", 10, 0),
			history: []AccountStatusAt{{chicago("2027-03-03", 14, 0), AccountSuspended}, {chicago("2027-03-08", 9, 0), AccountCurrent},
				{chicago("2027-03-29", 6, 0), AccountDelinquent}, {chicago("2027-03-29", 6, 0), AccountSuspended}},
			// Mar 30–31 (2 days, touching the end): 5000 − F(29) = 5000 − 4677.
			wantLines: []int64{-806, -323}, wantFrom: []string{"2027-03-04", "2027-03-30"},
		},
		{
			// Chicago springs forward Sun 2027-03-14. Suspended Sat 22:30 CST,
			// restored Sun 23:30 CDT: only Sunday's midnight was suspended.
			name: "Chicago DST week", typ: lcType("America/Chicago"), pol: stop, now: chicago("2027-03-20", 10, 0),
			history:   []AccountStatusAt{{time.Date(2027, 3, 14, 4, 30, 0, 0, time.UTC), AccountSuspended}, {time.Date(2027, 3, 15, 4, 30, 0, 0, time.UTC), AccountCurrent}},
			wantLines: []int64{-161}, wantFrom: []string{"2027-03-14"},
		},
		{
			// The same instants in a UTC account type: Monday's midnight.
			name: "the same instants in UTC", typ: lcType("UTC"), pol: stop, now: chicago("2027-03-20", 10, 0),
			history:   []AccountStatusAt{{time.Date(2027, 3, 14, 4, 30, 0, 0, time.UTC), AccountSuspended}, {time.Date(2027, 3, 15, 4, 30, 0, 0, time.UTC), AccountCurrent}},
			wantLines: []int64{-161}, wantFrom: []string{"2027-03-15"},
		},
		{
			// Berlin springs forward Sun 2027-03-28; suspended Sat 23:30 CET
			// and still suspended on Tue at noon: Mar 28, 29, 30 (today's
			// midnight has passed): F(30) − F(27) = 4839 − 4355.
			name: "Berlin DST week", typ: lcType("Europe/Berlin"), pol: stop, now: lcAt("Europe/Berlin", "2027-03-30", 12, 0),
			history:   []AccountStatusAt{{time.Date(2027, 3, 27, 22, 30, 0, 0, time.UTC), AccountSuspended}},
			wantLines: []int64{-484}, wantFrom: []string{"2027-03-28"},
		},
		{
			name: "the type invoices suspended days", typ: lcType("America/Chicago"), pol: LifecyclePolicy{}, now: chicago("2027-03-20", 10, 0),
			history: []AccountStatusAt{{chicago("2027-03-03", 14, 0), AccountSuspended}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := lcService(lcFiber50, 1)
			req := SuspendedDaysRequest{Context: LifecycleContext{Account: lcAccount(), Type: tc.typ, Policy: tc.pol, Now: tc.now, Actor: "job:settle"},
				Service: svc, From: lcMarch27.Start, To: lcMarch27.End, Initial: AccountCurrent, History: tc.history}
			plan, err := PlanSuspendedDaysCredit(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := amounts(plan); fmt.Sprint(got) != fmt.Sprint(tc.wantLines) {
				t.Errorf("lines %v, want %v (why %q)", got, tc.wantLines, plan.Why)
			}
			for i, f := range tc.wantFrom {
				if i < len(plan.Lines) && plan.Lines[i].PeriodStart != mustDate(f) {
					t.Errorf("line %d from %s, want %s", i, plan.Lines[i].PeriodStart, f)
				}
			}
			if tc.wantDesc != "" && lineDesc(plan, 0) != tc.wantDesc {
				t.Errorf("description %q, want %q", lineDesc(plan, 0), tc.wantDesc)
			}
			if err := checkProration(svc.Coverage, plan); err != nil {
				t.Error(err)
			}
			// Settling again credits nothing twice.
			req.Service.Coverage = plan.Coverage
			again, err := PlanSuspendedDaysCredit(req)
			if err != nil || len(again.Lines) != 0 {
				t.Errorf("a second settlement credits %v (%v)", amounts(again), err)
			}
		})
	}
	_, err := PlanSuspendedDaysCredit(SuspendedDaysRequest{Context: lcContext("2027-03-20", stop), Service: lcService(lcFiber50, 1), From: lcMarch27.Start, To: lcMarch27.End,
		History: []AccountStatusAt{{chicago("2027-03-08", 0, 0), AccountSuspended}, {chicago("2027-03-03", 0, 0), AccountCurrent}}})
	wantInvalid(t, err, "history[1]")
}

func TestPlanBillingDayChange(t *testing.T) {
	ctx := lcContext("2027-03-10", LifecyclePolicy{})
	services := []LifecycleService{lcService(lcFiber50, 1), lcService(lcFiber100, 2)}
	services[1].Ref.ID = 11
	plan, err := PlanBillingDayChange(BillingDayRequest{Context: ctx, NewDay: 15, LastInvoiced: lcMarch27, Services: services})
	if err != nil {
		t.Fatal(err)
	}
	transitional := per("2027-04-01", "2027-04-15")
	if plan.InvoicePeriod != transitional || plan.Invoicing != InvoiceByBillingRun || plan.Effective != transitional.Start {
		t.Fatalf("plan %+v", plan)
	}
	// Apr 1–14 of the plan period Mar 15–Apr 14 (31 days), touching its
	// end: 5000 − F(17) = 5000 − 2742; 2 × 80.00: 16000 − 8774.
	if got := amounts(plan); fmt.Sprint(got) != "[2258 7226]" {
		t.Errorf("lines %v", got)
	}
	if !strings.HasPrefix(lineDesc(plan, 0), "Billing day moved to day 15, transitional period Apr 1 to Apr 14: Fiber 50 - Home (monthly), 2027-04-01 to 2027-04-14, 14 of 31 days") {
		t.Errorf("description %q", lineDesc(plan, 0))
	}
	if err := checkProration(nil, plan); err != nil {
		t.Error(err)
	}
	if u := plan.Account; u == nil || u.BillingDayBefore != 1 || u.BillingDayAfter != 15 || plan.Audit.Entity != "account" || plan.Audit.After["billing_day"] != 15 {
		t.Errorf("account update %+v audit %+v", plan.Account, plan.Audit)
	}
	// The lines are what the billing run invoices once the day is stored.
	newType := ctx.Type
	newType.BillingDay = 15
	p, ok := PeriodToInvoice(newType, DateRule{}, ctx.Account, lcMarch27, mustDate("2027-12-31"))
	if !ok || p != transitional {
		t.Fatalf("the billing run's next period is %v, want %v", p, transitional)
	}
	inv, _, err := ComposeInvoice(InvoiceRequest{Account: ctx.Account, Type: newType, Period: p, Services: []BillableService{
		{ServiceID: 10, Name: "Home", Plan: lcFiber50, Start: services[0].Start},
		{ServiceID: 11, Name: "Home", Plan: Plan{ID: 2, Name: "Fiber 100", Price: 16000, Currency: "USD", Interval: IntervalMonthly, Taxable: true}, Start: services[1].Start}}})
	if err != nil || inv.Subtotal != plan.Net {
		t.Errorf("billing run invoices %d, plan previews %d (%v)", inv.Subtotal, plan.Net, err)
	}

	// Nothing to adjust when nothing is invoiced yet.
	none, err := PlanBillingDayChange(BillingDayRequest{Context: ctx, NewDay: 15, Services: services})
	if err != nil || len(none.Lines) != 0 || none.Account.BillingDayAfter != 15 {
		t.Errorf("no invoice yet: %+v %v", none, err)
	}
	anniversary := ctx
	anniversary.Type.BillingMode = BillingAnniversary
	for _, tc := range []struct {
		name      string
		req       BillingDayRequest
		fragments []string
	}{
		{"the same day", BillingDayRequest{Context: ctx, NewDay: 1, LastInvoiced: lcMarch27}, []string{"billing_day 1 is already"}},
		{"day 0", BillingDayRequest{Context: ctx, NewDay: 0}, []string{"billing_day 0"}},
		{"day 32", BillingDayRequest{Context: ctx, NewDay: 32}, []string{"billing_day 32"}},
		{"an anniversary type", BillingDayRequest{Context: anniversary, NewDay: 15}, []string{"billing_day", "fixed_day"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PlanBillingDayChange(tc.req)
			wantInvalid(t, err, tc.fragments...)
		})
	}
}

func TestPlanPriceChange(t *testing.T) {
	today := mustDate("2027-03-10")
	services := []PricedService{
		{ServiceID: 1, AccountID: 100, Start: mustDate("2027-01-01"), Quantity: 1},
		{ServiceID: 2, AccountID: 101, Start: mustDate("2027-02-01"), Quantity: 2},
		{ServiceID: 3, AccountID: 101, Start: mustDate("2027-03-20")},
		{ServiceID: 4, AccountID: 102, Start: mustDate("2027-01-01"), End: mustDate("2027-03-01")},
	}
	req := PriceChangeRequest{Plan: lcFiber50, NewPrice: 5500, Effective: mustDate("2027-03-15"), Today: today, Services: services, Actor: "user:admin"}
	plan, err := PlanPriceChange(req)
	if err != nil {
		t.Fatal(err)
	}
	pv := plan.Preview
	if pv.Services != 3 || pv.Accounts != 2 || pv.Ended != 1 || pv.Grandfathered != 0 || pv.RevenueBefore != 20000 || pv.RevenueAfter != 22000 || pv.RevenueChange != 2000 {
		t.Errorf("preview %+v", pv)
	}
	if plan.Price.Price != 5500 || plan.Audit.Entity != "plan" || plan.Audit.Before["price"] != int64(5000) {
		t.Errorf("plan %+v", plan)
	}
	req.Grandfather = true
	gf, err := PlanPriceChange(req)
	if err != nil {
		t.Fatal(err)
	}
	if pv := gf.Preview; pv.Services != 1 || pv.Accounts != 1 || pv.Grandfathered != 2 || pv.RevenueChange != 500 {
		t.Errorf("grandfathered preview %+v", pv)
	}

	// Across a period: March started before the date, so March is at the
	// old price; April is the first period starting on or after it.
	versions := []PriceVersion{*plan.Price}
	grandfathered := []PriceVersion{*gf.Price}
	feb20, mar20 := per("2027-02-20", "2027-03-20"), per("2027-03-20", "2027-04-20")
	for _, tc := range []struct {
		name     string
		versions []PriceVersion
		start    Date
		p        Period
		want     int64
	}{
		{"the period the date falls in", versions, mustDate("2027-01-01"), lcMarch27, 5000},
		{"the first period after the date", versions, mustDate("2027-01-01"), lcApril27, 5500},
		{"an anniversary period starting before the date", versions, mustDate("2027-01-20"), feb20, 5000},
		{"an anniversary period starting after the date", versions, mustDate("2027-01-20"), mar20, 5500},
		{"a service started after the date, in its first period", versions, mustDate("2027-03-20"), lcMarch27, 5000},
		{"grandfathered", grandfathered, mustDate("2027-01-01"), lcApril27, 5000},
		{"started after the date: not grandfathered", grandfathered, mustDate("2027-03-20"), lcApril27, 5500},
	} {
		if got := PriceFor(5000, tc.versions, tc.start, tc.p); got != tc.want {
			t.Errorf("%s: PriceFor = %d, want %d", tc.name, got, tc.want)
		}
	}
	// A service starting Mar 20 is charged March at the old price,
	// prorated (12/31 × 50.00), and April in full at the new one.
	at, a := lcType("America/Chicago"), lcAccount()
	for _, c := range []struct {
		p    Period
		want int64
	}{{lcMarch27, 1935}, {lcApril27, 5500}} {
		plan := lcFiber50
		plan.Price = PriceFor(5000, versions, mustDate("2027-03-20"), c.p)
		inv, _, err := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: c.p, Services: []BillableService{{ServiceID: 3, Plan: plan, Start: mustDate("2027-03-20")}}})
		if err != nil || inv.Subtotal != c.want {
			t.Errorf("period %v: invoiced %d, want %d (%v)", c.p, inv.Subtotal, c.want, err)
		}
	}

	for _, tc := range []struct {
		name      string
		mod       func(*PriceChangeRequest)
		fragments []string
	}{
		{"in the past", func(r *PriceChangeRequest) { r.Effective = mustDate("2027-03-09") }, []string{"effective_date 2027-03-09 is in the past"}},
		{"the same price", func(r *PriceChangeRequest) { r.NewPrice = 5000 }, []string{"price 50.00 is already"}},
		{"negative", func(r *PriceChangeRequest) { r.NewPrice = -1 }, []string{"price -1"}},
		{"before a later version", func(r *PriceChangeRequest) { r.Versions = versions; r.NewPrice = 6000 }, []string{"already has a price version from 2027-03-15"}},
		{"no date", func(r *PriceChangeRequest) { r.Effective = Date{} }, []string{"effective_date is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			tc.mod(&r)
			_, err := PlanPriceChange(r)
			wantInvalid(t, err, tc.fragments...)
		})
	}
}

func TestLifecyclePolicyValidate(t *testing.T) {
	var p LifecyclePolicy
	if err := p.Validate(); err != nil || p.PlanChangeTiming != PlanChangeAsRequested || p.ChangeInvoicing != InvoiceOnNext || p.OnCancel != CancelKeepSuspended || p.MaxPauseDays != DefaultMaxPauseDays {
		t.Errorf("defaults %+v %v", p, err)
	}
	for _, tc := range []struct {
		p        LifecyclePolicy
		fragment string
	}{
		{LifecyclePolicy{PlanChangeTiming: "later"}, "plan_change_timing"},
		{LifecyclePolicy{ChangeInvoicing: InvoiceFinal}, "change_invoicing"},
		{LifecyclePolicy{OnCancel: "delete"}, "on_cancel"},
		{LifecyclePolicy{MaxPauseDays: 400}, "max_pause_days 400"},
		{LifecyclePolicy{ImmediateInvoiceMinimum: -1}, "immediate_invoice_minimum"},
		{LifecyclePolicy{PauseHoldFee: MaxAmount + 1}, "pause_hold_fee"},
	} {
		wantInvalid(t, tc.p.Validate(), tc.fragment)
	}
}
