package reports

import (
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func TestCheckClose(t *testing.T) {
	nov, _ := ParseMonth("month", "2026-11")
	if nov != d(2026, 11, 1) || MonthEnd(nov) != d(2026, 11, 30) || MonthEnd(d(2028, 2, 10)) != d(2028, 2, 29) || MonthEnd(d(2026, 12, 31)) != d(2026, 12, 31) {
		t.Fatalf("month %s end %s", nov, MonthEnd(nov))
	}
	if _, err := ParseMonth("month", "2026-13"); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("bad month: %v", err)
	}
	for _, c := range []struct {
		month, closed, today billing.Date
		want                 billing.Date
		code                 billing.Code
	}{
		{d(2026, 11, 1), billing.Date{}, d(2026, 12, 1), d(2026, 11, 30), ""},
		{d(2026, 11, 1), billing.Date{}, d(2026, 11, 30), billing.Date{}, billing.EINVALID}, // not ended
		{d(2026, 11, 1), d(2026, 11, 30), d(2026, 12, 7), billing.Date{}, billing.ECONFLICT},
		{d(2026, 10, 1), d(2026, 11, 30), d(2026, 12, 7), billing.Date{}, billing.ECONFLICT},
		{d(2026, 11, 1), d(2026, 9, 30), d(2026, 12, 7), d(2026, 11, 30), ""}, // closes October too
	} {
		got, err := CheckClose(c.month, c.closed, c.today)
		if got != c.want || billing.ErrorCode(err) != c.code {
			t.Errorf("close %s (closed %s, today %s) = %s, %v; want %s, %q", c.month, c.closed, c.today, got, err, c.want, c.code)
		}
	}
	if PostingDate(d(2026, 11, 20), d(2026, 11, 30)) != d(2026, 12, 1) || PostingDate(d(2026, 12, 2), d(2026, 11, 30)) != d(2026, 12, 2) ||
		PostingDate(d(2026, 11, 20), billing.Date{}) != d(2026, 11, 20) {
		t.Error("posting date")
	}
	if CheckRunDate(d(2026, 11, 30), d(2026, 11, 30)) == nil || CheckRunDate(d(2026, 12, 1), d(2026, 11, 30)) != nil {
		t.Error("run date")
	}
}
