package payments

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestSandboxStateSurvivesRestart: a sandbox opened on a state file answers,
// after being reopened (a new process), for the methods, charges, refunds
// and idempotency keys it saw before — and serves them over HTTP to a
// SandboxClient exactly as the in-process sandbox does.
func TestSandboxStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	open := func() (*Sandbox, *SandboxClient) {
		t.Helper()
		sb, err := OpenSandbox(path, "whsec_x")
		if err != nil {
			t.Fatal(err)
		}
		sb.SetClock(clock.NewFixed(sandboxNow))
		srv := httptest.NewServer(sb.Handler())
		t.Cleanup(srv.Close)
		c, err := NewSandboxClient(srv.URL, nil, "whsec_x")
		if err != nil {
			t.Fatal(err)
		}
		return sb, c
	}
	sb1, c1 := open()
	pm := mustTokenize(t, c1, "4242424242424242")
	ch, err := c1.Charge(ctx, ChargeRequest{Token: pm.Token, Amount: 5000, Currency: "USD", IdempotencyKey: "c1"})
	if err != nil || ch.Status != ChargeSucceeded {
		t.Fatalf("charge: %+v %v", ch, err)
	}
	r1, err := c1.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 1200, IdempotencyKey: "r1", RefundID: "7"})
	if err != nil || r1.TollgateRefundID != "7" || r1.Amount != 1200 {
		t.Fatalf("refund: %+v %v", r1, err)
	}
	// Errors keep their codes over HTTP.
	if _, err := c1.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 9999, IdempotencyKey: "r2", RefundID: "8"}); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("refund beyond the charge: %v", err)
	}
	if _, err := c1.ListRefunds(ctx, "ch_sandbox_nope"); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("list refunds of an unknown charge: %v", err)
	}
	if got := len(sb1.RefundLog()); got != 2 {
		t.Fatalf("refund log has %d entries, want 2", got)
	}

	// "Restart": a new sandbox on the same file.
	sb2, c2 := open()
	if again, err := c2.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 1200, IdempotencyKey: "r1", RefundID: "7"}); err != nil || again.ID != r1.ID {
		t.Fatalf("the key's replay after the restart: %+v %v (want %s)", again, err, r1.ID)
	}
	list, err := c2.ListRefunds(ctx, ch.ID)
	if err != nil || len(list) != 1 || list[0].ID != r1.ID || list[0].TollgateRefundID != "7" {
		t.Fatalf("refunds after the restart: %+v %v", list, err)
	}
	if _, err := c2.Charge(ctx, ChargeRequest{Token: pm.Token, Amount: 100, Currency: "USD", IdempotencyKey: "c2"}); err != nil {
		t.Fatalf("the token after the restart: %v", err)
	}
	if sb2.Refunded(ch.ID) != 1200 || len(sb2.RefundLog()) != 3 {
		t.Fatalf("after the restart: refunded %d, log %+v", sb2.Refunded(ch.ID), sb2.RefundLog())
	}
}
