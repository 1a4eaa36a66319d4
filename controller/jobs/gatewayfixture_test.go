package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// gatewayFixture is what the gateway jobs' tests start from: a database,
// a clock fixed at 2026-11-20 12:00 UTC, a fixed-day account type (billed
// on the 1st, due in 14 days, 7 days' grace, UTC) and the sandbox gateway
// with a charger on that clock.
type gatewayFixture struct {
	ctx     context.Context
	quiet   *slog.Logger
	db      *postgres.DB
	now     time.Time
	clk     *clock.Fixed
	typ     billing.AccountType
	sandbox *payments.Sandbox
	charger *charge.Service
}

func newGatewayFixture(t *testing.T) gatewayFixture {
	t.Helper()
	f := gatewayFixture{ctx: context.Background(), quiet: quietLog(), db: openDB(t), now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	f.clk = clock.NewFixed(f.now)
	var err error
	if f.typ, err = f.db.CreateAccountType(f.ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, f.now); err != nil {
		t.Fatal(err)
	}
	f.sandbox = payments.NewSandbox()
	f.sandbox.SetClock(f.clk)
	f.sandbox.SetLogger(f.quiet)
	f.charger = charge.New(f.sandbox, f.db, f.clk, f.quiet)
	return f
}
