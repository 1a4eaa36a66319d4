package api

import (
	"context"
	"encoding/json"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// amountField is an amount in a request: minor units (a JSON integer,
// 4999) or a decimal in the currency of the account or payment it is for
// (a JSON string, "49.99"), which [amountField.in] reads once that currency
// is known. Clients that hold what people type send the decimal and leave
// the currency's decimal places to the controller.
type amountField struct {
	minor  int64
	text   string
	isText bool
}

func (a *amountField) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		a.isText = true
		return json.Unmarshal(b, &a.text)
	}
	return json.Unmarshal(b, &a.minor)
}

// Schema: an integer of minor units, or a decimal string.
func (amountField) Schema(huma.Registry) *huma.Schema {
	lo, hi, maxLen := 1.0, float64(billing.MaxAmount), 40
	return &huma.Schema{
		Description: `Minor units (4999), or a decimal in the account's currency as a string ("49.99").`,
		OneOf: []*huma.Schema{
			{Type: huma.TypeInteger, Format: "int64", Minimum: &lo, Maximum: &hi},
			{Type: huma.TypeString, MaxLength: &maxLen},
		},
	}
}

// feeField is an amountField that may be 0 (no fee).
type feeField struct{ amountField }

// Schema: as amountField's, 0 allowed.
func (feeField) Schema(r huma.Registry) *huma.Schema {
	s, zero := amountField{}.Schema(r), 0.0
	s.OneOf[0].Minimum = &zero
	return s
}

// in is the amount in minor units of currency c. Errors: a 422 naming loc
// for a decimal that is not one of c (too many decimal places, a sign, a
// separator), not more than zero, or too large.
func (a amountField) in(loc string, c billing.Currency) (int64, error) {
	if !a.isText {
		return a.minor, nil
	}
	n, err := billing.ParsePositiveAmount(a.text, c)
	return n, amountProblem(loc, a.text, err)
}

// in is as amountField's, 0 allowed.
func (f feeField) in(loc string, c billing.Currency) (int64, error) {
	if !f.isText {
		return f.minor, nil
	}
	n, err := billing.ParseAmount(f.text, c)
	if err == nil {
		err = billing.CheckAmount("amount", n)
	}
	return n, amountProblem(loc, f.text, err)
}

func amountProblem(loc, text string, err error) error {
	if err == nil {
		return nil
	}
	msg := billing.ErrorMessage(err)
	return huma.Error422UnprocessableEntity(msg, &huma.ErrorDetail{Location: loc, Message: msg, Value: text})
}

// accountAmount is a in minor units of account id's currency; the account
// is read only for a decimal. Errors: as [amountField.in], or the account's
// (404 if it does not exist).
func (s *Server) accountAmount(ctx context.Context, op, loc string, id int64, a amountField) (int64, error) {
	if !a.isText {
		return a.minor, nil
	}
	if s.accounts == nil {
		return 0, huma.Error422UnprocessableEntity("this controller takes amounts in minor units only", &huma.ErrorDetail{Location: loc, Value: a.text})
	}
	acct, err := s.accounts.Account(ctx, id)
	if err != nil {
		return 0, s.toHTTPError(op, err)
	}
	return a.in(loc, acct.Currency)
}
