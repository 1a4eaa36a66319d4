package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Delinquency and collections: account standing, promises to pay,
// exemptions, sweeps on demand, held suspension batches and notices.

func accountPath(id int64, suffix string) string {
	return "/api/v1/accounts/" + strconv.FormatInt(id, 10) + suffix
}

func batchPath(id int64, suffix string) string {
	return "/api/v1/suspension-batches/" + strconv.FormatInt(id, 10) + suffix
}

// items is a listing's answer: {"items": [...], "next_after": N}.
type items[T any] struct {
	Items     []T   `json:"items"`
	NextAfter int64 `json:"next_after"`
}

// AccountStanding fetches an account's collection status, why, balances
// and services.
func (c *Client) AccountStanding(ctx context.Context, accountID int64) (billing.AccountStanding, error) {
	var st billing.AccountStanding
	err := c.Do(ctx, http.MethodGet, accountPath(accountID, "/standing"), nil, "", nil, &st)
	return st, err
}

// StatusHistory fetches an account's status audit log, newest first.
func (c *Client) StatusHistory(ctx context.Context, accountID int64) ([]billing.StatusChange, error) {
	var p items[billing.StatusChange]
	err := c.Do(ctx, http.MethodGet, accountPath(accountID, "/status-history"), nil, "", nil, &p)
	return p.Items, err
}

// SetPromise records a promise to pay through until (inclusive) and
// returns the account's standing.
func (c *Client) SetPromise(ctx context.Context, idemKey string, accountID int64, until billing.Date, note string) (billing.AccountStanding, error) {
	var st billing.AccountStanding
	body := map[string]any{"until": until}
	if note != "" {
		body["note"] = note
	}
	err := c.Do(ctx, http.MethodPut, accountPath(accountID, "/promise-to-pay"), nil, idemKey, body, &st)
	return st, err
}

// ClearPromise clears an account's promise to pay and returns its standing.
func (c *Client) ClearPromise(ctx context.Context, idemKey string, accountID int64) (billing.AccountStanding, error) {
	var st billing.AccountStanding
	err := c.Do(ctx, http.MethodDelete, accountPath(accountID, "/promise-to-pay"), nil, idemKey, nil, &st)
	return st, err
}

// SetExemption exempts an account from delinquency and suspension for
// reason and returns its standing.
func (c *Client) SetExemption(ctx context.Context, idemKey string, accountID int64, reason string) (billing.AccountStanding, error) {
	var st billing.AccountStanding
	err := c.Do(ctx, http.MethodPut, accountPath(accountID, "/exemption"), nil, idemKey, map[string]string{"reason": reason}, &st)
	return st, err
}

// ClearExemption ends an account's exemption and returns its standing.
func (c *Client) ClearExemption(ctx context.Context, idemKey string, accountID int64) (billing.AccountStanding, error) {
	var st billing.AccountStanding
	err := c.Do(ctx, http.MethodDelete, accountPath(accountID, "/exemption"), nil, idemKey, nil, &st)
	return st, err
}

// RunSweep runs the delinquency sweep of an account type now (dryRun:
// compute it and change nothing).
func (c *Client) RunSweep(ctx context.Context, idemKey string, accountTypeID int64, dryRun bool) (billing.SweepResult, error) {
	var r billing.SweepResult
	body := map[string]any{"account_type_id": accountTypeID}
	if dryRun {
		body["dry_run"] = true
	}
	err := c.Do(ctx, http.MethodPost, "/api/v1/delinquency/sweeps", nil, idemKey, body, &r)
	return r, err
}

// PreviewSweep answers what a delinquency sweep of an account type would do
// now, without changing anything (a GET: no Idempotency-Key).
func (c *Client) PreviewSweep(ctx context.Context, accountTypeID int64) (billing.SweepResult, error) {
	var r billing.SweepResult
	q := url.Values{"account_type_id": {strconv.FormatInt(accountTypeID, 10)}}
	err := c.Do(ctx, http.MethodGet, "/api/v1/delinquency/preview", q, "", nil, &r)
	return r, err
}

// SuspensionBatches lists held suspension batches, newest first, without
// their items; status is "", pending or decided.
func (c *Client) SuspensionBatches(ctx context.Context, status string) ([]billing.SuspensionBatch, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	var p items[billing.SuspensionBatch]
	err := c.Do(ctx, http.MethodGet, "/api/v1/suspension-batches", q, "", nil, &p)
	return p.Items, err
}

// SuspensionBatch fetches a held suspension batch with its items.
func (c *Client) SuspensionBatch(ctx context.Context, id int64) (billing.SuspensionBatch, error) {
	var b billing.SuspensionBatch
	err := c.Do(ctx, http.MethodGet, batchPath(id, ""), nil, "", nil, &b)
	return b, err
}

// ApproveSuspensionBatch approves a held batch's pending suspensions: those
// of accountIDs, or all of them when accountIDs is empty.
func (c *Client) ApproveSuspensionBatch(ctx context.Context, idemKey string, id int64, accountIDs []int64) (billing.SuspensionBatch, error) {
	return c.decideBatch(ctx, idemKey, id, "/approve", accountIDs)
}

// CancelSuspensionBatch cancels a held batch's pending suspensions: those
// of accountIDs, or all of them when accountIDs is empty.
func (c *Client) CancelSuspensionBatch(ctx context.Context, idemKey string, id int64, accountIDs []int64) (billing.SuspensionBatch, error) {
	return c.decideBatch(ctx, idemKey, id, "/cancel", accountIDs)
}

func (c *Client) decideBatch(ctx context.Context, idemKey string, id int64, action string, accountIDs []int64) (billing.SuspensionBatch, error) {
	var b billing.SuspensionBatch
	var body any
	if len(accountIDs) > 0 {
		body = map[string][]int64{"account_ids": accountIDs}
	}
	err := c.Do(ctx, http.MethodPost, batchPath(id, action), nil, idemKey, body, &b)
	return b, err
}

// NoticePage is one page of notices.
type NoticePage struct {
	Items     []billing.Notice `json:"items"`
	NextAfter int64            `json:"next_after"`
}

// Notices lists one page of notices to subscribers, oldest first; pass the
// page's NextAfter as f.AfterID for the next.
func (c *Client) Notices(ctx context.Context, f billing.NoticeFilter) (NoticePage, error) {
	q := url.Values{}
	if f.AccountID > 0 {
		q.Set("account_id", strconv.FormatInt(f.AccountID, 10))
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Kind != "" {
		q.Set("kind", string(f.Kind))
	}
	if f.AfterID > 0 {
		q.Set("after", strconv.FormatInt(f.AfterID, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p NoticePage
	err := c.Do(ctx, http.MethodGet, "/api/v1/notices", q, "", nil, &p)
	return p, err
}

// ResendNotice queues a sent or failed notice again.
func (c *Client) ResendNotice(ctx context.Context, idemKey string, id int64) (billing.Notice, error) {
	var n billing.Notice
	err := c.Do(ctx, http.MethodPost, "/api/v1/notices/"+strconv.FormatInt(id, 10)+"/resend", nil, idemKey, nil, &n)
	return n, err
}
