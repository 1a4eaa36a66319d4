package billing

import (
	"reflect"
	"strings"
	"testing"
)

func TestPlanSearchByShape(t *testing.T) {
	for _, tc := range []struct {
		name, q string
		want    SearchPlan
	}{
		{"IPv4 address", " 10.0.0.5 ", SearchPlan{Query: "10.0.0.5", Addresses: []string{"10.0.0.5", "10.0.0.5/32"}, Network: "10.0.0.5/32"}},
		{"IPv6 address", "2001:db8::1", SearchPlan{Query: "2001:db8::1", Addresses: []string{"2001:db8::1", "2001:db8::1/128"}, Network: "2001:db8::1/128"}},
		{"host prefix", "10.0.0.5/32", SearchPlan{Query: "10.0.0.5/32", Addresses: []string{"10.0.0.5/32", "10.0.0.5"}, Network: "10.0.0.5/32"}},
		{"unmasked prefix", "10.0.0.5/29", SearchPlan{Query: "10.0.0.5/29", Addresses: []string{"10.0.0.5/29", "10.0.0.0/29"}, Network: "10.0.0.0/29"}},
		{"short digits", "42", SearchPlan{Query: "42", AccountNumbers: []string{"A-000042"}, InvoiceNumbers: []string{"INV-0000042"},
			Reference: "42", ExternalID: "42"}},
		{"leading zeros", "0001234", SearchPlan{Query: "0001234", AccountNumbers: []string{"A-001234"}, InvoiceNumbers: []string{"INV-0001234"},
			Reference: "0001234", ExternalID: "0001234", PhoneDigits: "0001234"}},
		{"long digits", "5125550100", SearchPlan{Query: "5125550100", AccountNumbers: []string{"A-5125550100"}, InvoiceNumbers: []string{"INV-5125550100"},
			Reference: "5125550100", ExternalID: "5125550100", PhoneDigits: "5125550100"}},
		{"account number", "A-000042", SearchPlan{Query: "A-000042", AccountNumbers: []string{"A-000042"}, InvoiceNumbers: []string{"A-000042"},
			Reference: "A-000042", ExternalID: "A-000042", Username: "A-000042"}},
		{"account number typed short", "a42", SearchPlan{Query: "a42", AccountNumbers: []string{"A42", "A-000042"}, InvoiceNumbers: []string{"A42"},
			Reference: "a42", ExternalID: "a42", Username: "a42"}},
		{"invoice number", "inv-123", SearchPlan{Query: "inv-123", AccountNumbers: []string{"INV-123"}, InvoiceNumbers: []string{"INV-123", "INV-0000123"},
			Reference: "inv-123", ExternalID: "inv-123", Username: "inv-123"}},
		{"phone with separators", "+1 (512) 555-0100", SearchPlan{Query: "+1 (512) 555-0100", PhoneDigits: "15125550100"}},
		{"e-mail", "Jane@Example.net", SearchPlan{Query: "Jane@Example.net", Username: "Jane@Example.net", Substring: "%Jane@Example.net%",
			SubstringFields: []SearchField{MatchEmail}}},
		{"name", "  jane   smith ", SearchPlan{Query: "jane smith", ExternalID: "jane smith", Substring: "%jane smith%", SubstringFields: textFields}},
		{"one word", "Smith", SearchPlan{Query: "Smith", ExternalID: "Smith", Reference: "Smith", Username: "Smith",
			AccountNumbers: []string{"SMITH"}, InvoiceNumbers: []string{"SMITH"}, Substring: "%Smith%", SubstringFields: textFields}},
		{"two characters: exact only", "ab", SearchPlan{Query: "ab", ExternalID: "ab", Reference: "ab", Username: "ab",
			AccountNumbers: []string{"AB"}, InvoiceNumbers: []string{"AB"}}},
		{"wildcards taken literally", `50%_off\`, SearchPlan{Query: `50%_off\`, ExternalID: `50%_off\`, Reference: `50%_off\`, Username: `50%_off\`,
			AccountNumbers: []string{`50%_OFF\`}, InvoiceNumbers: []string{`50%_OFF\`}, Substring: `%50\%\_off\\%`, SubstringFields: textFields}},
		{"street address", "12 Main St", SearchPlan{Query: "12 Main St", ExternalID: "12 Main St", Substring: "%12 Main St%", SubstringFields: textFields}},
		{"too few digits for a phone", "555-010", SearchPlan{Query: "555-010", ExternalID: "555-010", Reference: "555-010", Username: "555-010",
			AccountNumbers: []string{"555-010"}, InvoiceNumbers: []string{"555-010"}, Substring: "%555-010%", SubstringFields: textFields}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlanSearch(tc.q, 0)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Limit = DefaultSearchLimit
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PlanSearch(%q):\n got %+v\nwant %+v", tc.q, got, tc.want)
			}
		})
	}
}

func TestPlanSearchRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, q   string
		limit     int
		fragments []string
	}{
		{"empty", "   ", 0, []string{"q is empty"}},
		{"too long", strings.Repeat("é", MaxSearchQuery+1), 0, []string{"q is 201 characters", "200"}},
		{"not UTF-8", "\xff\xfe", 0, []string{"q is not valid UTF-8"}},
		{"negative limit", "jane", -1, []string{"limit -1", "1 to 100"}},
		{"limit above the maximum", "jane", MaxSearchLimit + 1, []string{"limit 101", "1 to 100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PlanSearch(tc.q, tc.limit)
			wantInvalid(t, err, tc.fragments...)
		})
	}
	if p, err := PlanSearch("jane", MaxSearchLimit); err != nil || p.Limit != MaxSearchLimit {
		t.Errorf("limit %d: %+v, %v", MaxSearchLimit, p, err)
	}
}

func TestSearchPastDueTakesCreditFromTheOldest(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		balance, pastDue, notYetDue int64
		want                        int64
	}{
		{"nothing owed", 0, 0, 0, 0},
		{"one invoice past due, one not yet", 9000, 4000, 5000, 4000},
		{"credit pays part of the past-due invoice", 7000, 4000, 5000, 2000},
		{"credit covers the past-due invoice", 5000, 4000, 5000, 0},
		{"credit beyond every invoice", -1000, 4000, 5000, 0},
		{"nothing past due", 5000, 0, 5000, 0},
	} {
		if got := SearchPastDue(tc.balance, tc.pastDue, tc.notYetDue); got != tc.want {
			t.Errorf("%s: SearchPastDue(%d, %d, %d) = %d, want %d", tc.name, tc.balance, tc.pastDue, tc.notYetDue, got, tc.want)
		}
	}
}
