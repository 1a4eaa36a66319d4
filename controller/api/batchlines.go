package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// batchLineIn is a deposit-batch line as a request sends it: what staff
// typed, its amount in minor units or as a decimal in the currency of the
// line's account. The line is checked as a row of an import file is
// (billing.BatchRow.Check): a manual method (empty: check), a positive
// amount, the texts' lengths; a check without its number is left to
// validation, which names the line.
type batchLineIn struct {
	Account   string       `json:"account" maxLength:"100" doc:"Account number (A-000042), external id or id."`
	Method    string       `json:"method,omitempty" enum:"check,cash,wire,money_order,other,card,ach," doc:"check, cash, wire, money_order or other (empty: check); card and ach come through the gateway."`
	Amount    *amountField `json:"amount,omitempty" doc:"Required when adding; when correcting a line, omitted keeps the line's amount."`
	Reference string       `json:"reference,omitempty" maxLength:"1000"`
	Payer     string       `json:"payer,omitempty" maxLength:"1000"`
	Memo      string       `json:"memo,omitempty" maxLength:"5000"`
	// ApplyTo are the invoices of the line's account staff ticked, paid
	// first when the batch posts; what is left pays the oldest open
	// invoices. Checked at validation and posting.
	ApplyTo []applyToChoice `json:"apply_to,omitempty" maxItems:"100" doc:"Invoices staff chose to pay first, with their amounts; what is left pays the oldest open invoices. Checked when the batch is validated and posted."`
}

// batchLine checks l and turns it into a batch line: every problem is a
// 422 naming its field under loc ("body.lines[0]"); a decimal amount is
// read in the currency of the account the line names (a 422 if there is
// no such account). Without an amount, the line keeps old's.
func (s *Server) batchLine(ctx context.Context, loc string, l batchLineIn, old *billing.BatchLine) (billing.BatchLine, error) {
	row := billing.BatchRow{Account: l.Account, Method: billing.PaymentMethod(l.Method), Reference: l.Reference, Payer: l.Payer, Memo: l.Memo}
	switch {
	case l.Amount != nil && l.Amount.isText:
		row.Amount = l.Amount.text
	case l.Amount != nil:
		row.Amount = strconv.FormatInt(l.Amount.minor, 10)
	case old != nil:
		row.Amount = "1" // checked below
	}
	line := billing.BatchLine{Account: row.Account, Reference: row.Reference, Payer: row.Payer, Memo: row.Memo}
	line.Normalize()
	row.Account, row.Reference, row.Payer, row.Memo = line.Account, line.Reference, line.Payer, line.Memo
	var details []error
	for _, p := range row.Check() {
		if p.Column == "reference" && row.Reference == "" {
			continue // a check without its number: validation reports it, naming the line
		}
		details = append(details, &huma.ErrorDetail{Location: loc + "." + p.Column, Message: p.Reason})
	}
	if len(details) > 0 {
		return line, huma.NewError(http.StatusUnprocessableEntity, "the batch line is not valid; nothing was changed", details...)
	}
	line.Method = row.Method
	var cur billing.Currency
	textChoice := slices.ContainsFunc(l.ApplyTo, func(c applyToChoice) bool { return c.Amount.isText })
	if (l.Amount != nil && l.Amount.isText) || textChoice || (l.Amount == nil && old != nil && old.Account != line.Account) {
		a, found, err := s.accountByRef(ctx, line.Account)
		if err != nil {
			return line, err
		}
		if !found {
			msg := fmt.Sprintf("account %q: no account has this number, external id or id, so the amount's currency is unknown", line.Account)
			return line, huma.Error422UnprocessableEntity(msg, &huma.ErrorDetail{Location: loc + ".account", Message: msg, Value: line.Account})
		}
		cur = a.Currency
	}
	switch {
	case l.Amount == nil && old == nil:
		return line, huma.Error422UnprocessableEntity("amount is missing", &huma.ErrorDetail{Location: loc + ".amount", Message: "amount is missing"})
	case l.Amount == nil:
		if cur != "" && cur != old.Currency {
			msg := fmt.Sprintf("line %d's amount was entered in %s but %s is billed in %s: give the amount again", old.LineNo,
				orUnknownCurrency(old.Currency), line.Account, cur)
			return line, huma.Error422UnprocessableEntity(msg, &huma.ErrorDetail{Location: loc + ".amount", Message: msg})
		}
		line.Amount = old.Amount
	default:
		n, err := l.Amount.in(loc+".amount", cur)
		if err != nil {
			return line, err
		}
		line.Amount = n
	}
	for i, c := range l.ApplyTo {
		n, err := c.Amount.in(fmt.Sprintf("%s.apply_to[%d].amount", loc, i), cur)
		if err != nil {
			return line, err
		}
		line.ApplyTo = append(line.ApplyTo, billing.AllocationChoice{Invoice: strings.TrimSpace(c.Invoice), Amount: n})
	}
	return line, nil
}

func orUnknownCurrency(c billing.Currency) string {
	if c == "" {
		return "an unknown currency"
	}
	return string(c)
}

// accountByRef finds the account a batch line names, as the store resolves
// lines: its number, else its external id, else its id. Errors: the
// store's.
func (s *Server) accountByRef(ctx context.Context, ref string) (billing.Account, bool, error) {
	if s.accounts == nil {
		return billing.Account{}, false, huma.Error422UnprocessableEntity("this controller takes amounts in minor units only")
	}
	var byExt, byID *billing.Account
	for after := int64(0); ; {
		as, err := s.accounts.Accounts(ctx, billing.AccountFilter{Search: ref, AfterID: after, Limit: 1000})
		if err != nil {
			return billing.Account{}, false, s.toHTTPError("batch-line", err)
		}
		for i, a := range as {
			switch {
			case a.Number == ref:
				return a, true, nil
			case a.ExternalID == ref && byExt == nil:
				byExt = &as[i]
			}
		}
		if len(as) < 1000 {
			break
		}
		after = as[len(as)-1].ID
	}
	if byExt != nil {
		return *byExt, true, nil
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		a, err := s.accounts.Account(ctx, id)
		if err == nil {
			byID = &a
		} else if billing.ErrorCode(err) != billing.ENOTFOUND {
			return billing.Account{}, false, s.toHTTPError("batch-line", err)
		}
	}
	if byID != nil {
		return *byID, true, nil
	}
	return billing.Account{}, false, nil
}
