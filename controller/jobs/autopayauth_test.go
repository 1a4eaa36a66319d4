package jobs

import (
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// An autopay charge of a card whose bank wants the cardholder to
// authenticate cannot be made off session: the attempt fails with
// authentication_required and the subscriber gets a payment_authentication
// notice (queued like every notice, its job in the same transaction when
// the store has notice jobs) asking them to pay in the portal; a staff charge
// that fails the same way queues none.
func TestAutopayNeedingAuthenticationNotifiesTheSubscriber(t *testing.T) {
	f := newGatewayFixture(t)
	ctx, db, now, typ, sandbox, charger := f.ctx, f.db, f.now, f.typ, f.sandbox, f.charger
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sam Secure", Email: "sam@example.net", AccountTypeID: typ.ID, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := charger.SaveMethod(ctx, a.ID, "pm_card_visa", true, "", "k-visa"); err != nil {
		t.Fatal(err)
	}
	// Saved after authenticating once, as a subscriber would in the portal.
	m, in, err := charger.SaveMethod(ctx, a.ID, "pm_card_authenticationRequired", true, "https://pay.example.net/portal/methods/return", "k-3ds")
	if err != nil || in.Status != payments.IntentRequiresAction || m.ID != 0 {
		t.Fatalf("saving a 3-D Secure card: %+v %+v %v", m, in, err)
	}
	if _, _, err := sandbox.Authenticate(ctx, in.ID, true); err != nil {
		t.Fatal(err)
	}
	if m, _, err = charger.FinishSetup(ctx, a.ID, in.ID, true); err != nil || m.ID == 0 || !m.Default {
		t.Fatalf("finishing the setup: %+v %v", m, err)
	}

	staff, err := charger.Charge(ctx, a.ID, m.ID, 1500, billing.TriggerStaff, "staff-1", nil, 1)
	if err != nil || staff.Status != "failed" || staff.FailureCode != payments.FailureAuthenticationRequired {
		t.Fatalf("staff charge: %+v %v", staff, err)
	}
	auto, err := charger.Charge(ctx, a.ID, 0, 2500, billing.TriggerAutopay, "autopay-1", nil, 1)
	if err != nil || auto.Status != "failed" || auto.FailureCode != payments.FailureAuthenticationRequired {
		t.Fatalf("autopay charge: %+v %v", auto, err)
	}
	ns, err := db.Notices(ctx, billing.NoticeFilter{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].Kind != billing.NoticeAuthenticate || ns[0].To != "sam@example.net" || ns[0].Data.Amount != 2500 {
		t.Fatalf("notices: %+v", ns)
	}
	if ns[0].Status != billing.NoticeQueued {
		t.Fatalf("notice status %s, want queued", ns[0].Status)
	}
}
