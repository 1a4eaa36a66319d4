package documents

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestNewInvoiceDocument: a document is the store's record under the
// company's letterhead, with the account type's message unless an override
// (trimmed) replaces it, and it renders showing both. (Moved here from the
// store's TestInvoiceDocuments, which now checks the records.)
func TestNewInvoiceDocument(t *testing.T) {
	want := sampleInvoice()
	want.RemitTo = nil
	rec := billing.InvoiceRecord{Invoice: want.Invoice, Account: want.Account, Message: want.Message,
		RemittanceSlip: want.RemittanceSlip, PreviousBalance: want.PreviousBalance, Payments: want.Payments, AmountDue: want.AmountDue}

	got := NewInvoiceDocument(rec, want.Company, "   ")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("document\n%+v\nwant\n%+v", got, want)
	}
	over := NewInvoiceDocument(rec, want.Company, "  Pay online!\n")
	if over.Message != "Pay online!" {
		t.Errorf("message %q; want the override, trimmed", over.Message)
	}
	var buf bytes.Buffer
	if err := RenderInvoicePDF(&buf, over); err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, buf.Bytes()); !strings.Contains(text, "Pay online!") || !strings.Contains(text, want.Company.Name) {
		t.Errorf("the rendered invoice lacks the override or the company:\n%s", text)
	}

	// Many, in order; none for none.
	rec2 := rec
	rec2.Invoice.ID, rec2.Invoice.Number = 1002, "INV-001002"
	docs := NewInvoiceDocuments([]billing.InvoiceRecord{rec2, rec, rec2}, want.Company, "")
	if len(docs) != 3 || docs[0].Invoice.ID != 1002 || docs[1].Invoice.ID != 1001 || docs[2].Invoice.ID != 1002 || docs[1].Message != want.Message {
		t.Errorf("documents %+v; want 1002, 1001, 1002 with the type's message", docs)
	}
	if err := RenderInvoicesPDF(&bytes.Buffer{}, docs); err != nil {
		t.Fatal(err)
	}
	if NewInvoiceDocuments(nil, want.Company, "") != nil {
		t.Error("documents for no records")
	}
}

// TestNewStatementDocument: a statement document is the store's statement
// under the company's letterhead, and it renders.
func TestNewStatementDocument(t *testing.T) {
	want := sampleStatement()
	st := billing.AccountStatement{Account: want.Account, From: want.From, To: want.To, Lines: want.Lines,
		OpeningBalance: want.OpeningBalance, ClosingBalance: want.ClosingBalance}
	got := NewStatementDocument(st, want.Company)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("document\n%+v\nwant\n%+v", got, want)
	}
	if err := RenderStatementPDF(&bytes.Buffer{}, got); err != nil {
		t.Fatal(err)
	}
}
