package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// withIfMatch makes the request sent with ctx carry If-Match: "version".
func withIfMatch(ctx context.Context, version int64) context.Context {
	return withRequestHeader(ctx, "If-Match", `"`+strconv.FormatInt(version, 10)+`"`)
}

// ServiceChange is the answer to a service move or edit.
type ServiceChange struct {
	Service billing.Service `json:"service"`
	// Changed is false when nothing changed.
	Changed bool                `json:"changed"`
	Change  *billing.AuditEntry `json:"change,omitempty"`
	// RemovedFrom is the POP whose agent removes the service (a move to
	// another POP).
	RemovedFrom string `json:"removed_from,omitempty"`
}

// MoveService moves a service, read at version, to another POP or
// binding. A stale version is a *Problem with Status 412.
func (c *Client) MoveService(ctx context.Context, idemKey string, id, version int64, mv billing.ServiceMove) (ServiceChange, error) {
	var r ServiceChange
	err := c.Do(withIfMatch(ctx, version), http.MethodPost, "/api/v1/services/"+strconv.FormatInt(id, 10)+"/move", nil, idemKey, mv, &r)
	return r, err
}

// EditService edits a service, read at version, in place (name, service
// address, binding corrections).
func (c *Client) EditService(ctx context.Context, idemKey string, id, version int64, e billing.ServiceEdit) (ServiceChange, error) {
	var r ServiceChange
	err := c.Do(withIfMatch(ctx, version), http.MethodPatch, "/api/v1/services/"+strconv.FormatInt(id, 10), nil, idemKey, e, &r)
	return r, err
}
