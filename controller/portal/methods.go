package portal

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/payments"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

type methodsData struct {
	Methods []billing.StoredMethod
	Autopay bool
	// PastDue is what the account owes past its due dates (autopay does not
	// charge invoices already past due when it was turned on).
	PastDue  int64
	Currency billing.Currency
	CanAdd   bool
	// Key is the add form's idempotency key (one form saves once).
	Key string
	// Element is the payment processor's fields.
	Element elementView
}

func (s *Server) methods(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderMethods(w, r, sess, http.StatusOK, "", r.URL.Query().Get("done"))
}

var methodNotices = map[string]string{
	"added":       "The payment method was added.",
	"default":     "Your default payment method changed.",
	"removed":     "The payment method was removed.",
	"autopay-on":  "Autopay is on. Nothing was charged now: we charge your default card on the due date of each invoice due from today on.",
	"autopay-off": "Autopay is off.",
}

func (s *Server) renderMethods(w http.ResponseWriter, r *http.Request, sess *session, status int, errMsg, done string) {
	ctx := r.Context()
	acct := sess.Account
	all, err := s.methodStore.PaymentMethods(ctx, sess.AccountID)
	if err != nil {
		s.internalError(w, r, "listing payment methods", err)
		return
	}
	autopay, err := s.methodStore.Autopay(ctx, sess.AccountID)
	if err != nil {
		s.internalError(w, r, "reading autopay", err)
		return
	}
	st, err := s.accounts.AccountStanding(ctx, sess.AccountID, s.clock.Now())
	if err != nil {
		s.internalError(w, r, "reading an account's standing", err)
		return
	}
	d := methodsData{Autopay: autopay, CanAdd: s.charger != nil, PastDue: st.PastDue, Currency: st.Currency}
	for _, m := range all {
		if m.Status != "removed" {
			d.Methods = append(d.Methods, m)
		}
	}
	d.Key = "portal-" + randomString(18)
	d.Element = s.elementView("setup", 0, string(st.Currency))
	s.render(w, r, status, "methods", sess, view{Title: "Payment methods", Nav: "methods", Account: &acct, Error: errMsg,
		Notice: methodNotices[done], Data: d})
}

// addMethod saves the method whose id the processor's fields put into the
// form, through a SetupIntent; when the bank asks for authentication the
// subscriber is sent to its page and comes back to methodReturn.
func (s *Server) addMethod(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.charger == nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Cards cannot be added online right now.")
		return
	}
	id := strings.TrimSpace(r.PostFormValue("payment_method"))
	key := r.PostFormValue("key")
	switch {
	case id == "":
		s.renderMethods(w, r, sess, http.StatusUnprocessableEntity, "Enter your card or bank account in the payment processor's fields (they need JavaScript).", "")
		return
	case !validPayKey(key):
		s.renderMethods(w, r, sess, http.StatusUnprocessableEntity, "This form expired. Enter the card again.", "")
		return
	}
	makeDefault := r.PostFormValue("default") != ""
	back := s.PublicURL() + "/methods/return"
	if makeDefault {
		back += "?default=1"
	}
	_, in, err := s.charger.SaveMethod(r.Context(), sess.AccountID, id, makeDefault, back, fmt.Sprintf("portal-setup:%d:%s", sess.AccountID, key))
	s.methodSaved(w, r, sess, in, err)
}

// methodReturn is the return URL of the bank's authentication of a card
// being saved (?setup_intent=…, retrieved from the gateway).
func (s *Server) methodReturn(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.charger == nil {
		s.notFound(w, r)
		return
	}
	_, in, err := s.charger.FinishSetup(r.Context(), sess.AccountID, r.URL.Query().Get("setup_intent"), r.URL.Query().Get("default") != "")
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		s.notFound(w, r)
		return
	}
	s.methodSaved(w, r, sess, in, err)
}

func (s *Server) methodSaved(w http.ResponseWriter, r *http.Request, sess *session, in payments.Intent, err error) {
	switch {
	case err == nil && in.Status == payments.IntentRequiresAction && in.NextActionURL != "":
		s.renderAuthenticate(w, r, sess, in.NextActionURL, true)
	case err == nil:
		http.Redirect(w, r, s.url("/methods?done=added"), http.StatusSeeOther)
	case billing.ErrorCode(err) == billing.EINVALID || billing.ErrorCode(err) == billing.ENOTFOUND:
		msg := upperFirst(billing.ErrorMessage(err))
		if in.FailureCode == payments.FailureAuthenticationRequired {
			msg = "Your bank did not confirm the card, so it was not saved"
		}
		s.renderMethods(w, r, sess, http.StatusUnprocessableEntity, strings.TrimRight(msg, ".")+".", "")
	default:
		s.log.Error("portal: saving a payment method", "account_id", sess.AccountID, "err", err)
		s.renderMethods(w, r, sess, http.StatusBadGateway, "We could not reach the payment processor. Please try again in a minute.", "")
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ownMethod checks that the path's method belongs to the account; false
// means the 404 was written.
func (s *Server) ownMethod(w http.ResponseWriter, r *http.Request, sess *session) (int64, bool) {
	id := idParam(r, "id")
	ms, err := s.methodStore.PaymentMethods(r.Context(), sess.AccountID)
	if err != nil {
		s.internalError(w, r, "listing payment methods", err)
		return 0, false
	}
	for _, m := range ms {
		if id != 0 && m.ID == id && m.AccountID == sess.AccountID && m.Status != "removed" {
			return id, true
		}
	}
	s.notFound(w, r)
	return 0, false
}

func (s *Server) defaultMethod(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := s.ownMethod(w, r, sess)
	if ok {
		s.methodsChange(w, r, sess, "setting the default method", "default", s.methodStore.SetDefaultPaymentMethod(r.Context(), sess.AccountID, id))
	}
}

func (s *Server) removeMethod(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := s.ownMethod(w, r, sess)
	if ok {
		s.methodsChange(w, r, sess, "removing a method", "removed", s.methodStore.RemovePaymentMethod(r.Context(), sess.AccountID, id, s.clock.Now()))
	}
}

func (s *Server) autopay(w http.ResponseWriter, r *http.Request, sess *session) {
	on := r.PostFormValue("enabled") == "on"
	done := "autopay-off"
	if on {
		done = "autopay-on"
	}
	s.methodsChange(w, r, sess, "setting autopay", done, s.methodStore.SetAutopay(r.Context(), sess.AccountID, on, s.clock.Now()))
}

// methodsChange answers a change on the payment-methods page: back to the
// page saying done, or the page with the store's EINVALID message, or an
// internal error (what names the change in the log).
func (s *Server) methodsChange(w http.ResponseWriter, r *http.Request, sess *session, what, done string, err error) {
	switch {
	case err == nil:
		http.Redirect(w, r, s.url("/methods?done="+done), http.StatusSeeOther)
	case billing.ErrorCode(err) == billing.EINVALID:
		s.renderMethods(w, r, sess, http.StatusUnprocessableEntity, billing.ErrorMessage(err), "")
	default:
		s.internalError(w, r, what, err)
	}
}
