package billing

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar date with no time of day and no time zone: the unit of
// every billing rule. All date arithmetic counts calendar days, so it is
// unaffected by daylight-saving changes.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d, normalised (Feb 30 becomes Mar 1 or 2).
func NewDate(y int, m time.Month, d int) Date {
	return DateOf(time.Date(y, m, d, 12, 0, 0, 0, time.UTC))
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// DateIn returns the calendar date of instant t in loc.
func DateIn(t time.Time, loc *time.Location) Date { return DateOf(t.In(loc)) }

// ParseDate parses "2006-01-02". The returned error is EINVALID for
// another form or a year outside MinYear–MaxYear.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, Errorf(EINVALID, "date %q is not YYYY-MM-DD", s)
	}
	if t.Year() < MinYear || t.Year() > MaxYear {
		return Date{}, Errorf(EINVALID, "date %q is out of range: dates lie between %d-01-01 and %d-12-31", s, MinYear, MaxYear)
	}
	return DateOf(t), nil
}

// String formats the date as "2006-01-02".
func (d Date) String() string {
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	b := make([]byte, 0, 10)
	b = appendPadded(b, d.Year, 4)
	b = append(b, '-')
	b = appendPadded(b, int(d.Month), 2)
	b = append(b, '-')
	b = appendPadded(b, d.Day, 2)
	return string(b)
}

func appendPadded(b []byte, v, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:width]...)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// utcNoon is the date as an instant, for arithmetic that must not cross a
// day boundary.
func (d Date) utcNoon() time.Time { return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC) }

// AddDays returns the date n calendar days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return DateOf(d.utcNoon().AddDate(0, 0, n)) }

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday { return d.utcNoon().Weekday() }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Compare returns -1, 0 or +1.
func (d Date) Compare(e Date) int { return d.utcNoon().Compare(e.utcNoon()) }

// DaysUntil returns the number of calendar days from d to e (negative if e
// is before d).
func (d Date) DaysUntil(e Date) int {
	return int(e.utcNoon().Sub(d.utcNoon()).Round(time.Hour).Hours() / 24)
}

// StartIn returns the instant the date begins in loc (local midnight, or the
// first instant of the day where a DST change skips midnight).
func (d Date) StartIn(loc *time.Location) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
	if DateOf(t) != d { // midnight did not exist and was normalised backwards
		t = time.Date(d.Year, d.Month, d.Day, 1, 0, 0, 0, loc)
	}
	return t
}

// DaysIn returns the number of days in the month of year y.
func DaysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day() }

// MarshalJSON encodes the date as "2006-01-02".
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON decodes "2006-01-02" (or null).
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(EINVALID, "date must be a string YYYY-MM-DD")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText and UnmarshalText let Date be a map key and a query value.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "2006-01-02".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
