package postgres_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestCloseAccountCancelsCreditsAndIsNeverBilledOrSweptAgain: closing the
// lifecycle fixture's account on Mar 12 (March invoiced) cancels its
// service from Mar 12 — 20 of 31 days of 50.00 credited, 32.26, the
// service kept suspended through the outbox — and sets the account closed
// at a new version with a status history row and an audit row; a stale
// version is refused with nothing written. Then a payment posts as credit
// with a warning, April is not billed, a sweep long past the due date
// leaves it closed, and a reopen makes it current with the service still
// ended.
func TestCloseAccountCancelsCreditsAndIsNeverBilledOrSweptAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	now := chicagoNoon(billing.NewDate(2027, 3, 12))
	req := billing.AccountCloseRequest{Now: now, Actor: "staff:ana", Reason: "moving away"}

	if _, err := db.CloseAccount(ctx, f.account.ID, f.account.Version+1, req); billing.ErrorCode(err) != billing.EPRECONDITION {
		t.Fatalf("stale version: %v", err)
	}
	if a, _ := db.Account(ctx, f.account.ID); a.Status != billing.AccountCurrent || a.Version != f.account.Version {
		t.Fatalf("a refused close wrote: %+v", a)
	}

	plan, err := db.CloseAccount(ctx, f.account.ID, f.account.Version, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Cancels) != 1 || plan.Credited != 3226 || plan.Closed != billing.NewDate(2027, 3, 12) || plan.FinalInvoice == nil ||
		plan.FinalInvoice.Total != -3226 || plan.CreditKept != 0 {
		t.Fatalf("plan: %+v", plan)
	}
	if final, err := db.Invoice(ctx, plan.FinalInvoice.ID); err != nil || final.Kind != billing.InvoiceClosing || final.Status != billing.InvoicePaid ||
		len(final.Lines) != 1 || final.Lines[0].Amount != -3226 {
		t.Fatalf("final invoice %+v %v", final, err)
	}
	a, err := db.Account(ctx, f.account.ID)
	if err != nil || a.Status != billing.AccountClosed || a.Version != f.account.Version+1 {
		t.Fatalf("account after the close: %+v %v", a, err)
	}
	if bal, _ := db.Balance(ctx, f.account.ID); bal != 5000-3226 {
		t.Fatalf("balance %d, want %d", bal, 5000-3226)
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.EndDate != billing.NewDate(2027, 3, 12) || svc.DesiredState != billing.StateSuspended {
		t.Fatalf("service after the close: ends %s, %s", svc.EndDate, svc.DesiredState)
	}
	if h, _ := db.StatusHistory(ctx, f.account.ID); len(h) == 0 || h[0].Cause != billing.StatusCauseClosed || h[0].To != billing.AccountClosed || h[0].Actor != "staff:ana" {
		t.Fatalf("status history: %+v", h)
	}
	if audit, _ := db.AuditLog(ctx, billing.EntityAccount, f.account.ID); len(audit) != 1 || audit[0].After["action"] != "account_close" || audit[0].Reason != "moving away" {
		t.Fatalf("account audit: %+v", audit)
	}
	if audit, _ := db.AuditLog(ctx, "service", f.service.ID); len(audit) != 1 || audit[0].After["action"] != "cancel" {
		t.Fatalf("service audit: %+v", audit)
	}
	if _, err := db.CloseAccount(ctx, f.account.ID, a.Version, req); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("closing twice: %v", err)
	}

	// A payment after the close: credit, no allocation, a warning.
	p, err := db.PostPayment(ctx, billing.NewPayment{AccountID: f.account.ID, Method: billing.PayCheck, Amount: 1000, Reference: "1001",
		ReceivedDate: billing.NewDate(2027, 3, 13)}, "staff:ana", chicagoNoon(billing.NewDate(2027, 3, 13)))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Allocations) != 0 || p.Unallocated != 1000 || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "closed") {
		t.Fatalf("payment to a closed account: %+v", p)
	}

	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	if list, _ := db.Invoices(ctx, billing.InvoiceFilter{AccountID: f.account.ID}); len(list) != 2 {
		t.Fatalf("a closed account was billed: %+v", list)
	}
	if _, err := db.Sweep(ctx, billing.SweepRequest{AccountTypeID: f.typ.ID, Trigger: billing.SweepManual, Actor: "test",
		Guard: billing.SuspensionGuard{Disabled: true}}, chicagoNoon(billing.NewDate(2027, 6, 1))); err != nil {
		t.Fatal(err)
	}
	if a, _ := db.Account(ctx, f.account.ID); a.Status != billing.AccountClosed {
		t.Fatalf("a sweep changed a closed account: %s", a.Status)
	}

	if _, err := db.ReopenAccount(ctx, f.account.ID, a.Version-1, "admin:root", "", now); billing.ErrorCode(err) != billing.EPRECONDITION {
		t.Fatalf("stale reopen: %v", err)
	}
	if _, err := db.ReopenAccount(ctx, f.account.ID, a.Version, "admin:root", "came back", now); err != nil {
		t.Fatal(err)
	}
	if a, _ := db.Account(ctx, f.account.ID); a.Status != billing.AccountCurrent {
		t.Fatalf("after the reopen: %s", a.Status)
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.EndDate != billing.NewDate(2027, 3, 12) {
		t.Fatalf("the reopen touched the service: ends %s", svc.EndDate)
	}
}

// TestCloseAccountIssuesFinalInvoiceAndRefundsCredit: the lifecycle
// fixture's account (March invoiced, 50.00) has paid 100.00 in cash and
// 10.00 by card (a gateway payment): 50.00 pays March, 60.00 is credit. It
// is closed on Apr 12 with April never invoiced and a 15.00 one-time
// charge waiting. Its final invoice charges Apr 1..11 (11 of 30 days,
// 18.33) and the charge: 33.33, paid from the cash credit. Of the 26.67
// left, the card's 10.00 is reserved for a gateway refund (pending, with
// its key) and 16.67 of the cash is refunded as a completed manual refund
// with its journal; nothing is kept. The coverage runs to the close and
// the charge is taken; a billing run later bills nothing.
func TestCloseAccountIssuesFinalInvoiceAndRefundsCredit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	paid := chicagoNoon(billing.NewDate(2027, 3, 5))
	cash, err := db.PostPayment(ctx, billing.NewPayment{AccountID: f.account.ID, Method: billing.PayCash, Amount: 10000}, "staff:ana", paid)
	if err != nil {
		t.Fatal(err)
	}
	card, err := db.PostPayment(ctx, billing.NewPayment{AccountID: f.account.ID, Method: billing.PayCard, Amount: 1000}, "staff:ana", paid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE payments SET gateway = 'sandbox', gateway_charge = 'ch_close' WHERE id = $1`, card.ID); err != nil {
		t.Fatal(err)
	}
	charge, err := db.CreateCharge(ctx, billing.OneTimeCharge{AccountID: f.account.ID, Description: "Router", Amount: 1500,
		ChargeDate: billing.NewDate(2027, 4, 2)}, paid)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := db.Account(ctx, f.account.ID)
	plan, err := db.CloseAccount(ctx, a.ID, a.Version, billing.AccountCloseRequest{RefundCredit: true,
		Now: chicagoNoon(billing.NewDate(2027, 4, 12)), Actor: "staff:ana", Reason: "moving away"})
	if err != nil {
		t.Fatal(err)
	}
	april := billing.Prorate(5000, billing.Period{Start: billing.NewDate(2027, 4, 1), End: billing.NewDate(2027, 5, 1)},
		billing.NewDate(2027, 4, 1), billing.NewDate(2027, 4, 12))
	final := plan.FinalInvoice
	if april != 1833 || final == nil || final.Total != april+1500 || plan.Charged != april || plan.Credited != 0 {
		t.Fatalf("plan: %+v", plan)
	}
	stored, err := db.Invoice(ctx, final.ID)
	if err != nil || stored.Kind != billing.InvoiceClosing || stored.Status != billing.InvoicePaid || stored.Total != april+1500 {
		t.Fatalf("final invoice %+v %v", stored, err)
	}
	left := int64(6000 - april - 1500)
	if len(plan.Refunds) != 2 || plan.Refunded != left || plan.CreditKept != 0 {
		t.Fatalf("refunds %+v, refunded %d, kept %d; want 2 making %d", plan.Refunds, plan.Refunded, plan.CreditKept, left)
	}
	byCard, byCash := plan.Refunds[0], plan.Refunds[1]
	if byCard.PaymentID != card.ID || byCard.Amount != 1000 || !byCard.Gateway || byCard.Status != billing.RefundPending || byCard.IdempotencyKey == "" ||
		byCash.PaymentID != cash.ID || byCash.Amount != left-1000 || byCash.Gateway || byCash.Status != billing.RefundCompleted {
		t.Fatalf("refunds %+v", plan.Refunds)
	}
	rs, err := db.Refunds(ctx, billing.RefundFilter{Limit: 10})
	if err != nil || len(rs) != 2 {
		t.Fatalf("refunds stored %+v %v", rs, err)
	}
	for _, r := range rs {
		if r.PaymentID == card.ID && (r.Status != billing.RefundPending || r.IdempotencyKey != byCard.IdempotencyKey || r.GatewayCharge != "ch_close") ||
			r.PaymentID == cash.ID && r.Status != billing.RefundCompleted {
			t.Fatalf("refund stored %+v", r)
		}
	}
	// The cash refund is in the ledger; the card's is once the gateway
	// confirms it.
	if bal, _ := db.Balance(ctx, a.ID); bal != -1000 {
		t.Fatalf("balance %d, want -1000 (the card refund pending)", bal)
	}
	if cov, _ := db.Coverage(ctx, f.service.ID); len(cov) == 0 || cov[len(cov)-1].To != billing.NewDate(2027, 4, 12) {
		t.Fatalf("coverage %+v; want it to end at the close", cov)
	}
	if cs, _ := db.Charges(ctx, a.ID); len(cs) != 1 || cs[0].ID != charge.ID || cs[0].InvoiceID == nil || *cs[0].InvoiceID != final.ID {
		t.Fatalf("charges %+v; want the router on the final invoice", cs)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 4, 27), 10)
	if list, _ := db.Invoices(ctx, billing.InvoiceFilter{AccountID: a.ID}); len(list) != 2 {
		t.Fatalf("invoices after the close %+v; want March's and the final one", list)
	}
}

// channelsOnly is a jobs.Deliverer that only names its channels: the
// test looks at what is queued, not at sending.
type channelsOnly []billing.DeliveryChannel

func (channelsOnly) Deliver(context.Context, int64, int64) (delivery.Result, error) {
	return delivery.Result{}, nil
}
func (channelsOnly) RetryAfter(int) time.Duration          { return time.Minute }
func (c channelsOnly) Channels() []billing.DeliveryChannel { return c }

// TestImmediateAdjustmentInvoiceIsQueuedForDelivery: an adjustment
// invoice issued by a plan change (immediate invoicing) is queued for
// delivery by the account's preference, with its River job, in the
// change's transaction — not left for a billing run that never takes it.
func TestImmediateAdjustmentInvoiceIsQueuedForDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	runner, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clock.NewFixed(t0), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	runner.UseDeliverer(channelsOnly{billing.ChannelEmail, billing.ChannelMail})
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{ChangeInvoicing: billing.InvoiceImmediately})
	req := billing.ServiceChangeRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10))), NewPlan: billing.Plan{ID: f.fib100.ID}}
	if _, err := db.ChangeService(ctx, f.service.ID, 0, req, false); err != nil {
		t.Fatal(err)
	}
	list, err := db.Invoices(ctx, billing.InvoiceFilter{AccountID: f.account.ID})
	if err != nil || len(list) != 2 || list[1].Kind != billing.InvoiceAdjustment {
		t.Fatalf("invoices %+v %v", list, err)
	}
	ds, err := db.Deliveries(ctx, billing.DeliveryFilter{InvoiceID: list[1].ID})
	if err != nil || len(ds) != 1 || ds[0].Channel != billing.ChannelEmail || ds[0].Status != billing.DeliveryQueued {
		t.Fatalf("adjustment invoice deliveries %+v %v; want one queued email", ds, err)
	}
	if n := deliveryJobs(t, db)[ds[0].ID]; n != 1 {
		t.Fatalf("the delivery has %d jobs, want 1", n)
	}
}

// TestPaymentsToAClosedAccountPostAsCreditWithAWarning: after the close,
// a payment posts as credit — allocated to no invoice though March's is
// still open — with the warning kept with the payment, on every path:
// staff entry, a batch line, and a gateway charge (the path of the portal,
// autopay and of every payment that settles an account).
func TestPaymentsToAClosedAccountPostAsCreditWithAWarning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	now := chicagoNoon(billing.NewDate(2027, 3, 12))
	if _, err := db.CloseAccount(ctx, f.account.ID, f.account.Version, billing.AccountCloseRequest{Now: now, Actor: "staff:ana"}); err != nil {
		t.Fatal(err)
	}
	a, _ := db.Account(ctx, f.account.ID)
	check := func(path string, id int64, amount int64) {
		t.Helper()
		p, err := db.Payment(ctx, id)
		if err != nil || len(p.Allocations) != 0 || p.Unallocated != amount || len(p.Warnings) != 1 ||
			!strings.Contains(p.Warnings[0], "closed") || !strings.Contains(p.Warnings[0], "credit") {
			t.Fatalf("%s: payment %+v %v; want %d as credit with the closed-account warning", path, p, err, amount)
		}
	}

	p, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCheck, Amount: 1000, Reference: "1001"}, "staff:ana", now)
	if err != nil || len(p.Warnings) != 1 {
		t.Fatalf("staff entry: %+v %v", p, err)
	}
	check("staff entry", p.ID, 1000)

	b, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: billing.NewDate(2027, 3, 12)}, "clerk", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddBatchLines(ctx, b.ID, []billing.BatchLine{{Account: a.Number, Method: billing.PayCash, Amount: 700}}); err != nil {
		t.Fatal(err)
	}
	if v, err := db.ValidateBatch(ctx, b.ID); err != nil || !v.OK || len(v.Warnings) != 1 || v.Warnings[0].Field != "account" ||
		!strings.Contains(v.Warnings[0].Message, "closed") {
		t.Fatalf("validation %+v %v; want the closed account warned", v, err)
	}
	if _, err := db.PostBatch(ctx, b.ID, "clerk", now); err != nil {
		t.Fatal(err)
	}
	ps, err := db.Payments(ctx, 0, b.ID, 0, 10)
	if err != nil || len(ps) != 1 {
		t.Fatalf("batch payments %+v %v", ps, err)
	}
	check("batch line", ps[0].ID, 700)

	m, err := db.AddPaymentMethod(ctx, billing.StoredMethod{AccountID: a.ID, Gateway: "sandbox", Token: "pm_close", Kind: "card", Last4: "4242"}, true, now)
	if err != nil {
		t.Fatal(err)
	}
	at, _, err := db.BeginAttempt(ctx, billing.PaymentAttempt{AccountID: a.ID, PaymentMethodID: m.ID, Amount: 300, Currency: "USD",
		Trigger: billing.TriggerPortal, Gateway: "sandbox", IdempotencyKey: "portal-after-close"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if at, err = db.FinishAttempt(ctx, at.ID, billing.PaymentAttempt{Status: "succeeded", ChargeID: "ch_after_close"}, now); err != nil || at.PaymentID == nil {
		t.Fatalf("gateway charge: %+v %v", at, err)
	}
	check("gateway charge", *at.PaymentID, 300)

	// Autopay never charges a closed account, though March is open.
	if _, err := db.Pool.Exec(ctx, `UPDATE accounts SET autopay = true, autopay_since = '2027-01-01' WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if cs, err := db.AutopayCandidates(ctx, f.typ.ID, billing.NewDate(2027, 6, 1)); err != nil || len(cs) != 0 {
		t.Fatalf("autopay candidates of a closed account: %+v %v", cs, err)
	}

	// March is paid only by the close's credit note (32.26 of Mar 12..31).
	if inv := invoiceFor(t, db, a.ID, billing.NewDate(2027, 3, 1)); inv.Paid != 3226 || inv.Status != billing.InvoiceOpen {
		t.Fatalf("March's invoice took a payment to the closed account: %+v", inv)
	}
	if a, _ := db.Account(ctx, a.ID); a.Status != billing.AccountClosed {
		t.Fatalf("a payment changed the closed account's status: %s", a.Status)
	}
}

// TestCloseRefundsPaidDaysAfterTheClose: the lifecycle fixture's March
// (50.00) is paid in full, in cash for one account and by card (a gateway
// payment) for another; both close on Mar 12 with refund_credit. The final
// credit note (−32.26 for Mar 12..31) has no open invoice to pay, so it
// takes over 32.26 of what the payment paid on March (March stays paid,
// now 17.74 by the payment and 32.26 by the note, which is used up and
// paid), and the freed money is refunded: completed for cash (balance
// 0), reserved for the card (balance −32.26 until the gateway confirms).
// Nothing is kept, the credit is not counted twice (the account has none
// left to pay a new invoice with), and the allocation events record the
// takeover.
func TestCloseRefundsPaidDaysAfterTheClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, method := range []billing.PaymentMethod{billing.PayCash, billing.PayCard} {
		t.Run(string(method), func(t *testing.T) {
			db := newDB(t)
			f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
			p, err := db.PostPayment(ctx, billing.NewPayment{AccountID: f.account.ID, Method: method, Amount: 5000}, "staff:ana",
				chicagoNoon(billing.NewDate(2027, 3, 5)))
			if err != nil {
				t.Fatal(err)
			}
			gateway := method == billing.PayCard
			if gateway {
				if _, err := db.Pool.Exec(ctx, `UPDATE payments SET gateway = 'sandbox', gateway_charge = 'ch_paid' WHERE id = $1`, p.ID); err != nil {
					t.Fatal(err)
				}
			}
			march := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 3, 1))
			a, _ := db.Account(ctx, f.account.ID)
			plan, err := db.CloseAccount(ctx, a.ID, a.Version, billing.AccountCloseRequest{RefundCredit: true,
				Now: chicagoNoon(billing.NewDate(2027, 3, 12)), Actor: "staff:ana", Reason: "moving away"})
			if err != nil {
				t.Fatal(err)
			}
			final := plan.FinalInvoice
			if final == nil || final.Total != -3226 || plan.Refunded != 3226 || plan.CreditKept != 0 || len(plan.Refunds) != 1 {
				t.Fatalf("plan: %+v", plan)
			}
			r := plan.Refunds[0]
			want := billing.RefundCompleted
			if gateway {
				want = billing.RefundPending
			}
			if r.PaymentID != p.ID || r.Amount != 3226 || r.Gateway != gateway || r.Status != want || (gateway && r.IdempotencyKey == "") {
				t.Fatalf("refund %+v", r)
			}
			if len(plan.TakenOver) != 1 || plan.TakenOver[0].CreditNoteID != final.ID || plan.TakenOver[0].InvoiceID != march.ID {
				t.Fatalf("taken over %+v", plan.TakenOver)
			}
			stored, err := db.Invoice(ctx, final.ID)
			if err != nil || stored.Status != billing.InvoicePaid {
				t.Fatalf("final credit note %+v %v; want it paid (used up)", stored, err)
			}
			if m, _ := db.Invoice(ctx, march.ID); m.Status != billing.InvoicePaid {
				t.Fatalf("March is %s after the takeover; want paid", m.Status)
			}
			var paidByNote, notePaid, marchPaid int64
			if err := db.Pool.QueryRow(ctx, `SELECT (SELECT amount FROM credit_note_allocations WHERE credit_note_id = $1 AND invoice_id = $2),
				(SELECT paid FROM invoices WHERE id = $1), (SELECT paid FROM invoices WHERE id = $2)`, final.ID, march.ID).Scan(&paidByNote, &notePaid, &marchPaid); err != nil {
				t.Fatal(err)
			}
			if paidByNote != 3226 || notePaid != -3226 || marchPaid != 5000 {
				t.Fatalf("note paid %d on March, note's paid %d, March's paid %d", paidByNote, notePaid, marchPaid)
			}
			got, err := db.Payment(ctx, p.ID)
			if err != nil || len(got.Allocations) != 1 || got.Allocations[0].Amount != 5000-3226 {
				t.Fatalf("payment after the close %+v %v", got, err)
			}
			events, err := db.AllocationEvents(ctx, p.ID)
			if err != nil || len(events) != 2 || events[1].Kind != billing.AllocTakenOver || events[1].Amount != -3226 || events[1].InvoiceID != march.ID {
				t.Fatalf("allocation events %+v %v", events, err)
			}
			wantBalance := int64(0)
			if gateway {
				wantBalance = -3226
			}
			if bal, _ := db.Balance(ctx, a.ID); bal != wantBalance {
				t.Fatalf("balance %d, want %d", bal, wantBalance)
			}
			// The credit is not counted twice: reopened and billed for
			// April, the account has no credit to pay it with (the note
			// is used up, the refund took the payment's money).
			closed, _ := db.Account(ctx, a.ID)
			if _, err := db.ReopenAccount(ctx, a.ID, closed.Version, "admin:root", "", chicagoNoon(billing.NewDate(2027, 3, 13))); err != nil {
				t.Fatal(err)
			}
			st, err := db.AccountStanding(ctx, a.ID, chicagoNoon(billing.NewDate(2027, 3, 13)))
			if err != nil || st.Balance != wantBalance {
				t.Fatalf("standing %+v %v", st, err)
			}
		})
	}
}

// TestCreditNoteClosesTheInvoiceItCovers: the lifecycle fixture's March
// (50.00) is open when the account closes on Mar 12 without a refund: the
// final credit note (−32.26) is applied to March (paid 32.26, 17.74 still
// owed) and used up (paid), and the standing owes 17.74 — the note's
// credit counted once.
func TestCreditNoteClosesTheInvoiceItCovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	march := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 3, 1))
	plan, err := db.CloseAccount(ctx, f.account.ID, f.account.Version, billing.AccountCloseRequest{
		Now: chicagoNoon(billing.NewDate(2027, 3, 12)), Actor: "staff:ana"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.CreditNoteAllocations) != 1 || plan.CreditNoteAllocations[0].Amount != 3226 || plan.CreditNoteAllocations[0].InvoiceID != march.ID {
		t.Fatalf("credit note allocations %+v", plan.CreditNoteAllocations)
	}
	m, _ := db.Invoice(ctx, march.ID)
	if m.Status != billing.InvoiceOpen || m.Paid != 3226 {
		t.Fatalf("March %s, paid %d; want open, 3226 paid by the note", m.Status, m.Paid)
	}
	if n, _ := db.Invoice(ctx, plan.FinalInvoice.ID); n.Status != billing.InvoicePaid {
		t.Fatalf("the final credit note is %s; want paid (used up)", n.Status)
	}
	a, _ := db.Account(ctx, f.account.ID)
	if _, err := db.ReopenAccount(ctx, a.ID, a.Version, "admin:root", "", chicagoNoon(billing.NewDate(2027, 4, 20))); err != nil {
		t.Fatal(err)
	}
	st, err := db.AccountStanding(ctx, a.ID, chicagoNoon(billing.NewDate(2027, 4, 20)))
	if err != nil || st.Balance != 5000-3226 || st.PastDue != 5000-3226 {
		t.Fatalf("standing: balance %d, past due %d (%v); want 1774 each", st.Balance, st.PastDue, err)
	}
}

// TestCloseCreditsSuspendedDaysOnAStopInvoicingType: on a type that stops
// invoicing while suspended, the account was suspended at the local
// midnights of Mar 6..12 (Mar 5 10:00 to Mar 12 15:00, Chicago). Closed on
// Mar 20 — before any billing run credited those days — its final invoice
// credits them (7 of 31 days of 50.00) besides the days from Mar 20 on,
// as the next billing run would have; none of them is left covered.
func TestCloseCreditsSuspendedDaysOnAStopInvoicingType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{StopInvoicingWhileSuspended: true})
	loc, _ := time.LoadLocation("America/Chicago")
	for _, c := range []struct {
		from, to string
		at       time.Time
	}{
		{"current", "suspended", time.Date(2027, 3, 5, 10, 0, 0, 0, loc)},
		{"suspended", "current", time.Date(2027, 3, 12, 15, 0, 0, 0, loc)},
	} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO account_status_changes (account_id, from_status, to_status, cause, at)
			VALUES ($1, $2, $3, 'staff', $4)`, f.account.ID, c.from, c.to, c.at); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := db.CloseAccount(ctx, f.account.ID, f.account.Version, billing.AccountCloseRequest{
		Now: chicagoNoon(billing.NewDate(2027, 3, 20)), Actor: "staff:ana"})
	if err != nil {
		t.Fatal(err)
	}
	march := billing.Period{Start: billing.NewDate(2027, 3, 1), End: billing.NewDate(2027, 4, 1)}
	suspended := billing.Prorate(5000, march, billing.NewDate(2027, 3, 6), billing.NewDate(2027, 3, 13))
	fromClose := billing.Prorate(5000, march, billing.NewDate(2027, 3, 20), billing.NewDate(2027, 4, 1))
	if plan.CreditedSuspended != suspended || plan.Credited != fromClose || plan.FinalInvoice == nil || plan.FinalInvoice.Total != -(suspended+fromClose) {
		t.Fatalf("plan: credited %d + suspended %d, final %+v; want %d + %d", plan.Credited, plan.CreditedSuspended, plan.FinalInvoice, fromClose, suspended)
	}
	cov, err := db.Coverage(ctx, f.service.ID)
	if err != nil {
		t.Fatal(err)
	}
	days := 0
	for _, s := range cov {
		days += s.Days()
	}
	if days != 19-7 {
		t.Fatalf("coverage %+v: %d days, want Mar 1..19 without the 7 suspended", cov, days)
	}
}

// TestPartlyAppliedCreditNoteCountsWhatItHasLeft: March (50.00) is paid
// 40.00 in cash; the close on Mar 12 without a refund issues the final
// credit note of −32.26, which pays the 10.00 left on March and stays open
// with 22.26: the credit the account has (its balance, −22.26) is what the
// note has left — the 10.00 it gave counts once, as March's payment.
func TestPartlyAppliedCreditNoteCountsWhatItHasLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: f.account.ID, Method: billing.PayCash, Amount: 4000}, "staff:ana",
		chicagoNoon(billing.NewDate(2027, 3, 5))); err != nil {
		t.Fatal(err)
	}
	a, _ := db.Account(ctx, f.account.ID)
	plan, err := db.CloseAccount(ctx, a.ID, a.Version, billing.AccountCloseRequest{Now: chicagoNoon(billing.NewDate(2027, 3, 12)), Actor: "staff:ana"})
	if err != nil {
		t.Fatal(err)
	}
	note, err := db.Invoice(ctx, plan.FinalInvoice.ID)
	if err != nil || note.Status != billing.InvoiceOpen || note.Total != -3226 || note.Paid != -1000 {
		t.Fatalf("the final credit note %+v %v; want open, 10.00 of it given", note, err)
	}
	if m := invoiceFor(t, db, a.ID, billing.NewDate(2027, 3, 1)); m.Status != billing.InvoicePaid || m.Paid != 5000 {
		t.Fatalf("March %s, paid %d", m.Status, m.Paid)
	}
	var left int64
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(paid - total), 0) FROM invoices WHERE account_id = $1 AND status = 'open' AND total < 0`, a.ID).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != -2226 || left != 2226 || plan.CreditKept != 2226 {
		t.Fatalf("balance %d, the notes' credit left %d, kept %d; want −2226, 2226, 2226", bal, left, plan.CreditKept)
	}
}

// TestEarlierCreditNotePaysTheFinalInvoice: March (50.00) is paid in cash;
// a pause from Mar 5 to May 1 credits Mar 5..31 on the April invoice,
// which charges nothing else: a credit note (−43.55) with nothing to pay.
// The close on Apr 10 with a 50.00 router charge waiting issues a final
// invoice that owes money: the earlier credit note pays it first (used
// up, paid), the rest stays owed.
func TestEarlierCreditNotePaysTheFinalInvoice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: f.account.ID, Method: billing.PayCash, Amount: 5000}, "staff:ana",
		chicagoNoon(billing.NewDate(2027, 3, 5))); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PauseService(ctx, f.service.ID, 0, billing.PauseRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 5))),
		From: billing.NewDate(2027, 3, 5), To: billing.NewDate(2027, 5, 1)}, false); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	note := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1))
	if note.Total >= 0 || note.Status != billing.InvoiceOpen || note.Paid != 0 {
		t.Fatalf("April %+v; want an open credit note, nothing given", note)
	}
	if _, err := db.CreateCharge(ctx, billing.OneTimeCharge{AccountID: f.account.ID, Description: "Router", Amount: 5000,
		ChargeDate: billing.NewDate(2027, 4, 2)}, chicagoNoon(billing.NewDate(2027, 4, 2))); err != nil {
		t.Fatal(err)
	}
	a, _ := db.Account(ctx, f.account.ID)
	plan, err := db.CloseAccount(ctx, a.ID, a.Version, billing.AccountCloseRequest{Now: chicagoNoon(billing.NewDate(2027, 4, 10)), Actor: "staff:ana"})
	if err != nil {
		t.Fatal(err)
	}
	final := plan.FinalInvoice
	if final == nil || final.Total != 5000 || len(plan.CreditNoteAllocations) != 1 || plan.CreditNoteAllocations[0].CreditNoteID != note.ID ||
		plan.CreditNoteAllocations[0].InvoiceID != final.ID || plan.CreditNoteAllocations[0].Amount != -note.Total {
		t.Fatalf("plan: final %+v, credit note allocations %+v", final, plan.CreditNoteAllocations)
	}
	if n, _ := db.Invoice(ctx, note.ID); n.Status != billing.InvoicePaid || n.Paid != n.Total {
		t.Fatalf("the earlier credit note is %s, paid %d; want paid (used up)", n.Status, n.Paid)
	}
	if stored, _ := db.Invoice(ctx, final.ID); stored.Status != billing.InvoiceOpen || stored.Paid != -note.Total {
		t.Fatalf("the final invoice %s, paid %d; want open, %d paid by the note", stored.Status, stored.Paid, -note.Total)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != 5000+note.Total {
		t.Fatalf("balance %d, want %d", bal, 5000+note.Total)
	}
}
