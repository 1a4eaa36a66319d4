package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

var both = []billing.DeliveryChannel{billing.ChannelEmail, billing.ChannelMail}

// TestDeliveryOutbox follows a billing run's invoices through the delivery
// outbox: queued once per run by each account's preference (the type's
// default for accounts without one), each with its River job, read by its
// job, outcomes recorded, status webhooks applied once, re-sent with a new idempotency
// key, and the printed batch in mailing order.
func TestDeliveryOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	if _, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clock.NewFixed(t0), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	typ, _, accounts := fixture(t, db, 4, billing.NewDate(2026, 12, 1))
	// Account 0: the type's default (email); 1: mail; 2: both; 3: mail, and
	// first in mailing order (lowest postal code).
	for i, set := range []string{
		`UPDATE accounts SET address = '{"line1": "1 A St", "city": "Austin", "region": "TX", "postal_code": "78702"}' WHERE id = $1`,
		`UPDATE accounts SET delivery = 'mail', name = 'Zed', address = '{"line1": "2 B St", "city": "Austin", "region": "TX", "postal_code": "78705"}' WHERE id = $1`,
		`UPDATE accounts SET delivery = 'both', name = 'Amy', address = '{"line1": "3 C St", "city": "Austin", "region": "TX", "postal_code": "78705"}' WHERE id = $1`,
		`UPDATE accounts SET delivery = 'mail', address = '{"line1": "4 D St", "city": "Austin", "region": "TX", "postal_code": "78701"}' WHERE id = $1`,
	} {
		if _, err := db.Pool.Exec(ctx, set, accounts[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	run := runBilling(t, db, typ.ID, billing.NewDate(2026, 11, 26), 10)
	if run.InvoicesCreated != 4 {
		t.Fatalf("run: %+v", run)
	}
	now := t0
	queued, n, err := db.QueueRunDeliveries(ctx, run.ID, both, now)
	if err != nil || !queued || n != 5 {
		t.Fatalf("queue: queued=%v n=%d err=%v; want 5 deliveries (email, mail, email+mail, mail)", queued, n, err)
	}
	if queued, n, err := db.QueueRunDeliveries(ctx, run.ID, both, now); err != nil || queued || n != 0 {
		t.Fatalf("second queue: queued=%v n=%d err=%v; want nothing", queued, n, err)
	}
	if _, _, err := db.QueueRunDeliveries(ctx, 9999, both, now); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("unknown run: %v", err)
	}
	if ids, err := db.UnqueuedRuns(ctx, now.Add(-time.Hour)); err != nil || len(ids) != 0 {
		t.Fatalf("unqueued runs: %v %v", ids, err)
	}

	// One River job per delivery, inserted with it.
	perDelivery := deliveryJobs(t, db)
	all, err := db.Deliveries(ctx, billing.DeliveryFilter{RunID: run.ID})
	if err != nil || len(all) != 5 || len(perDelivery) != 5 {
		t.Fatalf("%d deliveries, %v, %d with jobs; want 5 and 5", len(all), err, len(perDelivery))
	}
	// Each job reads its queued delivery and records itself on it.
	var mail, rest []billing.InvoiceDelivery
	for _, d := range all {
		if perDelivery[d.ID] != 1 {
			t.Fatalf("delivery %d has %d jobs, want 1", d.ID, perDelivery[d.ID])
		}
		got, err := db.DeliveryToSend(ctx, d.ID, 500+d.ID)
		if err != nil || got.JobID != 500+d.ID || got.Status != billing.DeliveryQueued {
			t.Fatalf("delivery %d to send: %+v %v", d.ID, got, err)
		}
		if got.Channel == billing.ChannelMail && len(mail) < 2 {
			mail = append(mail, got)
		} else {
			rest = append(rest, got)
		}
	}
	if mail[0].IdempotencyKey != "tollgate-"+mail[0].InvoiceNumber+"-mail" {
		t.Fatalf("mail delivery: %+v", mail[0])
	}
	if _, err := db.DeliveryToSend(ctx, 9999, 1); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("delivery to send that does not exist: %v", err)
	}

	// Outcomes.
	l0, l1 := mail[0], mail[1]
	if err := db.MarkLetterSent(ctx, l0.ID, 1, "Zed, 2 B St", "ltr_0", now); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkDeliveryAttemptFailed(ctx, l1.ID, 1, "x", now, now.Add(time.Minute), "vendor down", false); err != nil {
		t.Fatal(err)
	}
	d, _ := db.Delivery(ctx, l1.ID)
	if d.Status != billing.DeliveryQueued || d.Attempts != 1 || d.LastError != "vendor down" || !d.NextAttemptAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("after a temporary failure: %+v", d)
	}

	// A webhook for a letter whose creation was not recorded yet finds it
	// by delivery id and key; a redelivery changes nothing; nothing moves
	// back from returned.
	ev := billing.LetterEvent{ID: "evt_1", Type: "letter.mailed", LetterID: "ltr_1", DeliveryID: l1.ID, Status: billing.DeliveryMailed, At: now}
	if found, dup, err := db.ApplyLetterEvent(ctx, ev, "wrong-key", now); err != nil || found || dup {
		t.Fatalf("event with the wrong key: found=%v dup=%v err=%v", found, dup, err)
	}
	ev.ID = "evt_2"
	if found, dup, err := db.ApplyLetterEvent(ctx, ev, l1.IdempotencyKey, now); err != nil || !found || dup {
		t.Fatalf("mailed: found=%v dup=%v err=%v", found, dup, err)
	}
	if _, dup, _ := db.ApplyLetterEvent(ctx, ev, l1.IdempotencyKey, now); !dup {
		t.Fatal("a redelivered event was applied again")
	}
	// The worker's late failure does not undo what the webhook said.
	_ = db.MarkDeliveryAttemptFailed(ctx, l1.ID, 2, "x", now, now, "timeout", false)
	if d, _ := db.Delivery(ctx, l1.ID); d.Status != billing.DeliveryMailed || d.VendorLetterID != "ltr_1" || d.MailedAt == nil {
		t.Fatalf("after mailed: %+v", d)
	}
	ret := billing.LetterEvent{ID: "evt_3", Type: "letter.returned_to_sender", LetterID: "ltr_0", Status: billing.DeliveryReturned, At: now}
	if found, _, err := db.ApplyLetterEvent(ctx, ret, "", now); err != nil || !found {
		t.Fatalf("returned: %v %v", found, err)
	}
	late := billing.LetterEvent{ID: "evt_4", Type: "letter.mailed", LetterID: "ltr_0", Status: billing.DeliveryMailed, At: now}
	_, _, _ = db.ApplyLetterEvent(ctx, late, "", now)
	if d, _ := db.Delivery(ctx, l0.ID); d.Status != billing.DeliveryReturned || d.ReturnedAt == nil || d.VendorStatus != "letter.mailed" {
		t.Fatalf("returned, then a late mailed event: %+v", d)
	}

	if _, err := db.DeliveryToSend(ctx, l0.ID, 1); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("delivery to send that is no longer queued: %v", err)
	}

	// Re-sends: a new key each time, so the vendor prints a new letter, and
	// a new job (the first ones are done here).
	if _, err := db.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE kind = 'deliver_invoice'`); err != nil {
		t.Fatal(err)
	}
	r, err := db.ResendDelivery(ctx, l0.ID, now)
	if err != nil || r.Status != billing.DeliveryQueued || r.IdempotencyKey != l0.IdempotencyKey+"-r1" || r.VendorLetterID != "" || r.Resends != 1 {
		t.Fatalf("resend: %+v %v", r, err)
	}
	if r2, _ := db.ResendDelivery(ctx, l0.ID, now); r2.IdempotencyKey != r.IdempotencyKey {
		t.Fatalf("a queued delivery was re-sent again: %+v", r2)
	}
	if n := deliveryJobs(t, db)[l0.ID]; n != 2 || r.JobID != 0 {
		t.Fatalf("after a re-send: %d jobs, job id %d on the row; want 2 (the first and the re-send's), none yet", n, r.JobID)
	}
	_ = db.MarkDeliveryAttemptFailed(ctx, l0.ID, 1, "x", now, now, "undeliverable", true)
	if n, err := db.ResendRunDeliveries(ctx, run.ID, "", "", now); err != nil || n != 1 {
		t.Fatalf("resend the run's failed: %d %v", n, err)
	}
	if d, _ := db.Delivery(ctx, l0.ID); d.IdempotencyKey != l0.IdempotencyKey+"-r2" {
		t.Fatalf("second re-send key: %q", d.IdempotencyKey)
	}
	if _, err := db.ResendRunDeliveries(ctx, run.ID, billing.DeliveryQueued, "", now); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("resend queued: %v", err)
	}
	// Delivering an invoice by a channel it never had adds one.
	ds, err := db.DeliverInvoice(ctx, rest[0].InvoiceID, both, both, now)
	if err != nil || len(ds) != 2 {
		t.Fatalf("deliver invoice by both: %+v %v", ds, err)
	}
	if _, err := db.DeliverInvoice(ctx, rest[0].InvoiceID, both, both[:1], now); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("mail without a vendor: %v", err)
	}
	// By the account's preference (email), among the channels configured.
	ds, err = db.DeliverInvoice(ctx, rest[0].InvoiceID, nil, both[:1], now)
	if err != nil || len(ds) != 1 || ds[0].Channel != billing.ChannelEmail {
		t.Fatalf("deliver invoice by preference: %+v %v", ds, err)
	}

	counts, err := db.DeliveryCounts(ctx, run.ID)
	if err != nil || len(counts) == 0 {
		t.Fatalf("counts: %v %v", counts, err)
	}
	if open, err := db.OpenDeliveryCounts(ctx); err != nil || len(open) == 0 {
		t.Fatalf("open counts: %v %v", open, err)
	}
	list, err := db.Deliveries(ctx, billing.DeliveryFilter{RunID: run.ID, Channel: billing.ChannelMail})
	if err != nil || len(list) != 4 {
		t.Fatalf("list mail of the run: %d %v", len(list), err)
	}

	// Printed batch: accounts 3 (78701), then 2 (Amy) and 1 (Zed) at 78705.
	ids, err := db.PrintedInvoiceIDs(ctx, run.ID)
	if err != nil || len(ids) != 3 {
		t.Fatalf("printed: %v %v", ids, err)
	}
	var order []int64
	for _, id := range ids {
		inv, err := db.Invoice(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, inv.AccountID)
	}
	if want := []int64{accounts[3].ID, accounts[2].ID, accounts[1].ID}; order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Fatalf("mailing order by account: %v, want %v", order, want)
	}
	_ = postgres.PrintMailGateway
}

// deliveryJobs counts River's delivery jobs per delivery id.
func deliveryJobs(t *testing.T, db *postgres.DB) map[int64]int {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT (args->>'delivery_id')::bigint FROM river_job WHERE kind = 'deliver_invoice'`)
	if err != nil {
		t.Fatal(err)
	}
	per := map[int64]int{}
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { per[id]++; return nil }); err != nil {
		t.Fatal(err)
	}
	return per
}
