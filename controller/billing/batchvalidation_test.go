package billing

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestValidateBatch: each line's problems are errors naming the field; a
// check number seen twice for an account, one already posted, and one
// check from one payer on two accounts are warnings.
func TestValidateBatch(t *testing.T) {
	line := func(no int, account int64, m PaymentMethod, amount int64, ref, payer string) BatchLine {
		return BatchLine{LineNo: no, Account: fmt.Sprintf("A-%d", account), AccountID: account, Method: m, Amount: amount, Reference: ref, Payer: payer}
	}
	for _, tc := range []struct {
		name     string
		lines    []BatchLine
		posted   []PostedCheck
		errors   []string // "line field"
		warnings []string
	}{
		{name: "good lines", lines: []BatchLine{line(1, 1, PayCheck, 100, "1001", "Ann"), line(2, 2, PayCash, 50, "", ""), line(3, 3, PayWire, 9, "", "")}},
		{name: "unknown account", lines: []BatchLine{{LineNo: 1, Account: "nope", Method: PayCash, Amount: 100}}, errors: []string{"1 account"}},
		{name: "bad and card methods", lines: []BatchLine{line(1, 1, "barter", 100, "", ""), line(2, 1, PayCard, 100, "", "")},
			errors: []string{"1 method", "2 method"}},
		{name: "amounts", lines: []BatchLine{line(1, 1, PayCash, 0, "", ""), line(2, 1, PayCash, -5, "", ""), line(3, 1, PayCash, MaxAmount+1, "", "")},
			errors: []string{"1 amount", "2 amount", "3 line"}},
		{name: "a check without its number", lines: []BatchLine{line(1, 1, PayCheck, 100, "", "")}, errors: []string{"1 reference"}},
		{name: "a check number twice for an account", lines: []BatchLine{line(1, 1, PayCheck, 100, "77", ""), line(2, 1, PayCheck, 200, "77", "")},
			warnings: []string{"2 reference"}},
		{name: "a check already posted", lines: []BatchLine{line(1, 1, PayCheck, 100, "77", ""), line(2, 2, PayCheck, 100, "77", "")},
			posted: []PostedCheck{{AccountID: 2, Reference: "77", PaymentID: 9}}, warnings: []string{"2 reference"}},
		{name: "a closed account's line posts as credit", lines: []BatchLine{line(1, 1, PayCash, 100, "", ""),
			func() BatchLine { l := line(2, 2, PayCash, 100, "", ""); l.AccountStatus = AccountClosed; return l }()},
			warnings: []string{"2 account"}},
		{name: "one payer's check on two accounts", lines: []BatchLine{line(1, 1, PayCheck, 100, "77", "ACME"), line(2, 2, PayCheck, 100, "77", "acme")},
			warnings: []string{"2 reference"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := PaymentBatch{ID: 5, Status: BatchOpen, Lines: tc.lines}
			v := ValidateBatch(b, tc.posted)
			where := func(ps []BatchProblem) []string {
				out := []string{}
				for _, p := range ps {
					out = append(out, fmt.Sprintf("%d %s", p.LineNo, p.Field))
				}
				return out
			}
			if got := where(v.Errors); !slices.Equal(got, append([]string{}, tc.errors...)) {
				t.Errorf("errors %v, want %v", v.Errors, tc.errors)
			}
			if got := where(v.Warnings); !slices.Equal(got, append([]string{}, tc.warnings...)) {
				t.Errorf("warnings %v, want %v", v.Warnings, tc.warnings)
			}
			if v.OK != (len(tc.errors) == 0) || (v.Err() == nil) != v.OK || v.BatchID != 5 {
				t.Errorf("ok %v, err %v", v.OK, v.Err())
			}
		})
	}
	b := PaymentBatch{Lines: []BatchLine{line(1, 1, PayCheck, 1, "7", ""), line(2, 1, PayCheck, 1, "7", ""), line(3, 2, PayCash, 1, "7", ""),
		line(4, 0, PayCheck, 1, "8", ""), line(5, 3, PayCheck, 1, "9", "")}}
	if accounts, refs := b.CheckLookups(); !slices.Equal(accounts, []int64{1, 3}) || !slices.Equal(refs, []string{"7", "9"}) {
		t.Errorf("check lookups %v %v", accounts, refs)
	}
}

func TestBatchPostable(t *testing.T) {
	if err := (PaymentBatch{ID: 1, Status: BatchPosted, Lines: []BatchLine{{}}}).CheckPostable(); ErrorCode(err) != ECONFLICT {
		t.Errorf("posted batch: %v", err)
	}
	if err := (PaymentBatch{ID: 1, Status: BatchOpen}).CheckPostable(); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "no lines") {
		t.Errorf("empty batch: %v", err)
	}
	if err := (PaymentBatch{ID: 1, Status: BatchOpen, Lines: []BatchLine{{}}}).CheckPostable(); err != nil {
		t.Errorf("open batch: %v", err)
	}
}

// TestPlanBatchImport: rows become lines numbered after the batch's own;
// an unknown account, a problem of the file and an amount the currency
// cannot hold are errors of the file's line; the validation's problems of
// the file's lines come back with them, and any error keeps nothing.
func TestPlanBatchImport(t *testing.T) {
	b := PaymentBatch{ID: 3, Status: BatchOpen, Lines: []BatchLine{{LineNo: 4}}}
	file := BatchFile{Rows: []BatchRow{
		{Line: 2, Account: "A-1", Method: PayCheck, Amount: "10.50", Reference: "1"},
		{Line: 3, Account: "ghost", Method: PayCash, Amount: "1"},
		{Line: 4, Account: "A-2", Method: PayCash, Amount: "1.5"}, // JPY has no minor units
		{Line: 5, Account: "A-1", Method: PayCash, Amount: "x"},
		{Line: 6, Account: "A-1", Method: PayCheck, Amount: "3", Reference: "1"},
	}, Errors: []ImportError{{Line: 5, Column: "amount", Reason: "not a number"}}}
	cur := map[string]Currency{"A-1": "USD", "A-2": "JPY"}
	p, err := PlanBatchImport(b, file, cur, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Lines) != 2 || p.Lines[0].LineNo != 5 || p.Lines[0].Amount != 1050 || p.Lines[1].LineNo != 6 {
		t.Fatalf("lines %+v", p.Lines)
	}
	v := BatchValidation{Warnings: []BatchProblem{{LineNo: 6, Field: "reference", Warning: true, Message: "twice"}},
		Errors: []BatchProblem{{LineNo: 4, Field: "amount", Message: "a line staff entered"}}}
	res, keep := p.Validated(v)
	var lines []int
	for _, e := range res.Errors {
		lines = append(lines, e.Line)
	}
	if keep || res.Added != 0 || !slices.Equal(lines, []int{3, 4, 5}) || len(res.Warnings) != 1 || res.Warnings[0].Line != 6 ||
		res.FirstLine != 5 || res.Rows != 5 {
		t.Errorf("result %+v, keep %v", res, keep)
	}
	// Only good rows: kept unless a dry run.
	file = BatchFile{Rows: file.Rows[:1]}
	p, _ = PlanBatchImport(b, file, cur, false)
	if res, keep := p.Validated(BatchValidation{}); !keep || res.Added != 1 {
		t.Errorf("good file: %+v %v", res, keep)
	}
	p, _ = PlanBatchImport(b, file, cur, true)
	if res, keep := p.Validated(BatchValidation{}); keep || res.Added != 1 || !res.DryRun {
		t.Errorf("dry run: %+v %v", res, keep)
	}
	if _, err := PlanBatchImport(b, BatchFile{}, cur, false); ErrorCode(err) != EINVALID {
		t.Errorf("empty file: %v", err)
	}
	b.Status = BatchPosted
	if _, err := PlanBatchImport(b, file, cur, false); ErrorCode(err) != ECONFLICT {
		t.Errorf("posted batch: %v", err)
	}
}

// FuzzParseBatchCSV: a lockbox file comes off the wire, so the parser must
// never panic, must place every problem on a line of the file with a
// reason, and must hand out rows whose lines are in order and which, when
// they have no problem, become batch lines that validate.
func FuzzParseBatchCSV(f *testing.F) {
	for _, s := range []string{
		"account,method,amount,reference,payer,memo\nA-1,check,49.99,1001,Jane,\n",
		"\ufeffAmount, ACCOUNT ,Reference\r\n49.99,A-000042,1001\r\n\r\n120,legacy-7, 5531 \r\n",
		"account,amount\nA-1,12.3.4\n,-5\nA-2,\"unclosed\n",
		"account,method,amount,reference\nA-1,card,0,\nA-1,Cash,1e3,\nA-1,wire,10,\x00\n",
		"account,account\n", "mystery\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseBatchCSV(bytes.NewReader(data))
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		bad := map[int]bool{}
		for _, e := range file.Errors {
			if e.Line < 1 || e.Line > lines || e.Reason == "" {
				t.Fatalf("problem %+v outside the file's %d lines or without a reason", e, lines)
			}
			bad[e.Line] = true
		}
		last := 1
		for _, r := range file.Rows {
			if r.Line <= last || r.Line > lines {
				t.Fatalf("row at line %d after line %d in a file of %d lines", r.Line, last, lines)
			}
			last = r.Line
			if bad[r.Line] {
				continue
			}
			l, err := r.BatchLineOf("USD")
			if err != nil {
				if ErrorCode(err) != EINVALID {
					t.Fatalf("row %+v: %v is not EINVALID", r, err)
				}
				continue
			}
			l.LineNo, l.AccountID = 1, 1
			if v := ValidateBatch(PaymentBatch{Status: BatchOpen, Lines: []BatchLine{l}}, nil); !v.OK {
				t.Fatalf("row %+v without problems becomes a line that does not validate: %v", r, v.Errors)
			}
		}
	})
}
