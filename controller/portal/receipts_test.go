package portal_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestReceiptPageAndPDF: every payment on the account page links its
// receipt; the receipt page says the amount, the card's brand and last 4,
// the invoice paid and the balance after it, and its PDF is a PDF; a
// bank payment still settling is listed as pending (not on the balance);
// another account's receipt is 404.
func TestReceiptPageAndPDF(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := e.owing("Rhea", "p1", "10.1.0.70", due(5), 5000)
	other := e.owing("Otto", "p1", "10.1.0.71", due(5), 5000)
	m, err := e.db.AddPaymentMethod(ctx, billing.StoredMethod{AccountID: s.account.ID, Gateway: "sandbox", Token: "tok_r", Kind: "card",
		Brand: "visa", Last4: "4242"}, true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	pay := func(account, method, amount int64, key string, outcome billing.PaymentAttempt) billing.PaymentAttempt {
		t.Helper()
		a, _, err := e.db.BeginAttempt(ctx, billing.PaymentAttempt{AccountID: account, PaymentMethodID: method, Amount: amount, Currency: "USD",
			Trigger: billing.TriggerPortal, Gateway: "sandbox", IdempotencyKey: key}, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if a, err = e.db.FinishAttempt(ctx, a.ID, outcome, testNow); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := pay(s.account.ID, m.ID, 6000, "r-1", billing.PaymentAttempt{Status: "succeeded", ChargeID: "ch_sandbox_r1"})
	if a.PaymentID == nil {
		t.Fatalf("not posted: %+v", a)
	}
	bank, err := e.db.AddPaymentMethod(ctx, billing.StoredMethod{AccountID: s.account.ID, Gateway: "sandbox", Token: "ba_r", Kind: "bank_account", Last4: "6789"}, false, testNow)
	if err != nil {
		t.Fatal(err)
	}
	pay(s.account.ID, bank.ID, 1500, "r-2", billing.PaymentAttempt{Status: "processing", ChargeID: "ch_sandbox_r2"})
	om, err := e.db.AddPaymentMethod(ctx, billing.StoredMethod{AccountID: other.account.ID, Gateway: "sandbox", Token: "tok_o", Kind: "card", Last4: "1111"}, true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	oa := pay(other.account.ID, om.ID, 1000, "o-1", billing.PaymentAttempt{Status: "succeeded", ChargeID: "ch_sandbox_o1"})

	b := e.browser()
	b.signInWithCode(s.account)
	id := *a.PaymentID
	acct := b.get("/account").must(t, 200, fmt.Sprintf("Receipt %d", id), "Pending: on its way from your bank")
	if !strings.Contains(acct.body, fmt.Sprintf("/receipts/%d/pdf", id)) {
		t.Fatalf("no PDF link on the account page:\n%s", acct.body)
	}
	b.get(fmt.Sprintf("/receipts/%d", id)).must(t, 200, "$60.00", "Visa ending 4242", fmt.Sprintf("INV-%d", s.invoice), "Credit after this payment: $10.00")
	pdf := b.get(fmt.Sprintf("/receipts/%d/pdf", id))
	if pdf.status != 200 || pdf.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.body, "%PDF-") {
		t.Fatalf("receipt PDF: %d %s %.20q", pdf.status, pdf.header.Get("Content-Type"), pdf.body)
	}
	b.get(fmt.Sprintf("/receipts/%d", *oa.PaymentID)).must(t, 404)
	b.get(fmt.Sprintf("/receipts/%d/pdf", *oa.PaymentID)).must(t, 404)
}
