// Package documents renders the documents Tollgate prints or hands out.
//
// Deposit slips (DESIGN.md §2 "Batch payments and deposit slips") are here:
// [DepositSlip] lists the checks, cash, money orders and other items of one
// bank deposit, and [RenderDepositSlipPDF] and [RenderDepositSlipCSV] render
// it for the bank and for bookkeeping. Invoice, statement and remittance-slip
// PDFs (issues 4, 9) belong here too.
//
// PDFs are made with github.com/go-pdf/fpdf using only its core fonts
// (Helvetica, in Windows-1252), so no font files are needed and the text of a
// rendered PDF can be extracted (pdftotext, screen readers, search). Text
// outside Windows-1252 prints as '.'.
//
// Amounts are int64 minor units of a [billing.Currency]. PDFs show them with
// thousands separators ("1,234.56"); CSVs show plain decimals ("1234.56") as
// [billing.FormatAmount] does.
package documents
