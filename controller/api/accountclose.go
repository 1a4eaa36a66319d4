package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
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
	// It issues the final invoice and, with RefundCredit, refunds the
	// credit left: manual payments' refunds completed, gateway payments'
	// reserved (pending, with their IdempotencyKey) for the caller to send.
	// req carries RefundCredit, Now, Actor and Reason.
	// Errors: ENOTFOUND for an unknown account; EPRECONDITION for a stale
	// ifVersion; EINVALID naming the field (already closed, …). Nothing
	// written on error.
	CloseAccount(ctx context.Context, id, ifVersion int64, req billing.AccountCloseRequest) (billing.AccountClosePlan, error)
	// ReopenAccount sets a closed account current again (its services
	// stay cancelled), with status history and audit rows.
	// Errors: ENOTFOUND; EPRECONDITION for a stale ifVersion; EINVALID
	// when the account is not closed. Nothing written on error.
	ReopenAccount(ctx context.Context, id, ifVersion int64, actor, reason string, now time.Time) (billing.AccountReopenPlan, error)
}

type accountCloseBody struct {
	RefundCredit bool   `json:"refund_credit,omitempty" doc:"Refund the credit left after the final invoice, out of the payments' unapplied credit (newest payment first), then out of what payments paid for days the close credits: a card/ACH payment's refund goes back through its gateway, any other is recorded as a completed manual refund (paid back by hand). false (the default) keeps the credit on the closed account."`
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
		"Billing staff close an account: every service still billed is cancelled from today (at its POP kept suspended or "+
			"removed as the type's on_cancel says), and a final invoice (kind final) charges the days before today that no "+
			"invoice charged, credits the invoiced days from today on and takes the one-time charges left — never a day twice; "+
			"a final invoice of zero is paid as issued; one below zero is a credit note, applied to the open invoices first "+
			"(plan.credit_note_allocations; allocation events with no payment, no journal entry). The credit left is kept on "+
			"the account, or with refund_credit refunded out of the payments' unapplied credit and then out of what payments "+
			"paid for the credited days (the credit note takes over that allocation, plan.taken_over and plan.released, "+
			"freeing the payment's money; one refund per payment) (plan.refunds: a gateway payment's refund is sent to the gateway "+
			"after the close commits — pending until it confirms, settled by the refund recovery job if it cannot be reached; "+
			"any other is recorded completed). The account becomes closed: read-only with its history, never billed or swept "+
			"again; a payment that arrives later posts as credit with a warning."+accountCloseDoc)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		IfMatch string `header:"If-Match" doc:"The account's version as read (its ETag, \"3\"). Required."`
		Body    accountCloseBody
	}) (*accountLifecycleOutput[billing.AccountClosePlan], error) {
		return accountLifecycle(ctx, s, store, "close-account", in.ID, in.IfMatch, func(v int64) (billing.AccountClosePlan, error) {
			plan, err := store.CloseAccount(ctx, in.ID, v, billing.AccountCloseRequest{RefundCredit: in.Body.RefundCredit,
				Now: s.clock.Now(), Actor: actor(ctx), Reason: strings.TrimSpace(in.Body.Reason)})
			if err == nil {
				s.sendCloseRefunds(ctx, &plan)
			}
			return plan, err
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

// sendCloseRefunds sends the gateway refunds a close reserved, each with
// its key (the charge service resumes the reserved refund), and records
// the outcome in the plan. A refund the gateway could not settle stays
// pending for the refund recovery job; one it refused is released (the
// credit stays on the account). The close itself stands either way.
func (s *Server) sendCloseRefunds(ctx context.Context, plan *billing.AccountClosePlan) {
	for i := range plan.Refunds {
		r := &plan.Refunds[i]
		if !r.Gateway || r.Status != billing.RefundPending {
			continue
		}
		if s.charger == nil {
			plan.Why = append(plan.Why, fmt.Sprintf("refund %d of payment %d stays pending: no payment gateway is configured here; the refund recovery job settles it (GET /api/v1/refunds?payment_id=%d)", r.RefundID, r.PaymentID, r.PaymentID))
			continue
		}
		out, err := s.charger.Refund(ctx, billing.RefundRequest{PaymentID: r.PaymentID, Amount: r.Amount, Memo: r.Memo, IdempotencyKey: r.IdempotencyKey}, actor(ctx))
		switch {
		case err == nil:
			r.Status = out.Status
		case errors.Is(err, charge.ErrRefundUnsettled):
			s.log.Warn("close refund left pending", "payment_id", r.PaymentID, "refund_id", r.RefundID, "err", err)
			plan.Why = append(plan.Why, fmt.Sprintf("refund %d of payment %d stays pending: %s", r.RefundID, r.PaymentID, billing.ErrorMessage(err)))
		default:
			r.Status = billing.RefundReleased
			plan.Refunded -= r.Amount
			plan.CreditKept += r.Amount
			s.log.Warn("close refund refused by the gateway", "payment_id", r.PaymentID, "refund_id", r.RefundID, "err", err)
			plan.Why = append(plan.Why, fmt.Sprintf("refund %d of payment %d was not made (%s): its credit stays on the closed account", r.RefundID, r.PaymentID, billing.ErrorMessage(err)))
		}
	}
}
