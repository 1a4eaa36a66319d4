package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestRefundSurvivesSIGKILLAfterTheGatewayCall kills a real controller
// between the gateway's refund and the journal write: the sandbox gateway
// runs in the test process (with a state file), outliving the controller;
// when the controller's refund request arrives, the sandbox makes the
// refund and the test SIGKILLs the controller before it hears the answer.
// After a restart the refund recovery job finds the refund at the gateway by
// its tollgate_refund_id and completes it: the ledger matches the gateway,
// and the refund was never sent a second time.
func TestRefundSurvivesSIGKILLAfterTheGatewayCall(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	dir := t.TempDir()

	sb, err := payments.OpenSandbox(filepath.Join(dir, "sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ctrl atomic.Pointer[process]
	var killOnRefund atomic.Bool
	killed := make(chan struct{})
	sandbox := sb.Handler()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/refunds" && killOnRefund.CompareAndSwap(true, false) {
			sandbox.ServeHTTP(httptest.NewRecorder(), r) // the refund is made and saved
			p := ctrl.Load()
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Error(err)
			}
			<-p.done
			close(killed)
			panic(http.ErrAbortHandler) // the answer never reaches anyone
		}
		sandbox.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)

	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, "controller.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true}
jobs: {tick_interval: 24h, gateway_recovery_interval: 1s, gateway_recovery_after: 1s}
payments:
  gateway: sandbox
  sandbox: {url: %q}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
`, dbURL, httpAddr, grpcAddr, gw.URL, adminToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "http://" + httpAddr
	ctrl.Store(start(t, "tollgate-controller", nil, "--config", cfg))
	waitHTTP(t, base+"/readyz", 200, 30*time.Second)
	c := client.New(base, adminToken)

	var typ billing.AccountType
	if err := c.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, "type-1", billing.AccountType{
		Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 3, DueDays: 14, GraceDays: 7,
		TimeZone: "America/Chicago"}, &typ); err != nil {
		t.Fatal(err)
	}
	var acct billing.Account
	if err := c.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, "acct-1",
		map[string]any{"name": "Jane", "account_type_id": typ.ID, "currency": "USD"}, &acct); err != nil {
		t.Fatal(err)
	}
	acctPath := "/api/v1/accounts/" + strconv.FormatInt(acct.ID, 10)
	// Stripe's test method id, saved through a SetupIntent (the sandbox in
	// its own process answers as Stripe's test mode would).
	if err := c.Do(ctx, http.MethodPost, acctPath+"/payment-methods/setup", nil, "pm-1",
		map[string]any{"payment_method": "pm_card_visa", "default": true}, nil); err != nil {
		t.Fatal(err)
	}
	var att billing.PaymentAttempt
	if err := c.Do(ctx, http.MethodPost, acctPath+"/gateway-payments", nil, "charge-1", map[string]any{"amount": 10000}, &att); err != nil {
		t.Fatal(err)
	}
	if att.Status != "succeeded" || att.PaymentID == nil {
		t.Fatalf("charge: %+v", att)
	}
	payPath := "/api/v1/payments/" + strconv.FormatInt(*att.PaymentID, 10)

	// The refund: the gateway makes it, the controller dies before the
	// journal.
	killOnRefund.Store(true)
	refund := map[string]any{"amount": 2500, "memo": "crash test"}
	if err := c.Do(ctx, http.MethodPost, payPath+"/refund", nil, "refund-1", refund, nil); err == nil {
		t.Fatal("the refund request succeeded although the controller was killed")
	}
	select {
	case <-killed:
	case <-time.After(30 * time.Second):
		t.Fatal("the controller's refund never reached the gateway")
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var refunded, reserved int64
	var status string
	if err := conn.QueryRow(ctx, `SELECT p.refunded, p.refund_reserved, r.status FROM payments p JOIN refunds r ON r.payment_id = p.id
		WHERE p.id = $1`, *att.PaymentID).Scan(&refunded, &reserved, &status); err != nil {
		t.Fatal(err)
	}
	if refunded != 0 || reserved != 2500 || status != "pending" || sb.Refunded(att.ChargeID) != 2500 {
		t.Fatalf("after the kill: ledger refunded %d reserved %d (refund %s); gateway refunded %d — want 0, 2500, pending, 2500",
			refunded, reserved, status, sb.Refunded(att.ChargeID))
	}

	// Restart: the recovery job settles the refund from the gateway's list.
	ctrl.Store(start(t, "tollgate-controller", nil, "--config", cfg))
	waitHTTP(t, base+"/readyz", 200, 30*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list struct{ Items []billing.Refund }
		if err := c.Do(ctx, http.MethodGet, "/api/v1/refunds", url.Values{"payment_id": {strconv.FormatInt(*att.PaymentID, 10)}}, "", nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 1 && list.Items[0].Status == billing.RefundCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refund was not recovered after the restart: %+v", list.Items)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var p billing.Payment
	if err := c.Do(ctx, http.MethodGet, payPath, nil, "", nil, &p); err != nil {
		t.Fatal(err)
	}
	if p.Refunded != sb.Refunded(att.ChargeID) || p.Refunded != 2500 || p.RefundReserved != 0 {
		t.Fatalf("after recovery: ledger refunded %d (reserved %d), gateway refunded %d", p.Refunded, p.RefundReserved, sb.Refunded(att.ChargeID))
	}
	// Found at the gateway, not sent a second time.
	if log := sb.RefundLog(); len(log) != 1 {
		t.Fatalf("gateway refund requests: %+v, want the one the killed controller sent", log)
	}
	var unbalanced int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT tx_id FROM journal_entries GROUP BY tx_id HAVING sum(amount) <> 0) s`).Scan(&unbalanced); err != nil || unbalanced != 0 {
		t.Fatalf("unbalanced journal transactions: %d %v", unbalanced, err)
	}
}
