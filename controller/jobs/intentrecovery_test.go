package jobs

import (
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// A portal payment waiting for 3-D Secure is a pending attempt carrying its
// PaymentIntent's id (written before the intent was confirmed). Recovery
// never sends it again: it retrieves the intent, leaves the attempt pending
// while the payer may still authenticate, and posts the payment once the
// intent succeeded; the return URL's settle after that changes nothing.
func TestRecoveryRetrievesAnIntentAndNeverResendsIt(t *testing.T) {
	f := newGatewayFixture(t)
	ctx, db, now, clk, typ, sandbox, charger := f.ctx, f.db, f.now, f.clk, f.typ, f.sandbox, f.charger
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Pat Pending", AccountTypeID: typ.ID, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	m, err := charger.AddBrowserMethod(ctx, a.ID, "pm_card_authenticationRequired", false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := charger.PayOnSession(ctx, a.ID, m.ID, 4200, billing.TriggerPortal, "portal:1:form", false, "https://pay.example.net/portal/pay/return")
	if err != nil || res.Attempt.Status != "pending" || res.NextActionURL == "" || res.Attempt.ChargeID == "" {
		t.Fatalf("on-session payment of a 3-D Secure card: %+v %v", res, err)
	}
	clk.Set(now.Add(5 * time.Minute))
	got, err := charger.RecoverAttempt(ctx, res.Attempt)
	if err != nil || got.Status != "pending" {
		t.Fatalf("recovery while the payer may still authenticate: %+v %v", got, err)
	}
	// The same form again finds the same attempt and intent.
	again, err := charger.PayOnSession(ctx, a.ID, m.ID, 4200, billing.TriggerPortal, "portal:1:form", false, "https://pay.example.net/portal/pay/return")
	if err != nil || again.Attempt.ID != res.Attempt.ID || again.Attempt.ChargeID != res.Attempt.ChargeID {
		t.Fatalf("the same form again: %+v %v", again, err)
	}
	if _, _, err := sandbox.Authenticate(ctx, res.Attempt.ChargeID, true); err != nil {
		t.Fatal(err)
	}
	got, err = charger.RecoverAttempt(ctx, got)
	if err != nil || got.Status != "succeeded" || got.PaymentID == nil {
		t.Fatalf("recovery after the payer authenticated: %+v %v", got, err)
	}
	if _, _, err := charger.FinishReturn(ctx, a.ID, res.Attempt.ChargeID); err != nil {
		t.Fatalf("the return URL after recovery: %v", err)
	}
	if _, _, err := charger.FinishReturn(ctx, a.ID+1000, res.Attempt.ChargeID); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("another account's return: %v", err)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != -4200 {
		t.Fatalf("balance %d, want -4200 (one payment)", bal)
	}
	var attempts int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM payment_attempts WHERE account_id = $1`, a.ID).Scan(&attempts); err != nil || attempts != 1 {
		t.Fatalf("%d attempts (%v)", attempts, err)
	}
}
