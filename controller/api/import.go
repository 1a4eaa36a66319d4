package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AccountImporter imports account files (see [billing.ScanAccountsCSV])
// read from their start, as many times as it needs; postgres.DB
// implements it.
type AccountImporter interface {
	// ImportAccountsCSV checks and (unless dryRun) imports the account file
	// in one transaction; the rows' problems are in the outcome. EINVALID
	// for a file that cannot be read as an import file (empty, too large,
	// too many rows); a row the database refuses is an uncoded error naming
	// its line, and nothing is written.
	ImportAccountsCSV(ctx context.Context, file io.ReaderAt, dryRun, skipInvalid bool, at time.Time) (billing.ImportOutcome, error)
}

type importInput struct {
	DryRun      bool `query:"dry_run" doc:"Check the file against the database and count what would be imported; write nothing."`
	SkipInvalid bool `query:"skip_invalid" doc:"Import the valid accounts and skip every account with a bad row (problems of the header still refuse the file)."`
	// body is the request's body, read by the parser as it goes (not
	// buffered by huma: a file may be 64 MiB).
	body io.Reader
}

// Resolve takes the request body's reader.
func (in *importInput) Resolve(ctx huma.Context) []error {
	in.body = ctx.BodyReader()
	return nil
}

var importDescription = `Imports subscriber accounts and their services from CSV (at most ` +
	fmt.Sprint(billing.MaxImportRows) + ` rows, 64 MiB), one row per service.

The first line names the columns, in any order and any case: ` + "`" + strings.Join(billing.ImportColumns(), "`, `") + "`" + `;
` + "`external_id`, `name`, `account_type` and `currency`" + ` are required, any other column is an error.
An account without services has one row with empty service columns; the rows of an account with several
services repeat its account columns (which must agree) with the same external_id. ` + "`account_type` and `plan`" + ` are
names; dates are YYYY-MM-DD; ` + "`addresses`" + ` are separated by spaces or ';'. A service row with no method and no
binding columns is recorded with method log. The account's own billing settings are the columns named like
account edit's ` + "`overrides`" + ` (` + "`due_days`, `grace_days`, `reminder_days_before` (days separated by spaces, ',' or ';', or `none`), `auto_suspend`, `reactivation_rule`, `late_fee`, `invoice_message`" + `),
an empty cell inheriting the account type's; ` + "`tax_exempt` (true or false) needs `exemption_certificate`" + `;
` + "`billing_day`" + ` (1-31, fixed_day account types only) overrides the type's billing day, as account edit does.

Every row is checked and every problem is reported: when there is any (and skip_invalid is not set) the
answer is 422 with one entry per problem in ` + "`errors`" + ` (message "line 12, column email: …", location
"line 12/email"), the first ` + fmt.Sprint(billing.MaxListedImportProblems) + ` in full and the rest as a count in ` + "`detail`" + `
(with skip_invalid, in ` + "`errors_unlisted`" + `), and nothing is written. Otherwise the valid accounts are written in one transaction.
Accounts are matched by external_id and services by (account, service_name): what exists is left as it
is and counted as existing, so importing a file again creates nothing twice.

Files up to 64 MiB are accepted. ` + "`tollgatectl import accounts`" + ` validates the whole file with dry_run first, then
sends it in parts of whole accounts (each with the header line) to show progress and to resume after an interruption.`

// registerImport serves POST /api/v1/imports/accounts.
func (s *Server) registerImport(imp AccountImporter) {
	o := op("import-accounts", http.MethodPost, "/api/v1/imports/accounts",
		"Import accounts with their services from CSV (validate every row; dry run; skip invalid accounts)", RoleBilling, "imports")
	o.Description = importDescription
	o.RequestBody = &huma.RequestBody{Required: true, Description: "The CSV file (at most 64 MiB).",
		Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}}}
	o.Errors = append(o.Errors, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
	huma.Register(s.api, o, func(ctx context.Context, in *importInput) (*body[billing.ImportResult], error) {
		file, err := importFile(in.body)
		if err != nil {
			return nil, s.toHTTPError("import-accounts", err)
		}
		defer file.Close()
		out, err := imp.ImportAccountsCSV(ctx, file, in.DryRun, in.SkipInvalid, s.clock.Now())
		if err != nil {
			return nil, s.toHTTPError("import-accounts", err)
		}
		if out.Refused {
			return nil, importProblem(out.Problems, out.Result.Rows)
		}
		return &body[billing.ImportResult]{Body: out.Result}, nil
	})
}

// importSource is an import file that can be read more than once.
type importSource interface {
	io.ReaderAt
	io.Closer
}

// spooledBody is the file the idempotency middleware spooled a body to; it
// closes it.
type spooledBody struct{ *os.File }

func (spooledBody) Close() error { return nil }

// importFile is the body of an import, to be read more than once: the
// file the body was spooled to (see spoolBody), else a spooled copy (of at
// most one byte more than an import file may have). The error is the
// disk's or the body's.
func importFile(body io.Reader) (importSource, error) {
	if f, ok := body.(*os.File); ok {
		return spooledBody{f}, nil
	}
	if body == nil {
		body = strings.NewReader("")
	}
	f, err := os.CreateTemp("", "tollgate-import-*")
	if err != nil {
		return nil, err
	}
	_ = os.Remove(f.Name()) // gone when closed
	if _, err := io.Copy(f, io.LimitReader(body, billing.MaxImportBytes+1)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// importProblem is the 422 answer listing the problems of a refused file:
// the first ones in full, the rest as a count in the detail.
func importProblem(p billing.ImportProblems, rows int) error {
	details := make([]error, 0, len(p.Listed))
	for _, e := range p.Listed {
		loc := fmt.Sprintf("line %d", e.Line)
		if e.Column != "" {
			loc += "/" + e.Column
		}
		details = append(details, &huma.ErrorDetail{Message: e.Error(), Location: loc})
	}
	detail := fmt.Sprintf("the file has %d problem(s) on %d line(s) of %d row(s); nothing was imported", p.Count, p.Lines, rows)
	if n := p.Unlisted(); n > 0 {
		detail += fmt.Sprintf("; the first %d are listed, %d more are not", len(p.Listed), n)
	}
	return huma.NewError(http.StatusUnprocessableEntity, detail, details...)
}
