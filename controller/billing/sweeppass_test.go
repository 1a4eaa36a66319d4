package billing

import "testing"

// SweepNeedsWrite answers as the full verdict does, over every status,
// owed amount, due date, hold and reminder setting, on a working day and on
// an excluded one.
func TestSweepNeedsWriteAgreesWithTheVerdict(t *testing.T) {
	types := map[string]AccountType{"RES": resType()}
	reminding := resType()
	reminding.ReminderDaysBefore = []int{3, 1}
	types["reminders"] = reminding
	manual := resType()
	manual.AutoSuspend = false
	types["manual"] = manual
	full := resType()
	full.ReactivationRule = ReactivateFullBalance
	types["full balance"] = full
	statuses := []AccountStatus{AccountCurrent, AccountPastDue, AccountDelinquent, AccountSuspended, AccountClosed}
	dues := []string{"2026-11-02", "2026-11-25", "2026-12-10", "2026-12-20", "2027-01-05"}
	changes, total := 0, 0
	for name, typ := range types {
		rule, err := NewDateRule(typ)
		if err != nil {
			t.Fatal(err)
		}
		for _, today := range []Date{mustDate("2026-12-22"), mustDate("2026-12-25"), mustDate("2026-12-26")} {
			for _, status := range statuses {
				for _, due := range dues {
					for _, owed := range []int64{0, 50, 5311} {
						for flags := range 16 {
							s := Standing{AccountID: 1, Number: "A-1", Currency: "USD", Status: status, Balance: owed,
								Exempt: flags&1 != 0, Held: flags&2 != 0, Reminded: flags&4 != 0}
							if flags&8 != 0 {
								s.PromiseUntil = today.AddDays(3)
								s.Balance = owed - 20 // a credit
								s.Credit = 20         // that pays the oldest invoice first
							}
							if owed > 0 {
								s.Invoices = []OwedInvoice{{ID: 1, Number: "INV-1", DueDate: mustDate(due), Remaining: owed},
									{ID: 2, Number: "INV-2", DueDate: mustDate(due).AddDays(30), Remaining: owed}}
								s.Balance += owed
							}
							want := SweepVerdict(typ, rule, today, s, Contact{}).NeedsWrite()
							if got := SweepNeedsWrite(typ, rule, today, s); got != want {
								t.Errorf("%s on %s, %s, due %s, owed %d, flags %b: SweepNeedsWrite %v, the verdict says %v",
									name, today, status, due, owed, flags, got, want)
							}
							total++
							if want {
								changes++
							}
						}
					}
				}
			}
		}
	}
	if changes == 0 || changes == total {
		t.Fatalf("%d of %d cases change something: the cases do not cover both answers", changes, total)
	}
	t.Logf("%d of %d cases change something", changes, total)
}
