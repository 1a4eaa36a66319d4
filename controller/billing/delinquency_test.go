package billing

import (
	"strings"
	"testing"
	"time"
)

func TestAssess(t *testing.T) {
	typ := AccountType{Name: "residential", GraceDays: 7, AutoSuspend: true, MinDelinquentBalance: 1000,
		DelinquencyWeekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
	withReminders := typ
	withReminders.ReminderDaysBefore = []int{3, 1}
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	inv := func(id int64, due Date, amount int64) OwedInvoice {
		return OwedInvoice{ID: id, Number: "INV-" + due.String(), DueDate: due, Remaining: amount}
	}
	dec4 := inv(1, NewDate(2026, 12, 4), 5000) // delinquent Fri Dec 11
	for _, tc := range []struct {
		name     string
		typ      AccountType
		today    Date
		s        Standing
		status   AccountStatus
		suspend  bool
		restore  bool
		reminder int // days before; -1 none
		why      string
	}{
		{name: "nothing owed", today: NewDate(2026, 12, 14), s: Standing{Status: AccountCurrent},
			status: AccountCurrent, reminder: -1, why: "Nothing is past due"},
		{name: "past due within grace", today: NewDate(2026, 12, 8), s: Standing{Status: AccountCurrent, Invoices: []OwedInvoice{dec4}, Balance: 5000},
			status: AccountPastDue, reminder: -1, why: "delinquency date is Fri 2026-12-11"},
		{name: "delinquent and suspended on its date", today: NewDate(2026, 12, 11), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 5000},
			status: AccountSuspended, suspend: true, reminder: -1, why: "pay the past-due amount of USD 50.00"},
		{name: "not on a Saturday", today: NewDate(2026, 12, 12), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 5000},
			status: AccountPastDue, reminder: -1, why: "Saturday is not an allowed weekday"},
		{name: "below the minimum", today: NewDate(2026, 12, 14), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{inv(1, NewDate(2026, 12, 4), 999)}, Balance: 999},
			status: AccountPastDue, reminder: -1, why: "below the minimum of USD 10.00"},
		{name: "credit covers it", today: NewDate(2026, 12, 14), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 500},
			status: AccountPastDue, reminder: -1, why: "Credits of USD 45.00 on the account pay the oldest invoices first"},
		// 60.00 of credit pays the 50.00 invoice before the 25.00
		// reconnection fee (balance 50.00 + 25.00 − 60.00 = 15.00): the fee
		// is owed, never past due.
		{name: "credit pays the invoice, not the fee", today: NewDate(2026, 12, 14), s: Standing{Status: AccountSuspended, Invoices: []OwedInvoice{dec4}, Balance: 1500, Credit: 6000},
			status: AccountCurrent, restore: true, reminder: -1, why: "Credits of USD 50.00 on the account pay the oldest invoices first"},
		{name: "credit pays the oldest invoice first", today: NewDate(2026, 12, 14),
			s:      Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4, inv(2, NewDate(2026, 12, 18), 5000)}, Balance: 4000, Credit: 6000},
			status: AccountCurrent, reminder: -1, why: "Credits of USD 60.00 on the account"},
		{name: "promise holds", today: NewDate(2026, 12, 14), s: Standing{Status: AccountDelinquent, Invoices: []OwedInvoice{dec4}, Balance: 5000, PromiseUntil: NewDate(2026, 12, 14)},
			status: AccountPastDue, reminder: -1, why: "promise to pay holds the account until Mon 2026-12-14"},
		{name: "promise expired", today: NewDate(2026, 12, 15), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 5000, PromiseUntil: NewDate(2026, 12, 14)},
			status: AccountSuspended, suspend: true, reminder: -1},
		{name: "exempt", today: NewDate(2026, 12, 14), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 5000, Exempt: true, ExemptReason: "hospital"},
			status: AccountPastDue, reminder: -1, why: "exempt from suspension (hospital)"},
		{name: "held for approval", today: NewDate(2026, 12, 14), s: Standing{Status: AccountDelinquent, Invoices: []OwedInvoice{dec4}, Balance: 5000, Held: true},
			status: AccountDelinquent, reminder: -1, why: "held for approval"},
		{name: "suspended, partly paid", today: NewDate(2026, 12, 14), s: Standing{Status: AccountSuspended, Invoices: []OwedInvoice{inv(1, NewDate(2026, 12, 4), 2000)}, Balance: 2000},
			status: AccountSuspended, reminder: -1, why: "pay the past-due amount of USD 20.00"},
		{name: "suspended, paid", today: NewDate(2026, 12, 14), s: Standing{Status: AccountSuspended, Balance: 0},
			status: AccountCurrent, restore: true, reminder: -1, why: "Service restored"},
		{name: "reminder 3 days before", typ: withReminders, today: NewDate(2026, 12, 8), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 5000},
			status: AccountPastDue, reminder: 3},
		{name: "late sweep sends the latest reminder only", typ: withReminders, today: NewDate(2026, 12, 10), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 5000},
			status: AccountPastDue, reminder: 1},
		{name: "no suspension without a reminder", typ: withReminders, today: NewDate(2026, 12, 11), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 5000},
			status: AccountDelinquent, reminder: 0, why: "waits until a reminder has been sent"},
		{name: "reminded, suspended", typ: withReminders, today: NewDate(2026, 12, 11), s: Standing{Status: AccountPastDue, Invoices: []OwedInvoice{dec4}, Balance: 5000, Reminded: true},
			status: AccountSuspended, suspend: true, reminder: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := typ
			if tc.typ.Name != "" {
				typ = tc.typ
			}
			tc.s.Currency = "USD"
			a := Assess(typ, rule, tc.today, tc.s)
			why := strings.Join(a.Why, " ")
			if a.Status != tc.status || a.Suspend != tc.suspend || a.Restore != tc.restore {
				t.Fatalf("status %s suspend %v restore %v, want %s %v %v; why: %s", a.Status, a.Suspend, a.Restore, tc.status, tc.suspend, tc.restore, why)
			}
			switch {
			case tc.reminder < 0 && a.Reminder != nil:
				t.Fatalf("unexpected reminder %+v", a.Reminder)
			case tc.reminder >= 0 && (a.Reminder == nil || a.Reminder.DaysBefore != tc.reminder):
				t.Fatalf("reminder %+v, want %d days before", a.Reminder, tc.reminder)
			}
			if !strings.Contains(why, tc.why) {
				t.Fatalf("why %q lacks %q", why, tc.why)
			}
		})
	}
}

func TestGuardHold(t *testing.T) {
	g := SuspensionGuard{}
	for _, tc := range []struct {
		load POPLoad
		hold bool
	}{
		{POPLoad{POP: "a", Suspensions: 25, Active: 100}, false},  // min 25
		{POPLoad{POP: "a", Suspensions: 26, Active: 100}, true},   // > max(25, 10, 0)
		{POPLoad{POP: "a", Suspensions: 90, Active: 1000}, false}, // 10% of 1000 = 100
		{POPLoad{POP: "a", Suspensions: 120, Active: 1000, Median: 50}, false},
		{POPLoad{POP: "a", Suspensions: 151, Active: 1000, Median: 50}, true},
	} {
		if hold, why := g.Hold(tc.load); hold != tc.hold || hold && !strings.Contains(why, "POP a") {
			t.Errorf("%+v: hold %v (%s), want %v", tc.load, hold, why, tc.hold)
		}
	}
	if hold, _ := (SuspensionGuard{Disabled: true}).Hold(POPLoad{Suspensions: 1e6}); hold {
		t.Error("a disabled guard held")
	}
}
