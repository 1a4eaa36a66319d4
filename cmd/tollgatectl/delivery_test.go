package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestDeliveryCommandsEndToEnd drives tollgatectl delivery against the real
// API over a billing run whose invoices were queued for delivery: list and
// filter, summarize, show, re-send one and a run's failed ones, deliver an
// invoice by another channel, and write the run's printed batch.
func TestDeliveryCommandsEndToEnd(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, TimeZone: "UTC", RemittanceSlip: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 4999, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []struct {
		name, email string
		d           billing.Delivery
		zip         string
	}{{"Zoe Mail", "", billing.DeliveryMail, "78702"}, {"Ann Both", "ann@example.net", billing.DeliveryBoth, "78701"}, {"Eve Email", "eve@example.net", billing.DeliveryEmail, "78703"}} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: s.name, Email: s.email, Delivery: s.d, AccountTypeID: typ.ID, Currency: "USD",
			Address: billing.Address{Line1: fmt.Sprintf("%d Elm St", i+1), City: "Austin", Region: "TX", PostalCode: s.zip}}, now)
		if err != nil {
			t.Fatal(err)
		}
		aid, pid := a.ID, plan.ID
		if _, err := db.CreateService(ctx, billing.NewService{POP: "p1", Binding: billing.Binding{Method: "log"}, AccountID: &aid, PlanID: &pid,
			StartDate: billing.NewDate(2026, 12, 1)}, "test", now); err != nil {
			t.Fatal(err)
		}
	}
	var run billing.BillingRun
	if err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		run, _, err = postgres.CreateBillingRunTx(ctx, tx, typ.ID, billing.NewDate(2026, 11, 26), billing.TriggerOnDemand, "test", 100, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RunBillingBatch(ctx, run.ID, 0, now); err != nil {
		t.Fatal(err)
	}
	if _, n, err := db.QueueRunDeliveries(ctx, run.ID, []billing.DeliveryChannel{billing.ChannelEmail, billing.ChannelMail}, now); err != nil || n != 4 {
		t.Fatalf("queue: %d %v", n, err)
	}
	// Zoe's letter failed for good; Eve's email went out.
	ds, _ := db.Deliveries(ctx, billing.DeliveryFilter{RunID: run.ID})
	var zoeLetter, eveEmail billing.InvoiceDelivery
	for _, d := range ds {
		switch {
		case d.Channel == billing.ChannelMail && zoeLetter.ID == 0:
			zoeLetter = d
		case d.Channel == billing.ChannelEmail && eveEmail.ID < d.ID:
			eveEmail = d
		}
	}
	if err := db.MarkDeliveryAttemptFailed(ctx, zoeLetter.ID, 1, "Zoe Mail, 1 Elm St", now, now, "permanent delivery failure: undeliverable", true); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkDeliverySent(ctx, eveEmail.ID, 1, "eve@example.net", now); err != nil {
		t.Fatal(err)
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := delivery.NewService(db, delivery.DocumentSource{Loader: db, Company: documents.Company{Name: "Prairie Fiber"}}, delivery.ServiceOptions{
		Channels: []billing.DeliveryChannel{billing.ChannelEmail, billing.ChannelMail}})
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Delivery: svc},
		[]api.Token{api.NewToken("root", api.RoleAdmin, "test-token")}, clock.NewFixed(now), quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c := cli{t, hs.URL}
	runID := fmt.Sprint(run.ID)

	out := c.ok("delivery", "list", "--run", runID)
	expectRow(t, out, fmt.Sprint(zoeLetter.ID), zoeLetter.InvoiceNumber, fmt.Sprint(zoeLetter.AccountID), "mail", "failed", "1")
	expectOut(t, out, "undeliverable", "eve@example.net")
	if out := c.ok("delivery", "list", "--status", "failed"); bytes.Count([]byte(out), []byte("\n")) != 2 {
		t.Errorf("failed deliveries: want one row:\n%s", out)
	}
	expectRow(t, c.ok("delivery", "summary", "--run", runID), "mail", "failed", "1")
	expectOut(t, c.ok("delivery", "show", fmt.Sprint(zoeLetter.ID)), "Idempotency key", zoeLetter.IdempotencyKey, "Last error")

	expectOut(t, c.ok("delivery", "resend", "--run", runID), "1 deliveries of billing run "+runID+" queued again")
	if d, _ := db.Delivery(ctx, zoeLetter.ID); d.Status != billing.DeliveryQueued || d.IdempotencyKey != zoeLetter.IdempotencyKey+"-r1" {
		t.Errorf("after resend --run: %+v", d)
	}
	expectOut(t, c.ok("delivery", "resend", fmt.Sprint(eveEmail.ID)), "is queued")
	expectOut(t, c.ok("delivery", "send", fmt.Sprint(eveEmail.InvoiceID), "--channel", "mail"), "by mail is queued")

	path := filepath.Join(t.TempDir(), "print.pdf")
	expectOut(t, c.ok("delivery", "printed-batch", runID, "--file", path), "2 invoices")
	if b, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("printed batch: %v %q", err, b[:min(len(b), 8)])
	}

	c.fails("give a delivery id or --run", "delivery", "resend")
	c.fails("give a delivery id or --run", "delivery", "resend", "3", "--run", runID)
	c.fails(`(query.status)`, "delivery", "list", "--status", "lost")
	c.fails(`(body.channels[0])`, "delivery", "send", "1", "--channel", "fax")
	c.fails("404", "delivery", "printed-batch", "999", "--file", path)
	c.fails(`required flag(s) "file" not set`, "delivery", "printed-batch", runID)
}
