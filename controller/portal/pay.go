package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

type payData struct {
	Standing billing.AccountStanding
	Methods  []billing.StoredMethod
	// Key is the form's idempotency key: submitting the same form twice
	// charges once.
	Key string
	// Form echoes what the subscriber chose (never card details).
	Choice, Other, Method string
	Save                  bool
	// Element is the payment processor's fields for a new card or bank
	// account.
	Element elementView
}

// maxOverpay bounds how far above the balance an "other amount" may go,
// in minor units (a typo guard, not a policy).
const maxOverpay = 100_000

func (s *Server) payForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.charger == nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Online payments are not available. Contact us to pay.")
		return
	}
	s.renderPay(w, r, sess, http.StatusOK, "", payData{})
}

// renderPay shows the payment form, keeping the subscriber's choices.
func (s *Server) renderPay(w http.ResponseWriter, r *http.Request, sess *session, status int, errMsg string, d payData) {
	ctx := r.Context()
	acct := sess.Account
	var err error
	if d.Standing, err = s.accounts.AccountStanding(ctx, sess.AccountID, s.clock.Now()); err != nil {
		s.internalError(w, r, "reading an account's standing", err)
		return
	}
	if d.Methods, err = s.usableMethods(ctx, sess.AccountID); err != nil {
		s.internalError(w, r, "listing payment methods", err)
		return
	}
	d.Key = "portal-" + randomString(18)
	if d.Choice == "" {
		d.Choice = "balance"
		if d.Standing.PastDue > 0 && d.Standing.PastDue < d.Standing.Balance {
			d.Choice = "past_due"
		}
	}
	if d.Method == "" {
		d.Method = "new"
		for _, m := range d.Methods {
			if m.Default {
				d.Method = strconv.FormatInt(m.ID, 10)
			}
		}
	}
	d.Element = s.elementView("payment", max(d.Standing.Balance, 0), string(d.Standing.Currency))
	s.render(w, r, status, "pay", sess, view{Title: "Pay", Nav: "pay", Account: &acct, Error: errMsg, Data: d})
}

// usableMethods are the account's methods that can be charged.
func (s *Server) usableMethods(ctx context.Context, accountID int64) ([]billing.StoredMethod, error) {
	ms, err := s.methodStore.PaymentMethods(ctx, accountID)
	if err != nil {
		return nil, err
	}
	today := billing.DateOf(s.clock.Now())
	out := ms[:0]
	for _, m := range ms {
		if m.Status != "removed" && !m.Expired(today) && m.Gateway == s.charger.Gateway().Name() {
			out = append(out, m)
		}
	}
	return out, nil
}

// payClaimTimeout is how long a pay form's submission holds its key before
// another submission of the same form may take over (its request died).
// The gateway's idempotency key is the same, so the takeover charges
// nothing twice.
const payClaimTimeout = 2 * time.Minute

// payRequest is what a pay form's key is claimed for; every submission of
// one form is "the same request", whatever the fields say, so the first
// submission's outcome answers all of them.
var payRequest = billing.IdempotentRequest{Method: http.MethodPost, Path: "portal pay form", RequestHash: []byte("portal pay form v1")}

// payPrincipal owns an account's pay form keys: a key from another
// account's form cannot match.
func payPrincipal(accountID int64) string { return fmt.Sprintf("portal/account/%d", accountID) }

// payOutcome is what one pay form submission came to: a redirect to the
// payment's page (Location), or the form again with Status and Message
// (nothing was charged, or the message says what is known).
type payOutcome struct {
	Status   int    `json:"status"`
	Location string `json:"location,omitempty"`
	Message  string `json:"message,omitempty"`
	// NextAction is the bank's authentication page (3-D Secure) this
	// request sends the browser to; not kept with the form's outcome (a
	// replay shows the payment's page).
	NextAction string `json:"-"`
}

// pay takes a pay form. A form's key is claimed before anything else
// happens, so submitting one form many times at once (a double click, a
// reload, an impatient tap) charges once: the first submission charges;
// the others are told, truthfully, that the payment is already being
// processed and are shown it when it is done.
func (s *Server) pay(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.charger == nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Online payments are not available. Contact us to pay.")
		return
	}
	ctx := r.Context()
	d := payData{Choice: r.PostFormValue("choice"), Other: strings.TrimSpace(r.PostFormValue("other")),
		Method: r.PostFormValue("method"), Save: r.PostFormValue("save") != ""}
	formKey := r.PostFormValue("key")
	if !validPayKey(formKey) {
		s.renderPay(w, r, sess, http.StatusUnprocessableEntity, "This form expired. Check the amount and pay again.", d)
		return
	}
	principal := payPrincipal(sess.AccountID)
	claim := payRequest
	claim.Principal, claim.Key = principal, formKey
	stored, err := s.payKeys.BeginIdempotent(ctx, claim, s.clock.Now(), payClaimTimeout)
	switch {
	case billing.ErrorCode(err) == billing.ECONFLICT:
		// Another submission of this form is charging right now.
		s.metrics.payments.WithLabelValues("duplicate").Inc()
		http.Redirect(w, r, s.url("/pay/forms/"+formKey), http.StatusSeeOther)
		return
	case err != nil:
		s.internalError(w, r, "claiming a pay form", err)
		return
	case stored != nil:
		s.metrics.payments.WithLabelValues("duplicate").Inc()
		s.replayPay(w, r, sess, stored, d)
		return
	}
	out, err := s.payClaimed(r, sess, d, fmt.Sprintf("portal:%d:%s", sess.AccountID, formKey))
	if err != nil {
		if rerr := s.payKeys.ReleaseIdempotent(context.WithoutCancel(ctx), principal, formKey); rerr != nil {
			s.log.Error("portal: releasing a pay form", "account_id", sess.AccountID, "err", rerr)
		}
		s.internalError(w, r, "taking a payment", err)
		return
	}
	body, _ := json.Marshal(out)
	if err := s.payKeys.CompleteIdempotent(context.WithoutCancel(ctx), principal, formKey,
		billing.StoredResponse{StatusCode: out.Status, ContentType: "application/json", Body: body}); err != nil {
		// The outcome stands; a later submission of this form finds the
		// attempt by its gateway key once the claim times out.
		s.log.Error("portal: completing a pay form", "account_id", sess.AccountID, "err", err)
	}
	if out.NextAction != "" {
		s.renderAuthenticate(w, r, sess, out.NextAction, false)
		return
	}
	if out.Location != "" {
		http.Redirect(w, r, s.url(out.Location), http.StatusSeeOther)
		return
	}
	s.renderPay(w, r, sess, out.Status, out.Message, d)
}

// renderAuthenticate sends the subscriber on to the bank's authentication
// page with a link (a link, not a redirect: the portal's
// Content-Security-Policy lets forms post only to the portal).
func (s *Server) renderAuthenticate(w http.ResponseWriter, r *http.Request, sess *session, to string, setup bool) {
	acct := sess.Account
	title, nav := "Confirm your payment", "pay"
	if setup {
		title, nav = "Confirm your card", "methods"
	}
	s.render(w, r, http.StatusOK, "authenticate", sess, view{Title: title, Nav: nav, Account: &acct,
		Data: authenticateData{URL: to, Setup: setup}})
}

func validPayKey(k string) bool { return strings.HasPrefix(k, "portal-") && len(k) <= 64 }

// replayPay answers a submission of a form that was already taken with that
// first submission's outcome: its payment's page, saying so, or the form
// with its message (nothing was charged then, nor now).
func (s *Server) replayPay(w http.ResponseWriter, r *http.Request, sess *session, stored *billing.StoredResponse, d payData) {
	var out payOutcome
	if err := json.Unmarshal(stored.Body, &out); err != nil {
		s.internalError(w, r, "reading a pay form's outcome", err)
		return
	}
	if out.Location != "" {
		sep := "?"
		if strings.Contains(out.Location, "?") {
			sep = "&"
		}
		http.Redirect(w, r, s.url(out.Location+sep+"again=1"), http.StatusSeeOther)
		return
	}
	s.renderPay(w, r, sess, out.Status, "This form was already sent. "+out.Message, d)
}

// payFormState shows what became of a pay form another submission is
// charging: "already being processed" (refreshing itself) until that
// submission is done, then its outcome.
func (s *Server) payFormState(w http.ResponseWriter, r *http.Request, sess *session) {
	formKey := r.PathValue("key")
	if !validPayKey(formKey) {
		s.notFound(w, r)
		return
	}
	stored, claimed, err := s.payKeys.IdempotentResponse(r.Context(), payPrincipal(sess.AccountID), formKey)
	switch {
	case err != nil:
		s.internalError(w, r, "reading a pay form", err)
		return
	case stored != nil:
		s.replayPay(w, r, sess, stored, payData{})
		return
	case !claimed:
		// The submission that held the form gave up before charging.
		s.renderPay(w, r, sess, http.StatusOK, "That payment was not made, and you were not charged. Check the amount and pay again.", payData{})
		return
	}
	acct := sess.Account
	s.render(w, r, http.StatusOK, "paid", sess, view{Title: "Payment", Nav: "pay", Account: &acct, Refresh: 2,
		Data: paidData{Processing: true}})
}

// payClaimed takes the payment of a pay form whose key this request holds
// (key is the gateway's idempotency key). Errors are internal, before any
// charge: the caller releases the form.
func (s *Server) payClaimed(r *http.Request, sess *session, d payData, key string) (payOutcome, error) {
	ctx := r.Context()
	form := func(status int, msg string) (payOutcome, error) { return payOutcome{Status: status, Message: msg}, nil }
	st, err := s.accounts.AccountStanding(ctx, sess.AccountID, s.clock.Now())
	if err != nil {
		return payOutcome{}, fmt.Errorf("reading an account's standing: %w", err)
	}
	// A form whose claim timed out (its request died) may have charged
	// already: show that attempt instead of charging again.
	if a, found, err := s.attemptByKey(ctx, sess.AccountID, key); err != nil {
		return payOutcome{}, fmt.Errorf("listing payment attempts: %w", err)
	} else if found {
		return payOutcome{Status: http.StatusSeeOther, Location: fmt.Sprintf("/payments/%d", a.ID)}, nil
	}
	var amount int64
	switch d.Choice {
	case "past_due":
		amount = st.PastDue
	case "balance":
		amount = st.Balance
	case "other":
		amount, err = billing.ParseAmount(d.Other, st.Currency)
		if err != nil {
			return form(http.StatusUnprocessableEntity, "Other amount: "+billing.ErrorMessage(err)+".")
		}
	default:
		return form(http.StatusUnprocessableEntity, "Choose how much to pay.")
	}
	if amount <= 0 {
		return form(http.StatusUnprocessableEntity, "There is nothing to pay for that choice. Choose another amount.")
	}
	if amount > max(st.Balance, 0)+maxOverpay {
		return form(http.StatusUnprocessableEntity, fmt.Sprintf("That is more than %s above your balance; check the amount.",
			billing.FormatAmount(maxOverpay, st.Currency)))
	}

	var methodID int64
	removeAfter := false
	if d.Method == "new" {
		m, errMsg := s.addBrowserMethod(r, sess.AccountID, d.Save)
		if errMsg != "" {
			return form(http.StatusUnprocessableEntity, errMsg)
		}
		methodID, removeAfter = m.ID, !d.Save
	} else {
		id, _ := strconv.ParseInt(d.Method, 10, 64)
		ms, err := s.usableMethods(ctx, sess.AccountID)
		if err != nil {
			return payOutcome{}, fmt.Errorf("listing payment methods: %w", err)
		}
		for _, m := range ms {
			if m.ID == id {
				methodID = id
			}
		}
		if methodID == 0 {
			return form(http.StatusUnprocessableEntity, "Choose a method on file or enter a new card or bank account.")
		}
	}

	wasSuspended := st.Status == billing.AccountSuspended
	returnURL := s.PublicURL() + "/pay/return"
	if wasSuspended {
		returnURL += "?restore=1"
	}
	res, err := s.charger.PayOnSession(ctx, sess.AccountID, methodID, amount, billing.TriggerPortal, key, d.Save, returnURL)
	a := res.Attempt
	if removeAfter {
		// Local only: the gateway keeps the method for this payment's
		// authentication and recovery.
		if rerr := s.methodStore.RemovePaymentMethod(context.WithoutCancel(ctx), sess.AccountID, methodID, s.clock.Now()); rerr != nil {
			s.log.Warn("portal: removing a method used once", "account_id", sess.AccountID, "method_id", methodID, "err", rerr)
		}
	}
	switch {
	case errors.Is(err, charge.ErrChargeUnsettled):
		// The gateway's answer is unknown: the subscriber may have been
		// charged. The attempt stays pending and is settled automatically.
		s.metrics.payments.WithLabelValues("error").Inc()
		s.log.Warn("portal: charge left pending", "account_id", sess.AccountID, "attempt_id", a.ID, "err", err)
		return form(http.StatusBadGateway, "The payment processor did not confirm this payment yet. Please do not pay again: if it went through, it appears on your account within a few minutes.")
	case err != nil && (a.ID == 0 || a.Status == "error"):
		s.metrics.payments.WithLabelValues("error").Inc()
		if code := billing.ErrorCode(err); code == billing.EINVALID || code == billing.ENOTFOUND {
			return form(http.StatusUnprocessableEntity, billing.ErrorMessage(err))
		}
		// The gateway may have charged and the record failed: say only
		// what is known.
		s.log.Error("portal: charging", "account_id", sess.AccountID, "err", err)
		return form(http.StatusBadGateway, "We could not confirm this payment. If you were charged, the payment shows on your account within a few minutes; check there before paying again.")
	case err != nil:
		s.metrics.payments.WithLabelValues("error").Inc()
		s.log.Error("portal: charging", "account_id", sess.AccountID, "attempt_id", a.ID, "err", err)
		return form(http.StatusBadGateway, "We could not confirm this payment. If you were charged, the payment shows on your account within a few minutes; check there before paying again.")
	case res.NextActionURL != "":
		s.metrics.payments.WithLabelValues("authenticate").Inc()
		return payOutcome{Status: http.StatusSeeOther, Location: fmt.Sprintf("/payments/%d", a.ID), NextAction: res.NextActionURL}, nil
	}
	return s.attemptOutcome(sess, a, wasSuspended), nil
}

// attemptOutcome is what a pay form (or the return from the bank's
// authentication) came to once the attempt is recorded.
func (s *Server) attemptOutcome(sess *session, a billing.PaymentAttempt, wasSuspended bool) payOutcome {
	form := func(status int, msg string) payOutcome { return payOutcome{Status: status, Message: msg} }
	switch a.Status {
	case "failed":
		s.metrics.payments.WithLabelValues("failed").Inc()
		msg := a.FailureMessage
		if msg == "" {
			msg = "The payment was declined."
		}
		return form(http.StatusPaymentRequired, strings.TrimRight(msg, ".")+". You were not charged. Try another card or account.")
	case "processing":
		s.metrics.payments.WithLabelValues("processing").Inc()
		return form(http.StatusAccepted, "Your bank payment is being processed; it is posted to your account when your bank confirms it, usually within a few business days. Please do not pay again.")
	case "succeeded":
	case "pending":
		s.metrics.payments.WithLabelValues("error").Inc()
		return form(http.StatusAccepted, "This payment is not finished yet. Please do not pay again: if it goes through, it appears on your account within a few minutes.")
	default:
		s.metrics.payments.WithLabelValues("error").Inc()
		return form(http.StatusBadGateway, "We could not reach the payment processor, and you were not charged. Please try again in a minute.")
	}
	s.metrics.payments.WithLabelValues("succeeded").Inc()
	s.log.Info("portal: payment", "account_id", sess.AccountID, "attempt_id", a.ID, "amount", a.Amount, "was_suspended", wasSuspended)
	u := fmt.Sprintf("/payments/%d", a.ID)
	if wasSuspended {
		u += "?restore=1"
	}
	return payOutcome{Status: http.StatusSeeOther, Location: u}
}

// payReturn is the return URL of the bank's authentication page
// (?payment_intent=…): the intent is retrieved from the gateway — the
// query's redirect_status is never trusted — and its attempt settled (once:
// the webhook may have settled it first).
func (s *Server) payReturn(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.charger == nil {
		s.notFound(w, r)
		return
	}
	a, in, err := s.charger.FinishReturn(r.Context(), sess.AccountID, r.URL.Query().Get("payment_intent"))
	switch {
	case billing.ErrorCode(err) == billing.ENOTFOUND || billing.ErrorCode(err) == billing.EINVALID:
		s.notFound(w, r)
		return
	case err != nil:
		s.internalError(w, r, "finishing an authenticated payment", err)
		return
	}
	if a.Status == "pending" && in.Status == payments.IntentRequiresAction && in.NextActionURL != "" {
		s.renderAuthenticate(w, r, sess, in.NextActionURL, false)
		return
	}
	out := s.attemptOutcome(sess, a, r.URL.Query().Get("restore") != "")
	if out.Location != "" {
		http.Redirect(w, r, s.url(out.Location), http.StatusSeeOther)
		return
	}
	if a.Status == "failed" && a.FailureCode == payments.FailureAuthenticationRequired {
		out.Message = "Your bank did not confirm the payment, so it was not made. You were not charged. Try again, or use another card or account."
	}
	s.renderPay(w, r, sess, out.Status, out.Message, payData{})
}

// addBrowserMethod puts on file the method whose id the processor's
// fields put into the form (payment_method): the card or account number
// went from the browser to the processor, never here; the gateway is asked
// what the method is. A non-empty string is a message for the subscriber.
func (s *Server) addBrowserMethod(r *http.Request, accountID int64, makeDefault bool) (billing.StoredMethod, string) {
	id := strings.TrimSpace(r.PostFormValue("payment_method"))
	if id == "" {
		return billing.StoredMethod{}, "Enter your card or bank account in the payment processor's fields (they need JavaScript), or choose a method on file."
	}
	m, err := s.charger.AddBrowserMethod(r.Context(), accountID, id, makeDefault)
	if err != nil {
		if code := billing.ErrorCode(err); code == billing.EINVALID || code == billing.ENOTFOUND {
			return billing.StoredMethod{}, "Payment method: " + billing.ErrorMessage(err) + "."
		}
		s.log.Error("portal: reading a payment method", "account_id", accountID, "err", err)
		return billing.StoredMethod{}, "We could not reach the payment processor. Please try again in a minute."
	}
	return m, ""
}

func (s *Server) attemptByKey(ctx context.Context, accountID int64, key string) (billing.PaymentAttempt, bool, error) {
	as, err := s.accounts.PaymentAttempts(ctx, accountID)
	if err != nil {
		return billing.PaymentAttempt{}, false, err
	}
	for _, a := range as {
		if a.IdempotencyKey == key {
			return a, true, nil
		}
	}
	return billing.PaymentAttempt{}, false, nil
}

func (s *Server) ownAttempt(w http.ResponseWriter, r *http.Request, sess *session) (billing.PaymentAttempt, bool) {
	id := idParam(r, "id")
	if id == 0 {
		s.notFound(w, r)
		return billing.PaymentAttempt{}, false
	}
	as, err := s.accounts.PaymentAttempts(r.Context(), sess.AccountID)
	if err != nil {
		s.internalError(w, r, "listing payment attempts", err)
		return billing.PaymentAttempt{}, false
	}
	for _, a := range as {
		if a.ID == id && a.AccountID == sess.AccountID {
			return a, true
		}
	}
	s.notFound(w, r)
	return billing.PaymentAttempt{}, false
}

// restore is where a paid account's service stands, as the payment page
// shows it.
type restore struct {
	// State is restored, restoring, suspended (the payment did not meet
	// the reactivation rule), active (it was never suspended) or none (no
	// services).
	State   string `json:"state"`
	Message string `json:"message"`
	// Done: the page can stop following.
	Done bool `json:"done"`
}

func (s *Server) restoreState(ctx context.Context, accountID int64, wantRestore bool) (restore, error) {
	st, err := s.accounts.AccountStanding(ctx, accountID, s.clock.Now())
	if err != nil {
		return restore{}, err
	}
	if len(st.Services) == 0 {
		return restore{State: "none", Message: "Your account has no Internet service on it.", Done: true}, nil
	}
	confirmed := true
	for _, sv := range st.Services {
		if sv.DesiredState.LosesService() {
			// Subscriber wording, in the account's locale ("$30.00").
			loc := billing.ResolveLocale(st.Locale, "", s.cfg.Locale)
			msg := "Your service stays suspended"
			if sv.DesiredState == billing.StateThrottled {
				msg = "Your service stays slowed"
			}
			if st.PastDue > 0 {
				msg += " until the past-due amount of " + loc.Money(st.PastDue, st.Currency) + " is paid"
			} else if st.Balance > 0 {
				msg += " until the balance of " + loc.Money(st.Balance, st.Currency) + " is paid"
			}
			return restore{State: "suspended", Message: msg + ".", Done: true}, nil
		}
		if !sv.Confirmed() {
			confirmed = false
		}
	}
	switch {
	case confirmed && wantRestore:
		return restore{State: "restored", Message: "Service restored. Your connection works again; a device that was offline may take a few seconds to reconnect.", Done: true}, nil
	case confirmed:
		return restore{State: "active", Message: "Your service is active.", Done: true}, nil
	}
	return restore{State: "restoring", Message: "Restoring your service… This page updates by itself when your equipment confirms it, usually within seconds."}, nil
}

type paidData struct {
	// Processing: another submission of the form is charging; the page
	// refreshes until it is done.
	Processing bool
	Attempt    billing.PaymentAttempt
	Restore    restore
	// Follow is the events URL the page's script follows ("" when done).
	Follow string
	// NextAction is the bank's authentication page of a payment waiting
	// for 3-D Secure.
	NextAction string
}

func (s *Server) paymentStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	a, ok := s.ownAttempt(w, r, sess)
	if !ok {
		return
	}
	acct := sess.Account
	var err error
	d := paidData{Attempt: a}
	if a.Status == "pending" && a.ChargeID != "" && s.charger != nil {
		// A payment waiting for the bank's check (3-D Secure): what the
		// gateway says now, never what the browser says.
		if got, in, err := s.charger.FinishReturn(r.Context(), sess.AccountID, a.ChargeID); err == nil {
			d.Attempt, a = got, got
			if got.Status == "pending" && in.Status == payments.IntentRequiresAction {
				d.NextAction = in.NextActionURL
			}
		} else {
			s.log.Warn("portal: reading a pending payment's intent", "attempt_id", a.ID, "err", err)
		}
	}
	v := view{Title: "Payment", Nav: "pay", Account: &acct}
	if r.URL.Query().Get("again") != "" {
		v.Notice = "This payment was already being processed when the form was sent again: this is it."
		if a.Status == "succeeded" {
			v.Notice += " You were charged once."
		}
	}
	if a.Status == "succeeded" {
		if d.Restore, err = s.restoreState(r.Context(), sess.AccountID, r.URL.Query().Get("restore") != ""); err != nil {
			s.internalError(w, r, "reading the restore state", err)
			return
		}
		if !d.Restore.Done {
			d.Follow = s.url(fmt.Sprintf("/payments/%d/events?%s", a.ID, r.URL.RawQuery))
			if s.clock.Now().Sub(a.CreatedAt) < s.cfg.RestoreWait {
				v.Refresh = 3
			} else {
				d.Restore.Message = "Your payment was received. Restoring your service is taking longer than usual; we are on it. If your connection does not work in a few minutes, open a ticket."
			}
		}
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "paid", sess, v)
}

// paymentEvents streams the restore state as server-sent events until it is
// done or RestoreWait has passed since the payment.
func (s *Server) paymentEvents(w http.ResponseWriter, r *http.Request, sess *session) {
	a, ok := s.ownAttempt(w, r, sess)
	if !ok {
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok || a.Status != "succeeded" {
		s.notFound(w, r)
		return
	}
	want := r.URL.Query().Get("restore") != ""
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	deadline := a.CreatedAt.Add(s.cfg.RestoreWait)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		st, err := s.restoreState(ctx, sess.AccountID, want)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("portal: reading the restore state", "err", err)
			}
			return
		}
		if st.State != last {
			if last == "restoring" && st.State == "restored" {
				s.metrics.restore.Observe(s.clock.Now().Sub(a.CreatedAt).Seconds())
			}
			b, _ := json.Marshal(st)
			if _, err := fmt.Fprintf(w, "event: restore\ndata: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
			last = st.State
		}
		if st.Done || s.clock.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
