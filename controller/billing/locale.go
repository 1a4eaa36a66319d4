package billing

import (
	"strconv"
	"strings"
	"time"
)

// Locale is a BCP 47 language tag ("en-US", "de-DE") that chooses the
// language and the number and date formats of what subscribers read
// (notices, the portal's "why"). Staff views are not localised.
type Locale string

// DefaultLocale is the locale when neither the account, its account type
// nor the company names one.
const DefaultLocale Locale = "en-US"

// localeFormat is how one locale writes money and dates.
type localeFormat struct {
	lang string // "en", "de": the phrase table of subscriber reasons
	// decimal and group separate the fraction and the thousands.
	decimal, group string
	// symbolAfter writes "53,11 €" rather than "€53.11".
	symbolAfter bool
	// symbols are the currency signs used in this locale; other
	// currencies are written with their ISO code ("CHF 53.11").
	symbols  map[Currency]string
	weekdays [7]string
	months   [12]string
	// dayFirst writes "Saturday 18 December" / "Samstag, 18. Dezember".
	dayFirst bool
}

var (
	enWeekdays = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	enMonths   = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September",
		"October", "November", "December"}
	deWeekdays = [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}
	deMonths   = [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
		"Oktober", "November", "Dezember"}
)

// locales are the supported locales, by canonical tag.
var locales = map[Locale]localeFormat{
	"en-US": {lang: "en", decimal: ".", group: ",", weekdays: enWeekdays, months: enMonths,
		symbols: map[Currency]string{"USD": "$", "CAD": "CA$", "EUR": "€", "GBP": "£", "MXN": "MX$", "JPY": "¥"}},
	"en-CA": {lang: "en", decimal: ".", group: ",", weekdays: enWeekdays, months: enMonths,
		symbols: map[Currency]string{"CAD": "$", "USD": "US$", "EUR": "€", "GBP": "£"}},
	"en-GB": {lang: "en", decimal: ".", group: ",", weekdays: enWeekdays, months: enMonths, dayFirst: true,
		symbols: map[Currency]string{"GBP": "£", "EUR": "€", "USD": "US$"}},
	"de-DE": {lang: "de", decimal: ",", group: ".", symbolAfter: true, weekdays: deWeekdays, months: deMonths, dayFirst: true,
		symbols: map[Currency]string{"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}},
	"de-AT": {lang: "de", decimal: ",", group: ".", symbolAfter: true, weekdays: deWeekdays, months: deMonths, dayFirst: true,
		symbols: map[Currency]string{"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}},
}

// SupportedLocales lists the locales Tollgate writes, in a stable order.
var SupportedLocales = []Locale{"en-US", "en-CA", "en-GB", "de-DE", "de-AT"}

// ParseLocale validates a BCP 47 tag against [SupportedLocales], matching
// case-insensitively and accepting "_" for "-" ("de_de" is "de-DE"). ""
// is "" (inherit). Errors: EINVALID naming the tag and the supported ones.
func ParseLocale(s string) (Locale, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	want := strings.ReplaceAll(s, "_", "-")
	for _, l := range SupportedLocales {
		if strings.EqualFold(string(l), want) {
			return l, nil
		}
	}
	names := make([]string, len(SupportedLocales))
	for i, l := range SupportedLocales {
		names[i] = string(l)
	}
	return "", Errorf(EINVALID, "locale %q is not supported (supported: %s)", s, strings.Join(names, ", "))
}

// ResolveLocale is the locale subscribers of an account read: the first
// supported one of the account's own, its account type's and the
// company's, else [DefaultLocale].
func ResolveLocale(account, accountType, company Locale) Locale {
	for _, l := range []Locale{account, accountType, company} {
		if _, ok := locales[l]; ok {
			return l
		}
	}
	return DefaultLocale
}

func (l Locale) format() localeFormat {
	if f, ok := locales[l]; ok {
		return f
	}
	return locales[DefaultLocale]
}

// Money writes an amount in minor units the way l does: "$53.11",
// "-$1,234.50" (en-US), "53,11 €" (de-DE); a currency without a sign in l
// is written with its code ("CHF 53.11").
func (l Locale) Money(amount int64, c Currency) string {
	f := l.format()
	num := FormatAmount(amount, c)
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	whole, frac, _ := strings.Cut(num, ".")
	var b strings.Builder
	for i := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(f.group)
		}
		b.WriteByte(whole[i])
	}
	if frac != "" {
		b.WriteString(f.decimal + frac)
	}
	num = b.String()
	sign := ""
	if neg {
		sign = "-"
	}
	sym, ok := f.symbols[c]
	switch {
	case !ok && f.symbolAfter:
		return sign + num + " " + string(c)
	case !ok:
		return sign + string(c) + " " + num
	case f.symbolAfter:
		return sign + num + " " + sym
	}
	return sign + sym + num
}

// Date writes a date in words the way l does: "Saturday, December 18"
// (en-US), "Samstag, 18. Dezember" (de-DE), with the year added when it is
// not the year of today ("Saturday, December 18, 2027"). A zero date is "".
func (l Locale) Date(d, today Date) string {
	if d.IsZero() {
		return ""
	}
	f := l.format()
	wd, mon := f.weekdays[d.Weekday()], f.months[d.Month-time.January]
	day := strconv.Itoa(d.Day)
	withYear := d.Year != today.Year
	year := strconv.Itoa(d.Year)
	switch {
	case f.lang == "de":
		s := wd + ", " + day + ". " + mon
		if withYear {
			s += " " + year
		}
		return s
	case f.dayFirst:
		s := wd + " " + day + " " + mon
		if withYear {
			s += " " + year
		}
		return s
	}
	s := wd + ", " + mon + " " + day
	if withYear {
		s += ", " + year
	}
	return s
}

// Lang is l's language subtag ("en", "de").
func (l Locale) Lang() string { return l.format().lang }
