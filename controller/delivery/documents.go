package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/documents"
)

// InvoiceLoader reads invoices for printing (*postgres.DB implements it).
type InvoiceLoader interface {
	// InvoiceRecords returns the invoices' records in the order of
	// invoiceIDs; ENOTFOUND (and nothing) if any does not exist.
	InvoiceRecords(ctx context.Context, invoiceIDs []int64) ([]billing.InvoiceRecord, error)
}

// DocumentSource is the [Source] of production: invoices read by
// postgres.DB.InvoiceRecords, assembled by documents.NewInvoiceDocuments
// and rendered by documents.RenderInvoicePDF
// (one) and documents.RenderInvoicesPDF (a printed batch).
type DocumentSource struct {
	Loader  InvoiceLoader
	Company documents.Company
	// Message, if not blank, replaces the account types' invoice messages.
	Message string
}

// Documents implements [Source]. An invoice that does not exist is left
// out.
func (s DocumentSource) Documents(ctx context.Context, ids []int64) ([]Document, error) {
	recs, err := s.Loader.InvoiceRecords(ctx, ids)
	if billing.ErrorCode(err) == billing.ENOTFOUND && len(ids) > 1 {
		// Leave the missing ones out, one by one.
		recs = recs[:0]
		for _, id := range ids {
			r, err := s.Loader.InvoiceRecords(ctx, []int64{id})
			if billing.ErrorCode(err) == billing.ENOTFOUND {
				continue
			}
			if err != nil {
				return nil, err
			}
			recs = append(recs, r...)
		}
	} else if err != nil && billing.ErrorCode(err) != billing.ENOTFOUND {
		return nil, err
	}
	out := make([]Document, 0, len(recs))
	for _, d := range documents.NewInvoiceDocuments(recs, s.Company, s.Message) {
		inv := d.Invoice
		out = append(out, Document{InvoiceID: inv.ID, Number: inv.Number, Account: d.Account, Currency: inv.Currency,
			Total: inv.Total, AmountDue: d.AmountDue, IssueDate: inv.IssueDate, DueDate: inv.DueDate,
			RemittanceSlip: d.RemittanceSlip, Void: inv.Status == billing.InvoiceVoid, Payload: d})
	}
	return out, nil
}

func payload(d Document) (documents.InvoiceDocument, error) {
	doc, ok := d.Payload.(documents.InvoiceDocument)
	if !ok {
		return doc, fmt.Errorf("delivery: invoice %s was not loaded by this source", d.Number)
	}
	return doc, nil
}

// Render implements [Source].
func (s DocumentSource) Render(ctx context.Context, d Document) ([]byte, error) {
	doc, err := payload(d)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := documents.RenderInvoicePDF(&buf, doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RenderBatch implements [Source].
func (s DocumentSource) RenderBatch(ctx context.Context, w io.Writer, docs []Document) error {
	all := make([]documents.InvoiceDocument, 0, len(docs))
	for _, d := range docs {
		doc, err := payload(d)
		if err != nil {
			return err
		}
		all = append(all, doc)
	}
	return documents.RenderInvoicesPDF(w, all)
}
