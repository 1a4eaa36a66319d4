package billing

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var weekdaysOnly = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

func mustRule(t *testing.T, at AccountType) DateRule {
	t.Helper()
	r, err := NewDateRule(at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDateRuleNext(t *testing.T) {
	type skip struct{ date, reason string }
	tests := []struct {
		name      string
		typ       AccountType
		from      string
		want      string
		wantSkips []skip
	}{
		{
			name: "Saturday with weekends disallowed moves to Monday",
			typ:  AccountType{DelinquencyWeekdays: weekdaysOnly},
			from: "2026-06-13", want: "2026-06-15",
			wantSkips: []skip{{"2026-06-13", "Saturday is not an allowed weekday"}, {"2026-06-14", "Sunday is not an allowed weekday"}},
		},
		{
			name: "allowed day is kept",
			typ:  AccountType{DelinquencyWeekdays: weekdaysOnly, HolidayCalendars: []string{"US"}},
			from: "2026-06-12", want: "2026-06-12",
		},
		{
			name: "yearly exclusion Dec 25 2026 (Friday) with weekends disallowed",
			typ:  AccountType{DelinquencyWeekdays: weekdaysOnly, Exclusions: []Exclusion{{Date: mustDate("2020-12-25"), Yearly: true, Name: "Christmas Day"}}},
			from: "2026-12-25", want: "2026-12-28",
			wantSkips: []skip{{"2026-12-25", "exclusion: Christmas Day (yearly)"}, {"2026-12-26", "Saturday is not an allowed weekday"}, {"2026-12-27", "Sunday is not an allowed weekday"}},
		},
		{
			name: "yearly exclusion Dec 25 2027 (Saturday) with all days allowed",
			typ:  AccountType{Exclusions: []Exclusion{{Date: mustDate("2020-12-25"), Yearly: true, Name: "Christmas Day"}}},
			from: "2027-12-25", want: "2027-12-26",
			wantSkips: []skip{{"2027-12-25", "exclusion: Christmas Day (yearly)"}},
		},
		{
			name: "yearly exclusion Dec 25 2028 (Monday), unnamed",
			typ:  AccountType{DelinquencyWeekdays: weekdaysOnly, Exclusions: []Exclusion{{Date: mustDate("2020-12-25"), Yearly: true}}},
			from: "2028-12-25", want: "2028-12-26",
			wantSkips: []skip{{"2028-12-25", "exclusion: 12-25 (yearly)"}},
		},
		{
			name: "yearly exclusion Dec 25 applies before its anchor year too (2019)",
			typ:  AccountType{Exclusions: []Exclusion{{Date: mustDate("2026-12-25"), Yearly: true}}},
			from: "2019-12-25", want: "2019-12-26",
			wantSkips: []skip{{"2019-12-25", "exclusion: 12-25 (yearly)"}},
		},
		{
			name: "one-off exclusion applies on its date only",
			typ:  AccountType{Exclusions: []Exclusion{{Date: mustDate("2026-03-17"), Name: "network migration"}}},
			from: "2026-03-17", want: "2026-03-18",
			wantSkips: []skip{{"2026-03-17", "exclusion: network migration (one-off)"}},
		},
		{
			name: "one-off exclusion does not repeat the next year",
			typ:  AccountType{Exclusions: []Exclusion{{Date: mustDate("2026-03-17")}}},
			from: "2027-03-17", want: "2027-03-17",
		},
		{
			name: "yearly Feb 29 exclusion applies in a leap year",
			typ:  AccountType{Exclusions: []Exclusion{{Date: mustDate("2024-02-29"), Yearly: true, Name: "leap day"}}},
			from: "2028-02-29", want: "2028-03-01",
			wantSkips: []skip{{"2028-02-29", "exclusion: leap day (yearly)"}},
		},
		{
			name: "yearly Feb 29 exclusion does not move Feb 28 or Mar 1 of a common year",
			typ:  AccountType{Exclusions: []Exclusion{{Date: mustDate("2024-02-29"), Yearly: true}}},
			from: "2027-02-28", want: "2027-02-28",
		},
		{
			name: "US Thanksgiving 2026-11-26",
			typ:  AccountType{DelinquencyWeekdays: weekdaysOnly, HolidayCalendars: []string{"US"}},
			from: "2026-11-26", want: "2026-11-27",
			wantSkips: []skip{{"2026-11-26", "holiday: Thanksgiving Day (US)"}},
		},
		{
			name: "US Independence Day 2026 on Saturday: observed Friday and actual Saturday both skipped",
			typ:  AccountType{HolidayCalendars: []string{"US"}},
			from: "2026-07-03", want: "2026-07-05",
			wantSkips: []skip{{"2026-07-03", "holiday: Independence Day, observed (US)"}, {"2026-07-04", "holiday: Independence Day (US)"}},
		},
		{
			name: "chain: Friday observed holiday then weekend moves to Monday with three reasons",
			typ:  AccountType{DelinquencyWeekdays: weekdaysOnly, HolidayCalendars: []string{"US"}},
			from: "2026-07-03", want: "2026-07-06",
			wantSkips: []skip{
				{"2026-07-03", "holiday: Independence Day, observed (US)"},
				{"2026-07-04", "Saturday is not an allowed weekday"},
				{"2026-07-05", "Sunday is not an allowed weekday"},
			},
		},
		{
			name: "chain: Thanksgiving, exclusion of the day after, weekend",
			typ: AccountType{DelinquencyWeekdays: weekdaysOnly, HolidayCalendars: []string{"US"},
				Exclusions: []Exclusion{{Date: mustDate("2026-11-27"), Name: "Black Friday"}}},
			from: "2026-11-26", want: "2026-11-30",
			wantSkips: []skip{
				{"2026-11-26", "holiday: Thanksgiving Day (US)"},
				{"2026-11-27", "exclusion: Black Friday (one-off)"},
				{"2026-11-28", "Saturday is not an allowed weekday"},
				{"2026-11-29", "Sunday is not an allowed weekday"},
			},
		},
		{
			name: "New Year 2028 on Saturday is observed on Friday 2027-12-31 (previous year)",
			typ:  AccountType{HolidayCalendars: []string{"US"}},
			from: "2027-12-31", want: "2028-01-02",
			wantSkips: []skip{{"2027-12-31", "holiday: New Year's Day, observed (US)"}, {"2028-01-01", "holiday: New Year's Day (US)"}},
		},
		{
			name: "GB: Christmas Eve is a working day",
			typ:  AccountType{DelinquencyWeekdays: weekdaysOnly, HolidayCalendars: []string{"GB"}},
			from: "2026-12-24", want: "2026-12-24",
		},
		{
			name: "GB: Christmas Friday, weekend, Boxing Day observed Monday",
			typ:  AccountType{DelinquencyWeekdays: weekdaysOnly, HolidayCalendars: []string{"GB"}},
			from: "2026-12-25", want: "2026-12-29",
			wantSkips: []skip{
				{"2026-12-25", "holiday: Christmas Day (GB)"},
				{"2026-12-26", "Saturday is not an allowed weekday"},
				{"2026-12-27", "Sunday is not an allowed weekday"},
				{"2026-12-28", "holiday: Boxing Day, observed (GB)"},
			},
		},
		{
			name: "several calendars: Canada Day (CA) on a US working day",
			typ:  AccountType{HolidayCalendars: []string{"US", "CA"}},
			from: "2026-07-01", want: "2026-07-02",
			wantSkips: []skip{{"2026-07-01", "holiday: Canada Day (CA)"}},
		},
		{
			name: "AU is the holidays of every state: Christmas and Dec 26 (Boxing Day; Proclamation Day in SA)",
			typ:  AccountType{HolidayCalendars: []string{"AU"}},
			from: "2026-12-25", want: "2026-12-27",
			wantSkips: []skip{{"2026-12-25", "holiday: Christmas Day (AU)"}, {"2026-12-26", "holiday: Boxing Day (AU)"}},
		},
		{
			name: "AU is the holidays of every state: Melbourne Cup (VIC only) no",
			typ:  AccountType{HolidayCalendars: []string{"AU"}},
			from: "2026-11-03", want: "2026-11-03",
		},
		{
			name: "AU-VIC has Melbourne Cup",
			typ:  AccountType{HolidayCalendars: []string{"AU-VIC"}},
			from: "2026-11-03", want: "2026-11-04",
			wantSkips: []skip{{"2026-11-03", "holiday: Melbourne Cup (AU-VIC)"}},
		},
		{
			name: "DE-BY has Epiphany, DE does not",
			typ:  AccountType{HolidayCalendars: []string{"DE", "DE-BY"}},
			from: "2026-01-06", want: "2026-01-07",
			wantSkips: []skip{{"2026-01-06", "holiday: Heilige Drei Könige (DE-BY)"}},
		},
		{
			name: "DST spring forward Sunday 2026-03-08 is an ordinary allowed day",
			typ:  AccountType{TimeZone: "America/Chicago", HolidayCalendars: []string{"US"}},
			from: "2026-03-08", want: "2026-03-08",
		},
		{
			name: "DST fall back Sunday 2026-11-01 is an ordinary allowed day",
			typ:  AccountType{TimeZone: "America/Chicago", HolidayCalendars: []string{"US"}},
			from: "2026-11-01", want: "2026-11-01",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRule(t, tc.typ)
			got, skips := r.Next(mustDate(tc.from))
			if got != mustDate(tc.want) {
				t.Errorf("Next(%s) = %s, want %s (skips %v)", tc.from, got, tc.want, skips)
			}
			var gotSkips []skip
			for _, s := range skips {
				gotSkips = append(gotSkips, skip{s.Date.String(), s.Reason})
			}
			if !slices.Equal(gotSkips, tc.wantSkips) {
				t.Errorf("skips = %q\nwant    %q", gotSkips, tc.wantSkips)
			}
			if ok, why := r.Allowed(got); !ok {
				t.Errorf("Next returned a disallowed day %s: %s", got, why)
			}
		})
	}
}

func TestDateRuleZeroValueAllowsAll(t *testing.T) {
	var r DateRule
	for d := mustDate("2026-01-01"); d.Before(mustDate("2027-01-01")); d = d.AddDays(1) {
		if ok, why := r.Allowed(d); !ok {
			t.Fatalf("%s not allowed: %s", d, why)
		}
	}
}

func TestDateRuleNextTerminates(t *testing.T) {
	// Only Mondays allowed, and every Monday of two years excluded.
	at := AccountType{DelinquencyWeekdays: []time.Weekday{time.Monday}}
	for d := mustDate("2026-01-05"); d.Before(mustDate("2028-01-01")); d = d.AddDays(7) {
		at.Exclusions = append(at.Exclusions, Exclusion{Date: d})
	}
	r := mustRule(t, at)
	start := mustDate("2026-01-01")
	got, skips := r.Next(start)
	if got != start.AddDays(366) || len(skips) != 366 {
		t.Fatalf("Next = %s with %d skips; want the cap, %s with 366 skips", got, len(skips), start.AddDays(366))
	}
}

func TestNewDateRuleErrors(t *testing.T) {
	_, err := NewDateRule(AccountType{HolidayCalendars: []string{"CA-ON"}})
	wantInvalid(t, err, "holiday_calendars", `"CA-ON"`)
	_, err = NewDateRule(AccountType{DelinquencyWeekdays: []time.Weekday{-1}})
	wantInvalid(t, err, "delinquency_weekdays", "-1")
	_, err = NewDateRule(AccountType{Exclusions: []Exclusion{{}}})
	wantInvalid(t, err, "exclusions[0]")
}

func TestKnownHolidayCalendars(t *testing.T) {
	codes := KnownHolidayCalendars()
	if !slices.IsSorted(codes) {
		t.Error("not sorted")
	}
	for _, want := range []string{"US", "CA", "GB", "DE", "DE-BY", "FR", "AU", "AU-NSW", "NZ", "BR", "IE", "NL", "CH", "CH-ZH"} {
		if !slices.Contains(codes, want) {
			t.Errorf("%s missing", want)
		}
	}
	// Every calendar has holidays in 2026, and every one computes.
	for _, c := range codes {
		if len(HolidayCalendarHolidays(c, 2026)) == 0 {
			t.Errorf("calendar %s has no holidays in 2026", c)
		}
	}
	// The national AU and CH calendars are non-trivial intersections.
	for _, c := range []string{"AU", "CH"} {
		n := len(HolidayCalendarHolidays(c, 2026))
		if n < 4 {
			t.Errorf("%s has only %d holidays", c, n)
		}
	}
}

// Invoice and delinquency dates computed across both 2026 DST changes in
// America/Chicago are calendar-correct, and the rule's dates start at local
// midnight.
func TestDateRuleAcrossChicagoDST(t *testing.T) {
	at := AccountType{Name: "Residential", BillingMode: BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 3, DueDays: 5, GraceDays: 2,
		TimeZone: "America/Chicago", HolidayCalendars: []string{"US"}} // weekends allowed
	if err := at.Validate(); err != nil {
		t.Fatal(err)
	}
	chicago, err := at.Location()
	if err != nil {
		t.Fatal(err)
	}
	r := mustRule(t, at)
	tests := []struct {
		name                            string
		period                          Period
		issue, due, delinquency         string
		spanHours                       float64 // hours from issue to delinquency at local midnights
		spanDays                        int
		transitionDay                   string
		transitionDayHours              float64
		transitionMidnightUTCOffsetSecs int
	}{
		{"spring forward 2026-03-08", per("2026-03-04", "2026-04-04"), "2026-03-01", "2026-03-06", "2026-03-08",
			7*24 - 0, 7, "2026-03-08", 23, -6 * 3600},
		{"fall back 2026-11-01", per("2026-10-30", "2026-11-30"), "2026-10-27", "2026-11-01", "2026-11-03",
			7*24 + 1, 7, "2026-11-01", 25, -5 * 3600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			issue, due, del, why := InvoiceDates(at, r, tc.period)
			if issue != mustDate(tc.issue) || due != mustDate(tc.due) || del != mustDate(tc.delinquency) {
				t.Fatalf("dates = %s %s %s, want %s %s %s (%v)", issue, due, del, tc.issue, tc.due, tc.delinquency, why)
			}
			if got := issue.DaysUntil(del); got != tc.spanDays {
				t.Errorf("issue→delinquency = %d days, want %d", got, tc.spanDays)
			}
			if h := del.StartIn(chicago).Sub(issue.StartIn(chicago)).Hours(); h != tc.spanHours {
				t.Errorf("issue→delinquency = %v hours of wall time, want %v", h, tc.spanHours)
			}
			day := mustDate(tc.transitionDay)
			start := day.StartIn(chicago)
			if start.Hour() != 0 || start.Minute() != 0 || DateIn(start, chicago) != day {
				t.Errorf("StartIn(%s) = %v, want local midnight", day, start)
			}
			if _, off := start.Zone(); off != tc.transitionMidnightUTCOffsetSecs {
				t.Errorf("offset at midnight of %s = %d, want %d", day, off, tc.transitionMidnightUTCOffsetSecs)
			}
			if h := day.AddDays(1).StartIn(chicago).Sub(start).Hours(); h != tc.transitionDayHours {
				t.Errorf("%s lasts %v hours, want %v", day, h, tc.transitionDayHours)
			}
			// The period prorates by calendar days, not hours.
			half := Prorate(3100, tc.period, tc.period.Start, day.AddDays(1))
			if want := int64(3100 * tc.period.Start.DaysUntil(day.AddDays(1)) / 31); half != want {
				t.Errorf("prorated to %s = %d, want %d", day, half, want)
			}
		})
	}
}

func TestInvoiceDatesWhy(t *testing.T) {
	at := AccountType{Name: "Business", BillingMode: BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 6, DueDays: 14, GraceDays: 7,
		DelinquencyWeekdays: weekdaysOnly, HolidayCalendars: []string{"US"}, ApplyDateRuleToIssue: true}
	if err := at.Validate(); err != nil {
		t.Fatal(err)
	}
	r := mustRule(t, at)
	// Period starts Fri 2027-01-01; issue 2026-12-26 is a Saturday.
	issue, due, del, why := InvoiceDates(at, r, PeriodAt(mustDate("2027-01-15"), 1, time.January, IntervalMonthly))
	if issue != mustDate("2026-12-28") || due != mustDate("2027-01-11") || del != mustDate("2027-01-19") {
		t.Fatalf("dates = %s %s %s; why %q", issue, due, del, why)
	}
	want := []string{
		"period 2027-01-01 to 2027-01-31: issue date Sat 2026-12-26 (period start - 6 lead days), due date Mon 2027-01-11 (issue + 14 due days), delinquency date Mon 2027-01-18 (due + 7 grace days)",
		"issue date moved from Sat 2026-12-26 to Mon 2026-12-28: Saturday is not an allowed weekday; Sunday is not an allowed weekday",
		"delinquency date moved from Mon 2027-01-18 to Tue 2027-01-19: Mon 2027-01-18 holiday: Martin Luther King Jr. Day (US)",
	}
	if !slices.Equal(why, want) {
		t.Errorf("why =\n%s\nwant\n%s", strings.Join(why, "\n"), strings.Join(want, "\n"))
	}

	// Without ApplyDateRuleToIssue the issue date stays on Saturday.
	at.ApplyDateRuleToIssue = false
	issue, _, _, _ = InvoiceDates(at, r, per("2027-01-01", "2027-02-01"))
	if issue != mustDate("2026-12-26") {
		t.Errorf("issue = %s, want the unmoved 2026-12-26", issue)
	}
}
