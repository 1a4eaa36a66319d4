package billing

import "math/bits"

// Prorate returns the part of price (the charge for the whole period p)
// that falls on the days [from, to) of p, day-granular.
//
// It uses cumulative allocation: with F(x) = price·x/days rounded half to
// even, the days [from, to) are charged F(offset(to)) − F(offset(from)),
// where offset counts days from p.Start. F(0) = 0 and F(days) = price, so
// the pieces of any partition of a period sum exactly to price: a service
// billed in pieces (plan changes, stops and restarts) is never charged a
// minor unit more or less than the whole.
//
// Because F is the exact running total rounded to the nearest minor unit
// (ties to even), a piece that starts at the period's start or ends at its
// end — every service start and stop — is within half a minor unit of the
// exact share, and any other piece is within one. A service starting Wed
// 2027-03-10 in a 31-day March at 50.00 is charged 22/31 × 50.00 = 35.48
// (3548.387 cents), not 35.49.
//
// Half-even rounding is symmetric about zero, so credits mirror charges:
// Prorate(-price, …) == -Prorate(price, …), and a credit for unused days
// exactly reverses the charge for those days. The intermediate product is
// computed in 128 bits, so any int64 price is safe.
//
// from and to are clamped to p; an empty or inverted range, or an empty
// period, yields 0. Days are civil dates, so daylight-saving changes never
// shorten or lengthen a day's share.
func Prorate(price int64, p Period, from, to Date) int64 {
	days := p.Days()
	if days == 0 {
		return 0
	}
	if from.Before(p.Start) {
		from = p.Start
	}
	if to.After(p.End) {
		to = p.End
	}
	if !from.Before(to) {
		return 0
	}
	return cumulative(price, p.Start.DaysUntil(to), days) - cumulative(price, p.Start.DaysUntil(from), days)
}

// cumulative is price·x/days rounded half to even, for 0 <= x <= days.
func cumulative(price int64, x, days int) int64 {
	neg := price < 0
	u := uint64(price)
	if neg {
		u = -u // two's complement: also right for math.MinInt64
	}
	hi, lo := bits.Mul64(u, uint64(x))
	// u·x <= u·days < 2^64·days, so hi < days and Div64 cannot overflow.
	q, r := bits.Div64(hi, lo, uint64(days))
	// r < days, so 2r fits; round up past the half, and at the half to even.
	// q+1 cannot exceed |price| (x <= days), so it cannot overflow either.
	if twice := 2 * r; twice > uint64(days) || (twice == uint64(days) && q%2 == 1) {
		q++
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}
