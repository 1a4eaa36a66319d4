package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AccountCloser is what closing and reopening an account need from
// storage.
type AccountCloser interface {
	// Account returns one account with its version.
	// Errors: ENOTFOUND for an unknown id.
	Account(ctx context.Context, id int64) (billing.Account, error)
	// CloseAccount decides (billing.PlanAccountClose) and applies a close
	// in one transaction: every billed service cancelled from today, the
	// account closed at a new version, its status history and audit rows.
	// req carries RefundCredit, Now, Actor and Reason.
	// Errors: ENOTFOUND for an unknown account; EPRECONDITION for a stale
	// ifVersion; EINVALID naming the field (already closed, refund_credit,
	// days or charges not yet invoiced, …). Nothing written on error.
	CloseAccount(ctx context.Context, id, ifVersion int64, req billing.AccountCloseRequest) (billing.AccountClosePlan, error)
	// ReopenAccount sets a closed account current again (its services
	// stay cancelled), with status history and audit rows.
	// Errors: ENOTFOUND; EPRECONDITION for a stale ifVersion; EINVALID
	// when the account is not closed. Nothing written on error.
	ReopenAccount(ctx context.Context, id, ifVersion int64, actor, reason string, now time.Time) (billing.AccountReopenPlan, error)
}

type accountCloseBody struct {
	RefundCredit bool   `json:"refund_credit,omitempty" doc:"Refund the credit left after the close. Not supported yet (422): the credit is kept on the closed account."`
	Reason       string `json:"reason,omitempty" maxLength:"500" doc:"Why, for the audit log."`
}

type accountReopenBody struct {
	Reason string `json:"reason,omitempty" maxLength:"500" doc:"Why, for the audit log."`
}

// accountLifecycleOutput is a close's or reopen's plan with the account
// as stored and its new version as the ETag.
type accountLifecycleOutput[P any] struct {
	ETag string `header:"ETag" doc:"The account's version after the change."`
	Body struct {
		Account billing.Account `json:"account"`
		Plan    P               `json:"plan"`
	}
}

const accountCloseDoc = " Idempotency-Key is required; If-Match must carry the account's version (the ETag of GET " +
	"/api/v1/accounts/{id}): without it 428, with a stale one 412 with the current version. 422 names the bad field; " +
	"nothing is written."

func (s *Server) registerAccountClose(store AccountCloser) {
	o := described(op("close-account", http.MethodPost, "/api/v1/accounts/{id}/close", "Close an account", RoleBilling, "accounts"),
		"Billing staff close an account: every service still billed is cancelled from today (invoiced days from then on "+
			"credited to the account; at its POP kept suspended or removed as the type's on_cancel says), and the account "+
			"becomes closed: read-only with its history, never billed or swept again; its remaining credit is kept (a "+
			"payment that arrives later posts as credit with a warning). Refused while a service has days before today "+
			"that no invoice charged or one-time charges wait for an invoice: run billing first."+accountCloseDoc)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		IfMatch string `header:"If-Match" doc:"The account's version as read (its ETag, \"3\"). Required."`
		Body    accountCloseBody
	}) (*accountLifecycleOutput[billing.AccountClosePlan], error) {
		return accountLifecycle(ctx, s, store, "close-account", in.ID, in.IfMatch, func(v int64) (billing.AccountClosePlan, error) {
			return store.CloseAccount(ctx, in.ID, v, billing.AccountCloseRequest{RefundCredit: in.Body.RefundCredit,
				Now: s.clock.Now(), Actor: actor(ctx), Reason: strings.TrimSpace(in.Body.Reason)})
		})
	})

	o = described(op("reopen-account", http.MethodPost, "/api/v1/accounts/{id}/reopen", "Reopen a closed account", RoleAdmin, "accounts"),
		"An admin sets a closed account back to current; its cancelled services stay cancelled (add new ones as usual)."+accountCloseDoc)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		IfMatch string `header:"If-Match" doc:"The account's version as read (its ETag, \"3\"). Required."`
		Body    accountReopenBody
	}) (*accountLifecycleOutput[billing.AccountReopenPlan], error) {
		return accountLifecycle(ctx, s, store, "reopen-account", in.ID, in.IfMatch, func(v int64) (billing.AccountReopenPlan, error) {
			return store.ReopenAccount(ctx, in.ID, v, actor(ctx), strings.TrimSpace(in.Body.Reason), s.clock.Now())
		})
	})
}

// accountLifecycle runs a close or reopen: If-Match required, a stale
// version answered 412 with the current one, the account as stored.
func accountLifecycle[P any](ctx context.Context, s *Server, store AccountCloser, opName string, id int64, ifMatch string,
	run func(version int64) (P, error)) (*accountLifecycleOutput[P], error) {
	version, err := ifMatchVersion(ifMatch, "account", "/api/v1/accounts/"+strconv.FormatInt(id, 10))
	if err != nil {
		return nil, err
	}
	plan, err := run(version)
	if billing.ErrorCode(err) == billing.EPRECONDITION {
		return nil, staleAccount(ctx, store, id, err)
	}
	if err != nil {
		return nil, s.toHTTPError(opName, err)
	}
	a, err := store.Account(ctx, id)
	if err != nil {
		return nil, s.toHTTPError(opName, err)
	}
	out := &accountLifecycleOutput[P]{ETag: etag(a.Version)}
	out.Body.Account, out.Body.Plan = a, plan
	return out, nil
}
