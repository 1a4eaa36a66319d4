package billing

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of one account import file.
const (
	// MaxImportRows is the most data rows (services, or accounts without
	// services) one import file may have.
	MaxImportRows = 100_000
	// MaxImportBytes is the largest import file accepted.
	MaxImportBytes = 64 << 20
)

// Import columns. Account columns repeat on every row of an account; service
// columns describe one service per row and are empty on the one row of an
// account without services.
var (
	importAccountColumns = []string{"external_id", "name", "email", "phone", "address_line1", "address_line2",
		"city", "region", "postal_code", "country", "account_type", "currency", "tax_jurisdiction", "delivery", "locale"}
	importServiceColumns = []string{"service_name", "pop", "plan", "start_date", "end_date", "method",
		"addresses", "radius_username", "device", "if_index"}
	importRequiredColumns = []string{"external_id", "name", "account_type", "currency"}
)

// importMultilineColumns are the import columns whose values may hold
// tabs and line breaks.
var importMultilineColumns = map[string]bool{"address_line1": true, "address_line2": true}

// ImportColumns lists every column an account import file may have, account
// columns first.
func ImportColumns() []string { return slices.Concat(importAccountColumns, importServiceColumns) }

// ImportError is one problem found in an import file.
type ImportError struct {
	// Line is the physical line of the file (1 is the header). A row whose
	// quoted fields span several lines is reported at its first line.
	Line int `json:"line"`
	// Column is the header name of the offending column, "" when the problem
	// is the row as a whole.
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// Error formats the problem as "line 12, column email: reason".
func (e ImportError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Reason)
}

// SortImportErrors orders problems by line, then column, then reason.
func SortImportErrors(errs []ImportError) {
	slices.SortStableFunc(errs, func(a, b ImportError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Reason, b.Reason))
	})
}

// lineRef matches the line numbers an ImportError's reason refers to.
var lineRef = regexp.MustCompile(`\b(lines?) (\d+)(?: and (\d+))?\b`)

// RemapLines returns e with its line, and the lines its reason refers to
// ("differs from … on line 3"), mapped by f: for a part of a file sent on
// its own, f maps the part's lines back to the file's.
func (e ImportError) RemapLines(f func(int) int) ImportError {
	e.Line = f(e.Line)
	e.Reason = lineRef.ReplaceAllStringFunc(e.Reason, func(m string) string {
		g := lineRef.FindStringSubmatch(m)
		out := g[1] + " " + remapNumber(g[2], f)
		if g[3] != "" {
			out += " and " + remapNumber(g[3], f)
		}
		return out
	})
	return e
}

func remapNumber(s string, f func(int) int) string {
	n, err := strconv.Atoi(s)
	if err != nil {
		return s
	}
	return strconv.Itoa(f(n))
}

// ImportService is one service row of an import file.
type ImportService struct {
	Line int `json:"line"`
	// Service is the service to create; its AccountID and PlanID are filled
	// in by the importer once the account exists and Plan is resolved.
	Service NewService `json:"service"`
	// Plan is the name of the plan the service is billed on ("": unbilled).
	Plan string `json:"plan,omitempty"`
}

// ImportAccount is one account of an import file with its services: every
// row of the file that carries its external_id.
type ImportAccount struct {
	// Line is the line of the account's first row.
	Line int `json:"line"`
	// Rows is how many rows of the file belong to the account.
	Rows int `json:"rows"`
	// Account is the account to create; AccountTypeID is 0 until the
	// importer resolves AccountType. It has passed [NewAccount.Validate]
	// (with a placeholder type) when Errors is empty.
	Account NewAccount `json:"account"`
	// AccountType is the name of the account's account type.
	AccountType string          `json:"account_type"`
	Services    []ImportService `json:"services,omitempty"`
	// Errors are the problems of the account's rows; an account with any is
	// not imported. A row that could not be tied to an account (no
	// external_id) is an ImportAccount of its own with an empty ExternalID
	// and its problems here.
	Errors []ImportError `json:"errors,omitempty"`
}

// ImportFile is a parsed account import file.
type ImportFile struct {
	// Rows is the number of data rows (blank rows are not counted).
	Rows int `json:"rows"`
	// Accounts in the order of their first row.
	Accounts []ImportAccount `json:"accounts"`
	// Errors are problems of the file as a whole (its header: unknown,
	// duplicate or missing columns). They concern every row, so they block
	// an import even when invalid accounts are to be skipped.
	Errors []ImportError `json:"errors,omitempty"`
}

// Problems returns every problem of the file, sorted by line.
func (f ImportFile) Problems() []ImportError {
	out := slices.Clone(f.Errors)
	for _, a := range f.Accounts {
		out = append(out, a.Errors...)
	}
	SortImportErrors(out)
	return out
}

// ImportResult is what an import did (or, in a dry run, would do).
type ImportResult struct {
	// Rows is the number of data rows in the file.
	Rows int `json:"rows"`
	// Accounts is the number of distinct accounts (external ids) in the file.
	Accounts         int `json:"accounts"`
	AccountsCreated  int `json:"accounts_created"`
	AccountsExisting int `json:"accounts_existing"`
	ServicesCreated  int `json:"services_created"`
	ServicesExisting int `json:"services_existing"`
	// Skipped is the number of accounts (and rows without a usable
	// external_id) left out because some row of theirs has a problem.
	Skipped int `json:"skipped"`
	// Errors lists every problem, by line.
	Errors []ImportError `json:"errors"`
	DryRun bool          `json:"dry_run"`
}

// ParseAccountsCSV reads an account import file: CSV with a header line
// naming its columns (any order, case-insensitive; see [ImportColumns]),
// one row per service. An account without services has one row with empty
// service columns; an account with several services repeats its account
// columns, which must agree, on every row with the same external_id.
//
// Every row is checked with the domain's own validation and every problem
// is collected with its line and column: malformed CSV (bad quoting, a
// wrong number of fields) too, as long as the reader can resynchronise.
// Account types and plans are names, resolved against the database by the
// importer. Addresses are separated by spaces or ';'. A service row without
// a method and without any binding column is enforced with method log
// (recorded only).
//
// The returned error is EINVALID for an empty file, a file larger than
// [MaxImportBytes] or with more than [MaxImportRows] rows, and the reader's
// error if reading fails; every other problem is in the ImportFile.
func ParseAccountsCSV(r io.Reader) (ImportFile, error) {
	// The file is read as it is parsed, never whole.
	lr := &io.LimitedReader{R: r, N: MaxImportBytes + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\ufeff")) {
		_, _ = br.Discard(3) // spreadsheets' UTF-8 byte order mark
	}
	p := importParser{cr: csv.NewReader(br), byExt: map[string]int{}}
	f, err := p.parse()
	if lr.N <= 0 {
		return ImportFile{}, Errorf(EINVALID, "import file is larger than %d MiB; split it into several files (by account)", MaxImportBytes>>20)
	}
	return f, err
}

type importParser struct {
	cr     *csv.Reader
	header []string // names as written, for messages
	col    map[string]int
	file   ImportFile
	byExt  map[string]int // external_id → index of the account
	// chunks hold the accounts as they are read, stateChunks their states
	// (see account); n counts them.
	chunks      [][]ImportAccount
	stateChunks [][]accountState
	n           int
}

// accountState is what later rows of an account are checked against.
type accountState struct {
	// vals are the account columns of the first well-formed row (nil until
	// there is one), at line.
	vals []string
	line int
	// svcNames maps service names to their lines.
	svcNames map[string]int
}

func (p *importParser) parse() (ImportFile, error) {
	header, err := p.cr.Read()
	if errors.Is(err, io.EOF) {
		return ImportFile{}, Errorf(EINVALID, "import file is empty: its first line must name the columns (%s, …)", strings.Join(importRequiredColumns, ", "))
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			p.file.Errors = append(p.file.Errors, ImportError{Line: pe.StartLine, Reason: "header line is not valid CSV: " + csvReason(pe)})
			return p.file, nil
		}
		return ImportFile{}, fmt.Errorf("read import file: %w", err)
	}
	if !p.readHeader(header) {
		return p.file, nil
	}
	for {
		rec, err := p.cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return ImportFile{}, fmt.Errorf("read import file: %w", err)
		}
		if pe == nil && blank(rec) {
			continue
		}
		p.file.Rows++
		if p.file.Rows > MaxImportRows {
			return ImportFile{}, Errorf(EINVALID, "import file has more than %d rows; split it into several files (by account)", MaxImportRows)
		}
		if pe != nil {
			p.malformed(rec, pe)
			continue
		}
		line, _ := p.cr.FieldPos(0)
		p.row(line, rec)
	}
	p.joinAccounts()
	return p.file, nil
}

// readHeader maps the columns; false if the rows cannot be read.
func (p *importParser) readHeader(header []string) bool {
	known := map[string]bool{}
	for _, c := range ImportColumns() {
		known[c] = true
	}
	p.header = header
	p.col = map[string]int{}
	headerErr := func(col, reason string) {
		p.file.Errors = append(p.file.Errors, ImportError{Line: 1, Column: col, Reason: reason})
	}
	for i, h := range header {
		name := normColumn(h)
		switch {
		case !utf8.ValidString(h):
			headerErr(fmt.Sprintf("#%d", i+1), fmt.Sprintf("column %d's name is not valid UTF-8 (save the file as UTF-8)", i+1))
		case name == "":
			// Spreadsheets add unnamed empty columns; a value in one is an
			// error of its row.
		case !known[name]:
			headerErr(h, fmt.Sprintf("unknown column %q; the columns are %s", h, strings.Join(ImportColumns(), ", ")))
		default:
			if j, dup := p.col[name]; dup {
				headerErr(h, fmt.Sprintf("column %q appears twice (columns %d and %d)", name, j+1, i+1))
				continue
			}
			p.col[name] = i
		}
	}
	ok := true
	for _, c := range importRequiredColumns {
		if _, has := p.col[c]; !has {
			headerErr(c, fmt.Sprintf("required column %q is missing (required: %s)", c, strings.Join(importRequiredColumns, ", ")))
			ok = false
		}
	}
	return ok
}

// normColumn normalises a header name: case, surrounding space, and
// spaces or '-' for '_' ("Service Name" is service_name).
func normColumn(h string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, strings.ToLower(strings.TrimSpace(h)))
}

// columnName names field i of a row for messages.
func (p *importParser) columnName(i int) string {
	if i >= 0 && i < len(p.header) {
		if name := normColumn(p.header[i]); name != "" {
			return name
		}
	}
	return fmt.Sprintf("#%d", i+1)
}

// malformed records a row the CSV reader rejected. The row counts against
// the account whose external_id it (still) shows, so that skipping invalid
// accounts never imports an account without one of its rows.
func (p *importParser) malformed(rec []string, pe *csv.ParseError) {
	e := ImportError{Line: pe.StartLine, Reason: csvReason(pe)}
	if !errors.Is(pe.Err, csv.ErrFieldCount) {
		e.Column = p.columnName(len(rec)) // the field being read when it failed
	} else {
		e.Reason = fmt.Sprintf("row has %d fields but the header has %d", len(rec), len(p.header))
	}
	ext := ""
	if i := p.col["external_id"]; i < len(rec) {
		ext = strings.TrimSpace(rec[i])
	}
	a, _ := p.account(ext, pe.StartLine)
	a.Rows++
	a.Errors = append(a.Errors, e)
}

func csvReason(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf(`a " inside a field that is not quoted (line %d, byte %d); quote the whole field and double the quote: "12"" dish"`, pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf(`a quoted field is not closed properly: extraneous or missing " (line %d, byte %d)`, pe.Line, pe.Column)
	}
	return pe.Err.Error()
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// account returns the account with external id ext and its state,
// creating it at line if it is new. An empty ext always makes a new entry
// of its own.
//
// Accounts are kept in chunks of fixed size while the file is read (and
// joined into ImportFile.Accounts at the end): growing one slice of 100,000
// accounts by append would copy it over and over, allocating five times
// its size.
func (p *importParser) account(ext string, line int) (*ImportAccount, *accountState) {
	if i, ok := p.byExt[ext]; ok && ext != "" {
		return p.at(i)
	}
	if p.n%importChunk == 0 {
		p.chunks = append(p.chunks, make([]ImportAccount, 0, importChunk))
		p.stateChunks = append(p.stateChunks, make([]accountState, 0, importChunk))
	}
	c := len(p.chunks) - 1
	p.chunks[c] = append(p.chunks[c], ImportAccount{Line: line})
	p.stateChunks[c] = append(p.stateChunks[c], accountState{})
	i := p.n
	p.n++
	a, st := p.at(i)
	if ext != "" {
		p.byExt[ext] = i
		a.Account.ExternalID = ext
	}
	return a, st
}

// importChunk is how many accounts one chunk of the parser holds.
const importChunk = 4096

// at returns the i-th account of the file and its state.
func (p *importParser) at(i int) (*ImportAccount, *accountState) {
	return &p.chunks[i/importChunk][i%importChunk], &p.stateChunks[i/importChunk][i%importChunk]
}

// joinAccounts moves the chunks into the file's accounts.
func (p *importParser) joinAccounts() {
	if p.n == 0 {
		return
	}
	p.file.Accounts = make([]ImportAccount, 0, p.n)
	for i, c := range p.chunks {
		p.file.Accounts = append(p.file.Accounts, c...)
		p.chunks[i], p.stateChunks[i] = nil, nil
	}
}

// rowErrs collects one row's problems, one per column.
type rowErrs struct {
	line int
	errs []ImportError
	seen map[string]bool
}

func (r *rowErrs) add(col, reason string) {
	if r.seen[col] {
		return
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[col] = true
	r.errs = append(r.errs, ImportError{Line: r.line, Column: col, Reason: reason})
}

func (p *importParser) row(line int, rec []string) {
	re := &rowErrs{line: line}
	// Text that PostgreSQL cannot store is refused up front.
	bad := map[int]bool{}
	for i, f := range rec {
		if i < len(p.header) && normColumn(p.header[i]) == "" && strings.TrimSpace(f) != "" {
			re.add(p.columnName(i), fmt.Sprintf("value %q is in column %d, which has no name in the header line", f, i+1))
			continue
		}
		if j, used := p.col[p.columnName(i)]; !used || j != i {
			continue // unknown or duplicate column: reported in the header
		}
		col := p.columnName(i)
		switch {
		case !utf8.ValidString(f):
			re.add(col, "value is not valid UTF-8 text (save the file as UTF-8)")
			bad[i] = true
		default:
			// Control characters: line breaks and tabs only in the address
			// lines (spreadsheets keep "1 Main St\nApt 2" in one cell).
			if err := CheckText(f, importMultilineColumns[col], len(f)+1); err != nil {
				re.add(col, col+" "+ErrorMessage(err))
				bad[i] = true
			}
		}
	}
	get := func(col string) string {
		i, ok := p.col[col]
		if !ok || i >= len(rec) || bad[i] {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	vals := make([]string, len(importAccountColumns))
	for i, c := range importAccountColumns {
		vals[i] = get(c)
	}
	ext := get("external_id")
	if ext == "" && !re.seen["external_id"] {
		re.add("external_id", "external_id is required: it ties the rows of an account together and makes re-imports safe")
	}

	a, st := p.account(ext, line)
	a.Rows++
	if st.vals == nil {
		st.vals, st.line = vals, line
		p.parseAccount(a, re, get)
	} else {
		for i, c := range importAccountColumns {
			if same(c, vals[i], st.vals[i]) {
				continue
			}
			re.add(c, fmt.Sprintf("%s %q differs from %q on line %d; every row of external_id %q must repeat the same account columns",
				c, vals[i], st.vals[i], st.line, ext))
		}
	}
	if svc, ok := p.parseService(re, get); ok {
		if prev, dup := st.svcNames[svc.Service.Name]; dup && svc.Service.Name != "" {
			re.add("service_name", fmt.Sprintf("service_name %q appears twice for external_id %q (lines %d and %d)", svc.Service.Name, ext, prev, line))
		} else if svc.Service.Name != "" {
			if st.svcNames == nil {
				st.svcNames = map[string]int{}
			}
			st.svcNames[svc.Service.Name] = line
		}
		a.Services = append(a.Services, svc)
	}
	a.Errors = append(a.Errors, re.errs...)
}

// same compares an account column's value on two rows of an account; codes
// and email addresses compare case-insensitively.
func same(col, a, b string) bool {
	switch col {
	case "email", "account_type", "currency", "delivery", "country", "region", "locale":
		return strings.EqualFold(a, b)
	}
	return a == b
}

// accountFields maps NewAccount.Validate's field names (the start of its
// messages) to import columns.
var accountFields = []struct{ prefix, column string }{
	{"external_id", "external_id"},
	{"name", "name"},
	{"email", "email"},
	{"phone", "phone"},
	{"tax_jurisdiction", "tax_jurisdiction"},
	{"address.line1", "address_line1"},
	{"address.line2", "address_line2"},
	{"address.city", "city"},
	{"address.region", "region"},
	{"address.postal_code", "postal_code"},
	{"address.country", "country"},
	{"account_type_id", "account_type"},
	{"currency", "currency"},
	{"delivery", "delivery"},
	{"locale", "locale"},
}

func fieldColumn(msg string, table []struct{ prefix, column string }) string {
	for _, f := range table {
		if rest, ok := strings.CutPrefix(msg, f.prefix); ok && (rest == "" || rest[0] == ' ' || rest[0] == ':') {
			return f.column
		}
	}
	return ""
}

// parseAccount fills in the account from its first row and validates it
// with [NewAccount.Validate]. Validate stops at the first problem, so each
// problem's field is replaced with a valid stand-in and the account is
// validated again, to report every problem of the row at once.
func (p *importParser) parseAccount(a *ImportAccount, re *rowErrs, get func(string) string) {
	a.AccountType = get("account_type")
	if a.AccountType == "" && !re.seen["account_type"] {
		re.add("account_type", "account_type is required: the name of an existing account type")
	}
	na := NewAccount{
		ExternalID: get("external_id"), Name: get("name"), Email: get("email"), Phone: get("phone"),
		Address: Address{Line1: get("address_line1"), Line2: get("address_line2"), City: get("city"),
			Region: get("region"), PostalCode: get("postal_code"), Country: get("country")},
		Currency:        Currency(get("currency")),
		TaxJurisdiction: get("tax_jurisdiction"),
		Delivery:        Delivery(strings.ToLower(get("delivery"))),
		Locale:          Locale(get("locale")),
	}
	check := na
	check.AccountTypeID = 1 // resolved from the name by the importer
validate:
	for range len(accountFields) + 1 {
		err := check.Validate()
		if err == nil {
			break
		}
		msg := ErrorMessage(err)
		col := fieldColumn(msg, accountFields)
		if col == "" {
			re.add("", msg)
			break
		}
		re.add(col, msg)
		switch col { // a valid stand-in, to find the row's other problems
		case "name":
			check.Name = "x"
		case "email":
			check.Email = "x@example.net"
		case "currency":
			check.Currency = "USD"
		case "delivery":
			check.Delivery = ""
		case "locale":
			check.Locale = ""
		case "external_id":
			check.ExternalID = ""
		case "phone":
			check.Phone = ""
		case "tax_jurisdiction":
			check.TaxJurisdiction = ""
		case "address_line1":
			check.Address.Line1 = ""
		case "address_line2":
			check.Address.Line2 = ""
		case "city":
			check.Address.City = ""
		case "region":
			check.Address.Region = ""
		case "postal_code":
			check.Address.PostalCode = ""
		case "country":
			check.Address.Country = ""
		default:
			break validate
		}
	}
	if len(re.errs) == 0 {
		check.AccountTypeID = 0
		na = check // trimmed and normalised
	}
	a.Account = na
}

// serviceFields maps NewService.Validate's and Binding.Validate's messages
// to import columns.
var serviceFields = []struct{ prefix, column string }{
	{"pop", "pop"},
	{"name", "service_name"},
	{"end_date", "end_date"},
	{"address", "addresses"},
	{"method routeros", "addresses"},
	{"method radius", "radius_username"},
	{"method snmp", "device"},
	{"method", "method"},
	{"plan_id", "plan"},
}

// parseService reads the row's service columns; ok is false when the row
// has none (an account without services).
func (p *importParser) parseService(re *rowErrs, get func(string) string) (svc ImportService, ok bool) {
	has := false
	for _, c := range importServiceColumns {
		if get(c) != "" {
			has = true
			break
		}
	}
	if !has {
		return svc, false
	}
	svc.Line = re.line
	pop := get("pop")
	if ValidatePOPID(strings.ToLower(pop)) == nil {
		pop = strings.ToLower(pop) // POP ids are lower case; messages show what the file says
	}
	ns := NewService{
		POP:  pop,
		Name: get("service_name"),
		Binding: Binding{
			Method:         strings.ToLower(get("method")),
			Addresses:      splitAddresses(get("addresses")),
			RADIUSUsername: get("radius_username"),
			Device:         get("device"),
		},
	}
	if ns.Name == "" {
		re.add("service_name", "service_name is required on a service row: it tells the account's services apart when the file is imported again")
	}
	if ns.POP == "" {
		re.add("pop", "pop is required on a service row: the POP whose agent enforces the service")
	}
	if v := get("if_index"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		switch {
		case err != nil:
			re.add("if_index", fmt.Sprintf("if_index %q is not a whole number (the port's SNMP ifIndex)", v))
		case n <= 0:
			re.add("if_index", fmt.Sprintf("if_index %d must be a positive interface index", n))
		default:
			ns.Binding.IfIndex = int32(n)
		}
	}
	for _, d := range []struct {
		col string
		to  *Date
	}{{"start_date", &ns.StartDate}, {"end_date", &ns.EndDate}} {
		v := get(d.col)
		if v == "" {
			continue
		}
		date, err := ParseDate(v)
		if err != nil {
			re.add(d.col, fmt.Sprintf("%s %q is not a calendar date written YYYY-MM-DD", d.col, v))
			continue
		}
		*d.to = date
	}
	svc.Plan = get("plan")
	if svc.Plan != "" && ns.StartDate.IsZero() && !re.seen["start_date"] {
		re.add("start_date", fmt.Sprintf("start_date is required for a service on plan %q: the first billed day, YYYY-MM-DD", svc.Plan))
	}
	if ns.Binding.Method == "" {
		if len(ns.Binding.Addresses) == 0 && ns.Binding.RADIUSUsername == "" && ns.Binding.Device == "" && get("if_index") == "" {
			ns.Binding.Method = MethodLog // nothing to enforce with: recorded only
		} else {
			re.add("method", "method is required when addresses, radius_username, device or if_index is given: one of log, routeros, radius, snmp")
		}
	}

	check := ns
	check.Binding.Addresses = slices.Clone(ns.Binding.Addresses)
	if re.seen["pop"] {
		check.POP = "x"
	}
	if re.seen["start_date"] || re.seen["end_date"] {
		check.EndDate = Date{}
	}
	if re.seen["if_index"] {
		check.Binding.IfIndex = 1
	}
	if re.seen["method"] {
		check.Binding.Method = MethodLog
	}
validate:
	for range len(serviceFields) + 1 {
		err := check.Validate()
		if err == nil {
			break
		}
		msg := ErrorMessage(err)
		col := fieldColumn(msg, serviceFields)
		if col == "device" && check.Binding.Device != "" {
			col = "if_index"
		}
		if col == "" {
			re.add("", msg)
			break
		}
		re.add(col, msg)
		switch { // a valid stand-in, to find the row's other problems
		case strings.HasPrefix(msg, "pop"):
			check.POP = "x"
		case strings.HasPrefix(msg, "name"):
			check.Name = ""
		case strings.HasPrefix(msg, "end_date"):
			check.EndDate = Date{}
		case strings.HasPrefix(msg, "address"):
			check.Binding.Addresses = nil
			check.Binding.Method = MethodLog
		case strings.HasPrefix(msg, "method routeros"):
			check.Binding.Addresses = []string{"192.0.2.1"}
		case strings.HasPrefix(msg, "method radius"):
			check.Binding.RADIUSUsername = "x"
		case strings.HasPrefix(msg, "method snmp"):
			check.Binding.Device, check.Binding.IfIndex = "x", 1
		case strings.HasPrefix(msg, "method"):
			check.Binding.Method = MethodLog
		default:
			break validate
		}
	}
	svc.Service = ns
	if len(re.errs) == 0 {
		svc.Service = check
	}
	return svc, true
}

// splitAddresses splits a list of addresses separated by spaces or ';'.
func splitAddresses(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || unicode.IsSpace(r) })
	if len(f) == 0 {
		return nil
	}
	return f
}
