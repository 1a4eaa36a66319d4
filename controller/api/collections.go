package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// CollectionStore is what the delinquency and collections endpoints need
// from storage: account standing, promises to pay, exemptions, sweeps on
// demand, the suspension batches the blast-radius guard held, and the
// notices to subscribers.
type CollectionStore interface {
	// Sweep runs (or, dry, computes) the delinquency sweep of one account
	// type at now: ENOTFOUND for an unknown account type, EINVALID for a bad
	// guard. A scheduled sweep that already ran that day is AlreadyRan in
	// the result, not an error.
	Sweep(ctx context.Context, req billing.SweepRequest, now time.Time) (billing.SweepResult, error)
	// AccountStanding is an account's collection status with its why at
	// now: ENOTFOUND for an unknown account.
	AccountStanding(ctx context.Context, accountID int64, now time.Time) (billing.AccountStanding, error)
	// StatusHistory is an account's status audit log, newest first: no
	// coded errors (an unknown account has none).
	StatusHistory(ctx context.Context, accountID int64) ([]billing.StatusChange, error)
	// SetPromise records (zero until: clears) a promise to pay and
	// re-assesses the account: EINVALID if until is before the account's
	// today, ENOTFOUND for an unknown account.
	SetPromise(ctx context.Context, accountID int64, until billing.Date, note, by string, now time.Time) (billing.AccountStanding, error)
	// SetExempt starts or ends an account's exemption from delinquency and
	// suspension: ENOTFOUND for an unknown account.
	SetExempt(ctx context.Context, accountID int64, exempt bool, reason, by string, now time.Time) (billing.AccountStanding, error)
	// SuspensionBatches lists held suspension batches, newest first
	// (status "", pending or decided); no coded errors.
	SuspensionBatches(ctx context.Context, status string) ([]billing.SuspensionBatch, error)
	// SuspensionBatch reads a held batch with its items: ENOTFOUND if it
	// does not exist.
	SuspensionBatch(ctx context.Context, id int64) (billing.SuspensionBatch, error)
	// DecideSuspensionBatch approves or cancels a held batch's pending
	// items (all, or those of accounts): ENOTFOUND for an unknown batch,
	// ECONFLICT if it is already decided, EINVALID naming an account not
	// pending in it.
	DecideSuspensionBatch(ctx context.Context, id int64, approve bool, accounts []int64, by string, now time.Time) (billing.SuspensionBatch, error)
	// Notices lists the notices matching f in id order: EINVALID for an
	// unknown status or kind.
	Notices(ctx context.Context, f billing.NoticeFilter) ([]billing.Notice, error)
	// ResendNotice queues a notice again with a new job (a queued one is
	// returned unchanged): ENOTFOUND if it does not exist; the job's insert
	// error (uncoded; nothing changed then).
	ResendNotice(ctx context.Context, id int64, now time.Time) (billing.Notice, error)
}

// batchDecision is the optional body of approving or cancelling a held
// suspension batch.
type batchDecision struct {
	AccountIDs []int64 `json:"account_ids,omitempty" maxItems:"10000" doc:"Decide only these accounts' pending items (default: every pending item of the batch). An account that is not pending in the batch is refused with 422."`
}

// sweepRequest is the body of POST /api/v1/delinquency/sweeps.
type sweepRequest struct {
	AccountTypeID int64 `json:"account_type_id" minimum:"1" required:"true" doc:"The account type to sweep."`
	DryRun        bool  `json:"dry_run,omitempty" doc:"Compute everything and change nothing: the preview of what a sweep would do now (its suspensions, held ones included)."`
}

func (s *Server) registerCollections(col CollectionStore) {
	api := s.api

	// An account's standing.
	huma.Register(api, described(op("get-account-standing", http.MethodGet, "/api/v1/accounts/{id}/standing",
		"Show an account's collection standing", RoleReader, "collections"),
		"The account's collection status (current, past_due, delinquent, suspended) with why in plain language, "+
			"computed now: which invoice is past due and its delinquency date, a promise to pay or an exemption, a "+
			"suspension held for approval, what restores a suspended account, and what the next sweep would change. "+
			"With its balance, past-due amount and the amount past its delinquency date (minor units), and each "+
			"service's desired state next to what its POP's agent last reported and confirmed."),
		func(ctx context.Context, in *IDPath) (*body[billing.AccountStanding], error) {
			st, err := col.AccountStanding(ctx, in.ID, s.clock.Now())
			return wrap(s, "get-account-standing", st, err)
		})
	huma.Register(api, described(op("list-account-status-history", http.MethodGet, "/api/v1/accounts/{id}/status-history",
		"List an account's status history", RoleReader, "collections"),
		"The account's status audit log, newest first: every status change (by a sweep, a payment, a credit, a "+
			"reversal, an approval) and every promise to pay or exemption, with the actor (\"user:alice\", "+
			"\"job:delinquency-sweep\") and why. 404 for an unknown account."),
		func(ctx context.Context, in *IDPath) (*body[page[billing.StatusChange]], error) {
			cs, err := col.StatusHistory(ctx, in.ID)
			if err == nil && len(cs) == 0 {
				// An empty log: say 404 if there is no such account.
				_, err = col.AccountStanding(ctx, in.ID, s.clock.Now())
			}
			return wrap(s, "list-account-status-history", newPage(cs, 0, func(c billing.StatusChange) int64 { return c.ID }), err)
		})

	// Promises to pay and exemptions.
	huma.Register(api, described(op("set-promise-to-pay", http.MethodPut, "/api/v1/accounts/{id}/promise-to-pay",
		"Record a promise to pay", RoleBilling, "collections"),
		"Holds the account out of delinquency and suspension through until (inclusive, in the account type's "+
			"zone): a delinquent account goes back to past due and a suspended one is restored at once. Replaces an "+
			"earlier promise. 422 for a date in the past. Answers the account's standing."),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Until billing.Date `json:"until" required:"true" doc:"The last day the promise holds the account (in the account type's zone); not in the past."`
				Note  string       `json:"note,omitempty" maxLength:"500" doc:"What was promised (amount, channel, who took the call); kept in the status history."`
			}
		}) (*body[billing.AccountStanding], error) {
			if in.Body.Until.IsZero() {
				return nil, huma.Error422UnprocessableEntity("until is required; DELETE the promise to clear it")
			}
			st, err := col.SetPromise(ctx, in.ID, in.Body.Until, strings.TrimSpace(in.Body.Note), actor(ctx), s.clock.Now())
			return wrap(s, "set-promise-to-pay", st, err)
		})
	huma.Register(api, described(op("clear-promise-to-pay", http.MethodDelete, "/api/v1/accounts/{id}/promise-to-pay",
		"Clear a promise to pay", RoleBilling, "collections"),
		"Removes the account's promise to pay and re-assesses the account at once (it may become delinquent again; "+
			"suspension is left to the next sweep). Answers the account's standing."),
		func(ctx context.Context, in *IDPath) (*body[billing.AccountStanding], error) {
			st, err := col.SetPromise(ctx, in.ID, billing.Date{}, "", actor(ctx), s.clock.Now())
			return wrap(s, "clear-promise-to-pay", st, err)
		})
	huma.Register(api, described(op("set-exemption", http.MethodPut, "/api/v1/accounts/{id}/exemption",
		"Exempt an account from suspension", RoleBilling, "collections"),
		"Exempts the account from delinquency and suspension (a hospital, an emergency service, a dispute under "+
			"review); a suspended account is restored at once. The reason is shown with its standing and kept in the "+
			"status history. Answers the account's standing."),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Reason string `json:"reason" minLength:"1" maxLength:"500" required:"true" doc:"Why the account is exempt; shown with its standing and kept in the status history."`
			}
		}) (*body[billing.AccountStanding], error) {
			reason := strings.TrimSpace(in.Body.Reason)
			if reason == "" {
				return nil, huma.Error422UnprocessableEntity("reason is required: say why the account is exempt")
			}
			st, err := col.SetExempt(ctx, in.ID, true, reason, actor(ctx), s.clock.Now())
			return wrap(s, "set-exemption", st, err)
		})
	huma.Register(api, described(op("clear-exemption", http.MethodDelete, "/api/v1/accounts/{id}/exemption",
		"End an account's exemption", RoleBilling, "collections"),
		"Ends the account's exemption; the next delinquency sweep decides its status. Answers the account's "+
			"standing."),
		func(ctx context.Context, in *IDPath) (*body[billing.AccountStanding], error) {
			st, err := col.SetExempt(ctx, in.ID, false, "", actor(ctx), s.clock.Now())
			return wrap(s, "clear-exemption", st, err)
		})

	// Sweeps on demand.
	huma.Register(api, described(op("run-delinquency-sweep", http.MethodPost, "/api/v1/delinquency/sweeps",
		"Run a delinquency sweep now", RoleBilling, "collections"),
		"Runs the delinquency sweep of one account type now, as the caller: every account that owes on a past-due "+
			"invoice or is not current is assessed; status changes, suspensions (through the enforcement outbox, or "+
			"held for approval in a suspension batch when the blast-radius guard says so), restores and reminders are "+
			"written in one transaction, each with its reason. With dry_run it changes nothing and answers what it "+
			"would do (GET /api/v1/delinquency/preview does the same for readers)."),
		func(ctx context.Context, in *body[sweepRequest]) (*body[billing.SweepResult], error) {
			res, err := s.sweep(ctx, col, in.Body.AccountTypeID, in.Body.DryRun)
			return wrap(s, "run-delinquency-sweep", res, err)
		})
	huma.Register(api, described(op("preview-delinquency-sweep", http.MethodGet, "/api/v1/delinquency/preview",
		"Preview a delinquency sweep", RoleReader, "collections"),
		"A dry run of the delinquency sweep of one account type now; writes nothing. Answers what a sweep would "+
			"do: status changes, the accounts it would suspend or hold for approval (with the POP limits exceeded), "+
			"restores, and notices."),
		func(ctx context.Context, in *struct {
			AccountTypeID int64 `query:"account_type_id" minimum:"1" required:"true" doc:"The account type to preview."`
		}) (*body[billing.SweepResult], error) {
			res, err := s.sweep(ctx, col, in.AccountTypeID, true)
			return wrap(s, "preview-delinquency-sweep", res, err)
		})

	// Suspension batches held by the blast-radius guard.
	huma.Register(api, described(op("list-suspension-batches", http.MethodGet, "/api/v1/suspension-batches",
		"List held suspension batches", RoleReader, "suspension batches"),
		"The suspension batches the blast-radius guard held for approval, newest first (at most 500), without "+
			"their items; pending is how many accounts still wait for a decision."),
		func(ctx context.Context, in *struct {
			Status string `query:"status" enum:"pending,decided," doc:"Only batches waiting for a decision (pending) or decided ones."`
		}) (*body[page[billing.SuspensionBatch]], error) {
			bs, err := col.SuspensionBatches(ctx, in.Status)
			return wrap(s, "list-suspension-batches", newPage(bs, 0, func(b billing.SuspensionBatch) int64 { return b.ID }), err)
		})
	huma.Register(api, described(op("get-suspension-batch", http.MethodGet, "/api/v1/suspension-batches/{id}",
		"Show a held suspension batch", RoleReader, "suspension batches"),
		"A held suspension batch: which limits its POPs exceeded, and each held account with its services, POPs, "+
			"why, and its decision (pending, approved, skipped, cancelled) with who made it."),
		func(ctx context.Context, in *IDPath) (*body[billing.SuspensionBatch], error) {
			b, err := col.SuspensionBatch(ctx, in.ID)
			return wrap(s, "get-suspension-batch", b, err)
		})
	huma.Register(api, described(op("approve-suspension-batch", http.MethodPost, "/api/v1/suspension-batches/{id}/approve",
		"Approve held suspensions", RoleBilling, "suspension batches"),
		"Approves a held batch's pending suspensions: all of them, or those of account_ids. Accounts still "+
			"delinquent are suspended now (their services through the enforcement outbox) and a suspension notice is "+
			"queued; accounts that paid or were held out meanwhile are skipped. The batch is decided when nothing is "+
			"pending. 409 once it is decided; 422 for an account that is not pending in it."),
		func(ctx context.Context, in *struct {
			IDPath
			Body *batchDecision
		}) (*body[billing.SuspensionBatch], error) {
			b, err := col.DecideSuspensionBatch(ctx, in.ID, true, in.Body.accounts(), actor(ctx), s.clock.Now())
			return wrap(s, "approve-suspension-batch", b, err)
		})
	huma.Register(api, described(op("cancel-suspension-batch", http.MethodPost, "/api/v1/suspension-batches/{id}/cancel",
		"Cancel held suspensions", RoleBilling, "suspension batches"),
		"Cancels a held batch's pending suspensions: all of them, or those of account_ids. Those accounts are not "+
			"suspended by this batch; they stay delinquent and a later sweep may suspend (or hold) them again. 409 "+
			"once the batch is decided."),
		func(ctx context.Context, in *struct {
			IDPath
			Body *batchDecision
		}) (*body[billing.SuspensionBatch], error) {
			b, err := col.DecideSuspensionBatch(ctx, in.ID, false, in.Body.accounts(), actor(ctx), s.clock.Now())
			return wrap(s, "cancel-suspension-batch", b, err)
		})

	// Notices to subscribers.
	huma.Register(api, described(op("list-notices", http.MethodGet, "/api/v1/notices",
		"List notices to subscribers", RoleReader, "notices"),
		"Notices in the outbox (payment reminders, suspension and restore notices), oldest first, with their "+
			"delivery status, attempts and last error. Pages with after= and next_after."),
		func(ctx context.Context, in *struct {
			AccountID int64  `query:"account_id" minimum:"0" doc:"Only this account's notices."`
			Status    string `query:"status" enum:"queued,sent,failed,superseded," doc:"Only notices in this delivery status (superseded: no longer true when it was to be sent, never sent; superseded_reason says why)."`
			Kind      string `query:"kind" enum:"reminder,suspended,restored,ticket_reply,payment_authentication," doc:"Only notices of this kind."`
			After     int64  `query:"after" minimum:"0" doc:"Cursor: notices with id greater than this (the previous page's next_after)."`
			Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*body[page[billing.Notice]], error) {
			ns, err := col.Notices(ctx, billing.NoticeFilter{AccountID: in.AccountID, Status: in.Status, Kind: billing.NoticeKind(in.Kind),
				AfterID: in.After, Limit: in.Limit})
			return wrap(s, "list-notices", newPage(ns, in.Limit, func(n billing.Notice) int64 { return n.ID }), err)
		})
	huma.Register(api, described(op("resend-notice", http.MethodPost, "/api/v1/notices/{id}/resend",
		"Send a notice again", RoleBilling, "notices"),
		"Queues a sent or failed notice again, due now, with its attempts, error and sent time cleared (business "+
			"hours still apply if the notice has them). A notice that is still queued is answered unchanged: it is on "+
			"its way."),
		func(ctx context.Context, in *IDPath) (*body[billing.Notice], error) {
			n, err := col.ResendNotice(ctx, in.ID, s.clock.Now())
			return wrap(s, "resend-notice", n, err)
		})
}

// described sets an operation's description: the summary says what it
// does in a line, the description the rules a caller needs.
func described(o huma.Operation, description string) huma.Operation {
	o.Description = description
	return o
}

// accounts is the decision's account list; nil (every pending item) without
// a body.
func (d *batchDecision) accounts() []int64 {
	if d == nil {
		return nil
	}
	return d.AccountIDs
}

// sweep runs a delinquency sweep on demand of one account type, as the
// caller, with the configured guard.
func (s *Server) sweep(ctx context.Context, col CollectionStore, typeID int64, dryRun bool) (billing.SweepResult, error) {
	res, err := col.Sweep(ctx, billing.SweepRequest{AccountTypeID: typeID, Trigger: billing.SweepManual, Actor: actor(ctx),
		DryRun: dryRun, Guard: s.cfg.SuspensionGuard}, s.clock.Now())
	if err == nil && !dryRun {
		for _, why := range res.HeldReasons {
			s.log.Warn("suspensions held for approval", "account_type_id", typeID, "batch", res.HeldBatchID, "reason", why, "by", actor(ctx))
		}
	}
	return res, err
}
