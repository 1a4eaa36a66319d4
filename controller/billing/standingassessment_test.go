package billing

import (
	"slices"
	"testing"
)

// TestStandingAssessmentSaysWhatTheSweepDoes: an account's standing
// (StandingAssessment over its services) says what the sweep does with the
// same services (PlanSweep with them as SuspendServices and KeptOn): a
// suspending assessment of an account whose only services to suspend a
// pause keeps on is held by the pause (delinquent, the suspension waiting
// for the latest pause's end); with another service to suspend, none held,
// a paused service the type suspends, a cancelled one, or no service at
// all, the account is suspended; a non-suspending assessment is unchanged.
func TestStandingAssessmentSaysWhatTheSweepDoes(t *testing.T) {
	typ := resType()
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	today := mustDate("2026-12-22")
	early, late := mustDate("2027-01-05"), mustDate("2027-01-10")
	active := func(id int64) ServiceStanding {
		return ServiceStanding{ID: id, POP: "pop-a", DesiredState: StateActive}
	}
	keptOn := func(id int64, until Date) ServiceStanding {
		s := active(id)
		s.Held, s.PauseTo = CausePaused, until
		return s
	}
	pausedOff := keptOn(5, late)
	pausedOff.DesiredState = StateSuspended
	cancelled := ServiceStanding{ID: 6, POP: "pop-a", DesiredState: StateSuspended, Held: CauseCancelled}
	suspended := ServiceStanding{ID: 7, POP: "pop-a", DesiredState: StateSuspended}
	for name, tc := range map[string]struct {
		owed     int64
		services []ServiceStanding
		suspends bool
		until    Date // the pause the suspension waits for, when held
	}{
		"only a service kept on":                 {5000, []ServiceStanding{keptOn(1, early)}, false, early},
		"two kept on: the later pause end":       {5000, []ServiceStanding{keptOn(1, early), keptOn(2, late)}, false, late},
		"kept on beside one already suspended":   {5000, []ServiceStanding{suspended, keptOn(1, early)}, false, early},
		"kept on beside an active one":           {5000, []ServiceStanding{keptOn(1, early), active(2)}, true, Date{}},
		"only active services":                   {5000, []ServiceStanding{active(1), active(2)}, true, Date{}},
		"paused and suspended by its type":       {5000, []ServiceStanding{pausedOff}, true, Date{}},
		"cancelled":                              {5000, []ServiceStanding{cancelled}, true, Date{}},
		"no service":                             {5000, nil, true, Date{}},
		"owes too little to suspend, kept on":    {50, []ServiceStanding{keptOn(1, early)}, false, Date{}},
		"owes too little to suspend, no service": {50, nil, false, Date{}},
	} {
		t.Run(name, func(t *testing.T) {
			s := overdueStanding(1, AccountDelinquent, tc.owed)
			before := Assess(typ, rule, today, s)
			a := StandingAssessment(typ, before, tc.services)
			if a.Suspend != tc.suspends {
				t.Fatalf("standing suspends %v, want %v (%v)", a.Suspend, tc.suspends, a.Why)
			}
			last := a.Reasons[len(a.Reasons)-1]
			if held := !tc.until.IsZero(); held != (last.Kind == ReasonServicesPaused) || (held && (last.Date != tc.until || a.Status != AccountDelinquent)) {
				t.Fatalf("reasons %+v (status %s): want held by the pause until %s: %v", a.Reasons, a.Status, tc.until, held)
			}
			if !before.Suspend && !slices.Equal(StaffWhy(a.Reasons), StaffWhy(before.Reasons)) {
				t.Fatalf("a non-suspending assessment changed: %v, was %v", a.Why, before.Why)
			}
			// The sweep, given the same services as the store reads them.
			in := SweepInput{Type: typ, Today: today, Guard: SuspensionGuard{Disabled: true},
				Verdicts: []Verdict{SweepVerdict(typ, rule, today, s, Contact{Email: "x@example.com"})}}
			for _, sv := range tc.services {
				ref := ServiceRef{ID: sv.ID, POP: sv.POP, AccountID: 1}
				switch {
				case sv.Held == "" && sv.DesiredState != typ.SuspendState():
					in.SuspendServices = append(in.SuspendServices, ref)
				case sv.Held == CausePaused && sv.DesiredState != StateSuspended:
					in.KeptOn = append(in.KeptOn, HeldService{Service: ref, Until: sv.PauseTo})
				}
			}
			p := PlanSweep(in)
			if (p.Suspended == 1) != a.Suspend {
				t.Fatalf("the sweep suspends %d accounts; the standing says suspend %v", p.Suspended, a.Suspend)
			}
			for _, c := range p.StatusChanges {
				if c.To != a.Status || !slices.Equal(c.Why, StaffWhy(a.Reasons)) {
					t.Fatalf("the sweep's status change %s %v; the standing's %s %v", c.To, c.Why, a.Status, StaffWhy(a.Reasons))
				}
			}
		})
	}
}
