package billing

import "math/bits"

// Prorate returns the part of price (the charge for the whole period p)
// that falls on the days [from, to) of p, day-granular.
//
// It uses cumulative allocation: with F(x) = price·x/days rounded toward
// zero, the days [from, to) are charged F(offset(to)) − F(offset(from)),
// where offset counts days from p.Start. F(0) = 0 and F(days) = price, so
// the pieces of any partition of a period sum exactly to price: a service
// billed in pieces (plan changes, stops and restarts) is never charged a
// minor unit more or less than the whole.
//
// Rounding toward zero (rather than the floor) makes credits mirror charges:
// Prorate(-price, …) == -Prorate(price, …), so a credit for unused days
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

// cumulative is price·x/days rounded toward zero, for 0 <= x <= days.
func cumulative(price int64, x, days int) int64 {
	neg := price < 0
	u := uint64(price)
	if neg {
		u = -u // two's complement: also right for math.MinInt64
	}
	hi, lo := bits.Mul64(u, uint64(x))
	// u·x <= u·days < 2^64·days, so hi < days and Div64 cannot overflow.
	q, _ := bits.Div64(hi, lo, uint64(days))
	if neg {
		return -int64(q)
	}
	return int64(q)
}
