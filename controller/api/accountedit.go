package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AccountEditor is what the account edit and history endpoints need from
// storage.
type AccountEditor interface {
	// Account returns one account with its version.
	// Errors: ENOTFOUND for an unknown id.
	Account(ctx context.Context, id int64) (billing.Account, error)
	// EditAccount decides and applies an edit of the account at ifVersion
	// (with its audit entry, in one transaction) and answers the plan with
	// the account as stored. An edit that changes nothing writes nothing.
	// Errors: ENOTFOUND for an unknown account; EPRECONDITION when
	// ifVersion is not the account's version (nothing written); EINVALID
	// naming the field for a bad edit (nothing written).
	EditAccount(ctx context.Context, id, ifVersion int64, edit billing.AccountEdit, actor string, at time.Time) (billing.AccountEditPlan, error)
	// AuditLog lists an entity's audit entries, oldest first.
	// Errors: none for an unknown entity or id (an empty list); EINTERNAL.
	AuditLog(ctx context.Context, entity string, id int64) ([]billing.AuditEntry, error)
	// StatusHistory lists an account's status changes, newest first.
	// Errors: none for an unknown account (an empty list); EINTERNAL.
	StatusHistory(ctx context.Context, accountID int64) ([]billing.StatusChange, error)
}

// accountEditResult is the answer to an account edit.
type accountEditResult struct {
	Account billing.Account `json:"account"`
	// Changed is false when the edit changed nothing (no version, no audit
	// entry).
	Changed bool `json:"changed"`
	// Change is the audit entry written (absent when nothing changed).
	Change *billing.AuditEntry `json:"change,omitempty"`
	// Consequences say what the edit causes besides its fields (a new
	// account type applies from the next period, …).
	Consequences []billing.Consequence `json:"consequences"`
	// BillingDayChange previews, when the edit moves the billing day, the
	// lines the next invoice charges for the transitional period and the
	// first regular invoice on the new day (FirstRegular).
	BillingDayChange *billing.LifecyclePlan `json:"billing_day_change,omitempty"`
}

// editedAccount is the answer to an edit with the account's new version
// as the ETag.
type editedAccount struct {
	ETag string `header:"ETag" doc:"The account's version after the edit."`
	Body accountEditResult
}

// taggedAccount is an account with its version as the ETag.
type taggedAccount struct {
	ETag string `header:"ETag" doc:"The account's version, to send back as If-Match with an edit."`
	Body accountView
}

// withETag answers an account view with its ETag (get-account).
func withETag(s *Server, opName string, v accountView, err error) (*taggedAccount, error) {
	if err != nil {
		return nil, s.toHTTPError(opName, err)
	}
	return &taggedAccount{ETag: etag(v.Version), Body: v}, nil
}

func (s *Server) registerAccountEdits(store AccountEditor) {
	o := described(op("edit-account", http.MethodPatch, "/api/v1/accounts/{id}", "Edit an account", RoleBilling, "accounts"),
		"Changes the fields the body names (name, company_name, email, phone, address, delivery, locale, external_id, "+
			"account_type_id, billing_day) and leaves the others. If-Match must carry the version the caller read (the ETag "+
			"of GET /api/v1/accounts/{id}): without it the edit is refused with 428, and with a version that is no longer "+
			"current with 412, whose ETag header and detail give the current version (read again and repeat the change; "+
			"concurrent edits never lose an update). Every change is kept in the audit log (who, when, before and after, "+
			"reason). A new account type's rules apply from the next billing period, and a billing-day override (fixed_day "+
			"types only) moves the periods from the end of the last invoiced period: the next invoice covers the days up to the "+
			"first start on the new day, each service prorated (a transitional period, its lines saying so; no day charged "+
			"twice); the response's consequences say so, and billing_day_change previews both that transitional invoice "+
			"(invoice_period, lines, net) and the first regular invoice on the new day (first_regular: its period, lines and "+
			"subtotal), as the billing run will issue them. 422 names the bad "+
			"field; nothing is written.")
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		IfMatch string `header:"If-Match" doc:"The account's version as read (its ETag, \"3\"). Required."`
		Body    billing.AccountEdit
	}) (*editedAccount, error) {
		if err := in.Body.Validate(); err != nil {
			return nil, s.toHTTPError("edit-account", err)
		}
		version, err := ifMatchVersion(in.IfMatch, "account", "/api/v1/accounts/"+strconv.FormatInt(in.ID, 10))
		if err != nil {
			return nil, err
		}
		plan, err := store.EditAccount(ctx, in.ID, version, in.Body, actor(ctx), s.clock.Now())
		if billing.ErrorCode(err) == billing.EPRECONDITION {
			return nil, staleAccount(ctx, store, in.ID, err)
		}
		if err != nil {
			return nil, s.toHTTPError("edit-account", err)
		}
		res := accountEditResult{Account: plan.Account, Changed: plan.Changed, Consequences: plan.Consequences, BillingDayChange: plan.BillingDayChange}
		if res.Consequences == nil {
			res.Consequences = []billing.Consequence{}
		}
		if plan.Changed {
			res.Change = &plan.Audit
		}
		return &editedAccount{ETag: etag(plan.Account.Version), Body: res}, nil
	})

	huma.Register(s.api, described(op("get-account-history", http.MethodGet, "/api/v1/accounts/{id}/history",
		"List an account's history: edits and status changes", RoleReader, "accounts"),
		"The account's audit log (every edit: who, when, the changed fields before and after, why) merged with its "+
			"status history (sweeps, payments, promises, exemptions), newest first, each with a one-line summary. "+
			"404 for an unknown account."),
		func(ctx context.Context, in *IDPath) (*body[page[billing.HistoryEntry]], error) {
			if _, err := store.Account(ctx, in.ID); err != nil {
				return nil, s.toHTTPError("get-account-history", err)
			}
			edits, err := store.AuditLog(ctx, billing.EntityAccount, in.ID)
			if err != nil {
				return nil, s.toHTTPError("get-account-history", err)
			}
			statuses, err := store.StatusHistory(ctx, in.ID)
			h := billing.AccountHistory(edits, statuses)
			return wrap(s, "get-account-history", newPage(h, 0, func(billing.HistoryEntry) int64 { return 0 }), err)
		})
}
