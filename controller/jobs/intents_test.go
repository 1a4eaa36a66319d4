package jobs

import (
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// TestLostWebhookPostsThePayment: a payment the gateway reported
// processing succeeds at the gateway, and its webhook is dropped (the
// browser closed too). The gateway recovery job asks the gateway about it
// once it has been processing for 5 minutes and posts it — within 10
// minutes of the injected clock — once; a declined one is failed, with no
// payment. Before 5 minutes nothing is asked.
func TestLostWebhookPostsThePayment(t *testing.T) {
	f := newGatewayFixture(t)
	ctx, quiet, db, now, clk, typ, sandbox, charger := f.ctx, f.quiet, f.db, f.now, f.clk, f.typ, f.sandbox, f.charger
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sub", AccountTypeID: typ.ID, Currency: "USD", AnchorDate: billing.NewDate(2026, 12, 1)}, now)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, Config{DisableSchedule: true}, db, clk, quiet)
	r.UseRefundRecoverer(charger)
	if n, err := r.ReconcileIntents(ctx); n != 0 || err != nil {
		t.Fatalf("without a lookup: %d %v", n, err)
	}
	r.UseIntentLookup(db, sandbox.Name(), payments.IntentNews{Retriever: sandbox})

	// A processing attempt whose charge succeeded (or was declined) at the
	// gateway; the webhook saying so never arrives.
	processing := func(card, key string, amount int64) billing.PaymentAttempt {
		t.Helper()
		pm, err := sandbox.Tokenize(ctx, payments.CardInput{Number: card, ExpMonth: 12, ExpYear: 2030})
		if err != nil {
			t.Fatal(err)
		}
		m, err := charger.AddToken(ctx, a.ID, pm, false)
		if err != nil {
			t.Fatal(err)
		}
		att, _, err := db.BeginAttempt(ctx, billing.PaymentAttempt{AccountID: a.ID, PaymentMethodID: m.ID, Amount: amount, Currency: "USD",
			Trigger: billing.TriggerPortal, Gateway: "sandbox", IdempotencyKey: key}, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		ch, err := sandbox.Charge(ctx, payments.ChargeRequest{Token: pm.Token, Amount: amount, Currency: "USD", IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if att, err = db.FinishAttempt(ctx, att.ID, billing.PaymentAttempt{Status: "processing", ChargeID: ch.ID}, clk.Now()); err != nil || att.Status != "processing" {
			t.Fatalf("processing: %+v %v", att, err)
		}
		return att
	}
	paid := processing("4242424242424242", "portal-1", 2500)
	declined := processing("4000000000009995", "portal-2", 1200)
	work := func() {
		t.Helper()
		if err := (&gatewayRecoveryWorker{r: r}).Work(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	attempt := func(id int64) billing.PaymentAttempt {
		t.Helper()
		as, err := db.PaymentAttempts(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range as {
			if x.ID == id {
				return x
			}
		}
		t.Fatalf("attempt %d not listed", id)
		return billing.PaymentAttempt{}
	}

	clk.Add(4 * time.Minute)
	work()
	if got := attempt(paid.ID); got.Status != "processing" {
		t.Fatalf("settled before 5 minutes: %+v", got)
	}
	clk.Add(2 * time.Minute) // 6 minutes after the payment
	work()
	got := attempt(paid.ID)
	if got.Status != "succeeded" || got.PaymentID == nil {
		t.Fatalf("the job did not post the payment: %+v", got)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != -2500 {
		t.Fatalf("balance %d after the job posted the payment", bal)
	}
	if d := attempt(declined.ID); d.Status != "failed" || d.FailureCode != payments.FailureInsufficientFunds || d.PaymentID != nil {
		t.Fatalf("declined: %+v", d)
	}
	// Later runs change nothing (the attempts are settled).
	clk.Add(3 * time.Minute)
	work()
	if n, err := r.ReconcileIntents(ctx); n != 0 || err != nil {
		t.Fatalf("asked again about settled payments: %d %v", n, err)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != -2500 {
		t.Fatalf("balance %d: posted twice", bal)
	}
}
