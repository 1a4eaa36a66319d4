package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// manualMethodList names the methods staff record by hand.
const manualMethodList = "check, cash, wire, money_order, other"

// textLimits are the longest reference, payer and memo a payment keeps, in
// bytes (billing.NewPayment.Validate). A deposit batch's validation does not
// check them but posting does, without naming the line, so they are checked
// here before anything is sent.
var textLimits = []struct {
	field string
	max   int
}{{"reference", 100}, {"payer", 200}, {"memo", 500}}

// fieldProblem is what is wrong with one field of a payment staff entered.
type fieldProblem struct{ field, msg string }

// flagErrors turns problems with a command's flags into one error.
func flagErrors(ps []fieldProblem) error {
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = "--" + p.field + ": " + p.msg
	}
	return errors.New(strings.Join(msgs, "; "))
}

// parseManualMethod parses a method staff may record by hand.
func parseManualMethod(s string) (billing.PaymentMethod, error) {
	m := billing.PaymentMethod(strings.ToLower(strings.TrimSpace(s)))
	switch {
	case m.Manual():
		return m, nil
	case m.Valid():
		return "", fmt.Errorf("method %q is charged through the payment gateway, not recorded by hand; use one of %s", s, manualMethodList)
	}
	return "", fmt.Errorf("method %q is not one of %s", s, manualMethodList)
}

// checkAmountSyntax checks that s is a positive decimal amount ("49.99")
// without knowing the currency; billing.ParsePositiveAmount then checks
// its decimal places in the account's currency.
func checkAmountSyntax(s string) error {
	v := strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(v, ".")
	digits := func(x string) bool {
		for _, r := range x {
			if r < '0' || r > '9' {
				return false
			}
		}
		return x != ""
	}
	switch {
	case v == "":
		return fmt.Errorf("amount is missing")
	case strings.HasPrefix(v, "-"):
		return fmt.Errorf("amount %q must not be negative", s)
	case !digits(whole) || (hasDot && !digits(frac)):
		return fmt.Errorf("amount %q is not a decimal number like 49.99", s)
	case strings.Trim(whole+frac, "0") == "":
		return fmt.Errorf("amount %q must be more than zero", s)
	}
	return nil
}

// checkText checks the length of a payment's reference, payer and memo.
func checkText(reference, payer, memo string) []fieldProblem {
	var ps []fieldProblem
	for i, v := range []string{reference, payer, memo} {
		if l := textLimits[i]; len(strings.TrimSpace(v)) > l.max {
			ps = append(ps, fieldProblem{l.field, fmt.Sprintf("%s is too long (%d bytes; at most %d)", l.field, len(strings.TrimSpace(v)), l.max)})
		}
	}
	return ps
}

// paymentInput is one payment as staff typed it: a batch line, a row of an
// import file or the flags of a command.
type paymentInput struct {
	Account, Method, Amount, Reference, Payer, Memo string
}

// check trims the input and reports every problem that can be seen without
// the account's currency. An empty method is a check.
func (in *paymentInput) check() (billing.PaymentMethod, []fieldProblem) {
	for _, p := range []*string{&in.Account, &in.Method, &in.Amount, &in.Reference, &in.Payer, &in.Memo} {
		*p = strings.TrimSpace(*p)
	}
	var ps []fieldProblem
	if in.Account == "" {
		ps = append(ps, fieldProblem{"account", "the account (number, external id or id) is missing"})
	}
	if in.Method == "" {
		in.Method = string(billing.PayCheck)
	}
	m, err := parseManualMethod(in.Method)
	if err != nil {
		ps = append(ps, fieldProblem{"method", err.Error()})
	}
	if err := checkAmountSyntax(in.Amount); err != nil {
		ps = append(ps, fieldProblem{"amount", err.Error()})
	}
	if m == billing.PayCheck && in.Reference == "" {
		ps = append(ps, fieldProblem{"reference", "a check needs its check number"})
	}
	return m, append(ps, checkText(in.Reference, in.Payer, in.Memo)...)
}
