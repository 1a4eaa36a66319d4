package billing

import (
	"fmt"
	"math"
	"math/big"
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
		{"from the 15th: 17/31 × 50.00 = 27.419… → 27.42", 5000, jan, "2026-01-15", "2026-02-01", 2742},
		{"until the 11th (exclusive): 10/31 × 50.00 = 16.129… → 16.13", 5000, jan, "2026-01-01", "2026-01-11", 1613},
		// S6, computed by hand: fixed-day billing on the 1st, a service
		// starting Wed 2027-03-10 at 50.00/month is charged 22/31 × 50.00 =
		// 3548.387 cents, rounded half-even to 35.48 (not 35.49).
		{"S6: start Wed 2027-03-10, 22/31 × 50.00 = 35.48", 5000, per("2027-03-01", "2027-04-01"), "2027-03-10", "2027-04-01", 3548},
		{"S6 credit mirrors", -5000, per("2027-03-01", "2027-04-01"), "2027-03-10", "2027-04-01", -3548},
		{"exact half rounds to even (down)", 5, per("2026-01-01", "2026-01-03"), "2026-01-01", "2026-01-02", 2},
		{"exact half rounds to even (up)", 7, per("2026-01-01", "2026-01-03"), "2026-01-01", "2026-01-02", 4},
		{"one day", 3100, jan, "2026-01-10", "2026-01-11", 100},
		{"clamped to the period", 5000, jan, "2025-12-01", "2026-03-01", 5000},
		{"empty", 5000, jan, "2026-01-10", "2026-01-10", 0},
		{"inverted", 5000, jan, "2026-01-20", "2026-01-10", 0},
		{"outside", 5000, jan, "2026-02-01", "2026-02-10", 0},
		{"empty period", 5000, Period{}, "2026-01-01", "2026-02-01", 0},
		{"credit mirrors charge", -5000, jan, "2026-01-15", "2026-02-01", -2742},
		// F(60) − F(59) with F(x) = 1e12·x/366 rounded half-even:
		// 163934426229.508… → …230, 161202185792.349… → …792.
		{"1e12 minor units over a leap year's annual period", 1e12, per("2028-01-01", "2029-01-01"), "2028-02-29", "2028-03-01", 163934426230 - 161202185792},
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

// Property (b): every piece is close to its exact share price·days/total —
// within half a minor unit when it touches the period's start or end (every
// service start and stop), within one minor unit anywhere else — and the
// rounding is symmetric: Prorate(−p) = −Prorate(p).
func TestProrateAccuracyProperty(t *testing.T) {
	half := big.NewRat(1, 2)
	one := big.NewRat(1, 1)
	checkProperty(t, func(r *rand.Rand) error {
		start := randDate(r)
		p := Period{start, start.AddDays(1 + r.IntN(400))}
		if r.IntN(2) == 0 {
			p = PeriodAt(randDate(r), 1+r.IntN(31), time.Month(1+r.IntN(12)), randInterval(r))
		}
		price := []int64{r.Int64N(100000), r.Int64N(1e12 + 1), -r.Int64N(1e12 + 1), math.MaxInt64, math.MinInt64 + 1}[r.IntN(5)]
		days := p.Days()
		a, b := r.IntN(days+1), r.IntN(days+1)
		if a > b {
			a, b = b, a
		}
		switch r.IntN(3) { // a third touch the start, a third the end
		case 0:
			a = 0
		case 1:
			b = days
		}
		from, to := p.Start.AddDays(a), p.Start.AddDays(b)
		got := Prorate(price, p, from, to)
		exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(price), big.NewInt(int64(b-a))), big.NewInt(int64(days)))
		diff := new(big.Rat).Sub(new(big.Rat).SetInt64(got), exact)
		diff.Abs(diff)
		limit := one
		if a == 0 || b == days {
			limit = half
		}
		if diff.Cmp(limit) > 0 {
			return fmt.Errorf("price %d, period %v: [%s, %s) = %d, exact %s: off by %s (limit %s)",
				price, p, from, to, got, exact.FloatString(3), diff.FloatString(3), limit.RatString())
		}
		if mirror := Prorate(-price, p, from, to); mirror != -got {
			return fmt.Errorf("price %d, period %v: Prorate(−p) = %d, −Prorate(p) = %d", price, p, mirror, -got)
		}
		return nil
	})
}
