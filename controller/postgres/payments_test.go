package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// billedAccount is an account with its December and January invoices
// (53.11 each: 49.99 + 6.25% tax).
func billedAccount(t *testing.T, db *postgres.DB) (billing.Account, []billing.Invoice) {
	t.Helper()
	typ, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10)
	invs, err := db.Invoices(context.Background(), billing.InvoiceFilter{AccountID: accounts[0].ID})
	if err != nil || len(invs) != 2 {
		t.Fatalf("invoices %+v %v", invs, err)
	}
	return accounts[0], invs
}

func TestPaymentsAllocateOldestFirstAndKeepCredit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs := billedAccount(t, db)
	total := invs[0].Total + invs[1].Total

	p1, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCheck, Amount: invs[0].Total + 100, Reference: "1001"}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Allocations) != 2 || p1.Allocations[0].InvoiceID != invs[0].ID || p1.Allocations[0].Amount != invs[0].Total || p1.Unallocated != 0 {
		t.Fatalf("first payment allocations %+v unallocated %d", p1.Allocations, p1.Unallocated)
	}
	if inv, _ := db.Invoice(ctx, invs[0].ID); inv.Status != billing.InvoicePaid {
		t.Fatalf("oldest invoice is %s after being paid in full", inv.Status)
	}
	p2, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 10_000}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	wantCredit := 10_000 - (invs[1].Total - 100)
	if p2.Unallocated != wantCredit {
		t.Fatalf("overpayment: unallocated %d, want %d", p2.Unallocated, wantCredit)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != total-(invs[0].Total+100)-10_000 || bal != -wantCredit {
		t.Fatalf("balance %d, want credit of %d", bal, wantCredit)
	}

	// Refund part of the credit; more than the credit is refused.
	if _, err := db.RefundPayment(ctx, p2.ID, wantCredit+1, "", "test", t0); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("refund beyond the credit: %v", err)
	}
	if p, err := db.RefundPayment(ctx, p2.ID, 1000, "customer asked", "test", t0); err != nil || p.Unallocated != wantCredit-1000 {
		t.Fatalf("refund: %+v %v", p, err)
	}

	// The check bounces: its invoice reopens, the cash payment's remaining
	// credit moves onto it, and the fee lands on the account.
	r, err := db.ReversePayment(ctx, p1.ID, billing.Reversal{Reason: billing.ReverseNSF, Fee: 2500, Memo: "returned by bank"}, "test", t0)
	if err != nil || r.Status != billing.PaymentReversed || len(r.Allocations) != 0 {
		t.Fatalf("reverse: %+v %v", r, err)
	}
	if _, err := db.ReversePayment(ctx, p1.ID, billing.Reversal{Reason: billing.ReverseNSF}, "test", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("second reversal: %v", err)
	}
	bal, _ := db.Balance(ctx, a.ID)
	if want := total + 2500 - 10_000 + 1000; bal != want {
		t.Fatalf("balance after the bounce: %d, want %d", bal, want)
	}
	var open int64
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(i.total - coalesce((SELECT sum(amount) FROM payment_allocations WHERE invoice_id = i.id), 0)), 0)
		FROM invoices i WHERE i.account_id = $1 AND i.status = 'open'`, a.ID).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != total-(10_000-1000) {
		t.Fatalf("open invoice amounts %d, want %d", open, total-(10_000-1000))
	}
	reversed := false
	_ = db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM journal_transactions WHERE kind = 'payment_reversed' AND account_id = $1)`, a.ID).Scan(&reversed)
	if !reversed {
		t.Fatal("no reversing journal transaction")
	}
}

func TestPaymentBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, _ := billedAccount(t, db)
	for name, in := range map[string]billing.NewPayment{
		"zero amount":    {AccountID: a.ID, Method: billing.PayCash, Amount: 0},
		"negative":       {AccountID: a.ID, Method: billing.PayCash, Amount: -5},
		"unknown method": {AccountID: a.ID, Method: "bitcoin", Amount: 5},
		"check, no num":  {AccountID: a.ID, Method: billing.PayCheck, Amount: 5},
	} {
		if _, err := db.PostPayment(ctx, in, "test", t0); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: 999, Method: billing.PayCash, Amount: 5}, "test", t0); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("unknown account: %v", err)
	}
	if n := count(t, db, "payments"); n != 0 {
		t.Fatalf("bad input wrote %d payments", n)
	}
}

func TestBatchPostsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs := billedAccount(t, db)
	b, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: billing.NewDate(2026, 12, 5), DepositAccount: "First Bank ****1234"}, "clerk", t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err = db.AddBatchLines(ctx, b.ID, []billing.BatchLine{
		{Account: a.Number, Method: billing.PayCheck, Amount: invs[0].Total, Reference: "501", Payer: "Jane"},
		{Account: "A-999999", Method: billing.PayCheck, Amount: 1000, Reference: "77"},
		{Account: a.ExternalID, Method: billing.PayCash, Amount: 2000},
		{Account: a.Number, Method: billing.PayCheck, Amount: 300, Reference: "501"},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.ValidateBatch(ctx, b.ID)
	if err != nil || v.OK || len(v.Errors) != 1 || v.Errors[0].LineNo != 2 || v.Errors[0].Field != "account" {
		t.Fatalf("validation %+v %v", v, err)
	}
	if len(v.Warnings) != 1 || v.Warnings[0].LineNo != 4 {
		t.Fatalf("duplicate check number not warned: %+v", v.Warnings)
	}
	_, err = db.PostBatch(ctx, b.ID, "clerk", t0)
	if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("posting a batch with a bad line: %v", err)
	}
	if n := count(t, db, "payments"); n != 0 {
		t.Fatalf("a refused batch posted %d payments", n)
	}

	fixed := billing.BatchLine{LineNo: 2, Account: a.Number, Method: billing.PayCheck, Amount: 1000, Reference: "77"}
	if _, err := db.UpdateBatchLine(ctx, b.ID, fixed); err != nil {
		t.Fatal(err)
	}
	b, err = db.PostBatch(ctx, b.ID, "clerk", t0)
	if err != nil || b.Status != billing.BatchPosted {
		t.Fatalf("post: %+v %v", b.Status, err)
	}
	if n := count(t, db, "payments"); n != 4 {
		t.Fatalf("posted %d payments, want 4", n)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != invs[0].Total+invs[1].Total-(invs[0].Total+1000+2000+300) {
		t.Fatalf("balance after the batch: %d", bal)
	}
	// A posted batch is immutable, through the store and in the database.
	if _, err := db.AddBatchLines(ctx, b.ID, []billing.BatchLine{{Account: a.Number, Method: billing.PayCash, Amount: 1}}); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("adding to a posted batch: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE payment_batch_lines SET amount = 1 WHERE batch_id = $1`, b.ID); err == nil || !strings.Contains(err.Error(), "posted") {
		t.Fatalf("the database let a posted batch change: %v", err)
	}
	if _, err := db.PostBatch(ctx, b.ID, "clerk", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("posting twice: %v", err)
	}
}

// Credit on the account pays new invoices as they are issued.
func TestNewInvoicesUseExistingCredit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	a := accounts[0]
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 8000}, "test", t0); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10) // December and January, 53.11 each
	invs, _ := db.Invoices(ctx, billing.InvoiceFilter{AccountID: a.ID})
	if len(invs) != 2 || invs[0].Status != billing.InvoicePaid || invs[1].Status != billing.InvoiceOpen {
		t.Fatalf("invoices after billing an account with 80.00 credit: %+v", invs)
	}
	var allocated int64
	_ = db.Pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM payment_allocations`).Scan(&allocated)
	if allocated != 8000 {
		t.Fatalf("allocated %d of the 80.00 credit", allocated)
	}
}

// jsonResponse makes a payment's stored response, as the API does.
func jsonResponse(p billing.Payment) (billing.StoredResponse, error) {
	b, err := json.Marshal(p)
	return billing.StoredResponse{StatusCode: 200, ContentType: "application/json", Body: b}, err
}

func paymentRequest(key string, hash byte) billing.IdempotentRequest {
	return billing.IdempotentRequest{Principal: "clerk", Key: key, Method: "POST", Path: "/api/v1/accounts/1/payments", RequestHash: []byte{hash}}
}

// sameTransaction fails t unless payment id and the key's row were written
// by one transaction: whatever crashes, neither exists without the other.
func sameTransaction(t *testing.T, db *postgres.DB, id int64, key string) {
	t.Helper()
	var payment, stored string
	ctx := context.Background()
	if err := db.Pool.QueryRow(ctx, `SELECT xmin::text FROM payments WHERE id = $1`, id).Scan(&payment); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT xmin::text FROM idempotency_keys WHERE principal = 'clerk' AND key = $1 AND status_code IS NOT NULL`, key).Scan(&stored); err != nil {
		t.Fatalf("key %s has no stored response: %v", key, err)
	}
	if payment != stored {
		t.Fatalf("payment %d was written by transaction %s, its key's response by %s", id, payment, stored)
	}
}

// The key, its stored response and the payment commit in one transaction;
// the response is what a later read of the payment says.
func TestPaymentCommitsWithItsIdempotencyKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs := billedAccount(t, db)
	now := t0.Add(1234567 * time.Nanosecond) // not whole microseconds
	for i, amount := range []int64{invs[0].Total + 100, 50, 10_000} {
		key := fmt.Sprint("k", i)
		in := billing.NewPayment{AccountID: a.ID, Method: billing.PayCheck, Amount: amount, Reference: fmt.Sprint(1000 + i), Payer: " Jane ", Memo: "m"}
		res, err := db.PostPaymentIdempotent(ctx, paymentRequest(key, 1), in, "user:clerk", now, time.Minute, jsonResponse)
		if err != nil || res.Replayed || res.Refused != nil {
			t.Fatalf("payment %d: %+v %v", i, res, err)
		}
		var p billing.Payment
		if err := json.Unmarshal(res.Response.Body, &p); err != nil {
			t.Fatal(err)
		}
		sameTransaction(t, db, p.ID, key)
		read, err := db.Payment(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := json.Marshal(read); !bytes.Equal(res.Response.Body, want) {
			t.Fatalf("payment %d answered\n%s\nbut reads\n%s", i, res.Response.Body, want)
		}
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != invs[0].Total+invs[1].Total-(invs[0].Total+100+50+10_000) {
		t.Fatalf("balance %d", bal)
	}
}

// A key already used answers without posting: the same request with the
// stored response, another with 422 (EINVALID), and the payment its
// transaction wrote before finding the key taken is rolled back.
func TestPaymentKeyUsedBeforeDecides(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, _ := billedAccount(t, db)
	in := billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 700}
	first, err := db.PostPaymentIdempotent(ctx, paymentRequest("k", 1), in, "test", t0, time.Minute, jsonResponse)
	if err != nil || first.Replayed {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := db.PostPaymentIdempotent(ctx, paymentRequest("k", 1), in, "test", t0.Add(time.Hour), time.Minute, jsonResponse)
	if err != nil || !again.Replayed || again.Refused != nil || !bytes.Equal(again.Response.Body, first.Response.Body) || again.Response.StatusCode != 200 {
		t.Fatalf("retry: %+v %v", again, err)
	}
	in.Amount = 800
	other, err := db.PostPaymentIdempotent(ctx, paymentRequest("k", 2), in, "test", t0, time.Minute, jsonResponse)
	if err != nil || billing.ErrorCode(other.Refused) != billing.EINVALID {
		t.Fatalf("same key, other request: %+v %v", other, err)
	}
	if n := count(t, db, "payments"); n != 1 {
		t.Fatalf("%d payments, want 1", n)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal < 0 {
		t.Fatalf("balance %d", bal)
	}
	var unbalanced int
	_ = db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT tx_id FROM journal_entries GROUP BY tx_id HAVING sum(amount) <> 0) s`).Scan(&unbalanced)
	if n := count(t, db, "journal_transactions"); unbalanced != 0 || n != 2+1 { // two invoices, one payment
		t.Fatalf("%d journal transactions, %d unbalanced", n, unbalanced)
	}
}

// A request that fails writes nothing, its key included: a corrected
// retry, or the same one once it can succeed, posts once.
func TestFailedPaymentLeavesItsKeyFree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, _ := billedAccount(t, db)
	for name, in := range map[string]billing.NewPayment{
		"invalid":         {AccountID: a.ID, Method: billing.PayCash, Amount: 0},
		"unknown account": {AccountID: 999, Method: billing.PayCash, Amount: 5},
	} {
		if res, err := db.PostPaymentIdempotent(ctx, paymentRequest(name, 1), in, "test", t0, time.Minute, jsonResponse); err == nil {
			t.Fatalf("%s: %+v", name, res)
		}
	}
	boom := errors.New("no response")
	in := billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 5}
	fail := func(billing.Payment) (billing.StoredResponse, error) { return billing.StoredResponse{}, boom }
	if _, err := db.PostPaymentIdempotent(ctx, paymentRequest("k", 1), in, "test", t0, time.Minute, fail); !errors.Is(err, boom) {
		t.Fatalf("failing response: %v", err)
	}
	if p, k := count(t, db, "payments"), count(t, db, "idempotency_keys"); p != 0 || k != 0 {
		t.Fatalf("failed requests left %d payments and %d keys", p, k)
	}
	if res, err := db.PostPaymentIdempotent(ctx, paymentRequest("k", 1), in, "test", t0, time.Minute, jsonResponse); err != nil || res.Replayed {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if n := count(t, db, "payments"); n != 1 {
		t.Fatalf("%d payments after the retry, want 1", n)
	}
}

// Concurrent duplicates post once: the others wait for the first's
// transaction and answer with its response.
func TestConcurrentDuplicatePaymentsPostOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, _ := billedAccount(t, db)
	in := billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 1500}
	results := make([]billing.IdempotentResult, 12)
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = db.PostPaymentIdempotent(ctx, paymentRequest("same", 1), in, "test", t0, time.Minute, jsonResponse)
		})
	}
	wg.Wait()
	fresh := 0
	for i, res := range results {
		if errs[i] != nil || res.Refused != nil || !bytes.Equal(res.Response.Body, results[0].Response.Body) {
			t.Fatalf("duplicate %d: %+v %v", i, res, errs[i])
		}
		if !res.Replayed {
			fresh++
		}
	}
	if n := count(t, db, "payments"); n != 1 || fresh != 1 {
		t.Fatalf("%d payments, %d answers not replayed; want 1 and 1", n, fresh)
	}
}

// A claim of the middleware's claim-run-complete protocol holds the key;
// once its holder is presumed dead (the lock timeout), the payment takes
// the key over.
func TestPaymentTakesOverADeadClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, _ := billedAccount(t, db)
	req := paymentRequest("k", 1)
	if stored, err := db.BeginIdempotent(ctx, req, t0, time.Minute); err != nil || stored != nil {
		t.Fatalf("claim: %v %v", stored, err)
	}
	in := billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 5}
	res, err := db.PostPaymentIdempotent(ctx, req, in, "test", t0.Add(10*time.Second), time.Minute, jsonResponse)
	if err != nil || billing.ErrorCode(res.Refused) != billing.ECONFLICT {
		t.Fatalf("while the claim is held: %+v %v", res, err)
	}
	res, err = db.PostPaymentIdempotent(ctx, req, in, "test", t0.Add(2*time.Minute), time.Minute, jsonResponse)
	if err != nil || res.Refused != nil || res.Replayed {
		t.Fatalf("after the lock timeout: %+v %v", res, err)
	}
	var p billing.Payment
	_ = json.Unmarshal(res.Response.Body, &p)
	sameTransaction(t, db, p.ID, "k")
}

// A payment to a suspended account (the path that settles the account in
// the payment's transaction) commits with its key too, and a failure
// before COMMIT undoes the restore with the payment.
func TestSettlingPaymentCommitsWithItsIdempotencyKey(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	ctx := context.Background()
	a, svc := c.account("pop-1")
	c.owe(a, billing.NewDate(2026, 11, 20), 5000)
	c.owe(a, billing.NewDate(2026, 12, 4), 5000)
	c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountSuspended, "after the sweep")

	in := billing.NewPayment{AccountID: a, Method: billing.PayCash, Amount: 10_000}
	fail := func(billing.Payment) (billing.StoredResponse, error) {
		return billing.StoredResponse{}, errors.New("crash")
	}
	if _, err := c.db.PostPaymentIdempotent(ctx, paymentRequest("k", 1), in, "user:alice", local(12, 14, 10), time.Minute, fail); err == nil {
		t.Fatal("a failing response did not fail the payment")
	}
	c.want(a, billing.AccountSuspended, "after a payment that failed before COMMIT")
	if n := count(t, c.db, "payments"); n != 0 {
		t.Fatalf("%d payments after a failed one", n)
	}
	res, err := c.db.PostPaymentIdempotent(ctx, paymentRequest("k", 1), in, "user:alice", local(12, 14, 11), time.Minute, jsonResponse)
	if err != nil || res.Refused != nil || res.Replayed {
		t.Fatalf("payment: %+v %v", res, err)
	}
	c.want(a, billing.AccountCurrent, "after paying the past-due amount")
	if got := c.outbox(svc); !slices.Equal(got, []string{"active", "suspended", "active"}) {
		t.Fatalf("outbox %v right after the payment", got)
	}
	var p billing.Payment
	_ = json.Unmarshal(res.Response.Body, &p)
	sameTransaction(t, c.db, p.ID, "k")
	again, err := c.db.PostPaymentIdempotent(ctx, paymentRequest("k", 1), in, "user:alice", local(12, 14, 12), time.Minute, jsonResponse)
	if err != nil || !again.Replayed || !bytes.Equal(again.Response.Body, res.Response.Body) || count(t, c.db, "payments") != 1 {
		t.Fatalf("retry: %+v %v", again, err)
	}
}
