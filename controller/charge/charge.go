package charge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
	BeginAttempt(ctx context.Context, a billing.PaymentAttempt, at time.Time) (billing.PaymentAttempt, bool, error)
	FinishAttempt(ctx context.Context, id int64, outcome billing.PaymentAttempt, at time.Time) (billing.PaymentAttempt, error)
	FlagAttempt(ctx context.Context, id int64, reason string) error

	// Refunds: reserve, then complete or release (postgres.DB).
	ReserveRefund(ctx context.Context, in billing.RefundRequest, by string, now time.Time) (billing.Refund, bool, error)
	CompleteRefund(ctx context.Context, id int64, gatewayRefund string, now time.Time) (billing.Refund, error)
	ReleaseRefund(ctx context.Context, id int64, reason string, now time.Time) (billing.Refund, error)
	FlagRefund(ctx context.Context, id int64, reason string) error
}

// Service charges through one gateway.
type Service struct {
	gw      payments.Gateway
	store   Store
	intents IntentStore
	clock   clock.Clock
	log     *slog.Logger
	// metrics counts the gateway's answers (nil: not counted).
	metrics *Metrics
}

// New returns a charging service.
func New(gw payments.Gateway, store Store, clk clock.Clock, log *slog.Logger) *Service {
	intents, _ := store.(IntentStore)
	if intents == nil {
		intents = noIntents{}
	}
	return &Service{gw: gw, store: store, intents: intents, clock: clk, log: log}
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

// Charge charges a method on file of the account (methodID 0: the default),
// the ledger first: the attempt is written pending with key before the
// gateway is called (with that key and the attempt's id as metadata), then
// finished with the answer; a successful charge posts the payment in the
// same transaction. A retry with the same key returns the finished attempt,
// or resumes a pending one. A declined charge is not an error: the
// returned attempt says failed and why. Errors: ENOTFOUND for an unknown
// account or method, EINVALID for a removed method or a bad amount,
// ECONFLICT for a key used for another charge; the gateway's own refusals
// (recorded as an attempt with status error); ErrChargeUnsettled when the
// gateway's answer is unknown (the attempt stays pending until recovery).
func (s *Service) Charge(ctx context.Context, accountID, methodID, amount int64, trigger billing.AttemptTrigger, key string, invoiceID *int64, attemptNo int) (billing.PaymentAttempt, error) {
	return s.charge(ctx, accountID, methodID, amount, trigger, key, invoiceID, attemptNo, nil)
}

// ChargeApplied is Charge by staff (attempt 1, no invoice) whose payment
// pays the chosen invoices first, as far as they are still open when the
// charge succeeds ([billing.ChosenPayment].BestEffort); the rest pays the
// oldest. Errors: Charge's, and EINVALID naming apply_to when the chosen
// amounts add up to more than amount.
func (s *Service) ChargeApplied(ctx context.Context, accountID, methodID, amount int64, key string, applyTo []billing.AllocationChoice) (billing.PaymentAttempt, error) {
	if err := billing.CheckAllocationChoices("apply_to", amount, applyTo); err != nil {
		return billing.PaymentAttempt{}, err
	}
	return s.charge(ctx, accountID, methodID, amount, billing.TriggerStaff, key, nil, 1, applyTo)
}

func (s *Service) charge(ctx context.Context, accountID, methodID, amount int64, trigger billing.AttemptTrigger, key string, invoiceID *int64,
	attemptNo int, applyTo []billing.AllocationChoice) (billing.PaymentAttempt, error) {
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
		Trigger: trigger, Gateway: s.gw.Name(), InvoiceID: invoiceID, AttemptNo: attemptNo, IdempotencyKey: key, ApplyTo: applyTo}
	// The ledger first: the attempt is written pending, with its key,
	// before the gateway is called.
	rec, existing, err := s.store.BeginAttempt(ctx, a, s.clock.Now())
	if err != nil {
		return rec, err
	}
	if existing && rec.Status != "pending" {
		return rec, nil
	}
	if existing && (rec.NeedsAttention != "" || s.clock.Now().Sub(rec.CreatedAt) >= billing.RefundKeyReplayLimit) {
		// Its key may have expired at the gateway: never re-sent.
		return rec, fmt.Errorf("attempt %d: %w; its key is too old to send again, so staff settle it", rec.ID, ErrChargeUnsettled)
	}
	return s.sendCharge(ctx, rec, m, acct.Number)
}

// ErrChargeUnsettled is returned (wrapped) by Charge when the gateway's
// answer is not known (it could not be reached, or answered with a server
// error): the attempt stays pending — the subscriber may or may not have
// been charged — and the recovery job (or a retry with the same key)
// settles it by sending the same request with the same key again.
var ErrChargeUnsettled = errors.New("the payment gateway did not confirm the charge; it stays pending and is settled automatically")

// sendCharge asks the gateway for a pending attempt's charge, with the
// attempt's key and id, and records the answer.
func (s *Service) sendCharge(ctx context.Context, a billing.PaymentAttempt, m billing.StoredMethod, accountNumber string) (billing.PaymentAttempt, error) {
	ch, gwErr := s.gw.Charge(ctx, payments.ChargeRequest{Token: m.Token, Customer: m.Customer, Amount: a.Amount,
		Currency: a.Currency, Description: "Account " + accountNumber, IdempotencyKey: a.IdempotencyKey,
		AttemptID: strconv.FormatInt(a.ID, 10)})
	ctx = context.WithoutCancel(ctx)
	var outcome billing.PaymentAttempt
	switch {
	case gwErr != nil && billing.ErrorCode(gwErr) == billing.EINTERNAL:
		s.log.Warn("gateway charge unsettled; left pending for recovery", "account_id", a.AccountID, "attempt_id", a.ID, "err", gwErr)
		s.metrics.answered(s.gw.Name(), a.Trigger, statusUnsettled, "")
		return a, fmt.Errorf("charge account %d: %w (%v)", a.AccountID, ErrChargeUnsettled, gwErr)
	case gwErr != nil:
		// The gateway refused the request: no money moved.
		outcome.Status, outcome.FailureMessage = "error", billing.ErrorMessage(gwErr)
	case ch.Status == payments.ChargeSucceeded:
		outcome.Status, outcome.ChargeID = "succeeded", ch.ID
	case ch.Status == payments.ChargePending:
		// An ACH debit: the gateway settles it in days and says so by
		// webhook (charge.succeeded / charge.failed).
		outcome.Status, outcome.ChargeID = "processing", ch.ID
	default:
		outcome.Status, outcome.ChargeID, outcome.FailureCode, outcome.FailureMessage = "failed", ch.ID, ch.FailureCode, ch.FailureMessage
	}
	rec, err := s.store.FinishAttempt(ctx, a.ID, outcome, s.clock.Now())
	if err != nil {
		return rec, err
	}
	switch outcome.Status {
	case "succeeded":
		s.metrics.answered(s.gw.Name(), a.Trigger, statusSucceeded, "")
	case "processing":
		s.metrics.answered(s.gw.Name(), a.Trigger, statusProcessing, "")
	case "failed":
		s.metrics.answered(s.gw.Name(), a.Trigger, statusDeclined, outcome.FailureCode)
	default:
		s.metrics.answered(s.gw.Name(), a.Trigger, statusError, string(billing.ErrorCode(gwErr)))
	}
	s.notifyAuthentication(ctx, rec)
	s.log.Info("gateway charge", "account_id", a.AccountID, "method_id", a.PaymentMethodID, "amount", a.Amount, "status", rec.Status,
		"failure_code", rec.FailureCode, "trigger", a.Trigger)
	if gwErr != nil {
		return rec, fmt.Errorf("charge account %d: %w", a.AccountID, gwErr)
	}
	return rec, nil
}

// RecoverAttempt settles a charge attempt left pending by a crash or a lost
// answer: while its key is younger than billing.RefundKeyReplayLimit (23 h)
// the same request is sent again with the same key — the gateway answers
// the first charge's result if it made one, so nothing is charged twice —
// and the answer recorded; an older attempt is flagged for staff and never
// re-sent. An error means the gateway could not be asked (retry later).
func (s *Service) RecoverAttempt(ctx context.Context, a billing.PaymentAttempt) (billing.PaymentAttempt, error) {
	if a.Status != "pending" {
		return a, nil
	}
	if a.Gateway != s.gw.Name() || s.clock.Now().Sub(a.CreatedAt) >= billing.RefundKeyReplayLimit {
		reason := fmt.Sprintf("the charge's outcome is unknown and its idempotency key is older than %s (or its gateway %s is not configured), so it is not sent again; check the gateway for metadata tollgate_attempt_id %d, then record the payment or dismiss the attempt",
			billing.RefundKeyReplayLimit, a.Gateway, a.ID)
		s.log.Warn("charge attempt needs staff", "attempt_id", a.ID, "reason", reason)
		if err := s.store.FlagAttempt(ctx, a.ID, reason); err != nil {
			return a, err
		}
		a.NeedsAttention = reason
		return a, nil
	}
	if a.ChargeID != "" {
		// An intent (a payer was present): never sent again; its state
		// at the gateway says what it came to.
		return s.recoverIntent(ctx, a)
	}
	m, err := s.store.PaymentMethod(ctx, a.PaymentMethodID) // even if removed since: the gateway still has it
	if err != nil {
		return a, err
	}
	acct, err := s.store.Account(ctx, a.AccountID)
	if err != nil {
		return a, err
	}
	s.log.Info("charge recovery: sending again with its key", "attempt_id", a.ID)
	out, err := s.sendCharge(ctx, a, m, acct.Number)
	if err != nil && !errors.Is(err, ErrChargeUnsettled) {
		return out, nil // refused by the gateway and recorded: settled
	}
	return out, err
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

// ErrRefundUnsettled is returned (wrapped) by Refund when the gateway's
// answer is not known (it could not be reached, or answered with a server
// error): the refund stays reserved and pending, and the refund recovery job
// (or a retry with the same idempotency key) settles it.
var ErrRefundUnsettled = errors.New("the payment gateway did not confirm the refund; it stays pending and is settled automatically")

// Refund pays back part of a card/ACH payment's unapplied credit, the ledger
// first: the refund is reserved under the payment's lock (validated against
// what is refundable; in.IdempotencyKey recorded), only then is the gateway
// asked — with that key and the refund's id as metadata tollgate_refund_id —
// and then the refund is completed (journal) or, when the gateway refused
// it, released. A retry with the same key resumes the same refund. Errors:
// EINVALID, ENOTFOUND, ECONFLICT from validation and reservation (the
// gateway was not called); the gateway's own EINVALID/ENOTFOUND/ECONFLICT
// refusals (the reservation released); ErrRefundUnsettled when the gateway's
// answer is unknown (the refund stays pending).
func (s *Service) Refund(ctx context.Context, in billing.RefundRequest, by string) (billing.Refund, error) {
	r, existing, err := s.store.ReserveRefund(ctx, in, by, s.clock.Now())
	if err != nil {
		return r, err
	}
	if existing && r.Status == billing.RefundReleased {
		return r, billing.Errorf(billing.EINVALID, "refund %d was not made: %s", r.ID, r.ReleaseReason)
	}
	if existing && r.Status != billing.RefundPending {
		return r, nil
	}
	if existing && (r.NeedsAttention != "" || s.clock.Now().Sub(r.CreatedAt) >= billing.RefundKeyReplayLimit) {
		// Its key may have expired at the gateway: never re-sent.
		return r, fmt.Errorf("refund %d: %w; its key is too old to send again, so staff settle it (GET /api/v1/refunds?needs_attention=true)", r.ID, ErrRefundUnsettled)
	}
	if r.Gateway != s.gw.Name() {
		return r, billing.Errorf(billing.EINVALID, "payment %d came through the %s gateway, which is not configured (%s is)", r.PaymentID, r.Gateway, s.gw.Name())
	}
	return s.sendRefund(ctx, r)
}

// sendRefund asks the gateway for a pending refund and settles it on the
// answer. ctx's cancellation does not stop the settling once the gateway
// has answered.
func (s *Service) sendRefund(ctx context.Context, r billing.Refund) (billing.Refund, error) {
	gr, gwErr := s.gw.Refund(ctx, payments.RefundRequest{ChargeID: r.GatewayCharge, Amount: r.Amount,
		IdempotencyKey: r.IdempotencyKey, RefundID: strconv.FormatInt(r.ID, 10)})
	ctx = context.WithoutCancel(ctx)
	switch {
	case gwErr == nil && gr.Settled():
		s.log.Info("gateway refund", "payment_id", r.PaymentID, "refund_id", r.ID, "amount", r.Amount, "gateway_refund", gr.ID, "status", gr.Status)
		return s.store.CompleteRefund(ctx, r.ID, gr.ID, s.clock.Now())
	case gwErr == nil:
		s.log.Warn("gateway refund failed", "payment_id", r.PaymentID, "refund_id", r.ID, "gateway_refund", gr.ID, "status", gr.Status)
		rel, err := s.store.ReleaseRefund(ctx, r.ID, "the gateway's refund "+gr.ID+" is "+gr.Status, s.clock.Now())
		if err != nil {
			return rel, err
		}
		return rel, billing.Errorf(billing.EINVALID, "the payment gateway did not make the refund (status %s)", gr.Status)
	case billing.ErrorCode(gwErr) != billing.EINTERNAL:
		// The gateway refused the request: no money moved.
		s.log.Info("gateway refused refund", "payment_id", r.PaymentID, "refund_id", r.ID, "err", gwErr)
		if _, err := s.store.ReleaseRefund(ctx, r.ID, "the gateway refused: "+billing.ErrorMessage(gwErr), s.clock.Now()); err != nil {
			return r, err
		}
		return r, gwErr
	default:
		s.log.Warn("gateway refund unsettled; left pending for recovery", "payment_id", r.PaymentID, "refund_id", r.ID, "err", gwErr)
		return r, fmt.Errorf("refund %d: %w (%v)", r.ID, ErrRefundUnsettled, gwErr)
	}
}

// RecoverRefund settles a refund left pending by a crash or a lost answer:
// it lists the charge's refunds at the gateway and looks for one whose
// metadata tollgate_refund_id is the refund's id. Found and settled, the
// refund is completed; found and failed, released; not found and younger
// than billing.RefundKeyReplayLimit, the same request is sent again with the
// same key; not found and older, the refund is flagged for staff and never
// re-sent. It returns the refund as it now stands; an error when the
// gateway could not be asked (retry later).
func (s *Service) RecoverRefund(ctx context.Context, r billing.Refund) (billing.Refund, error) {
	if r.Status != billing.RefundPending {
		return r, nil
	}
	if r.Gateway != s.gw.Name() {
		return r, s.store.FlagRefund(ctx, r.ID, fmt.Sprintf("the refund went to the %s gateway, which is not configured; check it there", r.Gateway))
	}
	list, err := s.gw.ListRefunds(ctx, r.GatewayCharge)
	if err != nil {
		return r, fmt.Errorf("refund %d: list the charge's refunds: %w", r.ID, err)
	}
	want := strconv.FormatInt(r.ID, 10)
	var match *payments.Refund
	for i := range list {
		if list[i].TollgateRefundID == want {
			match = &list[i]
			break
		}
	}
	now := s.clock.Now()
	switch billing.DecideRefundRecovery(r.CreatedAt, now, match != nil, match != nil && match.Settled()) {
	case billing.RecoverComplete:
		s.log.Info("refund recovered: completed", "refund_id", r.ID, "gateway_refund", match.ID)
		return s.store.CompleteRefund(ctx, r.ID, match.ID, now)
	case billing.RecoverRelease:
		s.log.Info("refund recovered: released", "refund_id", r.ID, "gateway_refund", match.ID, "status", match.Status)
		return s.store.ReleaseRefund(ctx, r.ID, "the gateway's refund "+match.ID+" is "+match.Status, now)
	case billing.RecoverResend:
		s.log.Info("refund recovery: not at the gateway; sending again with its key", "refund_id", r.ID)
		out, err := s.sendRefund(ctx, r)
		if err != nil && !errors.Is(err, ErrRefundUnsettled) {
			// Refused by the gateway and released: recovery is done.
			return out, nil
		}
		return out, err
	default:
		reason := fmt.Sprintf("no refund with tollgate_refund_id %s at the gateway, and its idempotency key is older than %s, so it is not sent again; check the charge %s at the gateway, then complete or release this refund",
			want, billing.RefundKeyReplayLimit, r.GatewayCharge)
		s.log.Warn("refund needs staff", "refund_id", r.ID, "reason", reason)
		if err := s.store.FlagRefund(ctx, r.ID, reason); err != nil {
			return r, err
		}
		r.NeedsAttention = reason
		return r, nil
	}
}
