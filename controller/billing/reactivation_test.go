package billing

import "testing"

// TestSuspendedOnTheDueDateStaysSuspended: with no grace days an invoice is
// overdue on its due date, a day before it is past due. The sweep that
// suspends the account must not find the reactivation rule met the same
// day (it did: past due 0 < minimum, so a second sweep restored the
// account and charged the reconnection fee). Found by TestSimulation, seed
// 1796641869785901207.
func TestSuspendedOnTheDueDateStaysSuspended(t *testing.T) {
	typ := resType()
	typ.GraceDays, typ.ReconnectionFee = 0, 2500
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	today := mustDate("2027-06-01") // a Tuesday
	s := Standing{AccountID: 1, Number: "A-1", Currency: "USD", Status: AccountDelinquent, Balance: 5000,
		Invoices: []OwedInvoice{{ID: 1, Number: "INV-1", DueDate: today, Remaining: 5000}}}
	a := Assess(typ, rule, today, s)
	if !a.Suspend || a.Status != AccountSuspended {
		t.Fatalf("on the due date with no grace: status %s, suspend %v; want suspended", a.Status, a.Suspend)
	}
	s.Status = AccountSuspended
	again := Assess(typ, rule, today, s)
	if again.Restore || again.Status != AccountSuspended {
		t.Fatalf("re-assessed the same day: status %s, restore %v (paid %v), want still suspended: %v",
			again.Status, again.Restore, again.Paid, again.Why)
	}
	s.Balance, s.Invoices[0].Remaining = 50, 50
	if paid := Assess(typ, rule, today, s); !paid.Restore || !paid.Paid {
		t.Fatalf("paid down to 0.50 (below the 1.00 minimum): restore %v, want restored: %v", paid.Restore, paid.Why)
	}
}

// TestSimulationRegressionSeeds replays the seeds that once failed
// TestSimulation.
func TestSimulationRegressionSeeds(t *testing.T) {
	for _, seed := range []uint64{
		1796641869785901207, // a grace-0 account suspended on its due date was restored by the same day's sweep
	} {
		if err := runSim(seed, breakNothing); err != nil {
			t.Errorf("%v", err)
		}
	}
}
