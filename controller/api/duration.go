package api

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseDays parses a positive Go duration or a whole number of days ("30d"),
// at most 400 days.
func parseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("duration %q: days must be a whole number (\"30d\")", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("duration %q is neither a Go duration (\"36h\") nor days (\"30d\")", s)
		}
	}
	if d <= 0 || d > 400*24*time.Hour {
		return 0, fmt.Errorf("duration %q must be positive and at most 400 days", s)
	}
	return d, nil
}
