package billing

import "github.com/shopspring/decimal"

// LateFeeAmount is the late fee (minor units) on an invoice with the given
// open amount: the flat amount, or the percent of open rounded half-even to
// the minor unit; 0 for kind none, an open amount <= 0, or settings that
// did not pass [AccountType.Validate].
func LateFeeAmount(f LateFee, open int64) int64 {
	if open <= 0 {
		return 0
	}
	switch f.Kind {
	case LateFeeFlat:
		return max(f.Amount, 0)
	case LateFeePercent:
		p, err := parseRate(f.Percent)
		if err != nil || !p.IsPositive() {
			return 0
		}
		return decimal.NewFromInt(open).Mul(p).Shift(-2).RoundBank(0).IntPart()
	}
	return 0
}
