package portal

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/documents"
)

// ReceiptStore reads payments' receipts (receipts.go).
type ReceiptStore interface {
	// PaymentReceipt returns the receipt of payment paymentID of account
	// accountID: ENOTFOUND for an unknown payment or another account's.
	PaymentReceipt(ctx context.Context, accountID, paymentID int64) (billing.Receipt, error)
}

// ownReceipt reads the receipt of a payment of the session's account;
// false means the answer (404 for another account's payment) was already
// written.
func (s *Server) ownReceipt(w http.ResponseWriter, r *http.Request, sess *session) (billing.Receipt, bool) {
	id := idParam(r, "id")
	if id == 0 {
		s.notFound(w, r)
		return billing.Receipt{}, false
	}
	rc, err := s.receipts.PaymentReceipt(r.Context(), sess.AccountID, id)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		s.notFound(w, r)
		return rc, false
	}
	if err != nil {
		s.internalError(w, r, "reading a receipt", err)
		return rc, false
	}
	return rc, true
}

// receipt shows a payment's receipt: the amount, how it was paid, the
// invoices it paid and the balance after it.
func (s *Server) receipt(w http.ResponseWriter, r *http.Request, sess *session) {
	rc, ok := s.ownReceipt(w, r, sess)
	if !ok {
		return
	}
	acct := sess.Account
	s.render(w, r, http.StatusOK, "receipt", sess, view{Title: fmt.Sprintf("Receipt for payment %d", rc.PaymentID), Nav: "account", Account: &acct, Data: rc})
}

// receiptPDF is the receipt as a PDF (documents.RenderReceiptPDF).
func (s *Server) receiptPDF(w http.ResponseWriter, r *http.Request, sess *session) {
	rc, ok := s.ownReceipt(w, r, sess)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := documents.RenderReceiptPDF(&buf, rc, s.cfg.Company); err != nil {
		s.internalError(w, r, "rendering a receipt PDF", err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", fmt.Sprintf("receipt-%d.pdf", rc.PaymentID)))
	_, _ = w.Write(buf.Bytes())
}
