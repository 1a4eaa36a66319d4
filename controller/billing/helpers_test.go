package billing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // America/Chicago etc. even where the host has no zoneinfo
)

// mustDate parses "2006-01-02" or panics.
func mustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// per builds a Period from two "2006-01-02" dates (end exclusive).
func per(start, end string) Period { return Period{mustDate(start), mustDate(end)} }

// wantInvalid checks err is an EINVALID *Error whose message contains every
// fragment.
func wantInvalid(t *testing.T, err error, fragments ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVALID {
		t.Fatalf("error = %v, want EINVALID", err)
	}
	for _, f := range fragments {
		if !strings.Contains(e.Message, f) {
			t.Errorf("message %q does not contain %q", e.Message, f)
		}
	}
}

// propertySequences is how many random sequences each property test runs.
const propertySequences = 1000

var (
	seedOnce sync.Once
	seedVal  uint64
)

// propertySeed is the run's seed: TOLLGATE_PROPERTY_SEED if set, else the
// clock. It is the same for every property test of the run.
func propertySeed(t *testing.T) uint64 {
	seedOnce.Do(func() {
		if s := os.Getenv("TOLLGATE_PROPERTY_SEED"); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				panic(fmt.Sprintf("TOLLGATE_PROPERTY_SEED=%q is not an unsigned integer", s))
			}
			seedVal = v
			return
		}
		seedVal = uint64(time.Now().UnixNano())
	})
	return seedVal
}

// checkProperty runs prop on propertySequences random sequences, each with
// its own generator derived from the run's seed and the sequence number, and
// fails with the seed that reproduces a failure.
func checkProperty(t *testing.T, prop func(r *rand.Rand) error) {
	t.Helper()
	seed := propertySeed(t)
	for i := range propertySequences {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		if err := prop(r); err != nil {
			t.Fatalf("sequence %d of %d failed: %v\nreproduce with TOLLGATE_PROPERTY_SEED=%d go test -run '^%s$' ./controller/billing/",
				i, propertySequences, err, seed, t.Name())
		}
	}
	t.Logf("%d random sequences passed (TOLLGATE_PROPERTY_SEED=%d)", propertySequences, seed)
}

// randDate is a random date in [1999, 2105] (leap years, 2000, 2100).
func randDate(r *rand.Rand) Date {
	return NewDate(1999, time.January, 1).AddDays(r.IntN(107 * 366))
}

// randInterval is a random known interval.
func randInterval(r *rand.Rand) Interval {
	return []Interval{IntervalMonthly, IntervalQuarterly, IntervalAnnual}[r.IntN(3)]
}
