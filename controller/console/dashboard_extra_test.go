package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestDashboardTotals: the dashboard shows today's payments (count and
// total), the receivables total, failed deliveries and notices with links
// to their lists (which list them), and the services their agents have
// not confirmed, by POP.
func TestDashboardTotals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	typ := e.residentialType()
	jane := e.addSubscriber(typ, "Jane Prairie", "jane@example.net")
	joe := e.addSubscriber(typ, "Joe Prairie", "joe@example.net")
	run, _, err := e.db.OpenBillingRun(ctx, typ.ID, billing.NewDate(2026, 12, 1), billing.TriggerOnDemand, "test", 100, testNow,
		func(context.Context, pgx.Tx, billing.BillingRun) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.RunBillingBatch(ctx, run.ID, 0, testNow); err != nil {
		t.Fatal(err)
	}
	if _, n, err := e.db.QueueRunDeliveries(ctx, run.ID, []billing.DeliveryChannel{billing.ChannelEmail}, testNow); err != nil || n != 2 {
		t.Fatalf("deliveries: %d %v", n, err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE invoice_deliveries SET status = 'failed', last_error = '550 mailbox unavailable' WHERE account_id = $1`, joe.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.api.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/payments", jane.ID), nil, client.NewIdempotencyKey(),
		map[string]any{"method": "cash", "amount": 2000}, nil); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginTxFunc(ctx, e.db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		_, err := e.db.QueueNoticesTx(ctx, tx, []billing.Notice{{AccountID: joe.ID, Kind: billing.NoticeRestored, To: "joe@example.net",
			Data: billing.NoticeData{AccountNumber: joe.Number}}}, testNow)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE notices SET status = 'failed', last_error = '550 no such user'`); err != nil {
		t.Fatal(err)
	}

	b := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	p := b.get("/")
	pageHas(t, "dashboard", p,
		"Payments posted today", "<strong>1</strong> payments, <strong>USD 20.00</strong>",
		"<strong>USD 80.00</strong> owed by 2 accounts",
		`href="/staff/deliveries?status=failed">1 invoice deliveries failed`,
		`href="/staff/notices?status=failed">1 notices failed`,
		"<strong>2</strong> not confirmed", "<td>north-1</td><td class=\"num\">2</td>")
	mustNotContain(t, "dashboard", p, "Could not be read")

	d := b.get("/deliveries?status=failed")
	pageHas(t, "failed deliveries", d, "550 mailbox unavailable", fmt.Sprintf(`href="/staff/accounts/%d"`, joe.ID))
	mustNotContain(t, "failed deliveries", d, fmt.Sprintf(`href="/staff/accounts/%d"`, jane.ID))
	n := b.get("/notices?status=failed")
	pageHas(t, "failed notices", n, joe.Number, "550 no such user", "Restored")
	if bad := b.get("/notices?status=lost"); bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "Status:") {
		t.Fatalf("an unknown status: %d", bad.status)
	}
}
