package documents

import (
	"strings"
	"unicode"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// formatAmountGrouped formats minor units with the currency's decimals and
// thousands separators: 123456 USD is "1,234.56", -1234567 JPY "-1,234,567".
func formatAmountGrouped(amount int64, c billing.Currency) string {
	s := billing.FormatAmount(amount, c)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// maskAccount hides a bank account number but for its last four digits or
// letters, behind a fixed "****" so that neither the number nor its length
// shows: "0012-3456-789" prints as "****6789". A number of four characters or
// fewer is masked whole.
func maskAccount(account string) string {
	var alnum []rune
	for _, r := range account {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			alnum = append(alnum, r)
		}
	}
	switch {
	case len(alnum) == 0:
		return ""
	case len(alnum) <= 4:
		return "****"
	default:
		return "****" + string(alnum[len(alnum)-4:])
	}
}

// oneLine makes free text safe for a single table cell or CSV field:
// control characters (newlines, tabs) become spaces and the ends are trimmed.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}

// SplitDepositAccount splits what staff typed as a batch's deposit account
// ("First Prairie Bank 0012-3456-789", "First Bank ****1234") into the
// bank's name and the account number: the number is the trailing words
// that hold a digit or an asterisk, the name what comes before them
// (without trailing separators). Text with no such word is all name; text
// that is all number has no name.
func SplitDepositAccount(text string) (bank, account string) {
	words := strings.Fields(text)
	cut := len(words)
	for cut > 0 && strings.ContainsFunc(words[cut-1], func(r rune) bool { return unicode.IsDigit(r) || r == '*' }) {
		cut--
	}
	bank = strings.TrimRight(strings.Join(words[:cut], " "), " -–—,:;#/")
	return bank, strings.Join(words[cut:], " ")
}
