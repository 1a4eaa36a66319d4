package billing

import (
	"slices"
	"strconv"
	"strings"
)

// PostedCheck is a check payment already posted to an account outside the
// batch being validated: a check number seen again is a warning.
type PostedCheck struct {
	AccountID int64
	Reference string
	PaymentID int64
}

// CheckLookups are the (account, check number) pairs of b's check lines
// whose earlier postings [ValidateBatch] weighs, each once, in line order:
// the store reads the [PostedCheck]s among them.
func (b PaymentBatch) CheckLookups() (accounts []int64, refs []string) {
	seen := map[checkKey]bool{}
	for _, l := range b.Lines {
		k := checkKey{l.AccountID, l.Reference}
		if l.Method == PayCheck && l.Reference != "" && l.AccountID != 0 && !seen[k] {
			seen[k] = true
			accounts, refs = append(accounts, l.AccountID), append(refs, l.Reference)
		}
	}
	return accounts, refs
}

type checkKey struct {
	account int64
	ref     string
}

// ValidateBatch checks every line of b, whose lines carry the accounts
// they resolved to (AccountID 0: none): the account must exist, the amount
// be positive, the method a manual one, a check carry its number, and the
// line pass the checks a single payment gets. A check number seen twice
// for one account (in the batch, or among posted, the account's checks
// posted outside the batch), or the same check number from the same payer
// on lines of two accounts, is a warning; so is a line to a closed account
// (its payment posts as credit: [PaymentOnAccount]). The result also says
// how far the lines are from the batch's control figures; OK only when
// they match ([PaymentBatch.CheckControl]).
func ValidateBatch(b PaymentBatch, posted []PostedCheck) BatchValidation {
	v := BatchValidation{BatchID: b.ID, Errors: []BatchProblem{}, Warnings: []BatchProblem{}, Control: b.Control()}
	bad := func(l BatchLine, field, msg string) {
		v.Errors = append(v.Errors, BatchProblem{LineNo: l.LineNo, Field: field, Message: msg})
	}
	seen := map[checkKey]int{}
	// byPayer finds the same check (number and payer) entered for two
	// accounts: one check cannot pay twice, so one of them is a typo.
	byPayer := map[string]BatchLine{}
	for _, l := range b.Lines {
		if l.AccountID == 0 {
			bad(l, "account", strconv.Quote(l.Account)+" is not an account number, external id or id")
		}
		switch {
		case !l.Method.Valid():
			bad(l, "method", strconv.Quote(string(l.Method))+" is not one of check, cash, wire, money_order, other")
		case !l.Method.Manual():
			bad(l, "method", string(l.Method)+" payments come through the payment gateway, not a deposit batch")
		}
		if l.Amount <= 0 {
			bad(l, "amount", strconv.FormatInt(l.Amount, 10)+" must be positive (minor units)")
		}
		if l.AccountID != 0 {
			if _, warnings := PaymentOnAccount(l.AccountID, l.AccountStatus); len(warnings) > 0 {
				v.Warnings = append(v.Warnings, BatchProblem{LineNo: l.LineNo, Field: "account", Warning: true, Message: strings.Join(warnings, "; ")})
			}
		}
		if l.AccountID != 0 && l.Method.Manual() && l.Amount > 0 {
			// The same checks a single payment gets (lengths, largest amount).
			p := NewPayment{AccountID: l.AccountID, Method: l.Method, Amount: l.Amount, Reference: l.Reference, Payer: l.Payer, Memo: l.Memo, ApplyTo: l.ApplyTo}
			if err := p.Validate(); err != nil && !(l.Method == PayCheck && l.Reference == "") {
				bad(l, "line", ErrorMessage(err))
			}
		}
		if l.Method != PayCheck {
			continue
		}
		if l.Reference == "" {
			bad(l, "reference", "a check needs its check number")
			continue
		}
		if l.AccountID == 0 {
			continue
		}
		k := checkKey{l.AccountID, l.Reference}
		if first, dup := seen[k]; dup {
			v.Warnings = append(v.Warnings, BatchProblem{LineNo: l.LineNo, Field: "reference", Warning: true,
				Message: "check " + l.Reference + " from this payer is also on line " + strconv.Itoa(first)})
		} else {
			seen[k] = l.LineNo
		}
		if l.Payer != "" {
			pk := strings.ToLower(l.Payer) + "\x00" + l.Reference
			if first, dup := byPayer[pk]; dup && first.AccountID != l.AccountID {
				v.Warnings = append(v.Warnings, BatchProblem{LineNo: l.LineNo, Field: "reference", Warning: true,
					Message: "check " + l.Reference + " from payer " + strconv.Quote(l.Payer) + " is also on line " + strconv.Itoa(first.LineNo) +
						" for another account (" + first.Account + "); one check pays once"})
			} else if !dup {
				byPayer[pk] = l
			}
		}
	}
	for _, pc := range posted {
		if line, ok := seen[checkKey{pc.AccountID, pc.Reference}]; ok {
			v.Warnings = append(v.Warnings, BatchProblem{LineNo: line, Field: "reference", Warning: true,
				Message: "check " + pc.Reference + " from this payer was already posted as payment " + strconv.FormatInt(pc.PaymentID, 10)})
		}
	}
	v.settle()
	return v
}

// CheckPostable reports whether b may be posted: it must be open
// (ECONFLICT naming the batch once posted) and have lines (EINVALID).
// Its lines are checked by [ValidateBatch].
func (b PaymentBatch) CheckPostable() error {
	if b.Status != BatchOpen {
		return Errorf(ECONFLICT, "payment batch %d is already posted", b.ID)
	}
	if len(b.Lines) == 0 {
		return Errorf(EINVALID, "payment batch %d has no lines", b.ID)
	}
	return nil
}

// CheckBatchChoices adds to v an error for each line of b whose chosen
// invoices (ApplyTo) [PlanChosenAllocations] would refuse, given open, the
// open invoices of the lines' accounts (oldest due first), so that staff
// see them when validating rather than when posting. Lines are taken in
// order, each after the choices of the lines before it on the same account
// (a refused line's choices are left out); a line with an error already
// is not checked again.
func CheckBatchChoices(v BatchValidation, b PaymentBatch, open map[int64][]OpenInvoice) BatchValidation {
	chosen := map[int64][]ChosenPayment{}
	for _, l := range b.Lines {
		bad := slices.ContainsFunc(v.Errors, func(p BatchProblem) bool { return p.LineNo == l.LineNo })
		if len(l.ApplyTo) == 0 || l.AccountID == 0 || bad {
			continue
		}
		try := append(slices.Clone(chosen[l.AccountID]), ChosenPayment{PaymentID: int64(l.LineNo), Field: "apply_to", ApplyTo: l.ApplyTo})
		var credits []OpenCredit
		for _, c := range try {
			credits = append(credits, OpenCredit{PaymentID: c.PaymentID, Amount: b.lineAmount(int(c.PaymentID))})
		}
		if _, _, err := PlanChosenAllocations(credits, open[l.AccountID], try); err != nil {
			v.Errors = append(v.Errors, BatchProblem{LineNo: l.LineNo, Field: "apply_to", Message: ErrorMessage(err)})
			continue
		}
		chosen[l.AccountID] = try
	}
	v.settle()
	return v
}

func (b PaymentBatch) lineAmount(lineNo int) int64 {
	for _, l := range b.Lines {
		if l.LineNo == lineNo {
			return l.Amount
		}
	}
	return 0
}
