package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// ServiceMover is what the service move, edit and history endpoints need
// from storage.
type ServiceMover interface {
	// Service returns one service with its version.
	// Errors: ENOTFOUND for an unknown id.
	Service(ctx context.Context, id int64) (billing.Service, error)
	// MoveService decides and applies a move of the service at ifVersion
	// to another POP or binding: in one transaction, the service, its
	// audit entry, a removal at the POP it leaves and its desired state at
	// the POP it moves to. Errors: ENOTFOUND for an unknown service;
	// EPRECONDITION when ifVersion is not the service's version; EINVALID
	// naming the field (an unknown POP, the same POP and binding, a
	// cancelled service, a bad binding). Nothing is written on an error.
	MoveService(ctx context.Context, id, ifVersion int64, mv billing.ServiceMove, actor string, at time.Time) (billing.ServiceChangePlan, error)
	// EditService decides and applies an edit in place (name, service
	// address, binding corrections) of the service at ifVersion, with its
	// audit entry. Errors: as MoveService's, without the POP's.
	EditService(ctx context.Context, id, ifVersion int64, e billing.ServiceEdit, actor string, at time.Time) (billing.ServiceChangePlan, error)
	// AuditLog lists an entity's audit entries, oldest first.
	// Errors: none for an unknown entity or id (an empty list); EINTERNAL.
	AuditLog(ctx context.Context, entity string, id int64) ([]billing.AuditEntry, error)
}

// serviceChangeResult is the answer to a service move or edit.
type serviceChangeResult struct {
	Service billing.Service `json:"service"`
	// Changed is false when the edit changed nothing (no version, no audit
	// entry, nothing sent to an agent).
	Changed bool `json:"changed"`
	// Change is the audit entry written (absent when nothing changed).
	Change *billing.AuditEntry `json:"change,omitempty"`
	// RemovedFrom is the POP whose agent removes the service's enforcement
	// (a move to another POP).
	RemovedFrom string `json:"removed_from,omitempty"`
}

type changedService struct {
	ETag string `header:"ETag" doc:"The service's version after the change."`
	Body serviceChangeResult
}

func (s *Server) registerServiceMoves(store ServiceMover) {
	answer := func(ctx context.Context, opName string, id int64, plan billing.ServiceChangePlan, err error) (*changedService, error) {
		if billing.ErrorCode(err) == billing.EPRECONDITION {
			return nil, staleService(ctx, store, id, err)
		}
		if err != nil {
			return nil, s.toHTTPError(opName, err)
		}
		res := serviceChangeResult{Service: plan.Service, Changed: plan.Changed, RemovedFrom: plan.RemoveFrom}
		if plan.Changed {
			res.Change = &plan.Audit
		}
		return &changedService{ETag: etag(plan.Service.Version), Body: res}, nil
	}
	ifMatchDoc := " If-Match must carry the version the caller read (the service's version, or the ETag of GET /api/v1/services/{id}): " +
		"without it the request is refused with 428, and with a version that is no longer current with 412, whose ETag header and " +
		"detail give the current version. The change is kept in the audit log (GET /api/v1/services/{id}/history). 422 names the " +
		"bad field; nothing is written."

	o := described(op("move-service", http.MethodPost, "/api/v1/services/{id}/move",
		"Move a service to another POP or binding", RoleBilling, "services"),
		"Moves the service to the POP and binding the body names (a new address, port/ifIndex or NAS user), in one transaction: "+
			"the agent of the POP it leaves removes its enforcement (takes the address off the RouterOS list, brings the port "+
			"back up, restores the RADIUS session), the agent of the POP it moves to applies its current desired state (a "+
			"suspended service stays suspended), and its enforcement confirmation starts again at the new place. The POP must "+
			"exist; a move to the service's own POP and binding, or of a cancelled service, is refused. A move to a binding with "+
			"method snmp, which enforces access only, is refused (422 naming binding.method) when the service's plan has a speed "+
			"profile or its account's type throttles."+ifMatchDoc)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		IfMatch string `header:"If-Match" doc:"The service's version as read (\"3\"). Required."`
		Body    billing.ServiceMove
	}) (*changedService, error) {
		version, err := ifMatchVersion(in.IfMatch, "service", "/api/v1/services/"+strconv.FormatInt(in.ID, 10))
		if err != nil {
			return nil, err
		}
		p, _ := PrincipalFrom(ctx)
		plan, err := store.MoveService(ctx, in.ID, version, in.Body, p.Name, s.clock.Now())
		return answer(ctx, "move-service", in.ID, plan, err)
	})

	o = described(op("edit-service", http.MethodPatch, "/api/v1/services/{id}",
		"Edit a service in place: name, service address, binding corrections", RoleBilling, "services"),
		"Changes the fields the body names and leaves the others: a typo in an address, RADIUS user name, device or ifIndex "+
			"is corrected in place, and the POP's agent releases the old binding and applies the new one at the POP's next "+
			"revision. The service address is where the service is delivered; the account's address stays the billing address. "+
			"Another POP or method is a move (POST /api/v1/services/{id}/move)."+ifMatchDoc)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		IfMatch string `header:"If-Match" doc:"The service's version as read (\"3\"). Required."`
		Body    billing.ServiceEdit
	}) (*changedService, error) {
		version, err := ifMatchVersion(in.IfMatch, "service", "/api/v1/services/"+strconv.FormatInt(in.ID, 10))
		if err != nil {
			return nil, err
		}
		p, _ := PrincipalFrom(ctx)
		plan, err := store.EditService(ctx, in.ID, version, in.Body, p.Name, s.clock.Now())
		return answer(ctx, "edit-service", in.ID, plan, err)
	})

	huma.Register(s.api, described(op("get-service-history", http.MethodGet, "/api/v1/services/{id}/history",
		"List a service's moves, edits and lifecycle changes", RoleReader, "services"),
		"The service's audit log (every move, edit, plan change, cancel and pause: who, when, the changed fields before and after, why), oldest first. "+
			"404 for an unknown service."),
		func(ctx context.Context, in *IDPath) (*body[page[billing.AuditEntry]], error) {
			if _, err := store.Service(ctx, in.ID); err != nil {
				return nil, s.toHTTPError("get-service-history", err)
			}
			es, err := store.AuditLog(ctx, billing.EntityService, in.ID)
			return wrap(s, "get-service-history", newPage(es, 0, func(billing.AuditEntry) int64 { return 0 }), err)
		})
}
