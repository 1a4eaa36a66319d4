package billing

import (
	"strings"
	"testing"
	"time"
)

func TestLocaleMoneyAndDate(t *testing.T) {
	today := NewDate(2027, 12, 1)
	sat := NewDate(2027, 12, 18)
	for _, tt := range []struct {
		loc       Locale
		amount    int64
		cur       Currency
		money     string
		date      Date
		dateWords string
	}{
		{"en-US", 5311, "USD", "$53.11", sat, "Saturday, December 18"},
		{"en-US", -123456750, "USD", "-$1,234,567.50", NewDate(2028, 1, 3), "Monday, January 3, 2028"},
		{"en-US", 5311, "CHF", "CHF 53.11", sat, "Saturday, December 18"},
		{"en-US", 500, "JPY", "¥500", sat, "Saturday, December 18"},
		{"en-CA", 5311, "CAD", "$53.11", sat, "Saturday, December 18"},
		{"en-CA", 5311, "USD", "US$53.11", sat, "Saturday, December 18"},
		{"en-GB", 5311, "GBP", "£53.11", sat, "Saturday 18 December"},
		{"de-DE", 123456, "EUR", "1.234,56 €", sat, "Samstag, 18. Dezember"},
		{"de-DE", 5311, "USD", "53,11 $", NewDate(2028, 3, 1), "Mittwoch, 1. März 2028"},
		{"", 5311, "USD", "$53.11", sat, "Saturday, December 18"},
	} {
		if got := tt.loc.Money(tt.amount, tt.cur); got != tt.money {
			t.Errorf("%q.Money(%d, %s) = %q, want %q", tt.loc, tt.amount, tt.cur, got, tt.money)
		}
		if got := tt.loc.Date(tt.date, today); got != tt.dateWords {
			t.Errorf("%q.Date(%s) = %q, want %q", tt.loc, tt.date, got, tt.dateWords)
		}
	}
	if got := Locale("en-US").Date(Date{}, today); got != "" {
		t.Errorf("zero date = %q", got)
	}
}

func TestParseAndResolveLocale(t *testing.T) {
	for in, want := range map[string]Locale{"": "", "en-US": "en-US", "de_de": "de-DE", " EN-gb ": "en-GB"} {
		if got, err := ParseLocale(in); err != nil || got != want {
			t.Errorf("ParseLocale(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"xx-YY", "english", "de-\x00"} {
		if _, err := ParseLocale(bad); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "locale") {
			t.Errorf("ParseLocale(%q) = %v; want EINVALID naming the locale", bad, err)
		}
	}
	for _, tt := range []struct{ acct, typ, company, want Locale }{
		{"de-DE", "en-GB", "en-CA", "de-DE"},
		{"", "en-GB", "en-CA", "en-GB"},
		{"", "", "en-CA", "en-CA"},
		{"", "", "", "en-US"},
		{"", "", "xx", "en-US"},
	} {
		if got := ResolveLocale(tt.acct, tt.typ, tt.company); got != tt.want {
			t.Errorf("ResolveLocale(%q, %q, %q) = %q, want %q", tt.acct, tt.typ, tt.company, got, tt.want)
		}
	}
}

// TestSubscriberWhyIsPlainAndLocalised assesses a suspension whose
// delinquency date a weekday rule moved: staff read the rule, the
// subscriber reads plain words, amounts with their sign and dates in words.
func TestSubscriberWhyIsPlainAndLocalised(t *testing.T) {
	typ := AccountType{Name: "residential", GraceDays: 7, AutoSuspend: true,
		DelinquencyWeekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
	rule := mustRule(t, typ)
	// Due Fri 2027-12-10 + 7 = Fri 12-17 (allowed); sweep on Mon 12-20.
	today := NewDate(2027, 12, 20)
	s := Standing{AccountID: 1, Number: "A-1", Currency: "USD", Status: AccountPastDue, Balance: 5311,
		Invoices: []OwedInvoice{{ID: 9, Number: "INV-9", DueDate: NewDate(2027, 12, 10), Remaining: 5311}}}
	a := Assess(typ, rule, today, s)
	if !a.Suspend {
		t.Fatalf("not suspended: %q", a.Why)
	}
	staff := strings.Join(a.Why, "\n")
	for _, want := range []string{"USD 53.11", "Fri 2027-12-10", "auto-suspend"} {
		if !strings.Contains(staff, want) {
			t.Errorf("staff why lacks %q:\n%s", want, staff)
		}
	}
	if got := strings.Join(StaffWhy(a.Reasons), "\n"); got != staff {
		t.Errorf("StaffWhy(reasons) = %q, want Why %q", got, staff)
	}
	en := strings.Join(SubscriberWhy(a.Reasons, "en-US", today), "\n")
	for _, want := range []string{"Invoice INV-9 for $53.11 was due on Friday, December 10.", "pay the past-due amount of $53.11"} {
		if !strings.Contains(en, want) {
			t.Errorf("subscriber why lacks %q:\n%s", want, en)
		}
	}
	de := strings.Join(SubscriberWhy(a.Reasons, "de-DE", today), "\n")
	if !strings.Contains(de, "Die Rechnung INV-9 über 53,11 $ war am Freitag, 10. Dezember fällig.") {
		t.Errorf("German why:\n%s", de)
	}
	for _, text := range []string{en, de} {
		for _, staffOnly := range []string{"USD", "2027-12", "auto-suspend", "residential", "grace", "allowed"} {
			if strings.Contains(text, staffOnly) {
				t.Errorf("subscriber why shows %q:\n%s", staffOnly, text)
			}
		}
	}

	// A delinquency date moved past a disallowed weekday: the rule is the
	// staff's, the date the subscriber's.
	s.Status, today = AccountCurrent, NewDate(2027, 12, 13)
	s.Invoices[0].DueDate = NewDate(2027, 12, 11) // + 7 = Sat 12-18, moved to Mon 12-20
	a = Assess(typ, rule, today, s)
	staff = strings.Join(a.Why, "\n")
	if !strings.Contains(staff, "Sat 2027-12-18") || !strings.Contains(staff, "not an allowed weekday") {
		t.Fatalf("staff why:\n%s", staff)
	}
	en = strings.Join(SubscriberWhy(a.Reasons, "en-US", today), "\n")
	if !strings.Contains(en, "please pay before Monday, December 20.") || strings.Contains(en, "allowed") || strings.Contains(en, "Sat 2027") {
		t.Errorf("subscriber why:\n%s", en)
	}
}

func TestNoticeStillTrue(t *testing.T) {
	today := NewDate(2027, 12, 20)
	reminder := Notice{Kind: NoticeReminder, InvoiceID: 9, Data: NoticeData{DueDate: NewDate(2027, 12, 10)}}
	notYetDue := Notice{Kind: NoticeReminder, InvoiceID: 9, Data: NoticeData{DueDate: NewDate(2027, 12, 24)}}
	for _, tt := range []struct {
		name string
		n    Notice
		s    NoticeStanding
		ok   bool
		why  string
	}{
		{"suspension notice, still suspended", Notice{Kind: NoticeSuspended}, NoticeStanding{Status: AccountSuspended}, true, ""},
		{"suspension notice, restored", Notice{Kind: NoticeSuspended}, NoticeStanding{Status: AccountPastDue}, false, "no longer suspended (it is past_due)"},
		{"suspension notice, restored and suspended again", Notice{Kind: NoticeSuspended},
			NoticeStanding{Status: AccountSuspended, Later: NoticeSuspended}, false, "a later suspended notice"},
		{"suspension notice, closed", Notice{Kind: NoticeSuspended}, NoticeStanding{Status: AccountClosed}, false, "closed"},
		{"restore notice, active", Notice{Kind: NoticeRestored}, NoticeStanding{Status: AccountCurrent}, true, ""},
		{"restore notice, suspended again", Notice{Kind: NoticeRestored}, NoticeStanding{Status: AccountSuspended}, false, "suspended again"},
		{"reminder, owed", reminder, NoticeStanding{Status: AccountDelinquent, InvoiceRemaining: 100}, true, ""},
		{"reminder, invoice paid", reminder, NoticeStanding{Status: AccountPastDue}, false, "the invoice is paid"},
		{"reminder, suspended meanwhile", reminder, NoticeStanding{Status: AccountSuspended, InvoiceRemaining: 100}, false, "suspended"},
		{"past-due reminder, account current", reminder, NoticeStanding{Status: AccountCurrent, InvoiceRemaining: 100}, false, "current"},
		{"reminder before the due date, current", notYetDue, NoticeStanding{Status: AccountCurrent, InvoiceRemaining: 100}, true, ""},
	} {
		tt.s.Today = today
		ok, why := NoticeStillTrue(tt.n, tt.s)
		if ok != tt.ok || !strings.Contains(why, tt.why) || (ok && why != "") {
			t.Errorf("%s: NoticeStillTrue = %v, %q; want %v, %q", tt.name, ok, why, tt.ok, tt.why)
		}
	}
}
