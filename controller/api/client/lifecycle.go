package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Service lifecycle (plan and quantity change, cancel, pause) and plan
// price versions. Each change can be previewed (nothing written).

// LifecycleResult is the answer to a lifecycle change or a price change.
type LifecycleResult struct {
	Preview bool                  `json:"preview"`
	Plan    billing.LifecyclePlan `json:"plan"`
	// Service is the service after the change (absent in a preview and for
	// a price change).
	Service *billing.Service `json:"service,omitempty"`
}

// PlanChangeRequest asks for a plan and/or quantity change.
type PlanChangeRequest struct {
	PlanID        int64        `json:"plan_id,omitempty"`
	Quantity      int64        `json:"quantity,omitempty"`
	EffectiveDate billing.Date `json:"effective_date,omitzero"`
	AtNextPeriod  bool         `json:"at_next_period,omitempty"`
	Reason        string       `json:"reason,omitempty"`
}

// ServiceCancel asks to cancel a service from Date (today when zero) or
// at the end of the period.
type ServiceCancel struct {
	Date        billing.Date `json:"date,omitzero"`
	EndOfPeriod bool         `json:"end_of_period,omitempty"`
	Reason      string       `json:"reason,omitempty"`
}

// ServicePause asks to pause a service for [From, To).
type ServicePause struct {
	From   billing.Date `json:"from"`
	To     billing.Date `json:"to"`
	Reason string       `json:"reason,omitempty"`
}

// PriceChange asks for a plan's new price from EffectiveDate.
type PriceChange struct {
	// Price is a decimal in the plan's currency ("49.99"), sent as given:
	// the controller parses it.
	Price         string       `json:"price"`
	EffectiveDate billing.Date `json:"effective_date"`
	Grandfather   bool         `json:"grandfather,omitempty"`
	Reason        string       `json:"reason,omitempty"`
}

func previewQuery(preview bool) url.Values {
	if !preview {
		return nil
	}
	return url.Values{"preview": {"true"}}
}

// ServiceLifecycle sends a service lifecycle change, action one of
// "plan-change" (body PlanChangeRequest), "cancel" (ServiceCancel) and
// "pause" (ServicePause), to the service as read at version (sent as
// If-Match; 0: the version read now, none for a preview); with preview
// nothing is written.
func (c *Client) ServiceLifecycle(ctx context.Context, idemKey string, id, version int64, action string, body any, preview bool) (LifecycleResult, error) {
	var r LifecycleResult
	if version == 0 && !preview {
		s, err := c.Service(ctx, id)
		if err != nil {
			return r, err
		}
		version = s.Version
	}
	if version != 0 {
		ctx = withIfMatch(ctx, version)
	}
	err := c.Do(ctx, http.MethodPost, servicePath(id, "/"+action), previewQuery(preview), idemKey, body, &r)
	return r, err
}

// ServiceCoverage lists the days invoices have charged for a service.
func (c *Client) ServiceCoverage(ctx context.Context, id int64) ([]billing.BilledSpan, error) {
	var out []billing.BilledSpan
	err := c.Do(ctx, http.MethodGet, servicePath(id, "/coverage"), nil, "", nil, &out)
	return out, err
}

// ServiceHistory lists a service's audit log: its moves, edits and
// lifecycle changes, oldest first.
func (c *Client) ServiceHistory(ctx context.Context, id int64) ([]billing.AuditEntry, error) {
	var out struct {
		Items []billing.AuditEntry `json:"items"`
	}
	err := c.Do(ctx, http.MethodGet, servicePath(id, "/history"), nil, "", nil, &out)
	return out.Items, err
}

// ChangePlanPrice adds a price version to a plan (admin); with preview
// nothing is written.
func (c *Client) ChangePlanPrice(ctx context.Context, idemKey string, planID int64, in PriceChange, preview bool) (LifecycleResult, error) {
	var r LifecycleResult
	err := c.Do(ctx, http.MethodPost, planPath(planID, "/prices"), previewQuery(preview), idemKey, in, &r)
	return r, err
}

// PlanPrices lists a plan's price versions.
func (c *Client) PlanPrices(ctx context.Context, planID int64) ([]billing.PriceVersion, error) {
	var out []billing.PriceVersion
	err := c.Do(ctx, http.MethodGet, planPath(planID, "/prices"), nil, "", nil, &out)
	return out, err
}

// RetirePlan retires a plan (admin): no new services on it.
func (c *Client) RetirePlan(ctx context.Context, idemKey string, planID int64, reason string) (billing.Plan, error) {
	var p billing.Plan
	err := c.Do(ctx, http.MethodPost, planPath(planID, "/retire"), nil, idemKey, map[string]string{"reason": reason}, &p)
	return p, err
}

func servicePath(id int64, suffix string) string {
	return "/api/v1/services/" + strconv.FormatInt(id, 10) + suffix
}

func planPath(id int64, suffix string) string {
	return "/api/v1/plans/" + strconv.FormatInt(id, 10) + suffix
}

// AccountClose is the body of an account close or reopen (refund_credit:
// close only).
type AccountClose struct {
	RefundCredit bool   `json:"refund_credit,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// AccountLifecycle closes (action "close", billing) or reopens ("reopen",
// admin) account id as read at version (If-Match; 0: the version read
// now); the answer holds the account as stored and the plan.
func (c *Client) AccountLifecycle(ctx context.Context, idemKey string, id, version int64, action string, body AccountClose) (json.RawMessage, error) {
	var r json.RawMessage
	if version == 0 {
		a, err := c.Account(ctx, id)
		if err != nil {
			return r, err
		}
		version = a.Version
	}
	err := c.Do(withIfMatch(ctx, version), http.MethodPost, accountPath(id, "/"+action), nil, idemKey, body, &r)
	return r, err
}
