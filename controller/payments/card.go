package payments

import (
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// checkedCard is a card that passed local validation. It holds the digits
// only for the duration of one Tokenize call.
type checkedCard struct {
	digits   string
	brand    string
	last4    string
	expMonth int
	expYear  int
}

// checkCard validates a card locally, before it goes anywhere: digits and
// Luhn check, expiry (a card is good through the last day of its expiry
// month) and CVC shape. Messages never contain the number or the CVC.
func checkCard(card CardInput, now time.Time) (checkedCard, error) {
	digits, ok := cardDigits(card.Number)
	if !ok || len(digits) < 12 || len(digits) > 19 || !luhnValid(digits) {
		return checkedCard{}, billing.Errorf(billing.EINVALID, "card number is not valid")
	}
	c := checkedCard{digits: digits, brand: cardBrand(digits), last4: digits[len(digits)-4:]}

	if card.ExpMonth < 1 || card.ExpMonth > 12 {
		return checkedCard{}, billing.Errorf(billing.EINVALID, "card expiry month must be 1 to 12")
	}
	year := card.ExpYear
	if year >= 0 && year < 100 {
		year += 2000
	}
	now = now.UTC()
	if year < 2000 || year > now.Year()+50 {
		return checkedCard{}, billing.Errorf(billing.EINVALID, "card expiry year is not valid")
	}
	if year < now.Year() || (year == now.Year() && time.Month(card.ExpMonth) < now.Month()) {
		return checkedCard{}, billing.Errorf(billing.EINVALID, "card has expired")
	}
	c.expMonth, c.expYear = card.ExpMonth, year

	if card.CVC != "" {
		want := 3
		if c.brand == "amex" {
			want = 4
		}
		if len(card.CVC) != want || !allDigits(card.CVC) {
			if want == 4 {
				return checkedCard{}, billing.Errorf(billing.EINVALID, "card security code (CVC) must be 4 digits for American Express")
			}
			return checkedCard{}, billing.Errorf(billing.EINVALID, "card security code (CVC) must be 3 digits")
		}
	}
	return c, nil
}

// cardDigits strips the spaces and dashes people type between digit groups;
// it reports false for any other non-digit.
func cardDigits(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", false
		}
	}
	return b.String(), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// luhnValid reports whether a digit string passes the Luhn (mod 10) check.
func luhnValid(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// cardBrand names the card network from the number's prefix (IIN ranges),
// with Stripe's brand names.
func cardBrand(digits string) string {
	prefix := func(n int) int {
		if len(digits) < n {
			return -1
		}
		v, _ := strconv.Atoi(digits[:n])
		return v
	}
	p1, p2, p3, p4, p6 := prefix(1), prefix(2), prefix(3), prefix(4), prefix(6)
	switch {
	case p2 == 34 || p2 == 37:
		return "amex"
	case p1 == 4:
		return "visa"
	case (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720):
		return "mastercard"
	case p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925):
		return "discover"
	case (p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39 || p4 == 3095:
		return "diners"
	case p4 >= 3528 && p4 <= 3589:
		return "jcb"
	case p2 == 62 || p2 == 81:
		return "unionpay"
	default:
		return "unknown"
	}
}

// checkBank validates a US routing number (nine digits with the ABA check
// digit) and an account number (4 to 17 digits).
func checkBank(routing, account string) error {
	routing, account = strings.TrimSpace(routing), strings.TrimSpace(account)
	if len(routing) != 9 || !allDigits(routing) || !abaValid(routing) {
		return billing.Errorf(billing.EINVALID, "routing number is not valid")
	}
	if len(account) < 4 || len(account) > 17 || !allDigits(account) {
		return billing.Errorf(billing.EINVALID, "bank account number is not valid")
	}
	return nil
}

// abaValid checks an ABA routing number's check digit:
// 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
func abaValid(r string) bool {
	d := func(i int) int { return int(r[i] - '0') }
	sum := 3*(d(0)+d(3)+d(6)) + 7*(d(1)+d(4)+d(7)) + (d(2) + d(5) + d(8))
	return sum%10 == 0
}
