package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AccountImporter imports parsed account files (see
// [billing.ParseAccountsCSV]); postgres.DB implements it.
type AccountImporter interface {
	ImportAccounts(ctx context.Context, rows []billing.ImportAccount, dryRun, skipInvalid bool, at time.Time) (billing.ImportResult, error)
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

// maxListedProblems is how many problems a refused import lists in full;
// the rest are counted.
const maxListedProblems = 1000

var importDescription = `Imports subscriber accounts and their services from CSV (at most ` +
	fmt.Sprint(billing.MaxImportRows) + ` rows, 64 MiB), one row per service.

The first line names the columns, in any order and any case: ` + "`" + strings.Join(billing.ImportColumns(), "`, `") + "`" + `;
` + "`external_id`, `name`, `account_type` and `currency`" + ` are required, any other column is an error.
An account without services has one row with empty service columns; the rows of an account with several
services repeat its account columns (which must agree) with the same external_id. ` + "`account_type` and `plan`" + ` are
names; dates are YYYY-MM-DD; ` + "`addresses`" + ` are separated by spaces or ';'. A service row with no method and no
binding columns is recorded with method log.

Every row is checked and every problem is reported: when there is any (and skip_invalid is not set) the
answer is 422 with one entry per problem in ` + "`errors`" + ` (message "line 12, column email: …", location
"line 12/email") and nothing is written. Otherwise the valid accounts are written in one transaction.
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
		if in.body == nil {
			in.body = strings.NewReader("")
		}
		file, err := billing.ParseAccountsCSV(in.body)
		if err != nil {
			return nil, s.toHTTPError("import-accounts", err)
		}
		// The parse's garbage (as much as the file again) is collected
		// before the store's work adds its own: the peak of a 64 MiB import
		// stays within the documented 256 MiB.
		runtime.GC()
		// Header problems concern every row: they refuse the file even when
		// invalid accounts are skipped, so nothing is written then.
		refused := len(file.Errors) > 0
		res, err := imp.ImportAccounts(ctx, file.Accounts, in.DryRun || refused, in.SkipInvalid, s.clock.Now())
		if err != nil {
			return nil, s.toHTTPError("import-accounts", err)
		}
		res.DryRun = in.DryRun
		res.Rows = file.Rows
		res.Errors = append(res.Errors, file.Errors...)
		billing.SortImportErrors(res.Errors)
		if len(res.Errors) > 0 && (refused || !in.SkipInvalid) {
			return nil, importProblem(res.Errors, res.Rows)
		}
		return &body[billing.ImportResult]{Body: res}, nil
	})
}

// importProblem is the 422 answer listing the problems of a refused file:
// the first maxListedProblems in full, the rest as a count in the detail.
func importProblem(errs []billing.ImportError, rows int) error {
	lines := map[int]bool{}
	details := make([]error, 0, min(len(errs), maxListedProblems))
	for _, e := range errs {
		lines[e.Line] = true
		if len(details) == maxListedProblems {
			continue
		}
		loc := fmt.Sprintf("line %d", e.Line)
		if e.Column != "" {
			loc += "/" + e.Column
		}
		details = append(details, &huma.ErrorDetail{Message: e.Error(), Location: loc})
	}
	detail := fmt.Sprintf("the file has %d problem(s) on %d line(s) of %d row(s); nothing was imported", len(errs), len(lines), rows)
	if len(errs) > maxListedProblems {
		detail += fmt.Sprintf("; the first %d are listed, %d more are not", maxListedProblems, len(errs)-maxListedProblems)
	}
	return huma.NewError(http.StatusUnprocessableEntity, detail, details...)
}
