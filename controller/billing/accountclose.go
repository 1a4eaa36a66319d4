package billing

import (
	"fmt"
	"time"
)

// Closing and reopening an account. A close cancels every service still
// billed from the close day (each by [PlanCancel]: invoiced days from then
// on are credited, enforcement follows the type's on_cancel), sets the
// account's status to closed — read-only, never billed or swept again, its
// history kept — and keeps its remaining credit on the account. A reopen
// (admin) sets the status back to current; its services stay cancelled.

// Account lifecycle kinds (audit actions).
const (
	LifecycleAccountClose  LifecycleKind = "account_close"
	LifecycleAccountReopen LifecycleKind = "account_reopen"
)

// StatusCauseClosed and StatusCauseReopened are the causes of the status
// history rows a close and a reopen write.
const (
	StatusCauseClosed   = "closed"
	StatusCauseReopened = "reopened"
)

// AccountCloseRequest asks to close an account. The store fills Services
// with one [CancelRequest] per service still billed on the close day (its
// Context and Service read under locks); Date, EndOfPeriod and
// OtherServicesBilled are set here.
type AccountCloseRequest struct {
	Account   Account
	Type      AccountType
	IfVersion int64
	Now       time.Time
	Actor     string
	Reason    string
	// RefundCredit asks to refund the credit left after the close; false
	// keeps it on the closed account.
	RefundCredit bool
	Services     []CancelRequest
	// PendingCharges counts the account's one-time charges no invoice has
	// taken yet (a closed account has no next invoice to take them).
	PendingCharges int
}

// AccountClosePlan is what a close decides: one cancel plan per service
// (applied as [PlanCancel] plans are), the account's status change and
// new version, and its audit entry.
type AccountClosePlan struct {
	AccountID    int64           `json:"account_id"`
	Closed       Date            `json:"closed"`
	Version      int64           `json:"version"`
	FromStatus   AccountStatus   `json:"from_status"`
	Cancels      []LifecyclePlan `json:"cancels"`
	RefundCredit bool            `json:"refund_credit"`
	// Credited is the sum of the cancels' account credits (minor units).
	Credited int64          `json:"credited"`
	Why      []string       `json:"why"`
	Audit    LifecycleAudit `json:"audit"`
}

// refundOnCloseRefusal is the refusal of refund_credit: the credit left
// on a closed account stays there (refund a payment with its own refund).
const refundOnCloseRefusal = "refund_credit: refunding the remaining credit as part of a close is not supported yet; close with refund_credit false (the credit stays on the closed account) and refund a payment with POST /api/v1/payments/{id}/refund"

// PlanAccountClose decides the close of an account on its local today.
//
// Errors: EPRECONDITION when IfVersion is not the account's version;
// EINVALID naming the field: the account is already closed; refund_credit
// (not supported yet: nothing is written); the account has one-time charges
// no invoice has taken, or a service has days before the close that no
// invoice has charged (run billing first: a closed account is never billed
// again); any refusal of PlanCancel.
func PlanAccountClose(req AccountCloseRequest) (AccountClosePlan, error) {
	a := req.Account
	if req.IfVersion != a.Version {
		return AccountClosePlan{}, StaleVersionError(EntityAccount, a.ID, req.IfVersion, a.Version)
	}
	if a.Status == AccountClosed {
		return AccountClosePlan{}, Errorf(EINVALID, "account %d is already closed", a.ID)
	}
	if req.RefundCredit {
		return AccountClosePlan{}, Errorf(EINVALID, "%s", refundOnCloseRefusal)
	}
	if req.PendingCharges > 0 {
		return AccountClosePlan{}, Errorf(EINVALID, "account %d has %d one-time charges no invoice has taken yet: run billing for it before closing it (a closed account is never billed again)", a.ID, req.PendingCharges)
	}
	loc, err := req.Type.Location()
	if err != nil {
		return AccountClosePlan{}, err
	}
	today := DateIn(req.Now, loc)
	plan := AccountClosePlan{AccountID: a.ID, Closed: today, Version: a.Version + 1, FromStatus: a.Status, Cancels: []LifecyclePlan{}}
	for _, c := range req.Services {
		if c.Service.Ref.AccountID != a.ID {
			return AccountClosePlan{}, Errorf(EINVALID, "service %d belongs to account %d, not %d", c.Service.Ref.ID, c.Service.Ref.AccountID, a.ID)
		}
		c.Date, c.EndOfPeriod, c.OtherServicesBilled = today, false, false
		p, err := PlanCancel(c)
		if err != nil {
			return AccountClosePlan{}, err
		}
		if !coveredUntil(c.Service, today) {
			return AccountClosePlan{}, Errorf(EINVALID, "service %d has days before %s that no invoice has charged: run billing for the account before closing it (a closed account is never billed again)", c.Service.Ref.ID, today.Label())
		}
		plan.Cancels = append(plan.Cancels, p)
		plan.Credited += p.AccountCredit
	}
	plan.Why = append(plan.Why, fmt.Sprintf("account %d closed on %s: %d services cancelled from then, never billed or swept again", a.ID, today.Label(), len(plan.Cancels)))
	if plan.Credited > 0 {
		plan.Why = append(plan.Why, fmt.Sprintf("%s for invoiced days after the close is credited to the account", FormatAmount(plan.Credited, a.Currency)))
	}
	plan.Why = append(plan.Why, "the remaining credit is kept on the account (refund_credit false)")
	ctx := LifecycleContext{Account: a, Type: req.Type, Now: req.Now, Actor: req.Actor, Reason: req.Reason}
	plan.Audit = ctx.audit(LifecycleAccountClose, auditEntityAccount, a.ID)
	plan.Audit.Before["status"], plan.Audit.After["status"] = a.Status, AccountClosed
	plan.Audit.Before["version"], plan.Audit.After["version"] = a.Version, plan.Version
	plan.Audit.After["refund_credit"], plan.Audit.After["credited"] = req.RefundCredit, plan.Credited
	return plan, nil
}

// AccountReopenPlan is what a reopen decides: the account current again
// at a new version, and its audit entry.
type AccountReopenPlan struct {
	AccountID int64          `json:"account_id"`
	Version   int64          `json:"version"`
	Why       []string       `json:"why"`
	Audit     LifecycleAudit `json:"audit"`
}

// PlanAccountReopen decides the reopening of a closed account: its status
// becomes current; its services stay cancelled (new ones are added as
// usual).
//
// Errors: EPRECONDITION when ifVersion is not the account's version;
// EINVALID when the account is not closed.
func PlanAccountReopen(a Account, ifVersion int64, actor, reason string, now time.Time) (AccountReopenPlan, error) {
	if ifVersion != a.Version {
		return AccountReopenPlan{}, StaleVersionError(EntityAccount, a.ID, ifVersion, a.Version)
	}
	if a.Status != AccountClosed {
		return AccountReopenPlan{}, Errorf(EINVALID, "account %d is %s, not closed: only a closed account is reopened", a.ID, a.Status)
	}
	p := AccountReopenPlan{AccountID: a.ID, Version: a.Version + 1,
		Why: []string{fmt.Sprintf("account %d reopened: current again; its cancelled services stay cancelled", a.ID)}}
	ctx := LifecycleContext{Account: a, Now: now, Actor: actor, Reason: reason}
	p.Audit = ctx.audit(LifecycleAccountReopen, auditEntityAccount, a.ID)
	p.Audit.Before["status"], p.Audit.After["status"] = a.Status, AccountCurrent
	p.Audit.Before["version"], p.Audit.After["version"] = a.Version, p.Version
	return p, nil
}

// PaymentOnAccount says how a payment to account id of status s posts: to
// a closed account it is not allocated to any invoice — it stays credit on
// the account — and staff get a warning to refund it or reopen the
// account; otherwise it is allocated as usual and there is no warning.
func PaymentOnAccount(id int64, s AccountStatus) (allocate bool, warnings []string) {
	if s != AccountClosed {
		return true, nil
	}
	return false, []string{fmt.Sprintf("account %d is closed: the payment is posted as credit on it and allocated to no invoice; refund it or reopen the account (admin)", id)}
}
