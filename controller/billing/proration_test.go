package billing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestProrate(t *testing.T) {
	jan := per("2026-01-01", "2026-02-01") // 31 days
	tests := []struct {
		name     string
		price    int64
		p        Period
		from, to string
		want     int64
	}{
		{"whole period", 5000, jan, "2026-01-01", "2026-02-01", 5000},
		{"from the 15th", 5000, jan, "2026-01-15", "2026-02-01", 5000 - 5000*14/31},
		{"until the 11th (exclusive)", 5000, jan, "2026-01-01", "2026-01-11", 5000 * 10 / 31},
		{"one day", 3100, jan, "2026-01-10", "2026-01-11", 100},
		{"clamped to the period", 5000, jan, "2025-12-01", "2026-03-01", 5000},
		{"empty", 5000, jan, "2026-01-10", "2026-01-10", 0},
		{"inverted", 5000, jan, "2026-01-20", "2026-01-10", 0},
		{"outside", 5000, jan, "2026-02-01", "2026-02-10", 0},
		{"empty period", 5000, Period{}, "2026-01-01", "2026-02-01", 0},
		{"credit mirrors charge", -5000, jan, "2026-01-15", "2026-02-01", -(5000 - 5000*14/31)},
		{"1e12 minor units over a leap year's annual period", 1e12, per("2028-01-01", "2029-01-01"), "2028-02-29", "2028-03-01", int64(1e12)*60/366 - int64(1e12)*59/366},
		{"max int64", math.MaxInt64, jan, "2026-01-01", "2026-02-01", math.MaxInt64},
		{"min int64", math.MinInt64, jan, "2026-01-01", "2026-02-01", math.MinInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Prorate(tc.price, tc.p, mustDate(tc.from), mustDate(tc.to)); got != tc.want {
				t.Errorf("Prorate(%d, %v, %s, %s) = %d, want %d", tc.price, tc.p, tc.from, tc.to, got, tc.want)
			}
		})
	}
}

// A monthly period spanning both 2026 DST changes in America/Chicago is
// prorated by calendar days, though its days are 23, 24 or 25 hours long.
func TestProrateAcrossChicagoDST(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	// An annual-ish period from Mar 1 to Dec 1 2026 contains both changes.
	p := per("2026-03-01", "2026-12-01")
	days := p.Days()
	hours := p.End.StartIn(chicago).Sub(p.Start.StartIn(chicago)).Hours()
	if days != 275 || hours != 275*24 { // +1h lost in March, +1h back in November
		t.Fatalf("period has %d days, %v hours", days, hours)
	}
	// A 31-day March period loses an hour but is still 31 days.
	march := per("2026-03-01", "2026-04-01")
	if h := march.End.StartIn(chicago).Sub(march.Start.StartIn(chicago)).Hours(); h != 31*24-1 {
		t.Fatalf("March has %v hours", h)
	}
	if got := Prorate(3100, march, mustDate("2026-03-08"), mustDate("2026-03-09")); got != 100 {
		t.Errorf("the 23-hour day is charged %d, want 100 (1/31)", got)
	}
	november := per("2026-11-01", "2026-12-01")
	if got := Prorate(3000, november, mustDate("2026-11-01"), mustDate("2026-11-02")); got != 100 {
		t.Errorf("the 25-hour day is charged %d, want 100 (1/30)", got)
	}
	// Each day of the long period, including both transition days, costs
	// the same (up to the cumulative-allocation remainder of one unit).
	price := int64(275 * 1000)
	for d := p.Start; d.Before(p.End); d = d.AddDays(1) {
		if got := Prorate(price, p, d, d.AddDays(1)); got != 1000 {
			t.Fatalf("day %s is charged %d, want 1000", d, got)
		}
	}
}

// Property (a): pieces of a random period split at random cut points sum
// exactly to the price, for positive and negative prices; pieces keep the
// price's sign, and credits mirror charges.
func TestProratePartitionProperty(t *testing.T) {
	checkProperty(t, func(r *rand.Rand) error {
		var p Period
		if r.IntN(4) == 0 { // an arbitrary span, as plan changes make
			start := randDate(r)
			p = Period{start, start.AddDays(1 + r.IntN(400))}
		} else {
			p = PeriodAt(randDate(r), 1+r.IntN(31), time.Month(1+r.IntN(12)), randInterval(r))
		}
		var price int64
		switch r.IntN(6) {
		case 0:
			price = r.Int64N(1000)
		case 1:
			price = r.Int64N(1e12 + 1)
		case 2:
			price = -r.Int64N(1e12 + 1)
		case 3:
			price = -r.Int64N(1000)
		case 4:
			price = []int64{math.MaxInt64, math.MinInt64, math.MinInt64 + 1, 1, -1, 0}[r.IntN(6)]
		default:
			price = r.Int64() - math.MaxInt64/2
		}
		// Random cut points inside (and sometimes outside) the period.
		cuts := []Date{p.Start, p.End}
		for range r.IntN(12) {
			cuts = append(cuts, p.Start.AddDays(r.IntN(p.Days()+1)))
		}
		slices.SortFunc(cuts, Date.Compare)
		if r.IntN(3) == 0 { // pieces that start before or end after p are clamped
			cuts[0] = cuts[0].AddDays(-r.IntN(40))
			cuts[len(cuts)-1] = cuts[len(cuts)-1].AddDays(r.IntN(40))
		}
		var sum int64
		for i := 1; i < len(cuts); i++ {
			piece := Prorate(price, p, cuts[i-1], cuts[i])
			if (price >= 0 && (piece < 0 || piece > price)) || (price < 0 && (piece > 0 || piece < price)) {
				return fmt.Errorf("price %d, period %v: piece [%s, %s) = %d has the wrong sign or size", price, p, cuts[i-1], cuts[i], piece)
			}
			if price != math.MinInt64 {
				if mirror := Prorate(-price, p, cuts[i-1], cuts[i]); mirror != -piece {
					return fmt.Errorf("price %d, period %v: credit for [%s, %s) = %d, charge %d", price, p, cuts[i-1], cuts[i], mirror, piece)
				}
			}
			sum += piece // wraps only if the pieces are wrong
		}
		if sum != price {
			return fmt.Errorf("price %d, period %v (%d days), cuts %v: pieces sum to %d", price, p, p.Days(), cuts, sum)
		}
		return nil
	})
}
