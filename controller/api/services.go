package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

type serviceOutput struct {
	ETag string `header:"ETag" doc:"The service's version, to send back as If-Match with a move, an edit or a lifecycle change."`
	Body billing.Service
}

type createServiceInput struct {
	Body billing.NewService
}

type serviceIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"Service id."`
}

type listServicesInput struct {
	POP   string `query:"pop" doc:"Only services at this POP."`
	State string `query:"state" enum:"active,suspended," doc:"Only services with this desired state."`
	// AccountID lists one account's services.
	AccountID int64 `query:"account_id" minimum:"0" doc:"Only this account's services."`
	After     int64 `query:"after" minimum:"0" doc:"Cursor: return services with id greater than this (the previous page's next_after)."`
	Limit     int   `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size."`
}

type serviceList struct {
	Items []billing.Service `json:"items"`
	// NextAfter is the cursor for the next page; 0 on the last page.
	NextAfter int64 `json:"next_after"`
}

type listServicesOutput struct {
	Body serviceList
}

type setDesiredStateInput struct {
	ID   int64 `path:"id" minimum:"1" doc:"Service id."`
	Body struct {
		State  billing.DesiredState `json:"state" enum:"active,suspended" required:"true" doc:"The desired state."`
		Reason string               `json:"reason,omitempty" maxLength:"500" doc:"Why; shown to staff and recorded with the change."`
	}
}

type setDesiredStateOutput struct {
	Body struct {
		Service billing.Service `json:"service"`
		// Changed is false when the service already had that state.
		Changed bool `json:"changed"`
	}
}

func (s *Server) registerServices() {
	huma.Register(s.api, described(op("create-service", http.MethodPost, "/api/v1/services",
		"Create a service at a POP with its enforcement binding", RoleBilling, "services"),
		"Creates the service and its first enforcement revision (carrying its plan's speed profile, if the plan has one). "+
			"A binding with method snmp enforces access only: 422 naming binding.method when the plan has a speed profile "+
			"or the account's type throttles instead of blocking."),
		func(ctx context.Context, in *createServiceInput) (*serviceOutput, error) {
			svc, err := s.services.CreateService(ctx, in.Body, actor(ctx), s.clock.Now())
			if err != nil {
				return nil, s.toHTTPError("create-service", err)
			}
			return &serviceOutput{Body: svc}, nil
		})

	huma.Register(s.api, op("list-services", http.MethodGet, "/api/v1/services",
		"List services, optionally by POP, desired state and account", RoleReader, "services"),
		func(ctx context.Context, in *listServicesInput) (*listServicesOutput, error) {
			items, err := s.services.Services(ctx, billing.ServiceFilter{POP: in.POP, State: billing.DesiredState(in.State), AccountID: in.AccountID, AfterID: in.After, Limit: in.Limit})
			if err != nil {
				return nil, s.toHTTPError("list-services", err)
			}
			out := &listServicesOutput{Body: serviceList{Items: items}}
			if out.Body.Items == nil {
				out.Body.Items = []billing.Service{}
			}
			if len(items) == in.Limit {
				out.Body.NextAfter = items[len(items)-1].ID
			}
			return out, nil
		})

	huma.Register(s.api, op("get-service", http.MethodGet, "/api/v1/services/{id}",
		"Show a service: desired state, why, and when enforcement was last confirmed", RoleReader, "services"),
		func(ctx context.Context, in *serviceIDInput) (*serviceOutput, error) {
			svc, err := s.services.Service(ctx, in.ID)
			if err != nil {
				return nil, s.toHTTPError("get-service", err)
			}
			return &serviceOutput{ETag: etag(svc.Version), Body: svc}, nil
		})

	huma.Register(s.api, op("set-service-desired-state", http.MethodPost, "/api/v1/services/{id}/desired-state",
		"Suspend or restore a service; the agent at its POP enforces the change", RoleBilling, "services"),
		func(ctx context.Context, in *setDesiredStateInput) (*setDesiredStateOutput, error) {
			reason := strings.TrimSpace(in.Body.Reason)
			if reason == "" {
				reason = "set to " + string(in.Body.State) + " by " + actor(ctx)
			}
			svc, changed, err := s.services.SetDesiredState(ctx, billing.StateChange{
				ServiceID: in.ID, State: in.Body.State, Reason: reason, Actor: actor(ctx), At: s.clock.Now(),
			})
			if err != nil {
				return nil, s.toHTTPError("set-service-desired-state", err)
			}
			out := &setDesiredStateOutput{}
			out.Body.Service, out.Body.Changed = svc, changed
			return out, nil
		})
}

// actor names the caller for audit records.
func actor(ctx context.Context) string {
	if p, ok := PrincipalFrom(ctx); ok {
		return "user:" + p.Name
	}
	return "anonymous"
}
