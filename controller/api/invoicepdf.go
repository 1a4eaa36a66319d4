package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/documents"
)

// DocumentStore reads what invoice and statement PDFs print; the handlers
// assemble the documents (documents.NewInvoiceDocument,
// NewStatementDocument). The billing store serves the PDF endpoints if it
// implements it (postgres.DB does).
type DocumentStore interface {
	// InvoiceRecord reads an invoice for printing: ENOTFOUND if it does not
	// exist.
	InvoiceRecord(ctx context.Context, invoiceID int64) (billing.InvoiceRecord, error)
	// AccountStatement reads an account's activity from from to to
	// (inclusive): ENOTFOUND if the account does not exist, EINVALID if to
	// is before from.
	AccountStatement(ctx context.Context, accountID int64, from, to billing.Date) (billing.AccountStatement, error)
}

// defaultStatementDays is how far back a statement goes without from=.
const defaultStatementDays = 90

// registerInvoiceDocuments registers the invoice and statement PDF
// endpoints; accounts dates a statement's default end in the account's
// zone.
func (s *Server) registerInvoiceDocuments(store DocumentStore, accounts AccountStore) {
	huma.Register(s.api, op("get-invoice-pdf", http.MethodGet, "/api/v1/invoices/{id}/pdf",
		"The invoice as a PDF: account and service lines, taxes, previous balance, payments, amount due, the message and (if the account type has it) a remittance slip",
		RoleReader, "invoices"),
		func(ctx context.Context, in *struct {
			IDPath
			Message string `query:"message" maxLength:"1000" doc:"Print this message instead of the account type's invoice message."`
		}) (*fileOutput, error) {
			rec, err := store.InvoiceRecord(ctx, in.ID)
			if err != nil {
				return nil, s.toHTTPError("get-invoice-pdf", err)
			}
			d := documents.NewInvoiceDocument(rec, s.cfg.Company, in.Message)
			var buf bytes.Buffer
			if err := documents.RenderInvoicePDF(&buf, d); err != nil {
				return nil, s.toHTTPError("get-invoice-pdf", err)
			}
			name := d.Invoice.Number
			if name == "" {
				name = fmt.Sprintf("invoice-%d", d.Invoice.ID)
			}
			return &fileOutput{ContentType: "application/pdf", ContentDisposition: fmt.Sprintf("attachment; filename=%q", name+".pdf"), Body: buf.Bytes()}, nil
		})
	huma.Register(s.api, op("get-account-statement-pdf", http.MethodGet, "/api/v1/accounts/{id}/statement.pdf",
		"An account statement as a PDF: the account's activity between two dates with a running balance", RoleReader, "accounts"),
		func(ctx context.Context, in *struct {
			IDPath
			From string `query:"from" doc:"First day, YYYY-MM-DD (default: 90 days before to)."`
			To   string `query:"to" doc:"Last day, YYYY-MM-DD (default: today)."`
		}) (*fileOutput, error) {
			var from, to billing.Date
			var err error
			if in.To != "" {
				if to, err = billing.ParseDate(in.To); err != nil {
					return nil, s.toHTTPError("get-account-statement-pdf", billing.Errorf(billing.EINVALID, "to: %s", billing.ErrorMessage(err)))
				}
			} else {
				to = s.today(ctx, 0)
				if a, err := accounts.Account(ctx, in.ID); err == nil {
					to = s.today(ctx, a.AccountTypeID)
				}
			}
			if in.From != "" {
				if from, err = billing.ParseDate(in.From); err != nil {
					return nil, s.toHTTPError("get-account-statement-pdf", billing.Errorf(billing.EINVALID, "from: %s", billing.ErrorMessage(err)))
				}
			} else {
				from = to.AddDays(-defaultStatementDays)
			}
			st, err := store.AccountStatement(ctx, in.ID, from, to)
			if err != nil {
				return nil, s.toHTTPError("get-account-statement-pdf", err)
			}
			d := documents.NewStatementDocument(st, s.cfg.Company)
			var buf bytes.Buffer
			if err := documents.RenderStatementPDF(&buf, d); err != nil {
				return nil, s.toHTTPError("get-account-statement-pdf", err)
			}
			name := fmt.Sprintf("statement-%s-%s-%s.pdf", d.Account.Number, from, to)
			return &fileOutput{ContentType: "application/pdf", ContentDisposition: fmt.Sprintf("attachment; filename=%q", name), Body: buf.Bytes()}, nil
		})
}
