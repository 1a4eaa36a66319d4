package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// ParseMonth reads a month "2026-11" (EINVALID naming the field
// otherwise) and returns its first day.
func ParseMonth(field, s string) (billing.Date, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil {
		return billing.Date{}, billing.Errorf(billing.EINVALID, "%s %q is not a month (YYYY-MM)", field, s)
	}
	return billing.NewDate(t.Year(), t.Month(), 1), nil
}

// MonthEnd is the last day of the month d is in.
func MonthEnd(d billing.Date) billing.Date {
	return billing.NewDate(d.Year, d.Month, 1).AddDays(40).AddDays(-billing.NewDate(d.Year, d.Month, 1).AddDays(40).Day)
}

// CheckClose decides a close of the month starting on month, given the
// last day already closed (zero: none) and today: it returns the new last
// closed day. A month can be closed once it has ended, and only after the
// months before it (closing a month closes every open month before it too,
// since a period between closed ones could never be reported as final).
// EINVALID naming "month" otherwise; ECONFLICT when it is closed already.
func CheckClose(month, closedThrough, today billing.Date) (billing.Date, error) {
	end := MonthEnd(month)
	switch {
	case !closedThrough.IsZero() && !end.After(closedThrough):
		return billing.Date{}, billing.Errorf(billing.ECONFLICT, "month %s is closed already (closed through %s)", monthLabel(month), closedThrough)
	case !end.Before(today):
		return billing.Date{}, billing.Errorf(billing.EINVALID, "month %s has not ended yet (today is %s); a month can be closed from its next day", monthLabel(month), today)
	}
	return end, nil
}

// PostingDate is the date an entry dated d is posted with when the books are
// closed through closedThrough: d itself in an open period, else the first
// open day. (The database applies the same rule as entries are inserted;
// this is its statement in Go, for previews and tests.)
func PostingDate(d, closedThrough billing.Date) billing.Date {
	if closedThrough.IsZero() || d.After(closedThrough) {
		return d
	}
	return closedThrough.AddDays(1)
}

// CheckRunDate refuses (EINVALID, 422) a billing run for a date in a closed
// period.
func CheckRunDate(runDate, closedThrough billing.Date) error {
	if !closedThrough.IsZero() && !runDate.After(closedThrough) {
		return billing.Errorf(billing.EINVALID, "run_date %s is in a closed period (the books are closed through %s)", runDate, closedThrough)
	}
	return nil
}

func monthLabel(d billing.Date) string { return fmt.Sprintf("%04d-%02d", d.Year, int(d.Month)) }

// PeriodClose is one close of the books: every day through Through is
// closed.
type PeriodClose struct {
	Through  billing.Date `json:"through" doc:"The last day closed (a month's last day)."`
	ClosedBy string       `json:"closed_by"`
	ClosedAt time.Time    `json:"closed_at"`
}
