package console

import (
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// calendar shows an account type's date rule on the months of an example
// billing period: the day its invoice is issued, due and becomes
// delinquent (billing.InvoiceDates, the rule the billing run uses), and
// every day the rule does not allow with the reason.
type calendar struct {
	Period                  billing.Period
	Issue, Due, Delinquency billing.Date
	Why                     []string
	Months                  []calendarMonth
	Err                     string // the type's rule cannot be used (shown instead)
}

type calendarMonth struct {
	Title string
	Weeks [][]calendarDay // Sunday first; days of other months are blank
}

type calendarDay struct {
	Date billing.Date
	// Blank pads the first and last week.
	Blank bool
	// Marks name what happens that day: "Issued", "Due", "Delinquent".
	Marks []string
	// NotAllowed is why the rule skips the day ("" when allowed).
	NotAllowed string
}

// typeCalendar lays out the example period that starts next month in the
// type's time zone.
func typeCalendar(t billing.AccountType, now time.Time) calendar {
	var c calendar
	loc, err := t.Location()
	if err != nil {
		c.Err = billing.ErrorMessage(err)
		return c
	}
	rule, err := billing.NewDateRule(t)
	if err != nil {
		c.Err = billing.ErrorMessage(err)
		return c
	}
	today := billing.DateIn(now, loc)
	y, m := today.Year, today.Month+1
	if m > 12 {
		y, m = y+1, 1
	}
	day := 1
	if t.BillingMode == billing.BillingFixedDay && t.BillingDay > 0 {
		day = min(t.BillingDay, billing.DaysIn(y, m))
	}
	start := billing.NewDate(y, m, day)
	ny, nm := y, m+1
	if nm > 12 {
		ny, nm = ny+1, 1
	}
	c.Period = billing.Period{Start: start, End: billing.NewDate(ny, nm, min(day, billing.DaysIn(ny, nm)))}
	c.Issue, c.Due, c.Delinquency, c.Why = billing.InvoiceDates(t, rule, c.Period)
	first, last := c.Issue, c.Delinquency
	if c.Period.Start.Before(first) {
		first = c.Period.Start
	}
	for my, mm := first.Year, first.Month; len(c.Months) < 4; {
		c.Months = append(c.Months, layoutMonth(my, mm, rule, c))
		if my > last.Year || (my == last.Year && mm >= last.Month) {
			break
		}
		if mm++; mm > 12 {
			my, mm = my+1, 1
		}
	}
	return c
}

func layoutMonth(y int, m time.Month, rule billing.DateRule, c calendar) calendarMonth {
	cm := calendarMonth{Title: m.String() + " " + itoa(int64(y))}
	var week []calendarDay
	first := billing.NewDate(y, m, 1)
	for i := 0; i < int(first.Weekday()); i++ {
		week = append(week, calendarDay{Blank: true})
	}
	for d := 1; d <= billing.DaysIn(y, m); d++ {
		date := billing.NewDate(y, m, d)
		cd := calendarDay{Date: date}
		if date == c.Period.Start {
			cd.Marks = append(cd.Marks, "Period starts")
		}
		if date == c.Issue {
			cd.Marks = append(cd.Marks, "Issued")
		}
		if date == c.Due {
			cd.Marks = append(cd.Marks, "Due")
		}
		if date == c.Delinquency {
			cd.Marks = append(cd.Marks, "Delinquent")
		}
		if ok, why := rule.Allowed(date); !ok {
			cd.NotAllowed = why
		}
		week = append(week, cd)
		if len(week) == 7 {
			cm.Weeks = append(cm.Weeks, week)
			week = nil
		}
	}
	if len(week) > 0 {
		for len(week) < 7 {
			week = append(week, calendarDay{Blank: true})
		}
		cm.Weeks = append(cm.Weeks, week)
	}
	return cm
}
