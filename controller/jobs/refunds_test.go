package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestRefundRecovery: refunds left pending (the request crashed between
// reserving and the gateway call, or between the gateway call and the
// journal) are settled by the recovery job from what the gateway lists:
// a refund the gateway made (found by metadata tollgate_refund_id) is
// completed with it and never sent again; one it never got is sent again
// with its own key while the key is younger than 23 h; an older one is
// flagged for staff, listed as needing attention, and not sent.
func TestRefundRecovery(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, now)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sub", AccountTypeID: typ.ID, Currency: "USD", AnchorDate: billing.NewDate(2026, 12, 1)}, now)
	if err != nil {
		t.Fatal(err)
	}
	sandbox := payments.NewSandbox()
	sandbox.SetClock(clk)
	sandbox.SetLogger(quiet)
	charger := charge.New(sandbox, db, clk, quiet)
	pm, err := sandbox.Tokenize(ctx, payments.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := charger.AddToken(ctx, a.ID, pm, true); err != nil {
		t.Fatal(err)
	}
	att, err := charger.Charge(ctx, a.ID, 0, 10000, billing.TriggerStaff, "charge-1", nil, 1)
	if err != nil || att.PaymentID == nil {
		t.Fatalf("charge: %+v %v", att, err)
	}
	pid := *att.PaymentID
	reserve := func(key string, amount int64) billing.Refund {
		t.Helper()
		r, _, err := db.ReserveRefund(ctx, billing.RefundRequest{PaymentID: pid, Amount: amount, IdempotencyKey: key}, "test", clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// 1: the gateway made it, the journal was never written.
	made := reserve("k-made", 1500)
	if _, err := sandbox.Refund(ctx, payments.RefundRequest{ChargeID: att.ChargeID, Amount: 1500, IdempotencyKey: "k-made",
		RefundID: strconv.FormatInt(made.ID, 10)}); err != nil {
		t.Fatal(err)
	}
	// 2: reserved, the gateway never asked.
	unsent := reserve("k-unsent", 700)
	// 3: reserved a day ago, the gateway never asked.
	clk.Set(now.Add(-24 * time.Hour))
	stale := reserve("k-stale", 300)
	clk.Set(now)
	if p, _ := db.Payment(ctx, pid); p.RefundReserved != 2500 || p.Refunded != 0 || p.Unallocated != 7500 {
		t.Fatalf("reserved payment: %+v", p)
	}

	r := &Runner{cfg: Config{}.withDefaults(), store: storesOf(db), clock: clk, log: quiet, refunds: charger}
	w := &gatewayRecoveryWorker{r: r}
	// Refunds younger than GatewayRecoveryAfter are left to their requests.
	if err := w.Work(ctx, &river.Job[GatewayRecoveryArgs]{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Refund(ctx, made.ID); got.Status != billing.RefundPending {
		t.Fatalf("a fresh pending refund was settled by recovery: %+v", got)
	}
	clk.Set(now.Add(5 * time.Minute))
	if err := w.Work(ctx, &river.Job[GatewayRecoveryArgs]{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Refund(ctx, made.ID); got.Status != billing.RefundCompleted || got.GatewayRefund == "" {
		t.Errorf("the refund the gateway made: %+v", got)
	}
	if got, _ := db.Refund(ctx, unsent.ID); got.Status != billing.RefundCompleted {
		t.Errorf("the refund never sent, under 23 h old: %+v", got)
	}
	got, _ := db.Refund(ctx, stale.ID)
	if got.Status != billing.RefundPending || got.NeedsAttention == "" {
		t.Errorf("the refund never sent, over 23 h old: %+v", got)
	}
	flagged, err := db.Refunds(ctx, billing.RefundFilter{NeedsAttention: true})
	if err != nil || len(flagged) != 1 || flagged[0].ID != stale.ID {
		t.Errorf("refunds needing attention: %+v %v", flagged, err)
	}
	// The gateway was asked once for "made" (by the crashed request), once
	// for "unsent" (by recovery), never for "stale".
	log := sandbox.RefundLog()
	if len(log) != 2 || log[1].RefundID != strconv.FormatInt(unsent.ID, 10) || log[1].IdempotencyKey != "k-unsent" {
		t.Errorf("gateway refund requests: %+v", log)
	}
	p, _ := db.Payment(ctx, pid)
	if p.Refunded != 2200 || sandbox.Refunded(att.ChargeID) != 2200 || p.RefundReserved != 300 {
		t.Errorf("ledger refunded %d (reserved %d), gateway refunded %d; want 2200 both, 300 reserved", p.Refunded, p.RefundReserved, sandbox.Refunded(att.ChargeID))
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != -10000+2200 {
		t.Errorf("balance %d", bal)
	}
	// A second run changes nothing and sends nothing.
	if err := w.Work(ctx, &river.Job[GatewayRecoveryArgs]{}); err != nil {
		t.Fatal(err)
	}
	if len(sandbox.RefundLog()) != 2 {
		t.Errorf("a second recovery run reached the gateway: %+v", sandbox.RefundLog())
	}
}

// TestChargeRecovery: a charge whose answer is lost (the gateway charged,
// the answer never arrived) stays a pending attempt — never "error", which
// let autopay charge again under a new key and told portal subscribers they
// were not charged — and the recovery job settles it by sending the same
// request with the same key: the gateway replays its first answer, the
// payment is posted once with the gateway's charge, and nothing is charged
// twice. An attempt older than 23 h is flagged for staff, not re-sent.
func TestChargeRecovery(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, now)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sub", AccountTypeID: typ.ID, Currency: "USD", AnchorDate: billing.NewDate(2026, 12, 1)}, now)
	if err != nil {
		t.Fatal(err)
	}
	sb := payments.NewSandbox()
	sb.SetClock(clk)
	sb.SetLogger(quiet)
	// The sandbox over HTTP, losing the answer of the next charge it makes.
	var loseAnswer atomic.Bool
	var charges atomic.Int32
	var lostMu sync.Mutex
	var lost []string // ids of the charges whose answers were lost
	inner := sb.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/charges" {
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, r)
			if !strings.Contains(rec.Body.String(), `"id"`) {
				t.Errorf("sandbox charge: %s", rec.Body)
			}
			if loseAnswer.CompareAndSwap(true, false) {
				charges.Add(1)
				var ch payments.Charge
				_ = json.Unmarshal(rec.Body.Bytes(), &ch)
				lostMu.Lock()
				lost = append(lost, ch.ID)
				lostMu.Unlock()
				http.Error(w, "upstream timed out", http.StatusGatewayTimeout)
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	gw, err := payments.NewSandboxClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	charger := charge.New(gw, db, clk, quiet)
	pm, err := gw.RetrievePaymentMethod(ctx, "pm_card_visa")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := charger.AddToken(ctx, a.ID, pm, true); err != nil {
		t.Fatal(err)
	}

	loseAnswer.Store(true)
	att, err := charger.Charge(ctx, a.ID, 0, 5000, billing.TriggerPortal, "portal-1", nil, 0)
	if !errors.Is(err, charge.ErrChargeUnsettled) || att.Status != "pending" || att.ID == 0 {
		t.Fatalf("charge with a lost answer: %+v %v", att, err)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != 0 {
		t.Fatalf("balance %d before the charge is settled", bal)
	}
	// A stale one: pending since yesterday, never to be re-sent.
	clk.Set(now.Add(-24 * time.Hour))
	loseAnswer.Store(true)
	stale, err := charger.Charge(ctx, a.ID, 0, 700, billing.TriggerStaff, "staff-1", nil, 1)
	if !errors.Is(err, charge.ErrChargeUnsettled) {
		t.Fatalf("stale charge: %+v %v", stale, err)
	}
	clk.Set(now.Add(5 * time.Minute))

	r := &Runner{cfg: Config{}.withDefaults(), store: storesOf(db), clock: clk, log: quiet, refunds: charger}
	if err := (&gatewayRecoveryWorker{r: r}).Work(ctx, &river.Job[GatewayRecoveryArgs]{}); err != nil {
		t.Fatal(err)
	}
	as, err := db.PaymentAttempts(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[int64]billing.PaymentAttempt{}
	for _, x := range as {
		byKey[x.ID] = x
	}
	got := byKey[att.ID]
	if got.Status != "succeeded" || got.PaymentID == nil || got.ChargeID == "" {
		t.Fatalf("recovered attempt: %+v", got)
	}
	if s := byKey[stale.ID]; s.Status != "pending" || s.NeedsAttention == "" {
		t.Fatalf("stale attempt: %+v", s)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != -5000 {
		t.Fatalf("balance %d after recovery, want -5000 (one payment)", bal)
	}
	// The re-sent request replayed the first charge: no second charge.
	if charges.Load() != 2 || lost[0] != got.ChargeID {
		t.Fatalf("the recovered attempt's charge %s is not the one the gateway made (%v)", got.ChargeID, lost)
	}
	// The client's own retry with the key gets the settled attempt.
	again, err := charger.Charge(ctx, a.ID, 0, 5000, billing.TriggerPortal, "portal-1", nil, 0)
	if err != nil || again.ID != att.ID || again.Status != "succeeded" {
		t.Fatalf("retry: %+v %v", again, err)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != -5000 {
		t.Fatalf("balance %d after the retry", bal)
	}
}
