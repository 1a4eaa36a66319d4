package billing

import (
	"testing"
	"time"
)

// TestAssessPendingPayments: a payment still settling at the gateway
// counts for the sweep only as the type's pending_payments says: ignore
// suspends as if it were not there; hold keeps an account whose pending
// payments cover what is past due out of delinquency and suspension, but
// leaves a suspended one suspended; restore also restores a suspended one
// (no reconnection fee: nothing was paid). Too small a pending payment,
// or none, holds nothing, and once it failed (pending 0) the sweep
// suspends again.
func TestAssessPendingPayments(t *testing.T) {
	today := mustDate("2026-12-22") // a Tuesday past the invoice's delinquency date
	for name, tc := range map[string]struct {
		mode    PendingPaymentsMode
		status  AccountStatus
		pending int64
		want    AccountStatus
		suspend bool
		restore bool
	}{
		"ignore: suspended despite a pending payment": {PendingIgnore, AccountPastDue, 5000, AccountSuspended, true, false},
		"unset is ignore":                                {"", AccountPastDue, 5000, AccountSuspended, true, false},
		"hold: covered, not suspended":                   {PendingHold, AccountPastDue, 5000, AccountPastDue, false, false},
		"hold: delinquent covered, back to past due":     {PendingHold, AccountDelinquent, 6000, AccountPastDue, false, false},
		"hold: too small a payment holds nothing":        {PendingHold, AccountPastDue, 4999, AccountSuspended, true, false},
		"hold: the payment failed, suspended":            {PendingHold, AccountPastDue, 0, AccountSuspended, true, false},
		"hold: a suspended account stays suspended":      {PendingHold, AccountSuspended, 5000, AccountSuspended, false, false},
		"restore: a suspended account is restored":       {PendingRestore, AccountSuspended, 5000, AccountPastDue, false, true},
		"restore: too small, stays suspended":            {PendingRestore, AccountSuspended, 4000, AccountSuspended, false, false},
		"restore: covered, not suspended":                {PendingRestore, AccountPastDue, 5000, AccountPastDue, false, false},
		"restore: the payment returned, suspended again": {PendingRestore, AccountPastDue, 0, AccountSuspended, true, false},
	} {
		t.Run(name, func(t *testing.T) {
			typ := resType()
			typ.PendingPayments = tc.mode
			rule, err := NewDateRule(typ)
			if err != nil {
				t.Fatal(err)
			}
			s := overdueStanding(1, tc.status, 5000)
			s.Pending = tc.pending
			a := Assess(typ, rule, today, s)
			if a.Status != tc.want || a.Suspend != tc.suspend || a.Restore != tc.restore || a.Paid {
				t.Fatalf("status %s suspend %v restore %v paid %v, want %s %v %v false: %v", a.Status, a.Suspend, a.Restore, a.Paid,
					tc.want, tc.suspend, tc.restore, a.Why)
			}
			held := false
			for _, r := range a.Reasons {
				held = held || r.Kind == ReasonPendingPayment
			}
			if wantHeld := tc.mode != PendingIgnore && tc.mode != "" && tc.pending >= 5000; held != wantHeld {
				t.Fatalf("pending payment reason given %v, want %v: %v", held, wantHeld, a.Why)
			}
		})
	}
}

// TestAccountTypePendingPaymentsSetting: the setting defaults to ignore
// and refuses an unknown value naming the field.
func TestAccountTypePendingPaymentsSetting(t *testing.T) {
	typ := resType()
	if err := typ.Validate(); err != nil || typ.PendingPayments != PendingIgnore {
		t.Fatalf("default: %q, %v", typ.PendingPayments, err)
	}
	typ.PendingPayments = "sometimes"
	wantInvalid(t, typ.Validate(), "pending_payments", "sometimes")
}

// TestPlanGatewayEvent: what each piece of gateway news does to a charge
// in each state it may find it in, delivered in any order.
func TestPlanGatewayEvent(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	attempt := func(status string) PaymentAttempt {
		return PaymentAttempt{ID: 7, AccountID: 1, Amount: 5000, Currency: "USD", Status: status, ChargeID: "pi_1"}
	}
	posted := &Payment{ID: 9, AccountID: 1, Amount: 5000, Currency: "USD", Status: PaymentPosted,
		Allocations: []Allocation{{InvoiceID: 1, InvoiceNumber: "A", Amount: 3000}, {InvoiceID: 2, InvoiceNumber: "B", Amount: 1500}}}
	reversedBy := func(note string) *Payment { p := *posted; p.Status, p.ReversalNote = PaymentReversed, note; return &p }
	partlyRefunded := *posted
	partlyRefunded.Refunded = 1000
	ev := func(k GatewayEventKind) GatewayEvent { return GatewayEvent{Kind: k, At: t0.Add(time.Hour)} }
	for name, tc := range map[string]struct {
		charge GatewayCharge
		event  GatewayEvent
		want   GatewayAction
		check  func(t *testing.T, p GatewayPlan)
	}{
		"unknown charge":                         {GatewayCharge{}, ev(GatewaySucceeded), GatewayNothing, nil},
		"processing: pending becomes processing": {GatewayCharge{Attempt: attempt("pending")}, ev(GatewayProcessing), GatewayMarkProcessing, nil},
		"processing after succeeded: nothing":    {GatewayCharge{Attempt: attempt("succeeded"), Payment: posted}, ev(GatewayProcessing), GatewayNothing, nil},
		"processing twice: nothing":              {GatewayCharge{Attempt: attempt("processing")}, ev(GatewayProcessing), GatewayNothing, nil},
		"succeeded: processing is posted":        {GatewayCharge{Attempt: attempt("processing")}, ev(GatewaySucceeded), GatewayPost, nil},
		"succeeded: pending is posted":           {GatewayCharge{Attempt: attempt("pending")}, ev(GatewaySucceeded), GatewayPost, nil},
		"succeeded after a failed try: posted":   {GatewayCharge{Attempt: attempt("failed")}, ev(GatewaySucceeded), GatewayPost, nil},
		"a success delivered after its return: nothing": {GatewayCharge{Attempt: attempt("failed"), SettledAt: t0.Add(72 * time.Hour)},
			GatewayEvent{Kind: GatewaySucceeded, At: t0}, GatewayNothing, nil},
		"succeeded twice: nothing": {GatewayCharge{Attempt: attempt("succeeded"), Payment: posted}, ev(GatewaySucceeded), GatewayNothing, nil},
		"failed: processing fails": {GatewayCharge{Attempt: attempt("processing")}, GatewayEvent{Kind: GatewayFailed, Reason: "insufficient_funds"}, GatewayFail,
			func(t *testing.T, p GatewayPlan) {
				if p.AttemptStatus != "failed" || p.FailureCode != "insufficient_funds" {
					t.Fatalf("%+v", p)
				}
			}},
		"failed after succeeded: nothing": {GatewayCharge{Attempt: attempt("succeeded"), Payment: posted}, ev(GatewayFailed), GatewayNothing, nil},
		"returned before settling: fails with the code": {GatewayCharge{Attempt: attempt("processing")}, GatewayEvent{Kind: GatewayReturned, Reason: "R01"}, GatewayFail,
			func(t *testing.T, p GatewayPlan) {
				if p.FailureCode != "R01" || p.FailureMessage != "the bank returned the payment (R01)" {
					t.Fatalf("%+v", p)
				}
			}},
		"returned after success: reversed as NSF": {GatewayCharge{Attempt: attempt("succeeded"), SettledAt: t0, Payment: posted},
			GatewayEvent{Kind: GatewayReturned, Reason: "R01", At: t0.Add(72 * time.Hour)}, GatewayReverse,
			func(t *testing.T, p GatewayPlan) {
				if p.Reversal.Reason != ReverseNSF || p.Reversal.Memo != "ACH return R01" {
					t.Fatalf("%+v", p.Reversal)
				}
			}},
		"an earlier try's failure delivered after the success: nothing": {GatewayCharge{Attempt: attempt("succeeded"), SettledAt: t0, Payment: posted},
			GatewayEvent{Kind: GatewayReturned, At: t0.Add(-time.Minute)}, GatewayNothing, nil},
		"returned twice: nothing": {GatewayCharge{Attempt: attempt("succeeded"), Payment: reversedBy("nsf: ACH return R01")}, ev(GatewayReturned), GatewayNothing, nil},
		"disputed: reversed as chargeback": {GatewayCharge{Attempt: attempt("succeeded"), Payment: posted}, ev(GatewayDisputed), GatewayReverse,
			func(t *testing.T, p GatewayPlan) {
				if p.Reversal.Reason != ReverseChargeback {
					t.Fatalf("%+v", p.Reversal)
				}
			}},
		"disputed twice: nothing": {GatewayCharge{Payment: reversedBy("chargeback: dispute")}, ev(GatewayDisputed), GatewayNothing, nil},
		"dispute lost: nothing":   {GatewayCharge{Payment: reversedBy("chargeback: dispute")}, ev(GatewayDisputeLost), GatewayNothing, nil},
		"dispute won: posted again": {GatewayCharge{Payment: reversedBy("chargeback: dispute")}, ev(GatewayDisputeWon), GatewayRepost, func(t *testing.T, p GatewayPlan) {
			if p.RepostAmount != 5000 {
				t.Fatalf("repost %d", p.RepostAmount)
			}
		}},
		"dispute won of an NSF reversal: nothing":  {GatewayCharge{Payment: reversedBy("nsf")}, ev(GatewayDisputeWon), GatewayNothing, nil},
		"dispute won before the reversal: nothing": {GatewayCharge{Payment: posted}, ev(GatewayDisputeWon), GatewayNothing, nil},
		"dashboard refund: recorded, taken from the newest invoice": {GatewayCharge{Payment: posted, Allocated: 4500, RecordedRefunds: []string{"re_ours"}},
			GatewayEvent{Kind: GatewayRefunded, Refunds: []GatewayRefund{{ID: "re_ours", Amount: 500, TollgateRefundID: "3", Settled: true},
				{ID: "re_dash", Amount: 2000, Settled: true}, {ID: "re_failed", Amount: 100}}}, GatewayRefundAction,
			func(t *testing.T, p GatewayPlan) {
				if len(p.Refunds) != 1 || p.Refunds[0].ID != "re_dash" || p.Refunds[0].Amount != 2000 {
					t.Fatalf("refunds %+v", p.Refunds)
				}
				// 500 unapplied pays first; 1500 comes back from invoice B (the newest).
				if len(p.Unallocate) != 1 || p.Unallocate[0].InvoiceID != 2 || p.Unallocate[0].Amount != 1500 {
					t.Fatalf("unallocate %+v", p.Unallocate)
				}
			}},
		"refund Tollgate made: nothing": {GatewayCharge{Payment: &partlyRefunded},
			GatewayEvent{Kind: GatewayRefunded, Refunds: []GatewayRefund{{ID: "re_1", Amount: 1000, TollgateRefundID: "3", Settled: true}}}, GatewayNothing, nil},
		"dashboard refund already recorded: nothing": {GatewayCharge{Payment: &partlyRefunded, RecordedRefunds: []string{"re_dash"}},
			GatewayEvent{Kind: GatewayRefunded, Refunds: []GatewayRefund{{ID: "re_dash", Amount: 1000, Settled: true}}}, GatewayNothing, nil},
		"no refund list: the total beyond ours": {GatewayCharge{Payment: &partlyRefunded, Allocated: 0},
			GatewayEvent{Kind: GatewayRefunded, Amount: 1600}, GatewayRefundAction, func(t *testing.T, p GatewayPlan) {
				if len(p.Refunds) != 1 || p.Refunds[0].Amount != 600 || len(p.Unallocate) != 0 {
					t.Fatalf("%+v", p)
				}
			}},
		"refund of a reversed payment: nothing": {GatewayCharge{Payment: reversedBy("chargeback")}, GatewayEvent{Kind: GatewayRefunded, Amount: 5000}, GatewayNothing, nil},
	} {
		t.Run(name, func(t *testing.T) {
			p := PlanGatewayEvent(tc.charge, tc.event)
			if p.Action != tc.want || p.Why == "" {
				t.Fatalf("action %s (%s), want %s", p.Action, p.Why, tc.want)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}
