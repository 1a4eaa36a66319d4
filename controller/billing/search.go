package billing

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Staff search (issue 18, console item 2): one box that finds accounts by
// number, name, company, e-mail, phone, billing or service address,
// external id, service IP or RADIUS user name, invoice number or check
// number. PlanSearch decides from the query's shape what to look for; the
// store runs the plan's probes (each backed by an index) and ranks exact
// matches first.

// Search limits.
const (
	// DefaultSearchLimit is how many hits a search returns when not told.
	DefaultSearchLimit = 20
	// MaxSearchLimit is the most hits one search returns.
	MaxSearchLimit = 100
	// MaxSearchQuery is the longest query, in characters.
	MaxSearchQuery = 200
	// MinSubstringQuery is the shortest query (in characters) searched as
	// a substring: a trigram index cannot narrow a shorter one, so a one- or
	// two-character query only finds exact matches.
	MinSubstringQuery = 3
)

// SearchField names what a search hit matched.
type SearchField string

// What a hit can match.
const (
	MatchNumber         SearchField = "number"          // the account number
	MatchExternalID     SearchField = "external_id"     // the account's id in the ISP's previous system
	MatchInvoice        SearchField = "invoice"         // an invoice number
	MatchCheck          SearchField = "check"           // a check payment's number
	MatchReference      SearchField = "reference"       // another payment's reference
	MatchPhone          SearchField = "phone"           // the account's phone (digits compared)
	MatchIP             SearchField = "ip"              // a service's address, or one its agent learned
	MatchUsername       SearchField = "username"        // a service's RADIUS user name
	MatchEmail          SearchField = "email"           // the account's e-mail address
	MatchName           SearchField = "name"            // the account holder's name
	MatchCompany        SearchField = "company"         // the account's company name
	MatchAddress        SearchField = "address"         // the billing address
	MatchServiceAddress SearchField = "service_address" // a service's address (where it is delivered)
)

// SearchMatch is what a hit matched: the field and its text (for an
// invoice its number, for an IP the address, for an address the address on
// one line).
type SearchMatch struct {
	Field SearchField `json:"field"`
	Text  string      `json:"text"`
	// Exact is true when the whole field equals the query (as normalised
	// for its kind); false for a substring match.
	Exact bool `json:"exact"`
}

// String reads "invoice INV-0001234", "ip 10.0.0.5", "check 1042".
func (m SearchMatch) String() string { return string(m.Field) + " " + m.Text }

// SearchHit is one account a search found.
type SearchHit struct {
	AccountID   int64         `json:"account_id"`
	Number      string        `json:"number"`
	Name        string        `json:"name"`
	CompanyName string        `json:"company_name"`
	Status      AccountStatus `json:"status"`
	Currency    string        `json:"currency"`
	// Balance is what the account owes (negative: credit), minor units.
	Balance int64 `json:"balance"`
	// PastDue is what is owed on invoices whose due date has passed in the
	// account type's time zone, after the account's credit (minor units).
	PastDue int64       `json:"past_due"`
	Match   SearchMatch `json:"match"`
}

// SearchPlan is what a search looks for. Empty fields are not looked for.
type SearchPlan struct {
	// Query is the query as searched: trimmed, inner whitespace collapsed.
	Query string
	Limit int
	// AccountNumbers and InvoiceNumbers are exact numbers to look up.
	AccountNumbers []string
	InvoiceNumbers []string
	// Reference is a check number or payment reference, exact.
	Reference string
	// ExternalID is an account's external id, exact.
	ExternalID string
	// Username is a service's RADIUS user name, exact.
	Username string
	// Addresses are a service address's text forms ("10.0.0.5",
	// "10.0.0.5/32"); Network is the prefix whose overlapping learned
	// addresses match.
	Addresses []string
	Network   string
	// PhoneDigits are digits a phone number holds (its digits compared).
	PhoneDigits string
	// Substring is an ILIKE pattern ("%jane smi%", with %, _ and \
	// escaped) searched in SubstringFields.
	Substring       string
	SubstringFields []SearchField
}

// textFields are searched as substrings for a plain text query.
var textFields = []SearchField{MatchName, MatchCompany, MatchEmail, MatchAddress, MatchServiceAddress}

// PlanSearch decides what a staff search for q looks for, from its shape:
//
//   - an IP address or CIDR prefix: service addresses and the addresses
//     agents learned;
//   - all digits: the account number and invoice number with those digits
//     (A-000042, INV-0000042), a check number or payment reference, an
//     external id, and (7 digits or more) phone numbers holding them;
//   - letters then digits ("A-000042", "inv42", "cust1042"): account and
//     invoice numbers (as typed, and normalised for the A- and INV
//     prefixes), references, external ids, RADIUS user names;
//   - a phone number with separators ("+1 (512) 555-0100"): phone numbers;
//   - containing '@': e-mail addresses (substring, exact first) and RADIUS
//     user names;
//   - anything else: exact external id, reference, user name and numbers,
//     and (3 characters or more) substrings of the name, company, e-mail,
//     billing address and service addresses.
//
// limit 0 means DefaultSearchLimit. EINVALID naming q or limit for an
// empty or too long query or a limit out of 1..MaxSearchLimit.
func PlanSearch(q string, limit int) (SearchPlan, error) {
	switch {
	case limit == 0:
		limit = DefaultSearchLimit
	case limit < 0 || limit > MaxSearchLimit:
		return SearchPlan{}, Errorf(EINVALID, "limit %d is out of range: 1 to %d (0 for %d)", limit, MaxSearchLimit, DefaultSearchLimit)
	}
	if !utf8.ValidString(q) {
		return SearchPlan{}, Errorf(EINVALID, "q is not valid UTF-8")
	}
	q = strings.Join(strings.Fields(q), " ")
	if q == "" {
		return SearchPlan{}, Errorf(EINVALID, "q is empty: type a name, number, e-mail, phone, address or IP to search for")
	}
	if n := utf8.RuneCountInString(q); n > MaxSearchQuery {
		return SearchPlan{}, Errorf(EINVALID, "q is %d characters long; at most %d are allowed", n, MaxSearchQuery)
	}
	p := SearchPlan{Query: q, Limit: limit}
	if addrs, network, ok := ipShape(q); ok {
		p.Addresses, p.Network = addrs, network
		return p, nil
	}
	if allDigits(q) {
		p.AccountNumbers = []string{"A-" + padDigits(q, 6)}
		p.InvoiceNumbers = []string{"INV-" + padDigits(q, 7)}
		p.Reference, p.ExternalID = q, q
		if len(q) >= 7 {
			p.PhoneDigits = q
		}
		return p, nil
	}
	if prefix, digits, ok := numberShape(q); ok {
		up := strings.ToUpper(q)
		p.AccountNumbers, p.InvoiceNumbers = []string{up}, []string{up}
		if prefix == "A" && up != "A-"+padDigits(digits, 6) {
			p.AccountNumbers = append(p.AccountNumbers, "A-"+padDigits(digits, 6))
		}
		if prefix == "INV" && up != "INV-"+padDigits(digits, 7) {
			p.InvoiceNumbers = append(p.InvoiceNumbers, "INV-"+padDigits(digits, 7))
		}
		p.Reference, p.ExternalID, p.Username = q, q, q
		return p, nil
	}
	if digits, ok := phoneShape(q); ok {
		p.PhoneDigits = digits
		return p, nil
	}
	if strings.Contains(q, "@") && !strings.Contains(q, " ") {
		p.Username = q
		p.Substring, p.SubstringFields = substringPattern(q), []SearchField{MatchEmail}
		return p, nil
	}
	p.ExternalID = q
	if !strings.Contains(q, " ") {
		p.Reference, p.Username = q, q
		p.AccountNumbers, p.InvoiceNumbers = []string{strings.ToUpper(q)}, []string{strings.ToUpper(q)}
	}
	if utf8.RuneCountInString(q) >= MinSubstringQuery {
		p.Substring, p.SubstringFields = substringPattern(q), textFields
	}
	return p, nil
}

// SearchPastDue is a hit's past-due amount from its ledger balance and the
// remaining amounts of its open invoices due before today (pastDue) and
// not yet due (notYetDue): the account's credit (what the balance falls
// short of its open invoices) pays the oldest invoices first, as in the
// collection assessment.
func SearchPastDue(balance, pastDue, notYetDue int64) int64 {
	return max(0, min(pastDue, balance-notYetDue))
}

// ipShape recognises an IP address or CIDR prefix: the text forms a
// service's address list may hold it as, and the prefix to overlap.
func ipShape(q string) (addrs []string, network string, ok bool) {
	if a, err := netip.ParseAddr(q); err == nil && a.Zone() == "" {
		p := netip.PrefixFrom(a, a.BitLen())
		return []string{a.String(), p.String()}, p.String(), true
	}
	if p, err := netip.ParsePrefix(q); err == nil {
		m := p.Masked()
		addrs = []string{p.String()}
		if m.String() != p.String() {
			addrs = append(addrs, m.String())
		}
		if p.IsSingleIP() {
			addrs = append(addrs, p.Addr().String())
		}
		return addrs, m.String(), true
	}
	return nil, "", false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// numberShape recognises 1–5 letters, an optional '-', then digits
// ("A-000042", "inv42"): the letters upper-cased and the digits.
func numberShape(q string) (prefix, digits string, ok bool) {
	i := 0
	for i < len(q) && i < 6 && isASCIILetter(q[i]) {
		i++
	}
	if i == 0 || i > 5 {
		return "", "", false
	}
	prefix, rest := strings.ToUpper(q[:i]), strings.TrimPrefix(q[i:], "-")
	if !allDigits(rest) {
		return "", "", false
	}
	return prefix, rest, true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// phoneShape recognises a phone number written with separators: digits,
// spaces, + ( ) - . and at least 7 digits. It returns the digits.
func phoneShape(q string) (string, bool) {
	var b strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '+' || r == '(' || r == ')' || r == '-' || r == '.':
		default:
			return "", false
		}
	}
	return b.String(), b.Len() >= 7
}

// padDigits drops digits' leading zeros and pads them with zeros to width.
func padDigits(digits string, width int) string {
	d := strings.TrimLeft(digits, "0")
	if d == "" {
		d = "0"
	}
	if len(d) < width {
		d = strings.Repeat("0", width-len(d)) + d
	}
	return d
}

// substringPattern is the ILIKE pattern finding q anywhere, with ILIKE's
// wildcards and escape character in q taken literally.
func substringPattern(q string) string {
	var b strings.Builder
	b.WriteByte('%')
	for _, r := range q {
		if r == '%' || r == '_' || r == '\\' {
			b.WriteByte('\\')
		}
		if unicode.IsControl(r) {
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('%')
	return b.String()
}
