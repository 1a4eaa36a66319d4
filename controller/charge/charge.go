// Package charge collects money through a payment gateway: it puts payment
// methods on file as gateway tokens, charges them (for staff, the portal and
// autopay), records every attempt, and posts the payment when the gateway
// says it succeeded — the card number itself only ever passes through to
// the gateway.
package charge

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Store is what charging needs from storage.
type Store interface {
	Account(ctx context.Context, id int64) (billing.Account, error)
	AddPaymentMethod(ctx context.Context, m billing.StoredMethod, makeDefault bool, at time.Time) (billing.StoredMethod, error)
	PaymentMethod(ctx context.Context, id int64) (billing.StoredMethod, error)
	PaymentMethods(ctx context.Context, accountID int64) ([]billing.StoredMethod, error)
	RecordAttempt(ctx context.Context, a billing.PaymentAttempt, at time.Time) (billing.PaymentAttempt, error)
}

// Service charges through one gateway.
type Service struct {
	gw    payments.Gateway
	store Store
	clock clock.Clock
	log   *slog.Logger
}

// New returns a charging service.
func New(gw payments.Gateway, store Store, clk clock.Clock, log *slog.Logger) *Service {
	return &Service{gw: gw, store: store, clock: clk, log: log}
}

// Gateway is the service's gateway.
func (s *Service) Gateway() payments.Gateway { return s.gw }

// AddToken puts a method the gateway already tokenized (by the processor's
// own page or SDK) on file for an account. ENOTFOUND for an unknown account.
func (s *Service) AddToken(ctx context.Context, accountID int64, pm payments.PaymentMethod, makeDefault bool) (billing.StoredMethod, error) {
	if pm.Token == "" || len(pm.Last4) != 4 {
		return billing.StoredMethod{}, billing.Errorf(billing.EINVALID, "payment method token and last4 are required")
	}
	return s.store.AddPaymentMethod(ctx, billing.StoredMethod{AccountID: accountID, Gateway: s.gw.Name(), Token: pm.Token,
		Customer: pm.Customer, Kind: string(pm.Kind), Brand: pm.Brand, Last4: pm.Last4, ExpMonth: pm.ExpMonth,
		ExpYear: pm.ExpYear, BankName: pm.BankName}, makeDefault, s.clock.Now())
}

// Charge charges a method on file of the account (methodID 0: the default)
// and records the attempt; a successful charge posts the payment in the
// same transaction. A declined charge is not an error: the returned
// attempt says failed and why. Errors: ENOTFOUND for an unknown account or
// method, EINVALID for a removed method or a bad amount; a gateway that
// cannot be reached is recorded as an attempt with status error and
// returned as an error.
func (s *Service) Charge(ctx context.Context, accountID, methodID, amount int64, trigger billing.AttemptTrigger, key string, invoiceID *int64, attemptNo int) (billing.PaymentAttempt, error) {
	if amount <= 0 {
		return billing.PaymentAttempt{}, billing.Errorf(billing.EINVALID, "amount %d must be positive (minor units)", amount)
	}
	acct, err := s.store.Account(ctx, accountID)
	if err != nil {
		return billing.PaymentAttempt{}, err
	}
	m, err := s.method(ctx, accountID, methodID)
	if err != nil {
		return billing.PaymentAttempt{}, err
	}
	if key == "" {
		key = fmt.Sprintf("charge-%d-%d-%d", accountID, m.ID, s.clock.Now().UnixNano())
	}
	a := billing.PaymentAttempt{AccountID: accountID, PaymentMethodID: m.ID, Amount: amount, Currency: acct.Currency,
		Trigger: trigger, Gateway: s.gw.Name(), InvoiceID: invoiceID, AttemptNo: attemptNo, IdempotencyKey: key}
	ch, gwErr := s.gw.Charge(ctx, payments.ChargeRequest{Token: m.Token, Customer: m.Customer, Amount: amount,
		Currency: acct.Currency, Description: "Account " + acct.Number, IdempotencyKey: key})
	switch {
	case gwErr != nil:
		a.Status, a.FailureMessage = "error", billing.ErrorMessage(gwErr)
		if billing.ErrorCode(gwErr) == billing.EINTERNAL {
			a.FailureMessage = "the payment gateway could not be reached"
		}
	case ch.Status == payments.ChargeSucceeded:
		a.Status, a.ChargeID = "succeeded", ch.ID
	default:
		a.Status, a.ChargeID, a.FailureCode, a.FailureMessage = "failed", ch.ID, ch.FailureCode, ch.FailureMessage
	}
	rec, err := s.store.RecordAttempt(ctx, a, s.clock.Now())
	if err != nil {
		return rec, err
	}
	s.log.Info("gateway charge", "account_id", accountID, "method_id", m.ID, "amount", amount, "status", rec.Status,
		"failure_code", rec.FailureCode, "trigger", trigger)
	if gwErr != nil {
		return rec, fmt.Errorf("charge account %d: %w", accountID, gwErr)
	}
	return rec, nil
}

func (s *Service) method(ctx context.Context, accountID, methodID int64) (billing.StoredMethod, error) {
	if methodID == 0 {
		ms, err := s.store.PaymentMethods(ctx, accountID)
		if err != nil {
			return billing.StoredMethod{}, err
		}
		for _, m := range ms {
			if m.Default {
				return m, nil
			}
		}
		return billing.StoredMethod{}, billing.Errorf(billing.EINVALID, "account %d has no default payment method", accountID)
	}
	m, err := s.store.PaymentMethod(ctx, methodID)
	if err != nil {
		return m, err
	}
	if m.AccountID != accountID {
		return m, billing.Errorf(billing.ENOTFOUND, "account %d has no payment method %d", accountID, methodID)
	}
	if m.Status == "removed" {
		return m, billing.Errorf(billing.EINVALID, "payment method %d was removed", methodID)
	}
	if m.Gateway != s.gw.Name() {
		return m, billing.Errorf(billing.EINVALID, "payment method %d belongs to gateway %s, not %s", methodID, m.Gateway, s.gw.Name())
	}
	return m, nil
}

// Refund pays back amount of a gateway payment through the gateway (the
// caller then records it). The idempotency key makes a retried refund a
// no-op at the gateway. EINVALID when the payment did not come through this
// gateway.
func (s *Service) Refund(ctx context.Context, p billing.Payment, amount int64, key string) (payments.Refund, error) {
	if p.Gateway != s.gw.Name() || p.GatewayCharge == "" {
		return payments.Refund{}, billing.Errorf(billing.EINVALID, "payment %d did not come through the %s gateway", p.ID, s.gw.Name())
	}
	r, err := s.gw.Refund(ctx, p.GatewayCharge, amount, key)
	if err == nil {
		s.log.Info("gateway refund", "payment_id", p.ID, "amount", amount, "refund", r.ID, "status", r.Status)
	}
	return r, err
}
