package jobs

import (
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestNewNamesWhatIsMissing: a runner without one of its ports, or without
// River's pool, is refused with an error naming what is missing.
func TestNewNamesWhatIsMissing(t *testing.T) {
	full := storesOf(nil)
	for _, c := range []struct {
		name string
		drop func(s *Stores)
		want string
	}{
		{"runs", func(s *Stores) { s.Runs = nil }, "Stores.Runs"},
		{"collections", func(s *Stores) { s.Collections = nil }, "Stores.Collections"},
		{"deliveries", func(s *Stores) { s.Deliveries = nil }, "Stores.Deliveries"},
		{"upkeep", func(s *Stores) { s.Upkeep = nil }, "Stores.Upkeep"},
		{"housekeeping", func(s *Stores) { s.Housekeeping = nil }, "Stores.Housekeeping"},
		{"gateway", func(s *Stores) { s.Gateway = nil }, "Stores.Gateway"},
		{"dev clock", func(s *Stores) { s.DevClock = nil }, "Stores.DevClock"},
		{"pool", func(*Stores) {}, "pool"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := full
			c.drop(&s)
			r, err := New(Config{DisableSchedule: true}, nil, s, clock.Real{}, quietLog())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New without %s = %v, %v; want an error naming %q", c.name, r, err, c.want)
			}
		})
	}
}
