package documents

import (
	"fmt"
	"math"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Deposit item kinds: the payment methods that can go into a bank deposit.
const (
	KindCheck      = "check"
	KindCash       = "cash"
	KindMoneyOrder = "money_order"
	KindWire       = "wire"
	KindOther      = "other"
)

// DepositItem is one payment in a deposit.
type DepositItem struct {
	Kind          string // KindCheck, KindCash, KindMoneyOrder, KindWire or KindOther
	CheckNumber   string // check or money-order number; empty for cash
	Payer         string // name on the check, or who paid
	AccountNumber string // the payer's Tollgate account number
	Amount        int64  // minor units of the slip's currency; never negative
}

// DepositSlip is what billing staff take to the bank after posting one or
// more payment batches.
type DepositSlip struct {
	Company        Company
	BankName       string
	DepositAccount string // account number at the bank; printed masked except the last 4
	DepositDate    billing.Date
	Currency       billing.Currency
	BatchIDs       []int64
	PreparedBy     string
	Items          []DepositItem
}

// Totals sums the slip's items by kind: checks, cash, and everything else
// (money orders, wires, other — and items of unknown kind, so that grand is
// always checks+cash+other). checkCount is the number of checks. Totals does
// not validate; [DepositSlip.Validate] reports negative amounts, unknown kinds
// and totals that overflow int64.
func (s DepositSlip) Totals() (checks, cash, other, grand int64, checkCount int) {
	for _, it := range s.Items {
		switch it.Kind {
		case KindCheck:
			checks += it.Amount
			checkCount++
		case KindCash:
			cash += it.Amount
		default:
			other += it.Amount
		}
		grand += it.Amount
	}
	return checks, cash, other, grand, checkCount
}

// maxProblems caps how many problems one validation error lists.
const maxProblems = 10

// Validate reports everything that keeps the slip from being rendered, as one
// *billing.Error with code EINVALID that names each problem: a missing or
// unsupported currency, a missing deposit date, no items, an item with an
// unknown kind or a negative amount, or a grand total too large for int64.
func (s DepositSlip) Validate() error {
	_, err := s.checked()
	return err
}

// checked validates the slip and returns it with its currency code
// normalised ("usd" becomes "USD").
func (s DepositSlip) checked() (DepositSlip, error) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if strings.TrimSpace(string(s.Currency)) == "" {
		add("currency is missing")
	} else if c, err := billing.ParseCurrency(string(s.Currency)); err != nil {
		add("currency %q is not a supported ISO 4217 code", s.Currency)
	} else {
		s.Currency = c
	}
	if s.DepositDate.IsZero() {
		add("deposit date is missing")
	}
	if len(s.Items) == 0 {
		add("there are no items to deposit")
	}
	var sum int64
	overflow := false
	for i, it := range s.Items {
		if !knownKind(it.Kind) {
			add("%s: unknown kind %q (want check, cash, money_order, wire or other)", describeItem(i, it), it.Kind)
		}
		if it.Amount < 0 {
			add("%s: amount %d is negative", describeItem(i, it), it.Amount)
			continue
		}
		if sum > math.MaxInt64-it.Amount {
			overflow = true
		} else {
			sum += it.Amount
		}
	}
	if overflow {
		add("the grand total is larger than the largest amount Tollgate can represent")
	}
	if len(problems) == 0 {
		return s, nil
	}
	if n := len(problems); n > maxProblems {
		problems = append(problems[:maxProblems], fmt.Sprintf("and %d more problems", n-maxProblems))
	}
	return s, billing.Errorf(billing.EINVALID, "deposit slip: %s", strings.Join(problems, "; "))
}

func knownKind(k string) bool {
	switch k {
	case KindCheck, KindCash, KindMoneyOrder, KindWire, KindOther:
		return true
	}
	return false
}

// describeItem names an item for an error message: "item 3 (no. 1002,
// payer "Ada Lovelace")". Items are numbered from 1, as staff count them.
func describeItem(i int, it DepositItem) string {
	var parts []string
	if n := oneLine(it.CheckNumber); n != "" {
		parts = append(parts, "no. "+n)
	}
	if p := oneLine(it.Payer); p != "" {
		parts = append(parts, fmt.Sprintf("payer %q", p))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("item %d", i+1)
	}
	return fmt.Sprintf("item %d (%s)", i+1, strings.Join(parts, ", "))
}

// kindLabel is how a kind is printed for people.
func kindLabel(k string) string {
	switch k {
	case KindCheck:
		return "Check"
	case KindCash:
		return "Cash"
	case KindMoneyOrder:
		return "Money order"
	case KindWire:
		return "Wire"
	case KindOther:
		return "Other"
	}
	return k
}
