package reports

import (
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Three checks and a cash payment received; the slip took two checks and
// the cash; one check (no. 1003) is on no slip. A returned check on the
// slip stays deposited (it went to the bank) and is shown as reversed.
func TestPaymentsReconcileDepositsWithAMissingCheck(t *testing.T) {
	p := func(id int64, m billing.PaymentMethod, amt int64, batch int64, status string) PaymentLine {
		return PaymentLine{ID: id, Method: m, Amount: amt, Currency: "USD", BatchID: batch, Status: status}
	}
	payments := []PaymentLine{
		p(1, billing.PayCheck, 5000, 7, "posted"),
		p(2, billing.PayCheck, 2500, 7, "reversed"),
		p(3, billing.PayCheck, 4000, 0, "posted"),
		p(4, billing.PayCash, 1000, 7, "posted"),
		{ID: 5, Method: billing.PayCard, Amount: 9900, Currency: "USD", Gateway: "stripe", Status: "posted"},
	}
	batches := []DepositBatch{{ID: 7, DepositDate: d(2026, 5, 4), Lines: []DepositLine{
		{PaymentID: 1, Method: billing.PayCheck, Amount: 5000}, {PaymentID: 2, Method: billing.PayCheck, Amount: 2500},
		{PaymentID: 4, Method: billing.PayCash, Amount: 1000}}}}
	r := Payments(d(2026, 5, 1), d(2026, 5, 31), payments, batches)
	if len(r.Cash) != 1 {
		t.Fatalf("reconciliation %+v", r.Cash)
	}
	c := r.Cash[0]
	// Received by hand 50 + 25 + 40 + 10 = 125.00; deposited 85.00; not
	// deposited: check 3, 40.00; nothing else unexplained.
	if c.Received != 12500 || c.Deposited != 8500 || c.NotDepositedTotal != 4000 || c.Difference != 0 ||
		len(c.NotDeposited) != 1 || c.NotDeposited[0].ID != 3 {
		t.Errorf("reconciliation %+v", c)
	}
	if want := (DepositRow{BatchID: 7, DepositDate: d(2026, 5, 4), SlipCount: 3, SlipTotal: 8500, Reversed: 2500}); len(r.Deposits) != 1 || r.Deposits[0] != want {
		t.Errorf("deposits %+v, want %+v", r.Deposits, want)
	}
	// Totals by method: card 99.00; cash 10.00; check 90.00 standing and
	// 25.00 reversed.
	want := []MethodTotal{{Method: billing.PayCard, Currency: "USD", Count: 1, Amount: 9900}, {Method: billing.PayCash, Currency: "USD", Count: 1, Amount: 1000},
		{Method: billing.PayCheck, Currency: "USD", Count: 3, Amount: 9000, Reversed: 2500}}
	if len(r.Totals) != 3 || r.Totals[0] != want[0] || r.Totals[1] != want[1] || r.Totals[2] != want[2] {
		t.Errorf("totals %+v, want %+v", r.Totals, want)
	}
}

// A day's payout against the ledger: the gateway counts 99.00 + 10.00 of
// charges; the ledger has the 99.00 only (the 10.00 charge's payment is
// missing), so the day is 10.00 off.
func TestReconcilePayouts(t *testing.T) {
	payments := []PaymentLine{
		{ID: 1, Method: billing.PayCard, Amount: 9900, Currency: "USD", Gateway: "stripe", EffectiveDate: d(2026, 5, 4)},
		{ID: 2, Method: billing.PayCheck, Amount: 5000, Currency: "USD", EffectiveDate: d(2026, 5, 4)},
	}
	payouts := []GatewayPayout{{Gateway: "stripe", ID: "po_1", Date: d(2026, 5, 4), Currency: "USD", Amount: 10570, Charges: 10900, Refunds: 0, Fees: 330}}
	rows := ReconcilePayouts(payments, payouts)
	want := PayoutRow{Gateway: "stripe", Date: d(2026, 5, 4), Currency: "USD", PayoutIDs: []string{"po_1"}, PaidOut: 10570, Charges: 10900, Fees: 330, Ledger: 9900, Difference: 1000}
	if len(rows) != 1 || rows[0].Difference != want.Difference || rows[0].Ledger != want.Ledger || rows[0].PaidOut != want.PaidOut || rows[0].PayoutIDs[0] != "po_1" {
		t.Errorf("rows %+v, want %+v", rows, want)
	}
}
