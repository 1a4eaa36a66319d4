package console

import (
	"net/http"
	"net/url"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// invoice shows an invoice with its lines and why it was issued.
func (s *Server) invoice(w http.ResponseWriter, r *http.Request, sess *session) {
	id := pathID(r, "id")
	api, ctx := s.apiFor(r.Context(), sess.User)
	var inv billing.Invoice
	if err := api.Do(ctx, http.MethodGet, "/api/v1/invoices/"+itoa(id), nil, "", nil, &inv); err != nil {
		s.apiErrorPage(w, r, sess, "reading the invoice", err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "invoice", view{Title: "Invoice " + inv.Number, Nav: "accounts", Data: inv})
}

// invoicePDF and statementPDF pass on the API's PDFs.
func (s *Server) invoicePDF(w http.ResponseWriter, r *http.Request, sess *session) {
	s.pdf(w, r, sess, "/api/v1/invoices/"+itoa(pathID(r, "id"))+"/pdf", nil, "invoice-"+itoa(pathID(r, "id"))+".pdf")
}

func (s *Server) statementPDF(w http.ResponseWriter, r *http.Request, sess *session) {
	s.pdf(w, r, sess, "/api/v1/accounts/"+itoa(pathID(r, "id"))+"/statement.pdf", r.URL.Query(), "statement-"+itoa(pathID(r, "id"))+".pdf")
}

// pdf passes on a PDF the API makes (at apiPath with query), as a
// download named name.
func (s *Server) pdf(w http.ResponseWriter, r *http.Request, sess *session, apiPath string, query url.Values, name string) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	data, err := api.GetFile(ctx, apiPath, query)
	if err != nil {
		s.apiErrorPage(w, r, sess, "making the PDF", err)
		return
	}
	sendFile(w, name, "application/pdf", data)
}
