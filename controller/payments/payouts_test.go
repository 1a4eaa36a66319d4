package payments

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// The sandbox's daily payouts: a day's succeeded charges, less the refunds
// made that day; declined charges pay nothing out. The same over HTTP.
func TestSandboxDailyPayouts(t *testing.T) {
	ctx := context.Background()
	s := newTestSandbox(t)
	day1, day2 := time.Date(2026, 10, 5, 15, 0, 0, 0, time.UTC), time.Date(2026, 10, 6, 9, 0, 0, 0, time.UTC)
	s.SetClock(clock.NewFixed(day1))
	pm := mustTokenize(t, s, "4242424242424242")
	declined := mustTokenize(t, s, "4000000000000002")
	first, err := s.Charge(ctx, usd(pm.Token, 5000, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Charge(ctx, usd(pm.Token, 2000, "k2")); err != nil {
		t.Fatal(err)
	}
	if ch, err := s.Charge(ctx, usd(declined.Token, 9900, "k3")); err != nil || ch.Status != ChargeFailed {
		t.Fatalf("declined charge: %+v %v", ch, err)
	}
	s.SetClock(clock.NewFixed(day2))
	if _, err := s.Refund(ctx, RefundRequest{ChargeID: first.ID, Amount: 500, IdempotencyKey: "r1", RefundID: "1"}); err != nil {
		t.Fatal(err)
	}
	want := []Payout{
		{ID: "po_sandbox_20261005_USD", Date: billing.NewDate(2026, 10, 5), Currency: "USD", Amount: 7000, Charges: 7000},
		{ID: "po_sandbox_20261006_USD", Date: billing.NewDate(2026, 10, 6), Currency: "USD", Amount: -500, Refunds: 500},
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	remote, err := NewSandboxClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []Gateway{s, remote} {
		got, err := g.Payouts(ctx, billing.NewDate(2026, 10, 1), billing.NewDate(2026, 10, 31))
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%T payouts %+v %v\nwant %+v", g, got, err, want)
		}
		if only, err := g.Payouts(ctx, billing.NewDate(2026, 10, 6), billing.NewDate(2026, 10, 6)); err != nil || len(only) != 1 || only[0].Amount != -500 {
			t.Errorf("%T Oct 6 only: %+v %v", g, only, err)
		}
		_, err = g.Payouts(ctx, billing.NewDate(2026, 10, 6), billing.NewDate(2026, 10, 5))
		wantCode(t, err, billing.EINVALID, "payout period")
	}
}

// The Stripe adapter asks for the period's payout balance transactions
// (stripe-mock checks the request's shape only).
func TestStripePayoutsRequestShape(t *testing.T) {
	g, rec := newStripeForMock(t, StripeConfig{})
	if _, err := g.Payouts(context.Background(), billing.NewDate(2026, 10, 1), billing.NewDate(2026, 10, 31)); err != nil {
		t.Fatal(err)
	}
	var listed []recordedRequest
	for _, r := range rec.requests() {
		if r.Method == "GET" && r.Path == "/v1/balance_transactions" {
			listed = append(listed, r)
		}
	}
	// The period's payouts, then each payout's transactions.
	if len(listed) != 2 || listed[1].Form.Get("payout") == "" || listed[0].Status != 200 || listed[1].Status != 200 {
		t.Fatalf("balance transaction requests %+v", listed)
	}
	wantForm(t, listed[0], map[string]string{"type": "payout",
		"created[gte]": fmt.Sprint(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Unix()),
		"created[lt]":  fmt.Sprint(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Unix())})
}
