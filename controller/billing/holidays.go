package billing

import (
	"slices"
	"sync"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/ar"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/au"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/bg"
	"github.com/rickar/cal/v2/br"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/cz"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/gr"
	"github.com/rickar/cal/v2/hr"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/jp"
	"github.com/rickar/cal/v2/lt"
	"github.com/rickar/cal/v2/lv"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/ro"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/si"
	"github.com/rickar/cal/v2/sk"
	"github.com/rickar/cal/v2/ua"
	"github.com/rickar/cal/v2/us"
	"github.com/rickar/cal/v2/za"
)

// holidayCalendar is one selectable holiday calendar.
//
// Codes are ISO 3166-1 alpha-2 countries and ISO 3166-2 subdivisions, as far
// as github.com/rickar/cal/v2 (v2.1.13) has data for them. That library has
// no Canadian provinces, no Scottish calendar and no Mexican holidays, so
// CA-ON, CA-QC, GB-SCT and MX are not offered: a calendar that silently
// missed a region's holidays would be worse than none.
//
// Australia and Switzerland have only state/canton lists in the library, so
// "AU" and "CH" are the days that are a holiday in every state or canton
// (New Year, Good Friday, Christmas, …).
type holidayCalendar struct {
	holidays []*cal.Holiday
	// allOf, when set, makes the calendar the intersection of these codes'
	// calendars: a day is a holiday only if it is one in each.
	allOf []string
}

var holidayCalendars = map[string]holidayCalendar{
	"AR": {holidays: ar.Holidays},
	"AT": {holidays: at.Holidays},
	"BE": {holidays: be.Holidays},
	"BG": {holidays: bg.Holidays},
	"BR": {holidays: br.Holidays},
	"CA": {holidays: ca.Holidays},
	"CZ": {holidays: cz.Holidays},
	"DE": {holidays: de.Holidays},
	"DK": {holidays: dk.Holidays},
	"ES": {holidays: es.Holidays},
	"FR": {holidays: fr.Holidays},
	"GB": {holidays: gb.Holidays},
	"GR": {holidays: gr.Holidays},
	"HR": {holidays: hr.Holidays},
	"IE": {holidays: ie.Holidays},
	"IT": {holidays: it.Holidays},
	"JP": {holidays: jp.Holidays},
	"LT": {holidays: lt.Holidays},
	"LV": {holidays: lv.Holidays},
	"NL": {holidays: nl.Holidays},
	"NO": {holidays: no.Holidays},
	"NZ": {holidays: nz.Holidays},
	"PL": {holidays: pl.Holidays},
	"RO": {holidays: ro.Holidays},
	"SE": {holidays: se.Holidays},
	"SI": {holidays: si.Holidays},
	"SK": {holidays: sk.Holidays},
	"UA": {holidays: ua.Holidays},
	"US": {holidays: us.Holidays},
	"ZA": {holidays: za.Holidays},

	"DE-BW": {holidays: de.HolidaysBW},
	"DE-BY": {holidays: de.HolidaysBY},
	"DE-BE": {holidays: de.HolidaysBE},
	"DE-BB": {holidays: de.HolidaysBB},
	"DE-HB": {holidays: de.HolidaysHB},
	"DE-HH": {holidays: de.HolidaysHH},
	"DE-HE": {holidays: de.HolidaysHE},
	"DE-MV": {holidays: de.HolidaysMV},
	"DE-NI": {holidays: de.HolidaysNI},
	"DE-NW": {holidays: de.HolidaysNW},
	"DE-RP": {holidays: de.HolidaysRP},
	"DE-SL": {holidays: de.HolidaysSL},
	"DE-SN": {holidays: de.HolidaysSN},
	"DE-ST": {holidays: de.HolidaysST},
	"DE-SH": {holidays: de.HolidaysSH},
	"DE-TH": {holidays: de.HolidaysTH},

	"AU":     {allOf: []string{"AU-ACT", "AU-NSW", "AU-NT", "AU-QLD", "AU-SA", "AU-TAS", "AU-VIC", "AU-WA"}},
	"AU-ACT": {holidays: au.HolidaysACT},
	"AU-NSW": {holidays: au.HolidaysNSW},
	"AU-NT":  {holidays: au.HolidaysNT},
	"AU-QLD": {holidays: au.HolidaysQLD},
	"AU-SA":  {holidays: au.HolidaysSA},
	"AU-TAS": {holidays: au.HolidaysTAS},
	"AU-VIC": {holidays: au.HolidaysVIC},
	"AU-WA":  {holidays: au.HolidaysWA},

	"CH": {allOf: []string{"CH-ZH", "CH-BE", "CH-LU", "CH-UR", "CH-SZ", "CH-OW", "CH-NW", "CH-GL", "CH-ZG", "CH-FR", "CH-SO", "CH-BS", "CH-BL",
		"CH-SH", "CH-AR", "CH-AI", "CH-SG", "CH-GR", "CH-AG", "CH-TG", "CH-VD", "CH-TI", "CH-VS", "CH-NE", "CH-GE", "CH-JU"}},
	"CH-ZH": {holidays: ch.HolidaysZH},
	"CH-BE": {holidays: ch.HolidaysBE},
	"CH-LU": {holidays: ch.HolidaysLU},
	"CH-UR": {holidays: ch.HolidaysUR},
	"CH-SZ": {holidays: ch.HolidaysSZ},
	"CH-OW": {holidays: ch.HolidaysOW},
	"CH-NW": {holidays: ch.HolidaysNW},
	"CH-GL": {holidays: ch.HolidaysGL},
	"CH-ZG": {holidays: ch.HolidaysZG},
	"CH-FR": {holidays: ch.HolidaysFR},
	"CH-SO": {holidays: ch.HolidaysSO},
	"CH-BS": {holidays: ch.HolidaysBS},
	"CH-BL": {holidays: ch.HolidaysBL},
	"CH-SH": {holidays: ch.HolidaysSH},
	"CH-AR": {holidays: ch.HolidaysAR},
	"CH-AI": {holidays: ch.HolidaysAI},
	"CH-SG": {holidays: ch.HolidaysSG},
	"CH-GR": {holidays: ch.HolidaysGR},
	"CH-AG": {holidays: ch.HolidaysAG},
	"CH-TG": {holidays: ch.HolidaysTG},
	"CH-VD": {holidays: ch.HolidaysVD},
	"CH-TI": {holidays: ch.HolidaysTI},
	"CH-VS": {holidays: ch.HolidaysVS},
	"CH-NE": {holidays: ch.HolidaysNE},
	"CH-GE": {holidays: ch.HolidaysGE},
	"CH-JU": {holidays: ch.HolidaysJU},
}

// KnownHolidayCalendars returns the codes accepted in an account type's
// holiday_calendars, sorted.
func KnownHolidayCalendars() []string {
	codes := make([]string, 0, len(holidayCalendars))
	for c := range holidayCalendars {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// HolidayCalendarHolidays returns the holidays of a calendar in a year, by
// date, each with its names (an observed date names the holiday
// "<name>, observed"). The result is shared: callers must not modify it.
// Unknown codes yield nil.
func HolidayCalendarHolidays(code string, year int) map[Date][]string {
	hc, ok := holidayCalendars[code]
	if !ok {
		return nil
	}
	key := holidayKey{code, year}
	holidayCache.Lock()
	m, ok := holidayCache.m[key]
	holidayCache.Unlock()
	if ok {
		return m
	}
	if hc.allOf != nil {
		m = intersectHolidays(hc.allOf, year)
	} else {
		m = map[Date][]string{}
		// An observed date can fall in the neighbouring year (New Year's
		// Day on a Saturday is observed on Dec 31), so look at both.
		for _, y := range []int{year - 1, year, year + 1} {
			for _, h := range hc.holidays {
				actual, observed := h.Calc(y)
				if actual.IsZero() {
					continue
				}
				if a := DateOf(actual); a.Year == year {
					m[a] = appendName(m[a], h.Name)
				}
				if o := DateOf(observed); o.Year == year && o != DateOf(actual) {
					m[o] = appendName(m[o], h.Name+", observed")
				}
			}
		}
	}
	holidayCache.Lock()
	holidayCache.m[key] = m
	holidayCache.Unlock()
	return m
}

type holidayKey struct {
	code string
	year int
}

// holidayCache memoises holiday dates by calendar and year (pure data; at
// most a few hundred entries in practice).
var holidayCache = struct {
	sync.Mutex
	m map[holidayKey]map[Date][]string
}{m: map[holidayKey]map[Date][]string{}}

// intersectHolidays is the days that are holidays in every calendar of
// codes, named as in the first.
func intersectHolidays(codes []string, year int) map[Date][]string {
	out := map[Date][]string{}
	for d, names := range HolidayCalendarHolidays(codes[0], year) {
		every := true
		for _, c := range codes[1:] {
			if len(HolidayCalendarHolidays(c, year)[d]) == 0 {
				every = false
				break
			}
		}
		if every {
			out[d] = names
		}
	}
	return out
}

func appendName(names []string, n string) []string {
	if slices.Contains(names, n) {
		return names
	}
	return append(names, n)
}
