package documents

import (
	"fmt"
	"io"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// RenderReceiptPDF writes a payment's receipt as a one-page US Letter
// PDF: the company, "RECEIPT" with the payment's number and date, the
// account, the amount and how it was paid (a card's brand and last 4, a
// bank account's, a check's number), the invoices it paid and the
// account's balance after it. A reversed payment says so.
//
// EINVALID for a receipt without a payment id or with an unsupported
// currency; nothing is written then.
func RenderReceiptPDF(w io.Writer, r billing.Receipt, company Company) error {
	if r.PaymentID <= 0 {
		return billing.Errorf(billing.EINVALID, "receipt: no payment id")
	}
	if _, err := billing.ParseCurrency(string(r.Currency)); err != nil {
		return billing.Errorf(billing.EINVALID, "receipt: %s", billing.ErrorMessage(err))
	}
	doc := newPDFDoc(r.PostedAt)
	pdf := doc.pdf
	pdf.SetTitle(fmt.Sprintf("Receipt for payment %d - account %s", r.PaymentID, r.AccountNumber), true)
	if name := oneLine(company.Name); name != "" {
		pdf.SetAuthor(name, true)
	}
	money := func(v int64) string { return string(r.Currency) + " " + formatAmountGrouped(v, r.Currency) }
	pdf.AddPage()
	y := 0.5
	if h := doc.logo(company.Logo, marginX, 0.45, 1.8, 0.55); h > 0 {
		y = 0.45 + h + 0.08
	}
	doc.font("B", 13)
	doc.text(marginX, y, 4.0, 0.22, company.Name, "L", true)
	y += 0.24
	doc.font("", 9)
	for _, line := range company.Address {
		if line = oneLine(line); line != "" {
			doc.text(marginX, y, 4.0, 0.16, line, "L", true)
			y += 0.16
		}
	}
	doc.font("B", 20)
	doc.text(4.5, 0.45, pageW-marginX-4.5, 0.35, "RECEIPT", "R", false)

	rows := [][2]string{
		{"Payment", strconv.FormatInt(r.PaymentID, 10)},
		{"Received", longDate(r.ReceivedDate)},
		{"Account number", r.AccountNumber},
		{"Account name", r.AccountName},
		{"Amount", money(r.Amount)},
		{"Paid with", r.MethodWords()},
	}
	if r.Status == billing.PaymentReversed {
		rows = append(rows, [2]string{"Status", "Reversed: this payment was returned and no longer counts"})
	}
	y = max(y, 1.1) + 0.3
	for i, row := range rows {
		doc.font("", 10)
		pdf.SetTextColor(90, 90, 90)
		doc.text(marginX, y, 1.8, 0.22, row[0], "L", true)
		pdf.SetTextColor(0, 0, 0)
		style := ""
		if i == 4 {
			style = "B"
		}
		doc.font(style, 10)
		doc.text(marginX+1.9, y, contentW-1.9, 0.22, row[1], "L", true)
		y += 0.24
	}

	y += 0.2
	doc.font("B", 10.5)
	doc.text(marginX, y, contentW, 0.24, "Invoices paid", "L", true)
	y += 0.28
	doc.font("", 10)
	if len(r.Invoices) == 0 {
		doc.text(marginX, y, contentW, 0.22, "None: the payment is credit on the account.", "L", true)
		y += 0.24
	}
	var applied int64
	for _, a := range r.Invoices {
		if y+0.24 > pageBottom-0.6 {
			doc.text(marginX, y, contentW, 0.22, fmt.Sprintf("… and %d more", len(r.Invoices)), "L", true)
			y += 0.24
			break
		}
		doc.text(marginX, y, 3.0, 0.22, "Invoice "+a.InvoiceNumber, "L", true)
		doc.text(marginX+3.0, y, 1.6, 0.22, money(a.Amount), "R", false)
		applied += a.Amount
		y += 0.24
	}
	if credit := r.Amount - applied; credit > 0 && len(r.Invoices) > 0 {
		doc.text(marginX, y, 3.0, 0.22, "Credit on the account", "L", true)
		doc.text(marginX+3.0, y, 1.6, 0.22, money(credit), "R", false)
		y += 0.24
	}
	doc.hline(marginX, marginX+4.6, y+0.02, 0.015, 60)
	y += 0.1
	doc.font("B", 10.5)
	balance := "Balance after this payment"
	amount := money(r.Balance)
	if r.Balance < 0 {
		balance, amount = "Credit after this payment", money(-r.Balance)
	}
	doc.text(marginX, y, 3.0, 0.24, balance, "L", true)
	doc.text(marginX+3.0, y, 1.6, 0.24, amount, "R", false)
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("receipt PDF: %w", err)
	}
	return nil
}
