package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// importTimeout bounds one import request: a large file is validated and
// written in one transaction, which takes longer than other calls.
const importTimeout = 10 * time.Minute

// ImportAccountsCSV uploads an account import file (see
// [billing.ParseAccountsCSV]) to POST /api/v1/imports/accounts. A file with
// problems (and skipInvalid false) is refused with a *Problem whose Errors
// list every problem; [ImportErrors] turns them back into ImportErrors.
func (c *Client) ImportAccountsCSV(ctx context.Context, idemKey string, csv []byte, dryRun, skipInvalid bool) (billing.ImportResult, error) {
	q := url.Values{}
	if dryRun {
		q.Set("dry_run", "true")
	}
	if skipInvalid {
		q.Set("skip_invalid", "true")
	}
	var res billing.ImportResult
	err := c.doRaw(ctx, http.MethodPost, "/api/v1/imports/accounts", q, idemKey, "text/csv", csv, &res)
	return res, err
}

// DoRaw is [Client.Do] with a body sent as is, with its content type (a
// YAML document, a CSV file), and a timeout long enough for a large import.
func (c *Client) DoRaw(ctx context.Context, method, path string, query url.Values, idemKey, contentType string, body []byte, out any) error {
	return c.doRaw(ctx, method, path, query, idemKey, contentType, body, out)
}

// doRaw is [Client.Do] with a body sent as is, with its content type, and
// a timeout long enough for a large import.
func (c *Client) doRaw(ctx context.Context, method, path string, query url.Values, idemKey, contentType string, body []byte, out any) error {
	hc := http.Client{Timeout: importTimeout}
	if c.HTTP != nil {
		hc = *c.HTTP
		hc.Timeout = max(hc.Timeout, importTimeout)
	}
	return c.send(ctx, &hc, method, path, query, idemKey, contentType, body, out)
}

// importLocation matches an import problem's location: "line 12/email" or
// "line 12".
var importLocation = regexp.MustCompile(`^line (\d+)(?:/(.*))?$`)

// ImportErrors returns the problems of an import the API refused (a 422
// *Problem from [Client.ImportAccountsCSV]); ok is false for any other
// error.
func ImportErrors(err error) (errs []billing.ImportError, ok bool) {
	var p *Problem
	if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity || len(p.Errors) == 0 {
		return nil, false
	}
	for _, d := range p.Errors {
		m := importLocation.FindStringSubmatch(d.Location)
		if m == nil {
			return nil, false
		}
		e := billing.ImportError{Column: m[2], Reason: d.Message}
		e.Line, _ = strconv.Atoi(m[1])
		// The message starts with the location ("line 12, column email: "):
		// keep the reason alone.
		prefix := billing.ImportError{Line: e.Line, Column: e.Column}.Error()
		if r, cut := strings.CutPrefix(d.Message, prefix); cut {
			e.Reason = r
		}
		errs = append(errs, e)
	}
	return errs, true
}

// ImportBatchCSV uploads a lockbox file to POST
// /api/v1/payment-batches/{id}/import (see [billing.ParseBatchCSV]). A file
// with problems is refused with a *Problem whose Errors list every problem
// (warnings prefixed "warning: "); [ImportErrors] turns them back into
// ImportErrors.
func (c *Client) ImportBatchCSV(ctx context.Context, idemKey string, batchID int64, csv []byte, dryRun bool) (billing.BatchImport, error) {
	q := url.Values{}
	if dryRun {
		q.Set("dry_run", "true")
	}
	var res billing.BatchImport
	err := c.doRaw(ctx, http.MethodPost, "/api/v1/payment-batches/"+strconv.FormatInt(batchID, 10)+"/import", q, idemKey, "text/csv", csv, &res)
	return res, err
}
