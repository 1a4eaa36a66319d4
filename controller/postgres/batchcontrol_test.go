package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The control figures are kept with the batch, listed, and hold posting
// back until the lines match them; nothing is written before.
func TestBatchControlFiguresHoldPosting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, _ := billedAccount(t, db)
	two, total := 2, int64(3000)
	b, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: billing.NewDate(2026, 12, 5), ControlCount: &two, ControlTotal: &total}, "clerk", t0)
	if err != nil || b.ControlCount == nil || *b.ControlCount != 2 || b.ControlTotal == nil || *b.ControlTotal != 3000 {
		t.Fatalf("create: %+v %v", b, err)
	}
	zero := 0
	if _, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: billing.NewDate(2026, 12, 5), ControlCount: &zero}, "clerk", t0); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("a zero control count: %v", err)
	}
	if _, err := db.AddBatchLines(ctx, b.ID, []billing.BatchLine{{Account: a.Number, Method: billing.PayCash, Amount: 1000}}); err != nil {
		t.Fatal(err)
	}
	if v, err := db.ValidateBatch(ctx, b.ID); err != nil || v.OK || *v.Control.CountDifference != 1 || *v.Control.TotalDifference != 2000 {
		t.Fatalf("validation: %+v %v", v, err)
	}
	_, err = db.PostBatch(ctx, b.ID, "clerk", t0)
	if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(err.Error(), "control_count 2") || !strings.Contains(err.Error(), "control_total 30.00") {
		t.Fatalf("posting a batch short of its control figures: %v", err)
	}
	if n := count(t, db, "payments"); n != 0 {
		t.Fatalf("a refused batch posted %d payments", n)
	}
	if _, err := db.AddBatchLines(ctx, b.ID, []billing.BatchLine{{Account: a.Number, Method: billing.PayCash, Amount: 2000}}); err != nil {
		t.Fatal(err)
	}
	list, err := db.Batches(ctx, billing.BatchOpen, 10)
	if err != nil || len(list) != 1 || list[0].ControlCount == nil || *list[0].ControlTotal != 3000 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if b, err = db.PostBatch(ctx, b.ID, "clerk", t0); err != nil || b.Status != billing.BatchPosted {
		t.Fatalf("post a balanced batch: %+v %v", b, err)
	}
}
