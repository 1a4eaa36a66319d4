// Package documents renders the documents Tollgate prints or hands out.
//
// Deposit slips (DESIGN.md §2 "Batch payments and deposit slips") are here:
// [DepositSlip] lists the checks, cash, money orders and other items of one
// bank deposit, and [RenderDepositSlipPDF] and [RenderDepositSlipCSV] render
// it for the bank and for bookkeeping.
//
// Invoices (issue 9): [RenderInvoicePDF] prints an [InvoiceDocument] — the
// company's name, address and logo, the account's address placed for a #10
// window envelope, the service lines, taxes, account summary (previous
// balance, payments since, amount due), the message in a box and, if the
// account type wants it, a tear-off remittance slip whose remit-to address
// shows through a #9 return envelope's window (the geometry is documented
// with the constants in invoice_pdf.go). [RenderInvoicesPDF] merges many
// into one PDF in mailing order for printing in-house. [RenderStatementPDF]
// prints an account's activity between two dates with a running balance,
// [RenderReceiptPDF] a payment's receipt, and [RenderAgingPDF] the
// accounts-receivable aging report (controller/reports) for staff to print.
// The store reads plain records (billing.InvoiceRecord, AccountStatement:
// postgres.DB.InvoiceRecords, AccountStatement) and this package assembles
// the documents from them ([NewInvoiceDocument], [NewStatementDocument]);
// it does no I/O but writing the PDF.
//
// PDFs are made with github.com/go-pdf/fpdf using only its core fonts
// (Helvetica, in Windows-1252), so no font files are needed and the text of a
// rendered PDF can be extracted (pdftotext, screen readers, search). Text
// outside Windows-1252 prints as '.'. Invoice and statement pages are
// written uncompressed (about 10 KiB a page), which makes rendering about
// three times faster; the renderers are safe for concurrent use.
//
// Amounts are int64 minor units of a [billing.Currency]. PDFs show them with
// thousands separators ("1,234.56"); CSVs show plain decimals ("1234.56") as
// [billing.FormatAmount] does.
package documents
