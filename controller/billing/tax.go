package billing

import (
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// maxTaxPlaces is the most decimal places a tax rate may have (0.000001 =
// 0.0001%).
const maxTaxPlaces = 6

// TaxRate is one tax levied in a jurisdiction (state sales tax, county
// tax, VAT). An account's jurisdiction may have several.
type TaxRate struct {
	// Jurisdiction is the code accounts name in their tax_jurisdiction
	// ("US-TX-AUSTIN").
	Jurisdiction string `json:"jurisdiction"`
	// Name is printed on the invoice line ("Texas sales tax").
	Name string `json:"name"`
	// Rate is a decimal fraction as a string: "0.0825" is 8.25%.
	Rate string `json:"rate"`
}

// Validate checks the rate.
//
// Errors: EINVALID naming the field when jurisdiction or name is empty or
// longer than 100 characters, or rate is not a decimal fraction with
// 0 <= rate < 1 and at most 6 decimal places.
func (r TaxRate) Validate() error {
	if strings.TrimSpace(r.Jurisdiction) == "" {
		return Errorf(EINVALID, "jurisdiction is required")
	}
	if utf8.RuneCountInString(r.Jurisdiction) > 100 {
		return Errorf(EINVALID, "jurisdiction %q is longer than 100 characters", r.Jurisdiction)
	}
	if strings.TrimSpace(r.Name) == "" {
		return Errorf(EINVALID, "name is required")
	}
	if utf8.RuneCountInString(r.Name) > 100 {
		return Errorf(EINVALID, "name %q is longer than 100 characters", r.Name)
	}
	d, err := parseRate(r.Rate)
	if err != nil {
		return Errorf(EINVALID, "rate %q is not a decimal number (a fraction: \"0.0825\" is 8.25%%)", r.Rate)
	}
	if d.IsNegative() || d.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return Errorf(EINVALID, "rate %q is out of range: it is a fraction, 0 <= rate < 1 (\"0.0825\" is 8.25%%)", r.Rate)
	}
	if !d.Truncate(maxTaxPlaces).Equal(d) {
		return Errorf(EINVALID, "rate %q has more than %d decimal places", r.Rate, maxTaxPlaces)
	}
	return nil
}

// Tax returns the tax on amount (minor units) at the rate, rounded half-even
// to the minor unit (banker's rounding: 0.5 → 0, 1.5 → 2, 2.5 → 2).
// Negative amounts (credits) give the mirror-image tax.
//
// Tax expects a rate that passed [TaxRate.Validate]; an unparseable rate
// yields 0. [ComposeInvoice] validates its rates before using them.
func (r TaxRate) Tax(amount int64) int64 {
	d, err := parseRate(r.Rate)
	if err != nil {
		return 0
	}
	return decimal.NewFromInt(amount).Mul(d).RoundBank(0).IntPart()
}

// Percent formats the rate as a percentage: "0.0825" → "8.25%".
func (r TaxRate) Percent() string {
	d, err := parseRate(r.Rate)
	if err != nil {
		return r.Rate
	}
	return d.Shift(2).String() + "%"
}

// parseRate parses a rate string; surrounding space is ignored.
func parseRate(s string) (decimal.Decimal, error) { return decimal.NewFromString(strings.TrimSpace(s)) }
