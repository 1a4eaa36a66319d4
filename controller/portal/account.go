package portal

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/documents"
)

type accountData struct {
	Standing billing.AccountStanding
	Invoices []billing.Invoice
	Payments []billing.Payment
	// Pending are gateway payments still settling (an ACH debit the bank
	// has not confirmed): not yet on the balance.
	Pending []billing.PaymentAttempt
	// Why is the subscriber's why: the standing's reasons in plain words
	// and the account's locale (staff wording is never shown here).
	Why []string
	// Suspended: at least one service is suspended for money owed (or
	// the account is).
	Suspended bool
	// Throttled, when not empty, says how a throttled service is slowed
	// ("slowed to 1 Mbit/s until the balance is paid"): the account's type
	// throttles instead of cutting off.
	Throttled string
	// PausedUntil, when not empty, is the day (in words, the account's
	// locale) the earliest-resuming paused service comes back on: a
	// paused service is suspended on the device, but not for money, so
	// the page says "paused until", not "suspended for non-payment".
	PausedUntil string
	CanPay      bool
}

// history is how many invoices and payments the account page lists.
const history = 24

func (s *Server) account(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	acct := sess.Account
	st, err := s.accounts.AccountStanding(ctx, sess.AccountID, s.clock.Now())
	if err != nil {
		s.internalError(w, r, "reading an account's standing", err)
		return
	}
	invs, err := s.accounts.Invoices(ctx, billing.InvoiceFilter{AccountID: sess.AccountID, Limit: 1000})
	if err != nil {
		s.internalError(w, r, "listing invoices", err)
		return
	}
	slices.Reverse(invs)
	pays, err := s.accounts.Payments(ctx, sess.AccountID, 0, 0, 1000)
	if err != nil {
		s.internalError(w, r, "listing payments", err)
		return
	}
	slices.Reverse(pays)
	attempts, err := s.accounts.PaymentAttempts(ctx, sess.AccountID)
	if err != nil {
		s.internalError(w, r, "listing payment attempts", err)
		return
	}
	var pending []billing.PaymentAttempt
	for _, a := range attempts {
		if a.Status == "processing" {
			pending = append(pending, a)
		}
	}
	d := accountData{Standing: st, Invoices: invs[:min(len(invs), history)], Payments: pays[:min(len(pays), history)], Pending: pending,
		Why:       billing.SubscriberWhy(st.Reasons, billing.ResolveLocale(st.Locale, "", s.cfg.Locale), st.Today),
		Suspended: st.Status == billing.AccountSuspended, CanPay: s.charger != nil}
	loc := billing.ResolveLocale(st.Locale, "", s.cfg.Locale)
	var resumes billing.Date
	for _, sv := range st.Services {
		if sv.SuspendedForPayment() {
			d.Suspended = true
			if sv.DesiredState == billing.StateThrottled {
				d.Throttled = billing.ThrottledWords(sv.Profile)
			}
		}
		// A pause that keeps service on is nothing to explain here.
		if until, ok := sv.PausedUntil(); ok && sv.DesiredState == billing.StateSuspended && (resumes.IsZero() || until.Before(resumes)) {
			resumes = until
		}
	}
	d.PausedUntil = loc.Date(resumes, st.Today)
	v := view{Title: "Your account", Nav: "account", Account: &acct, Data: d}
	switch r.URL.Query().Get("done") {
	case "ticket":
		v.Notice = "Your ticket was sent."
	}
	s.render(w, r, http.StatusOK, "account", sess, v)
}

// ownInvoice reads an invoice of the session's account; false means the
// answer (404 for another account's invoice) was already written.
func (s *Server) ownInvoice(w http.ResponseWriter, r *http.Request, sess *session) (billing.Invoice, bool) {
	id := idParam(r, "id")
	if id == 0 {
		s.notFound(w, r)
		return billing.Invoice{}, false
	}
	inv, err := s.accounts.Invoice(r.Context(), id)
	if billing.ErrorCode(err) == billing.ENOTFOUND || err == nil && inv.AccountID != sess.AccountID {
		s.notFound(w, r)
		return inv, false
	}
	if err != nil {
		s.internalError(w, r, "reading an invoice", err)
		return inv, false
	}
	return inv, true
}

func (s *Server) invoice(w http.ResponseWriter, r *http.Request, sess *session) {
	inv, ok := s.ownInvoice(w, r, sess)
	if !ok {
		return
	}
	acct := sess.Account
	s.render(w, r, http.StatusOK, "invoice", sess, view{Title: "Invoice " + inv.Number, Nav: "account", Account: &acct, Data: inv})
}

func (s *Server) invoicePDF(w http.ResponseWriter, r *http.Request, sess *session) {
	inv, ok := s.ownInvoice(w, r, sess)
	if !ok {
		return
	}
	rec, err := s.accounts.InvoiceRecord(r.Context(), inv.ID)
	if err != nil {
		s.internalError(w, r, "building an invoice document", err)
		return
	}
	d := documents.NewInvoiceDocument(rec, s.cfg.Company, "")
	var buf bytes.Buffer
	if err := documents.RenderInvoicePDF(&buf, d); err != nil {
		s.internalError(w, r, "rendering an invoice PDF", err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", inv.Number+".pdf"))
	_, _ = w.Write(buf.Bytes())
}
