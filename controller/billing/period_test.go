package billing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]Interval{"monthly": IntervalMonthly, " Quarterly ": IntervalQuarterly, "ANNUAL": IntervalAnnual} {
		got, err := ParseInterval(in)
		if err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "weekly", "yearly"} {
		_, err := ParseInterval(bad)
		wantInvalid(t, err, "interval", fmt.Sprintf("%q", bad))
	}
	if IntervalMonthly.Months() != 1 || IntervalQuarterly.Months() != 3 || IntervalAnnual.Months() != 12 || Interval("x").Months() != 0 {
		t.Error("Months wrong")
	}
}

func TestPeriodBasics(t *testing.T) {
	p := per("2026-01-31", "2026-02-28")
	if p.Days() != 28 || !p.Contains(mustDate("2026-01-31")) || !p.Contains(mustDate("2026-02-27")) || p.Contains(mustDate("2026-02-28")) ||
		p.Contains(mustDate("2026-01-30")) || p.Last() != mustDate("2026-02-27") || p.String() != "2026-01-31 to 2026-02-27" {
		t.Errorf("period basics wrong for %v", p)
	}
	if (Period{}).Days() != 0 || per("2026-02-01", "2026-01-01").Days() != 0 {
		t.Error("empty or inverted period should have 0 days")
	}
}

func TestPeriodAt(t *testing.T) {
	tests := []struct {
		name  string
		d     string
		day   int
		month time.Month
		iv    Interval
		want  Period
		nexts []Period // successive Next periods
	}{
		{"fixed day 1, monthly", "2026-03-10", 1, time.January, IntervalMonthly, per("2026-03-01", "2026-04-01"),
			[]Period{per("2026-04-01", "2026-05-01")}},
		{"fixed day 15, before the 15th", "2026-03-10", 15, time.January, IntervalMonthly, per("2026-02-15", "2026-03-15"),
			[]Period{per("2026-03-15", "2026-04-15")}},
		{"fixed day 15, on the 15th", "2026-03-15", 15, time.January, IntervalMonthly, per("2026-03-15", "2026-04-15"), nil},
		{"fixed day 15 across the year end", "2026-01-03", 15, time.January, IntervalMonthly, per("2025-12-15", "2026-01-15"), nil},
		{"anniversary on the 31st in February 2026", "2026-02-10", 31, time.January, IntervalMonthly, per("2026-01-31", "2026-02-28"),
			[]Period{per("2026-02-28", "2026-03-31"), per("2026-03-31", "2026-04-30"), per("2026-04-30", "2026-05-31"), per("2026-05-31", "2026-06-30")}},
		{"anniversary on the 31st in February 2028 (leap)", "2028-02-10", 31, time.January, IntervalMonthly, per("2028-01-31", "2028-02-29"),
			[]Period{per("2028-02-29", "2028-03-31")}},
		{"anniversary 31st on Feb 28 2026 starts the next period", "2026-02-28", 31, time.January, IntervalMonthly, per("2026-02-28", "2026-03-31"), nil},
		{"anniversary on the 30th in February", "2026-03-05", 30, time.January, IntervalMonthly, per("2026-02-28", "2026-03-30"), nil},
		{"anniversary 29th in a common year", "2027-02-28", 29, time.January, IntervalMonthly, per("2027-02-28", "2027-03-29"), nil},
		{"anchor month is ignored for monthly", "2026-03-10", 1, time.July, IntervalMonthly, per("2026-03-01", "2026-04-01"), nil},
		{"quarterly calendar quarters", "2026-05-20", 1, time.January, IntervalQuarterly, per("2026-04-01", "2026-07-01"),
			[]Period{per("2026-07-01", "2026-10-01"), per("2026-10-01", "2027-01-01"), per("2027-01-01", "2027-04-01")}},
		{"quarterly anchored Feb 15", "2026-01-10", 15, time.February, IntervalQuarterly, per("2025-11-15", "2026-02-15"),
			[]Period{per("2026-02-15", "2026-05-15")}},
		{"quarterly anchored on the 31st of March", "2026-07-01", 31, time.March, IntervalQuarterly, per("2026-06-30", "2026-09-30"),
			[]Period{per("2026-09-30", "2026-12-31"), per("2026-12-31", "2027-03-31")}},
		{"quarterly anchor month November behaves like February", "2026-03-01", 1, time.November, IntervalQuarterly, per("2026-02-01", "2026-05-01"), nil},
		{"annual from Jan 1", "2026-12-31", 1, time.January, IntervalAnnual, per("2026-01-01", "2027-01-01"),
			[]Period{per("2027-01-01", "2028-01-01")}},
		{"annual anchored Mar 31, leap year", "2028-03-30", 31, time.March, IntervalAnnual, per("2027-03-31", "2028-03-31"), nil},
		{"annual anchored Feb 29", "2027-03-01", 29, time.February, IntervalAnnual, per("2027-02-28", "2028-02-29"),
			[]Period{per("2028-02-29", "2029-02-28")}},
		{"anchor day clamped to 1..31", "2026-03-10", 0, time.January, IntervalMonthly, per("2026-03-01", "2026-04-01"), nil},
		{"unknown interval counts as monthly", "2026-03-10", 1, time.January, Interval("weekly"), per("2026-03-01", "2026-04-01"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := PeriodAt(mustDate(tc.d), tc.day, tc.month, tc.iv)
			if p != tc.want {
				t.Fatalf("PeriodAt(%s, %d, %s, %s) = %v, want %v", tc.d, tc.day, tc.month, tc.iv, p, tc.want)
			}
			for i, want := range tc.nexts {
				p = p.Next(tc.day, tc.month, tc.iv)
				if p != want {
					t.Fatalf("Next #%d = %v, want %v", i+1, p, want)
				}
			}
		})
	}
}

// Property: periods tile time — every date is in exactly the period
// PeriodAt gives, periods chain with Next, and have the interval's length.
func TestPeriodAtProperty(t *testing.T) {
	lengths := map[Interval][2]int{IntervalMonthly: {28, 31}, IntervalQuarterly: {89, 92}, IntervalAnnual: {365, 366}}
	checkProperty(t, func(r *rand.Rand) error {
		day, month, iv := 1+r.IntN(31), time.Month(1+r.IntN(12)), randInterval(r)
		d := randDate(r)
		p := PeriodAt(d, day, month, iv)
		for range 1 + r.IntN(30) {
			if !p.Contains(d) {
				return fmt.Errorf("PeriodAt(%s, %d, %s, %s) = %v does not contain it", d, day, month, iv, p)
			}
			if n, l := p.Days(), lengths[iv]; n < l[0] || n > l[1] {
				return fmt.Errorf("period %v of %s has %d days", p, iv, n)
			}
			if PeriodAt(p.Start, day, month, iv) != p || PeriodAt(p.Last(), day, month, iv) != p {
				return fmt.Errorf("period %v is not stable at its ends", p)
			}
			if (p.Start.Month-month)%time.Month(iv.Months()) != 0 && iv != IntervalMonthly {
				return fmt.Errorf("%s period %v does not start in a month congruent to %s", iv, p, month)
			}
			if want := min(day, DaysIn(p.Start.Year, p.Start.Month)); p.Start.Day != want {
				return fmt.Errorf("period %v does not start on anchor day %d", p, day)
			}
			next := p.Next(day, month, iv)
			if next.Start != p.End {
				return fmt.Errorf("Next(%v) = %v does not follow it", p, next)
			}
			p, d = next, next.Start.AddDays(r.IntN(next.Days()))
		}
		return nil
	})
}
