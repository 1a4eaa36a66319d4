package billing

import "fmt"

// BatchImportPlan is what adding a parsed batch import file to an open
// batch does: the store appends Lines, validates the whole batch
// ([ValidateBatch]), hands the validation to [BatchImportPlan.Validated]
// and keeps the lines only if that says so.
type BatchImportPlan struct {
	// Lines are the rows without problems, as batch lines numbered from
	// the batch's next line on, in file order.
	Lines  []BatchLine
	result BatchImport
	// fileLine maps a batch line number to the file's line.
	fileLine map[int]int
}

// PlanBatchImport plans the import of file into batch b (which must be
// changeable): currencies are the currencies of the accounts the rows
// name, by what the rows say (number, external id or id; an account not
// found is absent). Every problem of a row — the file's own, an unknown
// account, an amount its currency cannot hold — is reported with the
// file's line. Error: ECONFLICT for a posted batch, EINVALID for a file
// without rows.
func PlanBatchImport(b PaymentBatch, file BatchFile, currencies map[string]Currency, dryRun bool) (BatchImportPlan, error) {
	if err := b.CheckChangeable(); err != nil {
		return BatchImportPlan{}, err
	}
	if len(file.Rows) == 0 && len(file.Errors) == 0 {
		return BatchImportPlan{}, Errorf(EINVALID, "the file has no payments, only its header")
	}
	next := 1
	if n := len(b.Lines); n > 0 {
		next = b.Lines[n-1].LineNo + 1
	}
	p := BatchImportPlan{fileLine: map[int]int{}, result: BatchImport{BatchID: b.ID, DryRun: dryRun, Rows: len(file.Rows),
		FirstLine: next, Errors: append([]ImportError{}, file.Errors...), Warnings: []ImportError{}}}
	bad := map[int]bool{} // lines with a problem of the file
	for _, e := range file.Errors {
		bad[e.Line] = true
	}
	for _, r := range file.Rows {
		c, found := currencies[r.Account]
		if r.Account != "" && (!found || c == "") {
			p.result.Errors = append(p.result.Errors, ImportError{Line: r.Line, Column: "account",
				Reason: fmt.Sprintf("no account has the number, external id or id %q", r.Account)})
			continue
		}
		if bad[r.Line] {
			continue
		}
		l, err := r.BatchLineOf(c)
		if err != nil {
			p.result.Errors = append(p.result.Errors, ImportError{Line: r.Line, Column: "amount", Reason: ErrorMessage(err)})
			continue
		}
		l.LineNo = next + len(p.Lines)
		p.fileLine[l.LineNo] = r.Line
		p.Lines = append(p.Lines, l)
	}
	p.result.Added = len(p.Lines)
	return p, nil
}

// Validated takes the validation of the batch with the plan's lines
// added: its problems of the file's lines are reported with the file's
// lines (those of lines entered before are not the file's). It returns the
// result, and whether the store keeps the lines: only when no row has an
// error and it is not a dry run (a refused file adds nothing).
func (p BatchImportPlan) Validated(v BatchValidation) (BatchImport, bool) {
	res := p.result
	res.Errors, res.Warnings = append([]ImportError{}, res.Errors...), append([]ImportError{}, res.Warnings...)
	for _, pr := range append(v.Errors, v.Warnings...) {
		line, ok := p.fileLine[pr.LineNo]
		if !ok {
			continue
		}
		e := ImportError{Line: line, Column: pr.Field, Reason: pr.Message}
		if pr.Warning {
			res.Warnings = append(res.Warnings, e)
		} else {
			res.Errors = append(res.Errors, e)
		}
	}
	keep := len(res.Errors) == 0 && !res.DryRun
	if len(res.Errors) > 0 && !res.DryRun {
		res.Added = 0
	}
	SortImportErrors(res.Errors)
	SortImportErrors(res.Warnings)
	return res, keep
}
