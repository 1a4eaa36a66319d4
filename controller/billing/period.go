package billing

import (
	"strings"
	"time"
)

// Interval is how often a plan is charged.
type Interval string

// Intervals.
const (
	IntervalMonthly   Interval = "monthly"
	IntervalQuarterly Interval = "quarterly"
	IntervalAnnual    Interval = "annual"
)

// Months is the interval's length in months, 0 for an unknown interval.
func (i Interval) Months() int {
	switch i {
	case IntervalMonthly:
		return 1
	case IntervalQuarterly:
		return 3
	case IntervalAnnual:
		return 12
	}
	return 0
}

// ParseInterval parses "monthly", "quarterly" or "annual" (case and
// surrounding space are ignored).
//
// Errors: EINVALID naming the value for anything else, including "".
func ParseInterval(s string) (Interval, error) {
	i := Interval(strings.ToLower(strings.TrimSpace(s)))
	if i.Months() == 0 {
		return "", Errorf(EINVALID, "interval %q is not one of monthly, quarterly, annual", s)
	}
	return i, nil
}

// Period is a span of whole days: Start inclusive, End exclusive.
type Period struct {
	Start Date `json:"start"`
	End   Date `json:"end"`
}

// IsZero reports whether p is the zero Period.
func (p Period) IsZero() bool { return p == Period{} }

// Days is the number of days in the period (0 if End is not after Start).
func (p Period) Days() int { return max(0, p.Start.DaysUntil(p.End)) }

// Contains reports whether d is in [Start, End).
func (p Period) Contains(d Date) bool { return !d.Before(p.Start) && d.Before(p.End) }

// Last is the period's last day (End − 1).
func (p Period) Last() Date { return p.End.AddDays(-1) }

// String formats the period with its inclusive last day, as people read
// it: "2026-01-31 to 2026-02-27".
func (p Period) String() string { return p.Start.String() + " to " + p.Last().String() }

// PeriodAt returns the billing period of interval iv that contains d.
//
// Periods start on anchorDay of a month; a day past a month's end means that
// month's last day, and the anchor returns to anchorDay in longer months
// (anchor 31: Jan 31–Feb 28, Feb 28–Mar 31, Mar 31–Apr 30, Apr 30–May 31).
// Quarterly and annual periods are 3 and 12 months long and start in the
// months congruent to anchorMonth (anchor April, quarterly: periods start in
// January, April, July and October); monthly periods ignore anchorMonth.
//
// PeriodAt never fails: anchorDay is clamped to 1-31, an anchorMonth outside
// 1-12 counts as January and an unknown interval as monthly (callers
// validate intervals with [ParseInterval]).
func PeriodAt(d Date, anchorDay int, anchorMonth time.Month, iv Interval) Period {
	anchorDay = min(max(anchorDay, 1), 31)
	if anchorMonth < time.January || anchorMonth > time.December {
		anchorMonth = time.January
	}
	k := iv.Months()
	if k == 0 {
		k = 1
	}
	// Months are counted from year 0; n is d's month, s the latest
	// period-start month at or before it.
	n := d.Year*12 + int(d.Month) - 1
	s := n - mod(n-(int(anchorMonth)-1), k)
	if start := boundary(s, anchorDay); start.After(d) {
		s -= k
	}
	return Period{Start: boundary(s, anchorDay), End: boundary(s+k, anchorDay)}
}

// Next returns the period that follows p, for the same anchor and interval.
// When p is not itself aligned to that anchor (an anchor changed), the next
// period is the one containing p.End.
func (p Period) Next(anchorDay int, anchorMonth time.Month, iv Interval) Period {
	return PeriodAt(p.End, anchorDay, anchorMonth, iv)
}

// boundary is the period start in month n (counted from year 0) for an
// anchor day, clamped to the month's length.
func boundary(n, anchorDay int) Date {
	y, m := n/12, time.Month(n%12+1)
	if n < 0 { // years before 0 never occur in billing; keep the math total
		y, m = (n-11)/12, time.Month(mod(n, 12)+1)
	}
	return Date{Year: y, Month: m, Day: min(anchorDay, DaysIn(y, m))}
}

// mod is the non-negative remainder of a divided by b > 0.
func mod(a, b int) int {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}
