package billing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestJournalTxValidate(t *testing.T) {
	ok := CreditTx(1, "USD", 500, "goodwill", mustDate("2026-01-05"))
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tx   JournalTx
		want []string
	}{
		{"unbalanced", JournalTx{Kind: TxCredit, Currency: "USD", Entries: []Entry{{LedgerCredits, 10000}, {LedgerReceivable, -9999}}},
			[]string{"journal transaction does not balance: debits 100.00, credits 99.99"}},
		{"one entry", JournalTx{Kind: TxCredit, Currency: "USD", Entries: []Entry{{LedgerCredits, 1}}}, []string{"1 entries", "at least 2"}},
		{"zero entry", JournalTx{Kind: TxCredit, Currency: "USD", Entries: []Entry{{LedgerCredits, 1}, {LedgerReceivable, -1}, {LedgerCash, 0}}},
			[]string{"entry 3", "amount 0"}},
		{"unknown ledger", JournalTx{Kind: TxCredit, Currency: "USD", Entries: []Entry{{"petty_cash", 1}, {LedgerReceivable, -1}}},
			[]string{"ledger", `"petty_cash"`}},
		{"unknown kind", JournalTx{Kind: "gift", Currency: "USD", Entries: []Entry{{LedgerCredits, 1}, {LedgerReceivable, -1}}}, []string{"kind", `"gift"`}},
		{"unknown currency", JournalTx{Kind: TxCredit, Currency: "usd", Entries: []Entry{{LedgerCredits, 1}, {LedgerReceivable, -1}}}, []string{"currency", `"usd"`}},
		{"overflow", JournalTx{Kind: TxCredit, Currency: "USD", Entries: []Entry{{LedgerCredits, math.MaxInt64}, {LedgerCash, math.MaxInt64}, {LedgerReceivable, -2}}},
			[]string{"overflow"}},
		{"min int64", JournalTx{Kind: TxCredit, Currency: "USD", Entries: []Entry{{LedgerCredits, math.MinInt64}, {LedgerReceivable, math.MinInt64}}},
			[]string{"overflow"}},
		{"negative credit", CreditTx(1, "USD", -5, "x", mustDate("2026-01-05")), []string{"credit transaction must lower", "0.05"}},
		{"zero payment", PaymentTx(1, "USD", 0, "x", mustDate("2026-01-05")), []string{"amount 0"}},
		{"fee that lowers the balance", FeeTx(1, "USD", -300, "x", mustDate("2026-01-05")), []string{"fee transaction must raise", "-3.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantInvalid(t, tc.tx.Validate(), tc.want...) })
	}
}

func TestInvoiceTxAndVoidTx(t *testing.T) {
	inv := Invoice{ID: 9, Number: "INV-0000009", AccountID: 42, Period: per("2026-01-01", "2026-02-01"), IssueDate: mustDate("2025-12-27"), Currency: "USD",
		Lines: []InvoiceLine{
			{Kind: LineRecurring, Amount: 5000}, {Kind: LineOneTime, Amount: 2500}, {Kind: LineFee, Amount: 300},
			{Kind: LineCredit, Amount: -1000}, {Kind: LineTax, Amount: 400}, {Kind: LineTax, Amount: 100},
		}}
	tx := InvoiceTx(inv)
	if err := tx.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []Entry{{LedgerReceivable, 7300}, {LedgerRevenue, -7500}, {LedgerFeeRevenue, -300}, {LedgerCredits, 1000}, {LedgerTaxPayable, -500}}
	if fmt.Sprint(tx.Entries) != fmt.Sprint(want) {
		t.Errorf("entries = %v, want %v", tx.Entries, want)
	}
	if tx.Kind != TxInvoiceIssued || tx.InvoiceID == nil || *tx.InvoiceID != 9 || tx.AccountID != 42 || tx.EffectiveDate != inv.IssueDate ||
		tx.Memo != "invoice INV-0000009 (2026-01-01 to 2026-01-31)" {
		t.Errorf("header = %+v", tx)
	}
	void := VoidTx(inv, mustDate("2026-01-10"))
	if err := void.Validate(); err != nil {
		t.Fatal(err)
	}
	if void.Kind != TxInvoiceVoided || void.EffectiveDate != mustDate("2026-01-10") {
		t.Errorf("void header = %+v", void)
	}
	for i, e := range void.Entries {
		if e.Ledger != tx.Entries[i].Ledger || e.Amount != -tx.Entries[i].Amount {
			t.Errorf("void entry %d = %v, want the negation of %v", i, e, tx.Entries[i])
		}
	}
	if b := ReceivableBalance([]JournalTx{tx}); b != 7300 {
		t.Errorf("balance after issue = %d", b)
	}
	if b := ReceivableBalance([]JournalTx{tx, void}); b != 0 {
		t.Errorf("balance after void = %d", b)
	}
}

func TestSimpleTransactions(t *testing.T) {
	d := mustDate("2026-01-05")
	tests := []struct {
		tx      JournalTx
		kind    TxKind
		balance int64
	}{
		{CreditTx(1, "USD", 500, "m", d), TxCredit, -500},
		{PaymentTx(1, "USD", 500, "m", d), TxPaymentPosted, -500},
		{PaymentReversalTx(1, "USD", 500, "m", d), TxPaymentReversed, 500},
		{RefundTx(1, "USD", 500, "m", d), TxRefund, 500},
		{FeeTx(1, "USD", 500, "m", d), TxFee, 500},
		{WriteOffTx(1, "USD", 500, "m", d), TxWriteOff, -500},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			if err := tc.tx.Validate(); err != nil {
				t.Fatal(err)
			}
			if tc.tx.Kind != tc.kind || tc.tx.AccountID != 1 || tc.tx.Memo != "m" || tc.tx.EffectiveDate != d {
				t.Errorf("header = %+v", tc.tx)
			}
			if b := ReceivableBalance([]JournalTx{tc.tx}); b != tc.balance {
				t.Errorf("balance = %d, want %d", b, tc.balance)
			}
		})
	}
}

// randomRequest builds a random but valid invoice request.
func randomRequest(r *rand.Rand) InvoiceRequest {
	currencies := []Currency{"USD", "JPY", "BHD", "EUR"}
	cur := currencies[r.IntN(len(currencies))]
	at := AccountType{Name: "random", InvoiceLeadDays: r.IntN(20), DueDays: r.IntN(31), GraceDays: r.IntN(15),
		ApplyDateRuleToIssue: r.IntN(2) == 0, TimeZone: []string{"UTC", "America/Chicago", "Europe/Berlin"}[r.IntN(3)]}
	if r.IntN(2) == 0 {
		at.BillingMode, at.BillingDay = BillingFixedDay, 1+r.IntN(31)
	}
	for w := range 7 {
		if r.IntN(4) != 0 {
			at.DelinquencyWeekdays = append(at.DelinquencyWeekdays, time.Weekday(w))
		}
	}
	cals := KnownHolidayCalendars()
	for range r.IntN(3) {
		if c := cals[r.IntN(len(cals))]; !containsString(at.HolidayCalendars, c) {
			at.HolidayCalendars = append(at.HolidayCalendars, c)
		}
	}
	if r.IntN(3) == 0 {
		at.Exclusions = []Exclusion{{Date: randDate(r), Yearly: r.IntN(2) == 0}}
	}
	if err := at.Validate(); err != nil {
		panic(err)
	}
	a := Account{ID: 1 + r.Int64N(1000), Currency: cur, AnchorDate: randDate(r)}
	if r.IntN(3) != 0 {
		a.TaxJurisdiction = "J"
	}
	day, month := AccountAnchor(at, a)
	p := PeriodAt(a.AnchorDate.AddDays(r.IntN(800)), day, month, IntervalMonthly)
	req := InvoiceRequest{Account: a, Type: at, Period: p}
	for i := range r.IntN(5) {
		plan := Plan{Name: fmt.Sprintf("plan %d", i), Price: r.Int64N([]int64{1, 1000, 100000, 1e9}[r.IntN(4)]), Currency: cur,
			Interval: randInterval(r), Taxable: r.IntN(2) == 0}
		s := BillableService{ServiceID: int64(i + 1), Plan: plan, Start: p.Start.AddDays(r.IntN(200) - 150)}
		if r.IntN(2) == 0 {
			s.End = s.Start.AddDays(1 + r.IntN(200))
		}
		req.Services = append(req.Services, s)
	}
	for i := range r.IntN(4) {
		amount := 1 + r.Int64N(100000)
		if r.IntN(4) == 0 {
			amount = -amount
		}
		req.Charges = append(req.Charges, OneTimeCharge{ID: int64(100 + i), AccountID: a.ID, Description: "charge", Amount: amount,
			Taxable: r.IntN(2) == 0, ChargeDate: p.End.AddDays(-1 - r.IntN(60))})
	}
	if a.TaxJurisdiction != "" {
		for i := range r.IntN(4) {
			rate := fmt.Sprintf("0.%06d", r.IntN(300000))
			req.TaxRates = append(req.TaxRates, TaxRate{Jurisdiction: "J", Name: fmt.Sprintf("tax %d", i), Rate: rate})
		}
	}
	return req
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Property (b): random invoices composed from random services, charges and
// taxes are internally consistent; InvoiceTx balances and posts the total
// to receivables, and VoidTx exactly cancels it.
func TestInvoiceLedgerProperty(t *testing.T) {
	billed := 0
	checkProperty(t, func(r *rand.Rand) error {
		req := randomRequest(r)
		inv, ok, err := ComposeInvoice(req)
		if err != nil {
			return fmt.Errorf("ComposeInvoice: %v", err)
		}
		var sub, tax, base int64
		nonZero := false
		for _, l := range inv.Lines {
			nonZero = nonZero || l.Amount != 0
			if l.Kind == LineTax {
				tax += l.Amount
				continue
			}
			sub += l.Amount
			if l.Taxable {
				base += l.Amount
			}
			if l.Kind == LineRecurring && (l.PeriodStart.IsZero() || !l.PeriodStart.Before(l.PeriodEnd) || !req.Period.Contains(l.PeriodStart)) {
				return fmt.Errorf("recurring line %+v outside period %v", l, req.Period)
			}
		}
		if ok != nonZero {
			return fmt.Errorf("ok = %v but lines %+v", ok, inv.Lines)
		}
		if !ok {
			return nil
		}
		billed++
		if inv.Subtotal != sub || inv.Tax != tax || inv.Total != sub+tax {
			return fmt.Errorf("totals %d+%d=%d, lines give %d+%d", inv.Subtotal, inv.Tax, inv.Total, sub, tax)
		}
		var wantTax int64
		if base != 0 {
			for _, rate := range req.TaxRates {
				wantTax += rate.Tax(base)
			}
		}
		if tax != wantTax {
			return fmt.Errorf("tax %d, want %d on base %d", tax, wantTax, base)
		}
		if inv.DueDate != inv.IssueDate.AddDays(req.Type.DueDays) || inv.DelinquencyDate.Before(inv.DueDate.AddDays(req.Type.GraceDays)) {
			return fmt.Errorf("dates issue %s due %s delinquency %s", inv.IssueDate, inv.DueDate, inv.DelinquencyDate)
		}

		tx := InvoiceTx(inv)
		if err := tx.Validate(); err != nil {
			return fmt.Errorf("InvoiceTx of %+v: %v", inv, err)
		}
		if b := ReceivableBalance([]JournalTx{tx}); b != inv.Total {
			return fmt.Errorf("receivable %d, total %d", b, inv.Total)
		}
		void := VoidTx(inv, inv.DueDate)
		if err := void.Validate(); err != nil {
			return fmt.Errorf("VoidTx: %v", err)
		}
		net := map[string]int64{}
		for _, e := range append(append([]Entry(nil), tx.Entries...), void.Entries...) {
			net[e.Ledger] += e.Amount
		}
		for l, v := range net {
			if v != 0 {
				return fmt.Errorf("after void, ledger %s is %d", l, v)
			}
		}
		return nil
	})
	t.Logf("%d of %d random invoices had something to bill", billed, propertySequences)
	if billed < propertySequences/4 {
		t.Errorf("only %d random invoices billed anything: the generator is too weak", billed)
	}
}

// Property (c): random sequences of invoices, credits, payments, fees,
// refunds, write-offs and voids: every transaction validates, and
// ReceivableBalance equals the balance tracked independently from the
// business events.
func TestReceivableBalanceProperty(t *testing.T) {
	checkProperty(t, func(r *rand.Rand) error {
		req := randomRequest(r)
		cur, acct := req.Account.Currency, req.Account.ID
		var txs []JournalTx
		var open []Invoice
		var want int64
		all := map[string]int64{}
		d := req.Period.Start
		for step := range 1 + r.IntN(30) {
			amount := 1 + r.Int64N(100000)
			var tx JournalTx
			switch op := r.IntN(8); {
			case op <= 1:
				inv, ok, err := ComposeInvoice(req)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				inv.ID = int64(step + 1)
				tx, want = InvoiceTx(inv), want+inv.Total
				open = append(open, inv)
				req = randomRequest(r)
				req.Account.ID, req.Account.Currency = acct, cur
				for i := range req.Services {
					req.Services[i].Plan.Currency = cur
				}
				for i := range req.Charges {
					req.Charges[i].AccountID = acct
				}
			case op == 2 && len(open) > 0:
				i := r.IntN(len(open))
				tx, want = VoidTx(open[i], d), want-open[i].Total
				open = append(open[:i], open[i+1:]...)
			case op == 2 || op == 3:
				tx, want = CreditTx(acct, cur, amount, "credit", d), want-amount
			case op == 4:
				tx, want = PaymentTx(acct, cur, amount, "payment", d), want-amount
			case op == 5:
				tx, want = PaymentReversalTx(acct, cur, amount, "nsf", d), want+amount
			case op == 6:
				if r.IntN(2) == 0 {
					tx, want = FeeTx(acct, cur, amount, "late fee", d), want+amount
				} else {
					tx, want = RefundTx(acct, cur, amount, "refund", d), want+amount
				}
			default:
				tx, want = WriteOffTx(acct, cur, amount, "write-off", d), want-amount
			}
			if err := tx.Validate(); err != nil {
				return fmt.Errorf("step %d: %s: %v", step, tx.Kind, err)
			}
			txs = append(txs, tx)
			for _, e := range tx.Entries {
				all[e.Ledger] += e.Amount
			}
			if got := ReceivableBalance(txs); got != want || got != all[LedgerReceivable] {
				return fmt.Errorf("step %d (%s): balance %d, tracked %d, receivable entries %d", step, tx.Kind, got, want, all[LedgerReceivable])
			}
			d = d.AddDays(r.IntN(10))
		}
		var sum int64
		for _, v := range all {
			sum += v
		}
		if sum != 0 {
			return fmt.Errorf("the ledgers sum to %d", sum)
		}
		return nil
	})
}

func TestCheckCredit(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		memo   string
		field  string
	}{{100, "goodwill", ""}, {0, "goodwill", "amount"}, {-5, "goodwill", "amount"}, {100, "", "memo"}} {
		err := CheckCredit(tc.amount, tc.memo)
		if (tc.field == "") != (err == nil) || (err != nil && (ErrorCode(err) != EINVALID || !strings.HasPrefix(ErrorMessage(err), tc.field))) {
			t.Errorf("%d %q: %v, want an error naming %q", tc.amount, tc.memo, err, tc.field)
		}
	}
}
