package charge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// IntentStore is what the browser (intent) flows need from storage beyond
// [Store].
type IntentStore interface {
	RecordAttemptIntent(ctx context.Context, id int64, intentID string) (billing.PaymentAttempt, error)
	PaymentAttempt(ctx context.Context, id int64) (billing.PaymentAttempt, error)
}

// OnSession is what a payment taken with the payer present came to.
type OnSession struct {
	Attempt billing.PaymentAttempt
	// NextActionURL is set while the payer must authenticate (3-D Secure):
	// send the browser there; it comes back to the return URL.
	NextActionURL string
}

// PayOnSession takes amount from a method on file while the payer is there
// (the portal, staff on the phone), through a PaymentIntent, the ledger
// first: the attempt is written pending with key; the intent is created
// with that key and metadata tollgate_attempt_id, its id written on the
// attempt, and confirmed with returnURL; then the attempt is settled from
// the intent ([Service.SettleIntent]) unless the payer must authenticate,
// when it stays pending and NextActionURL says where to send them. A retry
// with the same key finds the same attempt and intent. saveForLater keeps
// the method usable off-session (autopay). Errors as [Service.Charge].
func (s *Service) PayOnSession(ctx context.Context, accountID, methodID, amount int64, trigger billing.AttemptTrigger, key string,
	saveForLater bool, returnURL string) (OnSession, error) {
	if amount <= 0 {
		return OnSession{}, billing.Errorf(billing.EINVALID, "amount %d must be positive (minor units)", amount)
	}
	if key == "" {
		return OnSession{}, billing.Errorf(billing.EINVALID, "an on-session payment needs an idempotency key")
	}
	acct, err := s.store.Account(ctx, accountID)
	if err != nil {
		return OnSession{}, err
	}
	m, err := s.method(ctx, accountID, methodID)
	if err != nil {
		return OnSession{}, err
	}
	a := billing.PaymentAttempt{AccountID: accountID, PaymentMethodID: m.ID, Amount: amount, Currency: acct.Currency,
		Trigger: trigger, Gateway: s.gw.Name(), AttemptNo: 1, IdempotencyKey: key}
	rec, existing, err := s.store.BeginAttempt(ctx, a, s.clock.Now())
	if err != nil {
		return OnSession{Attempt: rec}, err
	}
	if existing && rec.Status != "pending" {
		return OnSession{Attempt: rec}, nil
	}
	in, err := s.gw.CreatePaymentIntent(ctx, payments.PaymentIntentRequest{Amount: amount, Currency: acct.Currency,
		PaymentMethod: m.Token, Customer: m.Customer, Description: "Account " + acct.Number, SaveForLater: saveForLater,
		IdempotencyKey: key, AttemptID: strconv.FormatInt(rec.ID, 10)})
	if err != nil {
		return s.intentRefused(ctx, rec, "create payment intent", err)
	}
	if rec, err = s.intents.RecordAttemptIntent(context.WithoutCancel(ctx), rec.ID, in.ID); err != nil {
		return OnSession{Attempt: rec}, err
	}
	if in.Status == payments.IntentRequiresConfirmation {
		in, err = s.gw.ConfirmPaymentIntent(ctx, in.ID, payments.ConfirmRequest{ReturnURL: returnURL, IdempotencyKey: key + "/confirm"})
		if err != nil {
			return s.intentRefused(ctx, rec, "confirm payment intent", err)
		}
	}
	rec, err = s.SettleIntent(ctx, rec, in)
	out := OnSession{Attempt: rec}
	if rec.Status == "pending" && in.Status == payments.IntentRequiresAction {
		out.NextActionURL = in.NextActionURL
	}
	return out, err
}

// intentRefused records a gateway error of the intent calls: a refusal
// (EINVALID, ENOTFOUND, ECONFLICT) moved no money and finishes the attempt
// as error; anything else leaves it pending for recovery
// (ErrChargeUnsettled).
func (s *Service) intentRefused(ctx context.Context, a billing.PaymentAttempt, op string, gwErr error) (OnSession, error) {
	if billing.ErrorCode(gwErr) == billing.EINTERNAL {
		s.log.Warn("gateway intent unsettled; left pending for recovery", "attempt_id", a.ID, "op", op, "err", gwErr)
		return OnSession{Attempt: a}, fmt.Errorf("charge account %d: %w (%v)", a.AccountID, ErrChargeUnsettled, gwErr)
	}
	rec, err := s.store.FinishAttempt(context.WithoutCancel(ctx), a.ID,
		billing.PaymentAttempt{Status: "error", ChargeID: a.ChargeID, FailureMessage: billing.ErrorMessage(gwErr)}, s.clock.Now())
	if err != nil {
		return OnSession{Attempt: rec}, err
	}
	return OnSession{Attempt: rec}, fmt.Errorf("charge account %d: %w", a.AccountID, gwErr)
}

// SettleIntent records on its attempt what a PaymentIntent came to — from
// the confirmation's answer, or retrieved by the return URL's handler or by
// recovery (never from what a browser says): succeeded posts the payment,
// processing (ACH) waits for the webhook, requires_payment_method (a
// decline, a failed authentication) or canceled fails it; requires_action
// and requires_confirmation leave it pending. The attempt's finish is
// idempotent (a webhook may have finished it first; it is returned as it
// is). The intent must carry the attempt's id as metadata.
func (s *Service) SettleIntent(ctx context.Context, a billing.PaymentAttempt, in payments.Intent) (billing.PaymentAttempt, error) {
	if in.AttemptID != strconv.FormatInt(a.ID, 10) || in.Setup {
		return a, billing.Errorf(billing.EINVALID, "intent %s is not the intent of payment attempt %d", in.ID, a.ID)
	}
	var outcome billing.PaymentAttempt
	outcome.ChargeID = in.ID
	switch in.Status {
	case payments.IntentSucceeded:
		outcome.Status = "succeeded"
	case payments.IntentProcessing:
		outcome.Status = "processing"
	case payments.IntentRequiresPaymentMethod, payments.IntentCanceled:
		outcome.Status, outcome.FailureCode, outcome.FailureMessage = "failed", in.FailureCode, in.FailureMessage
		if outcome.FailureCode == "" {
			outcome.FailureCode = payments.FailureProcessingError
		}
		if outcome.FailureMessage == "" {
			outcome.FailureMessage = "The payment was not completed."
		}
	default: // requires_action, requires_confirmation: the payer may still act
		return a, nil
	}
	if !a.Unsettled() || (a.Status == "processing" && outcome.Status == "processing") {
		return a, nil
	}
	rec, err := s.store.FinishAttempt(context.WithoutCancel(ctx), a.ID, outcome, s.clock.Now())
	if err != nil {
		return rec, err
	}
	s.log.Info("gateway intent settled", "account_id", a.AccountID, "attempt_id", a.ID, "intent", in.ID, "status", rec.Status,
		"failure_code", rec.FailureCode, "trigger", a.Trigger)
	return rec, nil
}

// FinishReturn settles the attempt of a PaymentIntent the browser came back
// with (the return URL's ?payment_intent=): the intent is retrieved from the
// gateway and must belong to accountID (through its tollgate_attempt_id);
// ENOTFOUND otherwise, so one account cannot settle or see another's.
func (s *Service) FinishReturn(ctx context.Context, accountID int64, intentID string) (billing.PaymentAttempt, payments.Intent, error) {
	in, err := s.gw.RetrieveIntent(ctx, intentID)
	if err != nil {
		return billing.PaymentAttempt{}, in, err
	}
	id, _ := strconv.ParseInt(in.AttemptID, 10, 64)
	a, err := s.intents.PaymentAttempt(ctx, id)
	if id == 0 || billing.ErrorCode(err) == billing.ENOTFOUND || (err == nil && (a.AccountID != accountID || a.ChargeID != in.ID)) {
		return billing.PaymentAttempt{}, in, billing.Errorf(billing.ENOTFOUND, "payment %s does not exist", intentID)
	}
	if err != nil {
		return a, in, err
	}
	a, err = s.SettleIntent(ctx, a, in)
	return a, in, err
}

// recoverIntent settles a pending attempt that has an intent: retrieved,
// and recorded if the intent is final. An intent still awaiting its payer
// stays pending (the payer may come back; a webhook finishes it too).
func (s *Service) recoverIntent(ctx context.Context, a billing.PaymentAttempt) (billing.PaymentAttempt, error) {
	in, err := s.gw.RetrieveIntent(ctx, a.ChargeID)
	if err != nil {
		return a, fmt.Errorf("attempt %d: retrieve intent: %w", a.ID, err)
	}
	return s.SettleIntent(ctx, a, in)
}

// SaveMethod saves a method the browser got from the processor's fields
// (or one of Stripe's test ids, [payments.TestPaymentMethods]) for later
// off-session charges, through a SetupIntent with the account's gateway
// customer (a new one for its first method), and puts it on file. When the
// bank asks for authentication first, nothing is stored yet and the
// returned intent's NextActionURL says where to send the browser; its
// return is [Service.FinishSetup]. A declined method is EINVALID naming the
// reason.
func (s *Service) SaveMethod(ctx context.Context, accountID int64, methodID string, makeDefault bool, returnURL, key string) (billing.StoredMethod, payments.Intent, error) {
	if _, err := s.store.Account(ctx, accountID); err != nil {
		return billing.StoredMethod{}, payments.Intent{}, err
	}
	customer, err := s.customer(ctx, accountID)
	if err != nil {
		return billing.StoredMethod{}, payments.Intent{}, err
	}
	in, err := s.gw.CreateSetupIntent(ctx, payments.SetupIntentRequest{AccountID: strconv.FormatInt(accountID, 10), PaymentMethod: methodID, Customer: customer,
		ReturnURL: returnURL, IdempotencyKey: key})
	if err != nil {
		return billing.StoredMethod{}, in, err
	}
	return s.finishSetup(ctx, accountID, in, makeDefault)
}

// FinishSetup puts on file the method of a SetupIntent the browser came
// back with after authenticating (retrieved from the gateway; its
// customer must be the account's, else ENOTFOUND).
func (s *Service) FinishSetup(ctx context.Context, accountID int64, intentID string, makeDefault bool) (billing.StoredMethod, payments.Intent, error) {
	in, err := s.gw.RetrieveIntent(ctx, intentID)
	if err != nil {
		return billing.StoredMethod{}, in, err
	}
	if !in.Setup || in.AccountID != strconv.FormatInt(accountID, 10) {
		return billing.StoredMethod{}, in, billing.Errorf(billing.ENOTFOUND, "setup %s does not exist", intentID)
	}
	return s.finishSetup(ctx, accountID, in, makeDefault)
}

func (s *Service) finishSetup(ctx context.Context, accountID int64, in payments.Intent, makeDefault bool) (billing.StoredMethod, payments.Intent, error) {
	switch in.Status {
	case payments.IntentSucceeded, payments.IntentProcessing:
		pm := in.PaymentMethod
		pm.Customer = in.Customer
		ms, err := s.store.PaymentMethods(ctx, accountID)
		if err != nil {
			return billing.StoredMethod{}, in, err
		}
		for _, m := range ms {
			if m.Token == pm.Token && m.Status != "removed" {
				return m, in, nil // already on file (a reload of the return page)
			}
		}
		m, err := s.AddToken(ctx, accountID, pm, makeDefault)
		return m, in, err
	case payments.IntentRequiresAction:
		return billing.StoredMethod{}, in, nil
	default:
		msg := in.FailureMessage
		if msg == "" {
			msg = "the payment method could not be saved"
		}
		return billing.StoredMethod{}, in, billing.Errorf(billing.EINVALID, "%s", msg)
	}
}

// customer is the account's gateway customer: the one its methods on file
// with this gateway carry ("" when none has one yet).
func (s *Service) customer(ctx context.Context, accountID int64) (string, error) {
	ms, err := s.store.PaymentMethods(ctx, accountID)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.Gateway == s.gw.Name() && m.Customer != "" {
			return m.Customer, nil
		}
	}
	return "", nil
}

// AddBrowserMethod puts on file, for one payment, a method id the browser
// got from the processor's fields: the gateway is asked what it is (brand,
// last 4), never the browser. EINVALID for a malformed id (a card number
// pasted in), ENOTFOUND for an unknown one.
func (s *Service) AddBrowserMethod(ctx context.Context, accountID int64, methodID string, makeDefault bool) (billing.StoredMethod, error) {
	pm, err := s.gw.RetrievePaymentMethod(ctx, methodID)
	if err != nil {
		return billing.StoredMethod{}, err
	}
	if pm.Customer == "" {
		if pm.Customer, err = s.customer(ctx, accountID); err != nil {
			return billing.StoredMethod{}, err
		}
	}
	return s.AddToken(ctx, accountID, pm, makeDefault)
}

var errNoIntentStore = errors.New("charge: the store cannot record intents")

// AuthenticationNotifier queues the notice asking a subscriber to pay in
// the portal when an autopay charge failed for want of their
// authentication (postgres.DB).
type AuthenticationNotifier interface {
	QueueAuthenticationNotice(ctx context.Context, attemptID int64, now time.Time) (bool, error)
}

// notifyAuthentication tells the subscriber of an autopay attempt that
// failed with authentication_required to pay in the portal (a notice
// linking to its pay page), where the bank can ask them to authenticate.
// Trouble is logged: the attempt stands.
func (s *Service) notifyAuthentication(ctx context.Context, a billing.PaymentAttempt) {
	if a.Trigger != billing.TriggerAutopay || a.Status != "failed" || a.FailureCode != payments.FailureAuthenticationRequired {
		return
	}
	n, ok := s.store.(AuthenticationNotifier)
	if !ok {
		return
	}
	queued, err := n.QueueAuthenticationNotice(ctx, a.ID, s.clock.Now())
	if err != nil {
		s.log.Error("queueing the authentication notice", "attempt_id", a.ID, "err", err)
		return
	}
	s.log.Info("autopay needs the cardholder's authentication; notice queued", "attempt_id", a.ID, "account_id", a.AccountID, "queued", queued)
}

// noIntents is the IntentStore of a store that has none (test fakes of
// the off-session paths).
type noIntents struct{}

func (noIntents) RecordAttemptIntent(context.Context, int64, string) (billing.PaymentAttempt, error) {
	return billing.PaymentAttempt{}, errNoIntentStore
}

func (noIntents) PaymentAttempt(context.Context, int64) (billing.PaymentAttempt, error) {
	return billing.PaymentAttempt{}, errNoIntentStore
}
