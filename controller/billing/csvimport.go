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
		"city", "region", "postal_code", "country", "account_type", "currency", "tax_jurisdiction", "delivery", "locale", "company_name",
		"due_days", "grace_days", "reminder_days_before", "auto_suspend", "reactivation_rule", "late_fee", "invoice_message",
		"tax_exempt", "exemption_certificate", "billing_day"}
	importServiceColumns = []string{"service_name", "pop", "plan", "start_date", "end_date", "method",
		"addresses", "radius_username", "device", "if_index", "service_address_line1", "service_address_line2",
		"service_city", "service_region", "service_postal_code", "service_country", "quantity"}
	importRequiredColumns = []string{"external_id", "name", "account_type", "currency"}
)

// importMultilineColumns are the import columns whose values may hold
// tabs and line breaks.
var importMultilineColumns = map[string]bool{"address_line1": true, "address_line2": true,
	"service_address_line1": true, "service_address_line2": true}

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
	// Errors lists the problems by line: every one up to
	// MaxListedImportProblems, the first ones of more.
	Errors []ImportError `json:"errors"`
	// ErrorsUnlisted counts the problems beyond Errors.
	ErrorsUnlisted int  `json:"errors_unlisted,omitempty"`
	DryRun         bool `json:"dry_run"`
}

// ImportOutcome is what an import did, with its problems.
type ImportOutcome struct {
	Result   ImportResult
	Problems ImportProblems
	// Refused is set when the problems refused the file: a problem of the
	// header, or any problem unless invalid accounts are skipped. Nothing
	// was written then.
	Refused bool
}

// MaxListedImportProblems is how many problems of an import are listed in
// full; the rest are counted.
const MaxListedImportProblems = 1000

// ImportProblems collects the problems of an import file in bounded
// memory: the first MaxListedImportProblems in the order of
// [SortImportErrors], and counts of them all and of the lines they are on.
type ImportProblems struct {
	// Listed are the first problems, sorted.
	Listed []ImportError
	// Count is the number of problems; Lines the number of lines with one.
	Count, Lines int
	lines        map[int]bool
}

// Add collects problems, in any order.
func (p *ImportProblems) Add(errs ...ImportError) {
	for _, e := range errs {
		p.Count++
		if !p.lines[e.Line] {
			if p.lines == nil {
				p.lines = map[int]bool{}
			}
			p.lines[e.Line] = true
			p.Lines++
		}
		at, _ := slices.BinarySearchFunc(p.Listed, e, func(a, b ImportError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Reason, b.Reason), -1)
		})
		switch {
		case len(p.Listed) < MaxListedImportProblems:
			p.Listed = slices.Insert(p.Listed, at, e)
		case at < len(p.Listed):
			p.Listed = slices.Insert(p.Listed[:len(p.Listed)-1], at, e)
		}
	}
}

// Unlisted is the number of problems not in Listed.
func (p *ImportProblems) Unlisted() int { return p.Count - len(p.Listed) }

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
// The whole file is held as parsed; [ScanAccountsCSV] reads it in bounded
// memory. The returned error is EINVALID for an empty file, a file larger
// than [MaxImportBytes] or with more than [MaxImportRows] rows, and the
// reader's error if reading fails; every other problem is in the
// ImportFile.
func ParseAccountsCSV(r io.Reader) (ImportFile, error) {
	var f ImportFile
	sum, err := ScanAccountsCSV(r, nil, func(run ImportRun) error {
		if run.First {
			f.Accounts = append(f.Accounts, run.ImportAccount)
			f.Accounts[len(f.Accounts)-1].Line = run.AccountLine
			return nil
		}
		a := &f.Accounts[run.Index]
		a.Rows += run.Rows
		if run.Parsed {
			a.Account, a.AccountType = run.Account, run.AccountType
		}
		a.Services = append(a.Services, run.Services...)
		a.Errors = append(a.Errors, run.Errors...)
		return nil
	})
	if err != nil {
		return ImportFile{}, err
	}
	f.Rows, f.Errors = sum.Rows, sum.Errors
	return f, nil
}

// ImportRun is a run of consecutive rows of one account of an import file,
// as [ScanAccountsCSV] reads it. The rows of an account usually form one
// run; an account whose rows are spread over the file has several.
type ImportRun struct {
	// Index is the account's position among the file's accounts, in the
	// order of their first rows (0 is the first). A row without
	// external_id is an account of its own.
	Index int
	// First is set on the account's first run.
	First bool
	// AccountLine is the line of the account's first row.
	AccountLine int
	// Parsed is set on the run holding the account's first well-formed
	// row, from which Account and AccountType are read (they are empty on
	// the account's other runs; Account.ExternalID is always set).
	Parsed bool
	// ImportAccount holds the run's part of the account: Line is the run's
	// first line, Rows its rows, Services and Errors those of its rows.
	ImportAccount
}

// ImportScan is what [ScanAccountsCSV] found in the file as a whole.
type ImportScan struct {
	// Rows is the number of data rows (blank rows are not counted).
	Rows int
	// Accounts is the number of accounts (ImportRun.Index values).
	Accounts int
	// Errors are problems of the header, which concern every row.
	Errors []ImportError
}

// ScanAccountsCSV reads an account import file as [ParseAccountsCSV] does
// and calls run for each run of consecutive rows of an account, in the
// order of the file, without holding the file: what it keeps for the
// checks across rows (an account's rows agree, its service names are
// distinct) is the external ids, the service names and the offset of each
// account's first row. When an account's rows are spread over the file,
// the first row is read again from firstRows (the same file, from its
// start) to compare a later run with it; with a nil firstRows every
// account's first row is kept instead.
//
// The errors are those of ParseAccountsCSV and run's error, which stops the
// scan and is returned as it is.
func ScanAccountsCSV(r io.Reader, firstRows io.ReaderAt, run func(ImportRun) error) (ImportScan, error) {
	// The file is read as it is parsed, never whole.
	lr := &io.LimitedReader{R: r, N: MaxImportBytes + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	p := importParser{byExt: map[string]int{}, svcNames: map[svcKey]int{}, firstRows: firstRows, emit: run}
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\ufeff")) {
		_, _ = br.Discard(3) // spreadsheets' UTF-8 byte order mark
		p.bom = 3
	}
	p.cr = csv.NewReader(br)
	err := p.parse()
	if lr.N <= 0 {
		return ImportScan{}, Errorf(EINVALID, "import file is larger than %d MiB; split it into several files (by account)", MaxImportBytes>>20)
	}
	if err != nil {
		return ImportScan{}, err
	}
	return ImportScan{Rows: p.rows, Accounts: len(p.accounts), Errors: p.headerErrs}, nil
}

type importParser struct {
	cr         *csv.Reader
	bom        int64
	header     []string // names as written, for messages
	col        map[string]int
	rows       int
	headerErrs []ImportError
	byExt      map[string]int // external_id → index of the account
	accounts   []accountState
	svcNames   map[svcKey]int // an account's service names → their lines
	firstRows  io.ReaderAt
	emit       func(ImportRun) error
	// cur is the run being read (cur.Rows == 0: none).
	cur ImportRun
	// curVals are the account columns of cur's account's first
	// well-formed row, once known (see accountState.vals).
	curVals []string
	// offset is where the row being read starts in the file.
	offset int64
}

// accountState is what later rows of an account are checked against.
type accountState struct {
	// first is the line of the account's first row.
	first int
	// line is the line of the first well-formed row (0 until there is
	// one), offset where it starts in the file.
	line   int
	offset int64
	// vals are that row's account columns, kept when the first rows are
	// not read again.
	vals []string
}

type svcKey struct {
	account int
	name    string
}

func (p *importParser) parse() error {
	header, err := p.cr.Read()
	if errors.Is(err, io.EOF) {
		return Errorf(EINVALID, "import file is empty: its first line must name the columns (%s, …)", strings.Join(importRequiredColumns, ", "))
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			p.headerErrs = append(p.headerErrs, ImportError{Line: pe.StartLine, Reason: "header line is not valid CSV: " + csvReason(pe)})
			return nil
		}
		return fmt.Errorf("read import file: %w", err)
	}
	if !p.readHeader(header) {
		return nil
	}
	for {
		p.offset = p.cr.InputOffset()
		rec, err := p.cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return fmt.Errorf("read import file: %w", err)
		}
		if pe == nil && blank(rec) {
			continue
		}
		p.rows++
		if p.rows > MaxImportRows {
			return Errorf(EINVALID, "import file has more than %d rows; split it into several files (by account)", MaxImportRows)
		}
		if pe != nil {
			err = p.malformed(rec, pe)
		} else {
			line, _ := p.cr.FieldPos(0)
			err = p.row(line, rec)
		}
		if err != nil {
			return err
		}
	}
	return p.flush()
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
		p.headerErrs = append(p.headerErrs, ImportError{Line: 1, Column: col, Reason: reason})
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
func (p *importParser) malformed(rec []string, pe *csv.ParseError) error {
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
	run, _, err := p.account(ext, pe.StartLine)
	if err != nil {
		return err
	}
	run.Rows++
	run.Errors = append(run.Errors, e)
	return nil
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

// account returns the run of the account with external id ext that the
// row at line belongs to, and the account's state: the current run if it
// is the account's, else a new run (the current one is passed on first).
// An account is created if ext is new; an empty ext always makes an
// account of its own. The error is one of emitting the finished run or of
// reading the account's first row again.
func (p *importParser) account(ext string, line int) (*ImportRun, *accountState, error) {
	i, known := p.byExt[ext]
	known = known && ext != ""
	if known && p.cur.Rows > 0 && p.cur.Index == i {
		return &p.cur, &p.accounts[i], nil
	}
	if err := p.flush(); err != nil {
		return nil, nil, err
	}
	if !known {
		i = len(p.accounts)
		p.accounts = append(p.accounts, accountState{first: line})
		if ext != "" {
			p.byExt[strings.Clone(ext)] = i // not a piece of the whole row
		}
	}
	st := &p.accounts[i]
	p.cur = ImportRun{Index: i, First: !known, AccountLine: st.first, ImportAccount: ImportAccount{Line: line}}
	p.cur.Account.ExternalID = ext
	if st.line != 0 {
		vals, err := p.firstVals(st)
		if err != nil {
			return nil, nil, err
		}
		p.curVals = vals
	}
	return &p.cur, st, nil
}

// firstVals returns the account columns of an account's first well-formed
// row: kept, or read again from the file.
func (p *importParser) firstVals(st *accountState) ([]string, error) {
	if st.vals != nil || p.firstRows == nil {
		return st.vals, nil
	}
	cr := csv.NewReader(io.NewSectionReader(p.firstRows, st.offset+p.bom, MaxImportBytes))
	rec, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read line %d of the import file again: %w", st.line, err)
	}
	return accountVals(p.fields(rec, &rowErrs{line: st.line})), nil
}

// flush passes the current run on.
func (p *importParser) flush() error {
	if p.cur.Rows == 0 {
		return nil
	}
	run := p.cur
	p.cur, p.curVals = ImportRun{}, nil
	return p.emit(run)
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

// fields checks the text of a row's fields, reporting what PostgreSQL
// cannot store, and returns the lookup of a column's trimmed value ("" when
// the row lacks it or its text was refused).
func (p *importParser) fields(rec []string, re *rowErrs) func(col string) string {
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
	return func(col string) string {
		i, ok := p.col[col]
		if !ok || i >= len(rec) || bad[i] {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
}

// accountVals are a row's account columns, compared across the rows of an
// account.
func accountVals(get func(string) string) []string {
	vals := make([]string, len(importAccountColumns))
	for i, c := range importAccountColumns {
		vals[i] = get(c)
	}
	return vals
}

func (p *importParser) row(line int, rec []string) error {
	re := &rowErrs{line: line}
	get := p.fields(rec, re)
	vals := accountVals(get)
	ext := get("external_id")
	if ext == "" && !re.seen["external_id"] {
		re.add("external_id", "external_id is required: it ties the rows of an account together and makes re-imports safe")
	}

	run, st, err := p.account(ext, line)
	if err != nil {
		return err
	}
	run.Rows++
	if st.line == 0 {
		st.line, st.offset = line, p.offset
		if p.firstRows == nil {
			st.vals = vals
		}
		p.curVals, run.Parsed = vals, true
		p.parseAccount(&run.ImportAccount, re, get)
	} else {
		for i, c := range importAccountColumns {
			if same(c, vals[i], p.curVals[i]) {
				continue
			}
			re.add(c, fmt.Sprintf("%s %q differs from %q on line %d; every row of external_id %q must repeat the same account columns",
				c, vals[i], p.curVals[i], st.line, ext))
		}
	}
	if svc, ok := p.parseService(re, get); ok {
		k := svcKey{run.Index, svc.Service.Name}
		if prev, dup := p.svcNames[k]; dup && k.name != "" {
			re.add("service_name", fmt.Sprintf("service_name %q appears twice for external_id %q (lines %d and %d)", svc.Service.Name, ext, prev, line))
		} else if k.name != "" {
			k.name = strings.Clone(k.name)
			p.svcNames[k] = line
		}
		run.Services = append(run.Services, svc)
	}
	run.Errors = append(run.Errors, re.errs...)
	return nil
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
	{"company_name", "company_name"},
	{"overrides.due_days", "due_days"},
	{"overrides.grace_days", "grace_days"},
	{"overrides.reminder_days_before", "reminder_days_before"},
	{"overrides.reactivation_rule", "reactivation_rule"},
	{"overrides.invoice_message", "invoice_message"},
	{"exemption_certificate", "exemption_certificate"},
	{"billing_day", "billing_day"},
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
		CompanyName:     get("company_name"),
		Overrides:       importOverrides(re, get),
	}
	if v := get("tax_exempt"); v != "" {
		exempt, err := strconv.ParseBool(v)
		if err != nil {
			re.add("tax_exempt", fmt.Sprintf("tax_exempt %q is not true or false", v))
		}
		na.TaxExempt = exempt
	}
	na.ExemptionCertificate = get("exemption_certificate")
	if v := get("billing_day"); v != "" {
		day, err := strconv.Atoi(v)
		if err != nil {
			re.add("billing_day", fmt.Sprintf("billing_day %q is not a day of the month (1-31)", v))
		}
		na.BillingDay = day
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
		case "company_name":
			check.CompanyName = ""
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
		case "due_days":
			check.Overrides.DueDays = nil
		case "grace_days":
			check.Overrides.GraceDays = nil
		case "reminder_days_before":
			check.Overrides.ReminderDaysBefore = nil
		case "reactivation_rule":
			check.Overrides.ReactivationRule = nil
		case "invoice_message":
			check.Overrides.InvoiceMessage = nil
		case "exemption_certificate":
			check.TaxExempt, check.ExemptionCertificate = false, ""
		case "billing_day":
			check.BillingDay = 0
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
	{"service_address.line1", "service_address_line1"},
	{"service_address.line2", "service_address_line2"},
	{"service_address.city", "service_city"},
	{"service_address.region", "service_region"},
	{"service_address.postal_code", "service_postal_code"},
	{"service_address.country", "service_country"},
	{"quantity", "quantity"},
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
		ServiceAddress: Address{Line1: get("service_address_line1"), Line2: get("service_address_line2"), City: get("service_city"),
			Region: get("service_region"), PostalCode: get("service_postal_code"), Country: get("service_country")},
	}
	if ns.Name == "" {
		re.add("service_name", "service_name is required on a service row: it tells the account's services apart when the file is imported again")
	}
	if ns.POP == "" {
		re.add("pop", "pop is required on a service row: the POP whose agent enforces the service")
	}
	if v := get("quantity"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			re.add("quantity", fmt.Sprintf("quantity %q is not a whole number (how many of the plan; charge = price × quantity)", v))
		case n < 1 || n > maxQuantity:
			re.add("quantity", fmt.Sprintf("quantity %d is out of range 1-%d", n, maxQuantity))
		default:
			ns.Quantity = n
		}
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
		case strings.HasPrefix(msg, "service_address"):
			check.ServiceAddress = Address{}
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

// importOverrides reads an account's overrides of its type's billing
// settings from their columns (named like the settings): an empty cell
// inherits the type's; due_days and grace_days are whole days;
// reminder_days_before is days separated by spaces, commas or semicolons,
// or "none" for no reminders; auto_suspend and late_fee are true or false.
// A value that does not parse is reported on its column (the ranges are
// [AccountOverrides.Validate]'s, through [NewAccount.Validate]).
func importOverrides(re *rowErrs, get func(string) string) AccountOverrides {
	var o AccountOverrides
	for _, f := range []struct {
		col string
		p   **int
	}{{SettingDueDays, &o.DueDays}, {SettingGraceDays, &o.GraceDays}} {
		if v := get(f.col); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				re.add(f.col, fmt.Sprintf("%s %q is not a whole number of days", f.col, v))
				continue
			}
			*f.p = &n
		}
	}
	if v := get(SettingReminderDaysBefore); v != "" {
		days := []int{}
		if !strings.EqualFold(v, "none") {
			for _, d := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == ';' }) {
				n, err := strconv.Atoi(d)
				if err != nil {
					re.add(SettingReminderDaysBefore, fmt.Sprintf("reminder_days_before %q: %q is not a whole number of days (list days like \"7 3\", or none)", v, d))
					days = nil
					break
				}
				days = append(days, n)
			}
		}
		if days != nil {
			o.ReminderDaysBefore = &days
		}
	}
	for _, f := range []struct {
		col string
		p   **bool
	}{{SettingAutoSuspend, &o.AutoSuspend}, {SettingLateFee, &o.LateFee}} {
		if v := get(f.col); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				re.add(f.col, fmt.Sprintf("%s %q is not true or false", f.col, v))
				continue
			}
			*f.p = &b
		}
	}
	if v := get(SettingReactivationRule); v != "" {
		r := ReactivationRule(strings.ToLower(v))
		o.ReactivationRule = &r
	}
	if v := get(SettingInvoiceMessage); v != "" {
		o.InvoiceMessage = &v
	}
	return o
}
