package billing

import (
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cur  Currency
		want int64
	}{
		{"49.99", "USD", 4999},
		{"50", "USD", 5000},
		{"0.5", "USD", 50},
		{" 7.05 ", "usd", 705},
		{"0", "USD", 0},
		{"1500", "JPY", 1500},
		{"1.234", "KWD", 1234},
		{"12.3", "BHD", 12300},
	} {
		got, err := ParseAmount(tc.in, tc.cur)
		if err != nil || got != tc.want {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d", tc.in, tc.cur, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		cur  Currency
		frag string
	}{
		{"1.234", "USD", `amount "1.234" has 3 decimal places but USD has 2`},
		{"1.5", "JPY", `amount "1.5" has 1 decimal places but JPY has 0`},
		{"abc", "USD", `amount "abc" is not a decimal number`},
		{"-5.00", "USD", `amount "-5.00" must not be negative`},
		{"", "USD", `amount "" is not a decimal number`},
		{"1,000.00", "USD", `amount "1,000.00" is not a decimal number`},
		{"1e3", "USD", `not a decimal number`},
		{".5", "USD", `not a decimal number`},
		{"5.", "USD", `not a decimal number`},
		{"+5", "USD", `not a decimal number`},
		{"99999999999999999999", "USD", `too large`},
		{"5", "XYZ", `currency "XYZ" is not a supported ISO 4217 code`},
	} {
		_, err := ParseAmount(tc.in, tc.cur)
		if err == nil || !strings.Contains(ErrorMessage(err), tc.frag) {
			t.Errorf("ParseAmount(%q, %s) error = %v, want one containing %q", tc.in, tc.cur, err, tc.frag)
		}
	}
}
