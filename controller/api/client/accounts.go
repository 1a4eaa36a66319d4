package client

import (
	"context"
	"net/http"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Account edits and history. An account's version is its ETag: an edit
// sends the version it read as If-Match and is refused (a *Problem with
// status 412) when someone changed the account since.

// requestHeadersKey carries extra request headers (If-Match) to send.
type requestHeadersKey struct{}

func withRequestHeader(ctx context.Context, name, value string) context.Context {
	h := requestHeaders(ctx).Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(name, value)
	return context.WithValue(ctx, requestHeadersKey{}, h)
}

func requestHeaders(ctx context.Context) http.Header {
	h, _ := ctx.Value(requestHeadersKey{}).(http.Header)
	return h
}

// Account fetches an account; its Version is the ETag an edit sends back.
func (c *Client) Account(ctx context.Context, id int64) (billing.Account, error) {
	var a billing.Account
	err := c.Do(ctx, http.MethodGet, accountPath(id, ""), nil, "", nil, &a)
	return a, err
}

// AccountEditResult is the answer to an account edit.
type AccountEditResult struct {
	Account billing.Account `json:"account"`
	// Changed is false when the edit changed nothing.
	Changed bool `json:"changed"`
	// Change is the audit entry the edit wrote (nil if nothing changed).
	Change       *billing.AuditEntry   `json:"change"`
	Consequences []billing.Consequence `json:"consequences"`
}

// EditAccount changes the fields edit sets on the account at version
// (If-Match). Errors: a *Problem: 412 when the account is no longer at
// version (its detail gives the current one), 422 naming a bad field, 404.
func (c *Client) EditAccount(ctx context.Context, idemKey string, id, version int64, edit billing.AccountEdit) (AccountEditResult, error) {
	var r AccountEditResult
	err := c.Do(withIfMatch(ctx, version), http.MethodPatch, accountPath(id, ""), nil, idemKey, edit, &r)
	return r, err
}

// AccountHistory lists an account's edits and status changes, newest
// first.
func (c *Client) AccountHistory(ctx context.Context, id int64) ([]billing.HistoryEntry, error) {
	var p struct {
		Items []billing.HistoryEntry `json:"items"`
	}
	err := c.Do(ctx, http.MethodGet, accountPath(id, "/history"), nil, "", nil, &p)
	return p.Items, err
}
