package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// BatchFileImporter adds a parsed lockbox file to a deposit batch, all or
// nothing (see postgres.DB.ImportBatchFile).
type BatchFileImporter interface {
	// ImportBatchFile adds file's rows to an open batch, all or nothing (a
	// dry run adds nothing); the rows' problems are in the result, not the
	// error. ENOTFOUND for an unknown batch, ECONFLICT for a posted one,
	// EINVALID for a file without rows.
	ImportBatchFile(ctx context.Context, batchID int64, file billing.BatchFile, dryRun bool) (billing.BatchImport, error)
}

const batchImportPath = "/api/v1/payment-batches/{id}/import"

var batchImportDescription = `Adds the payments of a bank lockbox or check-scanner export (CSV, at most ` +
	fmt.Sprint(billing.MaxBatchImportRows) + ` rows, ` + fmt.Sprint(billing.MaxBatchImportBytes>>20) + ` MiB) to an open deposit batch.

The first line names the columns, in any order and any case: ` + "`" + strings.Join(billing.BatchCSVColumns, "`, `") + "`" + `;
` + "`account` and `amount`" + ` are required, any other column is an error. ` + "`account`" + ` is an account number (A-000042),
external id or id; ` + "`method`" + ` is check, cash, wire, money_order or other (empty: check); ` + "`amount`" + ` is a decimal in
the account's currency (49.99); a check needs its number in ` + "`reference`" + `.

All or nothing: every problem of every row — CSV syntax, a bad field, an unknown account, an amount the
currency cannot hold, a validation error — is reported in one 422 (` + "`errors`" + `, location "line 12/amount"),
and nothing is added. Otherwise every row becomes a line of the batch, after the lines it has. Duplicate checks
(the same check number twice for an account, the same check from one payer on two accounts, a check already
posted) are warnings: reported, not refused. With dry_run nothing is added either way.
Re-sending the same file with the same Idempotency-Key replays the first answer and adds nothing.`

// registerBatchImport serves POST /api/v1/payment-batches/{id}/import.
func (s *Server) registerBatchImport(imp BatchFileImporter) {
	o := op("import-batch-file", http.MethodPost, batchImportPath,
		"Import a lockbox CSV file into an open deposit batch (all or nothing; every problem of every row at once; dry run)", RoleBilling, "payment batches")
	o.Description = batchImportDescription
	o.MaxBodyBytes = billing.MaxBatchImportBytes
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusRequestEntityTooLarge)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		DryRun  bool   `query:"dry_run" doc:"Check the file against the batch and the accounts; add nothing."`
		RawBody []byte `contentType:"text/csv"`
	}) (*body[billing.BatchImport], error) {
		file, err := billing.ParseBatchCSV(bytes.NewReader(in.RawBody))
		if err != nil {
			return nil, s.toHTTPError("import-batch-file", err)
		}
		res, err := imp.ImportBatchFile(ctx, in.ID, file, in.DryRun)
		if err != nil {
			return nil, s.toHTTPError("import-batch-file", err)
		}
		if len(res.Errors) > 0 {
			return nil, batchImportProblem(res)
		}
		return &body[billing.BatchImport]{Body: res}, nil
	})
}

// batchImportProblem is the 422 answer listing every problem of a refused
// file, errors first, then warnings.
func batchImportProblem(res billing.BatchImport) error {
	lines := map[int]bool{}
	details := make([]error, 0, len(res.Errors)+len(res.Warnings))
	add := func(e billing.ImportError, prefix string) {
		loc := fmt.Sprintf("line %d", e.Line)
		if e.Column != "" {
			loc += "/" + e.Column
		}
		details = append(details, &huma.ErrorDetail{Message: prefix + e.Error(), Location: loc})
	}
	for _, e := range res.Errors {
		lines[e.Line] = true
		add(e, "")
	}
	for _, e := range res.Warnings {
		add(e, "warning: ")
	}
	return huma.NewError(http.StatusUnprocessableEntity,
		fmt.Sprintf("the file has %d problem(s) on %d line(s) of %d row(s); nothing was added to batch %d", len(res.Errors), len(lines), res.Rows, res.BatchID), details...)
}
