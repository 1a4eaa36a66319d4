package payments

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

var cardNow = time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC)

func TestCheckCard(t *testing.T) {
	ok := func(number string, month, year int, cvc string) CardInput {
		return CardInput{Number: number, ExpMonth: month, ExpYear: year, CVC: cvc}
	}
	tests := []struct {
		name      string
		card      CardInput
		wantErr   string // substring of the message; "" means valid
		brand     string
		last4     string
		wantYear  int
		wantMonth int
	}{
		{"visa", ok("4242424242424242", 12, 2030, "123"), "", "visa", "4242", 2030, 12},
		{"spaces and dashes", ok(" 4242 4242-4242 4242 ", 1, 2031, ""), "", "visa", "4242", 2031, 1},
		{"two-digit year", ok("4242424242424242", 7, 29, "123"), "", "visa", "4242", 2029, 7},
		{"this month is still good", ok("4242424242424242", 6, 2026, "123"), "", "visa", "4242", 2026, 6},
		{"mastercard", ok("5555555555554444", 1, 2030, "123"), "", "mastercard", "4444", 2030, 1},
		{"mastercard 2-series", ok("2223003122003222", 1, 2030, "123"), "", "mastercard", "3222", 2030, 1},
		{"amex", ok("378282246310005", 1, 2030, "1234"), "", "amex", "0005", 2030, 1},
		{"discover", ok("6011111111111117", 1, 2030, "123"), "", "discover", "1117", 2030, 1},
		{"diners", ok("36227206271667", 1, 2030, "123"), "", "diners", "1667", 2030, 1},
		{"jcb", ok("3566002020360505", 1, 2030, "123"), "", "jcb", "0505", 2030, 1},
		{"unionpay", ok("6200000000000005", 1, 2030, "123"), "", "unionpay", "0005", 2030, 1},

		{"luhn fails", ok("4242424242424241", 12, 2030, "123"), "card number is not valid", "", "", 0, 0},
		{"letters", ok("4242x24242424242", 12, 2030, "123"), "card number is not valid", "", "", 0, 0},
		{"too short", ok("42424242424", 12, 2030, "123"), "card number is not valid", "", "", 0, 0},
		{"too long", ok("42424242424242424242", 12, 2030, "123"), "card number is not valid", "", "", 0, 0},
		{"empty", ok("", 12, 2030, "123"), "card number is not valid", "", "", 0, 0},
		{"expired last month", ok("4242424242424242", 5, 2026, "123"), "card has expired", "", "", 0, 0},
		{"expired last year", ok("4242424242424242", 12, 2025, "123"), "card has expired", "", "", 0, 0},
		{"month 13", ok("4242424242424242", 13, 2030, "123"), "expiry month", "", "", 0, 0},
		{"month 0", ok("4242424242424242", 0, 2030, "123"), "expiry month", "", "", 0, 0},
		{"year far ahead", ok("4242424242424242", 1, 2090, "123"), "expiry year", "", "", 0, 0},
		{"cvc letters", ok("4242424242424242", 1, 2030, "12a"), "CVC", "", "", 0, 0},
		{"cvc 4 digits on visa", ok("4242424242424242", 1, 2030, "1234"), "must be 3 digits", "", "", 0, 0},
		{"cvc 3 digits on amex", ok("378282246310005", 1, 2030, "123"), "4 digits for American Express", "", "", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := checkCard(tc.card, cardNow)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("checkCard accepted the card, want error %q", tc.wantErr)
				}
				if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want EINVALID containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("checkCard: %v", err)
			}
			if c.brand != tc.brand || c.last4 != tc.last4 || c.expYear != tc.wantYear || c.expMonth != tc.wantMonth {
				t.Fatalf("got brand %q last4 %q exp %d/%d, want %q %q %d/%d",
					c.brand, c.last4, c.expMonth, c.expYear, tc.brand, tc.last4, tc.wantMonth, tc.wantYear)
			}
		})
	}
}

func TestSandboxCardsAreLuhnValid(t *testing.T) {
	for n := range sandboxCards {
		if !luhnValid(n) {
			t.Errorf("sandbox test number ending %s fails the Luhn check", n[len(n)-4:])
		}
	}
	for id, n := range TestPaymentMethods {
		if _, ok := sandboxCards[n]; !ok && n != "" {
			t.Errorf("Stripe's test method %s (card ending %s) has no sandbox behaviour", id, n[len(n)-4:])
		}
	}
}

func TestCheckBank(t *testing.T) {
	tests := []struct {
		routing, account string
		wantErr          string
	}{
		{"110000000", "000123456789", ""},
		{"021000021", "1234", ""}, // JPMorgan Chase NY: a real routing number with a valid check digit
		{"110000001", "000123456789", "routing number is not valid"},
		{"11000000", "000123456789", "routing number is not valid"},
		{"11000000a", "000123456789", "routing number is not valid"},
		{"110000000", "123", "bank account number is not valid"},
		{"110000000", "123456789012345678", "bank account number is not valid"},
		{"110000000", "12-3456", "bank account number is not valid"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s", tc.routing, tc.account), func(t *testing.T) {
			err := checkBank(tc.routing, tc.account)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkBank: %v", err)
				}
				return
			}
			if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want EINVALID containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestCardInputDoesNotPrint(t *testing.T) {
	c := CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "987", Name: "Ada"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v|%+v|%#v|%s", c, c, c, c), fmt.Sprint(&c), fmt.Sprint([]CardInput{c})} {
		if strings.Contains(s, "4242") || strings.Contains(s, "987") {
			t.Fatalf("printing a CardInput shows the card: %s", s)
		}
	}
}
