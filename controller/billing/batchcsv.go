package billing

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// BatchCSVColumns are the columns of a deposit-batch import file (a bank
// lockbox or check-scanner export); account and amount are required.
var BatchCSVColumns = []string{"account", "method", "amount", "reference", "payer", "memo"}

// Limits of one deposit-batch import file.
const (
	// MaxBatchImportRows is the most payment rows one file may have.
	MaxBatchImportRows = 20_000
	// MaxBatchImportBytes is the largest batch import file accepted.
	MaxBatchImportBytes = 8 << 20
)

// Longest text a payment keeps, in bytes (NewPayment.Validate).
const (
	maxReferenceBytes = 100
	maxPayerBytes     = 200
	maxMemoBytes      = 500
)

// BatchRow is one payment row of a batch import file, trimmed. Amount is
// still the decimal text: its minor units depend on the account's currency,
// which only the store knows ([BatchRow.Line] of a row with problems is
// reported with them).
type BatchRow struct {
	// Line is the file's line the row starts on (1 is the header).
	Line      int           `json:"line"`
	Account   string        `json:"account"`
	Method    PaymentMethod `json:"method"`
	Amount    string        `json:"amount"`
	Reference string        `json:"reference,omitempty"`
	Payer     string        `json:"payer,omitempty"`
	Memo      string        `json:"memo,omitempty"`
}

// BatchFile is a parsed batch import file.
type BatchFile struct {
	// Rows are the rows that parsed (with problems or not), in file order;
	// blank rows are skipped.
	Rows []BatchRow `json:"rows"`
	// Errors are every problem seen without the database: CSV syntax, the
	// header, and each row's fields.
	Errors []ImportError `json:"errors,omitempty"`
}

// ParseBatchCSV reads a batch import file and reports every problem it can
// see without the database, each with its line and column: CSV syntax, the
// header (required; names in any case and order; unknown, unnamed or
// repeated columns), and each row's account (required), method (empty:
// check; a manual method), amount (a positive decimal), check number (a
// check needs one), control characters and lengths. Header problems stop
// the parse (Rows is nil then).
//
// The returned error is EINVALID for a file over MaxBatchImportBytes or
// with more than MaxBatchImportRows rows, and a read failure otherwise;
// problems of the file's content are in BatchFile.Errors, not the error.
func ParseBatchCSV(r io.Reader) (BatchFile, error) {
	lr := &io.LimitedReader{R: r, N: MaxBatchImportBytes + 1}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var f BatchFile
	problem := func(line int, col, reason string) {
		f.Errors = append(f.Errors, ImportError{Line: line, Column: col, Reason: reason})
	}
	syntax := func(pe *csv.ParseError) {
		problem(pe.StartLine, "", fmt.Sprintf("not valid CSV: %v (line %d, character %d)", pe.Err, pe.Line, pe.Column))
	}
	tooLarge := func() error {
		return Errorf(EINVALID, "the batch import file is larger than %d MiB; split it into several batches", MaxBatchImportBytes>>20)
	}
	header, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case lr.N <= 0:
		return BatchFile{}, tooLarge()
	case errors.Is(err, io.EOF):
		problem(1, "", "the file is empty; its first line must name the columns: "+strings.Join(BatchCSVColumns, ", "))
		return f, nil
	case errors.As(err, &pe):
		syntax(pe)
		return f, nil
	case err != nil:
		return BatchFile{}, err
	}
	cols := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		name := strings.ToLower(strings.TrimSpace(h))
		_, dup := cols[name]
		switch {
		case name == "":
			problem(1, fmt.Sprintf("column %d", i+1), "the column has no name")
		case !slices.Contains(BatchCSVColumns, name):
			problem(1, strings.ToValidUTF8(strings.TrimSpace(h), "?"), fmt.Sprintf("unknown column %q; the columns are %s", strings.TrimSpace(h), strings.Join(BatchCSVColumns, ", ")))
		case dup:
			problem(1, name, "the column appears twice")
		default:
			cols[name] = i
		}
	}
	for _, name := range []string{"account", "amount"} {
		if _, ok := cols[name]; !ok {
			problem(1, name, "the "+name+" column is required")
		}
	}
	if len(f.Errors) > 0 {
		return f, nil
	}
	for {
		rec, err := cr.Read()
		if lr.N <= 0 {
			return BatchFile{}, tooLarge()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.As(err, &pe) {
			syntax(pe)
			continue
		}
		if err != nil {
			return BatchFile{}, err
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(rec) != len(header) {
			problem(line, "", fmt.Sprintf("the row has %d fields but the header has %d", len(rec), len(header)))
			continue
		}
		if len(f.Rows) == MaxBatchImportRows {
			return BatchFile{}, Errorf(EINVALID, "the batch import file has more than %d payment rows; split it into several batches", MaxBatchImportRows)
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row := BatchRow{Line: line, Account: get("account"), Method: PaymentMethod(strings.ToLower(get("method"))), Amount: get("amount"),
			Reference: get("reference"), Payer: get("payer"), Memo: get("memo")}
		for _, p := range row.Check() {
			problem(line, p.Column, p.Reason)
		}
		f.Rows = append(f.Rows, row)
	}
	return f, nil
}

// Check reports every problem of the row that can be seen without the
// account (Line is left 0; Column names the field); an empty method
// becomes check. A batch line sent as JSON is checked with it too.
func (r *BatchRow) Check() []ImportError {
	var ps []ImportError
	textBad := map[string]bool{}
	bad := func(col, reason string) {
		if !textBad[col] {
			ps = append(ps, ImportError{Column: col, Reason: reason})
		}
	}
	for _, c := range []struct {
		col      string
		v        string
		multi    bool
		maxBytes int
	}{{"account", r.Account, false, 100}, {"method", string(r.Method), false, 100}, {"amount", r.Amount, false, 100},
		{"reference", r.Reference, false, maxReferenceBytes}, {"payer", r.Payer, false, maxPayerBytes}, {"memo", r.Memo, true, maxMemoBytes}} {
		if err := CheckText(c.v, c.multi, c.maxBytes); err != nil {
			bad(c.col, c.col+" "+ErrorMessage(err))
			textBad[c.col] = true
		} else if len(c.v) > c.maxBytes {
			bad(c.col, fmt.Sprintf("%s is too long (%d bytes; at most %d)", c.col, len(c.v), c.maxBytes))
			textBad[c.col] = true
		}
	}
	if r.Account == "" {
		bad("account", "the account (number, external id or id) is missing")
	}
	if r.Method == "" {
		r.Method = PayCheck
	}
	switch {
	case r.Method.Manual():
	case r.Method.Valid():
		bad("method", fmt.Sprintf("method %q is charged through the payment gateway, not recorded by hand; use one of %s", r.Method, manualMethods))
	default:
		bad("method", fmt.Sprintf("method %q is not one of %s", r.Method, manualMethods))
	}
	if err := checkAmountSyntax(r.Amount); err != nil {
		bad("amount", ErrorMessage(err))
	}
	if r.Method == PayCheck && r.Reference == "" {
		bad("reference", "a check needs its check number")
	}
	return ps
}

const manualMethods = "check, cash, wire, money_order, other"

// checkAmountSyntax checks that s is a positive decimal ("49.99") without
// knowing the currency; [ParseAmount] then checks its decimal places.
func checkAmountSyntax(s string) error {
	whole, frac, hasDot := strings.Cut(s, ".")
	digits := func(x string) bool {
		for _, r := range x {
			if r < '0' || r > '9' {
				return false
			}
		}
		return x != ""
	}
	switch {
	case s == "":
		return Errorf(EINVALID, "amount is missing")
	case strings.HasPrefix(s, "-"):
		return Errorf(EINVALID, "amount %q must not be negative", s)
	case !digits(whole) || (hasDot && !digits(frac)):
		return Errorf(EINVALID, "amount %q is not a decimal number like 49.99", s)
	case strings.Trim(whole+frac, "0") == "":
		return Errorf(EINVALID, "amount %q must be more than zero", s)
	}
	return nil
}

// BatchLineOf turns a row without problems into a batch line, its amount in
// minor units of currency (the account's). The returned error is EINVALID,
// naming the amount: too many decimal places for the currency, or more than
// MaxAmount.
func (r BatchRow) BatchLineOf(currency Currency) (BatchLine, error) {
	n, err := ParseAmount(r.Amount, currency)
	if err != nil {
		return BatchLine{}, err
	}
	if err := CheckAmount("amount", n); err != nil {
		return BatchLine{}, err
	}
	if n <= 0 {
		return BatchLine{}, Errorf(EINVALID, "amount %q must be more than zero", r.Amount)
	}
	return BatchLine{Account: r.Account, Method: r.Method, Amount: n, Reference: r.Reference, Payer: r.Payer, Memo: r.Memo}, nil
}

// BatchImport is what importing a file into a deposit batch did (or, in a
// dry run, would do).
type BatchImport struct {
	BatchID int64 `json:"batch_id"`
	DryRun  bool  `json:"dry_run"`
	// Rows is the number of payment rows in the file; Added how many lines
	// were (or would be) added to the batch.
	Rows  int `json:"rows"`
	Added int `json:"added"`
	// FirstLine is the batch line number of the file's first row.
	FirstLine int `json:"first_line"`
	// Errors are every problem of every row (with the file's lines): any
	// one refuses the whole file. Warnings (a check number seen twice, the
	// same check from one payer on two accounts, a check already posted)
	// do not.
	Errors   []ImportError `json:"errors"`
	Warnings []ImportError `json:"warnings"`
}
