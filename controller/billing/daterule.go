package billing

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// maxRuleSearch caps how far [DateRule.Next] looks for an allowed day.
const maxRuleSearch = 366

// Skip is one day a [DateRule] skipped, and why.
type Skip struct {
	Date Date `json:"date"`
	// Reason is plain language: "Saturday is not an allowed weekday",
	// "exclusion: Christmas Day (yearly)", "holiday: Thanksgiving Day (US)".
	Reason string `json:"reason"`
}

// String formats the skip for a why line: the reason alone for a weekday
// ("Saturday is not an allowed weekday"), else prefixed by the date
// ("Fri 2026-07-03 holiday: Independence Day, observed (US)").
func (s Skip) String() string {
	if strings.HasSuffix(s.Reason, notAllowedWeekday) {
		return s.Reason
	}
	return s.Date.Label() + " " + s.Reason
}

const notAllowedWeekday = " is not an allowed weekday"

// Label formats the date with its abbreviated weekday: "Sat 2026-12-26".
func (d Date) Label() string { return d.Weekday().String()[:3] + " " + d.String() }

// DateRule decides on which days an account may become delinquent (and, if
// the account type says so, on which days invoices may be issued): only on
// allowed weekdays that are neither exclusion dates nor holidays of the
// account type's holiday calendars.
//
// The zero DateRule allows every day.
type DateRule struct {
	// disallowed weekdays (so that the zero value allows all).
	disallowed [7]bool
	exclusions []Exclusion
	calendars  []string
	// memo is shared by copies of a rule made by NewDateRule: a billing run
	// asks the same questions for thousands of accounts.
	memo *ruleMemo
}

// ruleMemo caches answers of one rule. Safe for concurrent use.
type ruleMemo struct {
	mu    sync.Mutex
	next  map[Date]nextAnswer
	dates map[datesKey]datesAnswer
}

type nextAnswer struct {
	d     Date
	skips []Skip
}

type datesKey struct {
	p                Period
	lead, due, grace int
	applyToIssue     bool
}

type datesAnswer struct {
	issue, due, delinquency Date
	why                     []string
}

// NewDateRule returns the date rule of an account type: its
// delinquency_weekdays (empty = all seven), exclusions and
// holiday_calendars.
//
// Errors: EINVALID, naming the field, for a bad weekday, a duplicate
// weekday, an exclusion without a real date or an unknown holiday calendar
// (the same checks as [AccountType.Validate]).
func NewDateRule(t AccountType) (DateRule, error) {
	var r DateRule
	wd, err := validWeekdays(t.DelinquencyWeekdays)
	if err != nil {
		return r, err
	}
	for i := range r.disallowed {
		r.disallowed[i] = true
	}
	for _, w := range wd {
		r.disallowed[w] = false
	}
	if err := validExclusions(t.Exclusions); err != nil {
		return r, err
	}
	r.exclusions = slices.Clone(t.Exclusions)
	if r.calendars, err = validCalendars(t.HolidayCalendars); err != nil {
		return r, err
	}
	r.memo = &ruleMemo{next: map[Date]nextAnswer{}, dates: map[datesKey]datesAnswer{}}
	return r, nil
}

// Allowed reports whether d is an allowed day and, if it is not, why:
// "Saturday is not an allowed weekday", "exclusion: Christmas Day (yearly)",
// "exclusion: 2026-12-24 (one-off)", "holiday: Thanksgiving Day (US)",
// "holiday: Independence Day, observed (US)". When several rules exclude the
// day, the first in that order (weekday, exclusions, calendars) is given.
func (r DateRule) Allowed(d Date) (ok bool, why string) {
	if w := d.Weekday(); r.disallowed[w] {
		return false, w.String() + notAllowedWeekday
	}
	for _, e := range r.exclusions {
		switch {
		case !e.Yearly && e.Date == d:
			return false, "exclusion: " + e.label(false) + " (one-off)"
		case e.Yearly && e.Date.Month == d.Month && e.Date.Day == d.Day:
			return false, "exclusion: " + e.label(true) + " (yearly)"
		}
	}
	for _, c := range r.calendars {
		if names := HolidayCalendarHolidays(c, d.Year)[d]; len(names) > 0 {
			return false, fmt.Sprintf("holiday: %s (%s)", strings.Join(names, " / "), c)
		}
	}
	return true, ""
}

// label names an exclusion: its name, else its date ("12-25" if yearly).
func (e Exclusion) label(yearly bool) string {
	switch {
	case e.Name != "":
		return e.Name
	case yearly:
		return fmt.Sprintf("%02d-%02d", int(e.Date.Month), e.Date.Day)
	default:
		return e.Date.String()
	}
}

// Next returns d if it is allowed, else the next allowed day, with every
// day it skipped and why (nil when d itself is allowed).
//
// It never fails: it looks at most 366 days ahead, and if none of them is
// allowed (only possible with an exclusion list that covers a whole year's
// allowed weekdays) it returns the day after the last one examined, with all
// examined days in the skips.
func (r DateRule) Next(d Date) (Date, []Skip) {
	if r.memo == nil {
		return r.next(d)
	}
	r.memo.mu.Lock()
	a, ok := r.memo.next[d]
	r.memo.mu.Unlock()
	if !ok {
		a.d, a.skips = r.next(d)
		r.memo.mu.Lock()
		r.memo.next[d] = a
		r.memo.mu.Unlock()
	}
	return a.d, slices.Clone(a.skips)
}

func (r DateRule) next(d Date) (Date, []Skip) {
	var skips []Skip
	for range maxRuleSearch {
		ok, why := r.Allowed(d)
		if ok {
			return d, skips
		}
		skips = append(skips, Skip{Date: d, Reason: why})
		d = d.AddDays(1)
	}
	return d, skips
}

// describeMove is the why line of a date the rule moved: "issue date moved
// from Sat 2026-12-26 to Mon 2026-12-28: Saturday is not an allowed
// weekday; Sunday is not an allowed weekday".
func describeMove(what string, from, to Date, skips []Skip) string {
	parts := make([]string, len(skips))
	for i, s := range skips {
		parts[i] = s.String()
	}
	return fmt.Sprintf("%s moved from %s to %s: %s", what, from.Label(), to.Label(), strings.Join(parts, "; "))
}
