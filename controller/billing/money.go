package billing

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 currency code ("USD").
type Currency string

// minorUnits lists the currencies Tollgate accepts and their minor-unit
// exponents (ISO 4217). Amounts are int64 counts of the minor unit.
var minorUnits = map[Currency]int{
	"USD": 2, "CAD": 2, "MXN": 2, "EUR": 2, "GBP": 2, "CHF": 2, "AUD": 2, "NZD": 2,
	"BRL": 2, "ARS": 2, "CLP": 0, "COP": 2, "PEN": 2, "ZAR": 2, "NGN": 2, "KES": 2,
	"INR": 2, "PHP": 2, "IDR": 2, "JPY": 0, "KRW": 0, "SEK": 2, "NOK": 2, "DKK": 2,
	"PLN": 2, "CZK": 2, "HUF": 2, "RON": 2, "TRY": 2, "ILS": 2, "AED": 2, "SAR": 2,
	"BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
}

// ParseCurrency validates an ISO 4217 code.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(strings.ToUpper(strings.TrimSpace(s)))
	if _, ok := minorUnits[c]; !ok {
		return "", Errorf(EINVALID, "currency %q is not a supported ISO 4217 code", s)
	}
	return c, nil
}

// MinorUnits is the number of decimal places of the currency's minor unit.
func (c Currency) MinorUnits() int { return minorUnits[c] }

// Money is an amount in a currency's minor unit (cents for USD).
type Money struct {
	Amount   int64    `json:"amount"`
	Currency Currency `json:"currency"`
}

// String formats the amount with its currency's decimals: "USD 12.34".
func (m Money) String() string { return string(m.Currency) + " " + FormatAmount(m.Amount, m.Currency) }

// FormatAmount formats minor units as a decimal string ("-12.34").
func FormatAmount(amount int64, c Currency) string {
	exp := c.MinorUnits()
	sign := ""
	u := uint64(amount)
	if amount < 0 {
		sign, u = "-", uint64(-amount)
	}
	if exp == 0 {
		return fmt.Sprintf("%s%d", sign, u)
	}
	div := uint64(1)
	for range exp {
		div *= 10
	}
	return fmt.Sprintf("%s%d.%0*d", sign, u/div, exp, u%div)
}

// ParseAmount parses a decimal amount ("49.99") into minor units of
// currency c (4999 cents). It refuses signs, exponents, thousands
// separators and more decimal places than the currency has ("1.234" USD).
func ParseAmount(s string, c Currency) (int64, error) {
	cur, err := ParseCurrency(string(c))
	if err != nil {
		return 0, Errorf(EINVALID, "amount %q: %s", s, ErrorMessage(err))
	}
	exp := cur.MinorUnits()
	v := strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(v, ".")
	digits := func(x string) bool {
		for _, r := range x {
			if r < '0' || r > '9' {
				return false
			}
		}
		return x != ""
	}
	switch {
	case strings.HasPrefix(v, "-"):
		return 0, Errorf(EINVALID, "amount %q must not be negative", s)
	case !digits(whole) || (hasDot && !digits(frac)):
		return 0, Errorf(EINVALID, "amount %q is not a decimal number like 49.99", s)
	case len(frac) > exp:
		return 0, Errorf(EINVALID, "amount %q has %d decimal places but %s has %d", s, len(frac), cur, exp)
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n > math.MaxInt64/100 { // leave room for taxes and sums
		return 0, Errorf(EINVALID, "amount %q is too large", s)
	}
	return n, nil
}

// ParsePositiveAmount parses the decimal amount of a payment, charge,
// credit, refund or fee as ParseAmount does; it must be more than zero and
// at most MaxAmount. Errors are EINVALID and quote s.
func ParsePositiveAmount(s string, c Currency) (int64, error) {
	n, err := ParseAmount(s, c)
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return 0, Errorf(EINVALID, "amount %q must be more than zero", s)
	case n > MaxAmount:
		return 0, Errorf(EINVALID, "amount %q is larger than any amount Tollgate accepts", s)
	}
	return n, nil
}
