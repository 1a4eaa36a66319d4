package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Optimistic concurrency for edits: an account's or a service's version is
// its ETag; an edit sends the version it read as If-Match and is refused
// with 412 and the current version when someone changed it since.

// etag is version as an ETag ("3").
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// parseIfMatch reads a version from an If-Match header: "3", W/"3" or 3.
func parseIfMatch(h string) (int64, bool) {
	h = strings.TrimPrefix(strings.TrimSpace(h), "W/")
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	return v, err == nil && v > 0
}

// ifMatchVersion reads the version an edit of entity id was sent with:
// 428 without one, 422 for one that is not a version.
func ifMatchVersion(h, entity, path string) (int64, error) {
	if strings.TrimSpace(h) == "" {
		return 0, huma.NewError(http.StatusPreconditionRequired, "If-Match is required: send the "+entity+"'s version (the ETag or version of GET "+path+")",
			&huma.ErrorDetail{Location: "header.If-Match", Message: "required"})
	}
	v, ok := parseIfMatch(h)
	if !ok {
		return 0, huma.Error422UnprocessableEntity("If-Match "+strconv.Quote(h)+" is not a version of the "+entity+" (like \"3\")",
			&huma.ErrorDetail{Location: "header.If-Match", Message: "not a version", Value: h})
	}
	return v, nil
}

// preconditionFailed is the 412 of a change sent with a stale version
// (err, EPRECONDITION): the current version, when it could be read, in the
// ETag header and in the problem's detail.
func preconditionFailed(err error, current int64, readErr error) error {
	if readErr != nil {
		return huma.NewError(http.StatusPreconditionFailed, billing.ErrorMessage(err))
	}
	problem := huma.NewError(http.StatusPreconditionFailed, billing.ErrorMessage(err),
		&huma.ErrorDetail{Location: "header.If-Match", Message: "the current version is " + strconv.FormatInt(current, 10), Value: etag(current)})
	return huma.ErrorWithHeaders(problem, http.Header{"ETag": {etag(current)}})
}

// staleAccount is the 412 of an account edit from a stale version.
func staleAccount(ctx context.Context, store interface {
	Account(context.Context, int64) (billing.Account, error)
}, id int64, err error) error {
	a, rerr := store.Account(ctx, id)
	return preconditionFailed(err, a.Version, rerr)
}

// staleService is the 412 of a service change from a stale version.
func staleService(ctx context.Context, store interface {
	Service(context.Context, int64) (billing.Service, error)
}, id int64, err error) error {
	svc, rerr := store.Service(ctx, id)
	return preconditionFailed(err, svc.Version, rerr)
}
