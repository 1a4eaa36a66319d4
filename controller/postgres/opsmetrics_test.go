package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// postedRecorder records what the store reports as posted.
type postedRecorder struct {
	mu  sync.Mutex
	got []billing.Payment
}

func (r *postedRecorder) PaymentPosted(method billing.PaymentMethod, currency billing.Currency, amount int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, billing.Payment{Method: method, Currency: currency, Amount: amount})
}

// The payments observer hears of every payment posted, after its
// transaction committed: a refused batch reports nothing, a posted one each
// line, a single payment itself.
func TestPaymentsObserverHearsOfCommittedPayments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	rec := &postedRecorder{}
	db.ObservePayments(rec)
	a, _ := billedAccount(t, db)
	b, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: billing.NewDate(2026, 12, 5), DepositAccount: "First Bank ****1234"}, "clerk", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddBatchLines(ctx, b.ID, []billing.BatchLine{
		{Account: a.Number, Method: billing.PayCheck, Amount: 1500, Reference: "501", Payer: "Jane"},
		{Account: "A-999999", Method: billing.PayCash, Amount: 2000},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PostBatch(ctx, b.ID, "clerk", t0); err == nil {
		t.Fatal("a batch with an unknown account posted")
	}
	if len(rec.got) != 0 {
		t.Fatalf("a refused batch reported %+v as posted", rec.got)
	}
	if _, err := db.UpdateBatchLine(ctx, b.ID, billing.BatchLine{LineNo: 2, Account: a.Number, Method: billing.PayCash, Amount: 2000}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PostBatch(ctx, b.ID, "clerk", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayWire, Amount: 700}, "clerk", t0); err != nil {
		t.Fatal(err)
	}
	want := []billing.Payment{{Method: billing.PayCheck, Currency: a.Currency, Amount: 1500}, {Method: billing.PayCash, Currency: a.Currency, Amount: 2000},
		{Method: billing.PayWire, Currency: a.Currency, Amount: 700}}
	if len(rec.got) != len(want) {
		t.Fatalf("reported %+v, want %+v", rec.got, want)
	}
	for i := range want {
		if g := rec.got[i]; g.Method != want[i].Method || g.Currency != want[i].Currency || g.Amount != want[i].Amount {
			t.Errorf("payment %d reported as %+v, want %+v", i, g, want[i])
		}
	}
}

// LastBillingRuns names every account type, with when its latest completed
// run finished.
func TestLastBillingRunsPerAccountType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, _ := fixture(t, db, 2, billing.NewDate(2026, 12, 1))
	runs, err := db.LastBillingRuns(ctx)
	if err != nil || len(runs) != 1 || runs[0].AccountType != typ.Name || runs[0].TimeZone != typ.TimeZone || runs[0].FinishedAt != nil {
		t.Fatalf("before any run: %+v %v", runs, err)
	}
	run := runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10)
	runs, err = db.LastBillingRuns(ctx)
	if err != nil || len(runs) != 1 || runs[0].FinishedAt == nil || !runs[0].FinishedAt.Equal(*run.FinishedAt) {
		t.Fatalf("after run %+v: %+v %v", run, runs, err)
	}
}
