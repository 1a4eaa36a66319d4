package billing

import "unicode/utf8"

// Bounds of every value Tollgate accepts from outside (the admin API, the
// CSV importers, the portal's forms).
const (
	// MaxAmount is the largest amount, in minor units, of any single money
	// value entered: a payment, charge, credit, plan price, fee, tax amount
	// or batch line (1e11: USD 1,000,000,000.00). Sums of many such amounts
	// stay far inside int64.
	MaxAmount = 100_000_000_000
	// MinYear and MaxYear bound every date entered (1970-01-01 to
	// 9999-12-31).
	MinYear = 1970
	MaxYear = 9999
	// MaxFutureDays is how far after today a date that records something
	// that happened (a payment's received date, a deposit date, a charge
	// date) or a billing-run date may lie.
	MaxFutureDays = 366
)

// CheckText reports whether s is text Tollgate stores: valid UTF-8 with no
// C0 control character (U+0000–U+001F) and no DEL, except that a multi-line
// field may hold tab, CR and LF, and at most maxChars characters. The
// returned error is EINVALID and names the problem, not the field (the
// caller adds that).
func CheckText(s string, multiline bool, maxChars int) error {
	n := 0
	for i, r := range s {
		n++
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return Errorf(EINVALID, "is not valid UTF-8 text (byte %d)", i)
			}
		case r == '\t' || r == '\n' || r == '\r':
			if !multiline {
				return Errorf(EINVALID, "contains a control character (U+%04X) at byte %d; this field is one line of text", r, i)
			}
		case r < 0x20 || r == 0x7f:
			return Errorf(EINVALID, "contains a control character (U+%04X) at byte %d", r, i)
		}
	}
	if n > maxChars {
		return Errorf(EINVALID, "is %d characters long; at most %d are allowed", n, maxChars)
	}
	return nil
}

// CheckAmount reports whether amount (minor units) lies within ±MaxAmount;
// the returned error is EINVALID and names field.
func CheckAmount(field string, amount int64) error {
	if amount > MaxAmount || amount < -MaxAmount {
		return Errorf(EINVALID, "%s %d is out of range: amounts are at most %d minor units", field, amount, int64(MaxAmount))
	}
	return nil
}

// CheckDate reports whether d lies within MinYear–MaxYear; the returned
// error is EINVALID and names field. The zero date (not given) passes.
func CheckDate(field string, d Date) error {
	if d.IsZero() {
		return nil
	}
	if d.Year < MinYear || d.Year > MaxYear {
		return Errorf(EINVALID, "%s %s is out of range: dates lie between %d-01-01 and %d-12-31", field, d, MinYear, MaxYear)
	}
	return nil
}

// CheckNotFuture reports whether d lies no more than MaxFutureDays after
// today; the returned error is EINVALID and names field.
func CheckNotFuture(field string, d, today Date) error {
	if d.IsZero() || today.IsZero() {
		return nil
	}
	if today.DaysUntil(d) > MaxFutureDays {
		return Errorf(EINVALID, "%s %s lies more than %d days in the future", field, d, MaxFutureDays)
	}
	return nil
}
