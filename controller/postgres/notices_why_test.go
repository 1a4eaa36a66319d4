package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// A notice with reasons is stored without their staff words, which come
// back rendered when it is read; a notice with words only keeps them.
func TestNoticeWhyIsRenderedFromItsReasons(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	_, accounts, _ := noticeFixture(t, db, 1)
	a := accounts[0]
	reasons := []billing.Reason{
		{Kind: billing.ReasonInvoicePastDue, Invoice: "INV-1", Amount: 5311, Currency: "USD", Date: billing.DateOf(t0)},
		{Kind: billing.ReasonAutoSuspended, Amount: 5311, Currency: "USD", Rule: billing.ReactivatePastDue, Detail: "residential"},
	}
	withReasons := billing.Notice{AccountID: a.ID, Kind: billing.NoticeSuspended, To: a.Email,
		Data: billing.NoticeData{Reasons: reasons, Why: billing.StaffWhy(reasons)}}
	wordsOnly := billing.Notice{AccountID: a.ID, Kind: billing.NoticeSuspended, To: a.Email,
		Data: billing.NoticeData{Why: []string{"Invoice is 7 days past due."}}}
	inTx(t, db, func(tx pgx.Tx) error {
		_, err := db.QueueNoticesTx(ctx, tx, []billing.Notice{withReasons, wordsOnly}, t0)
		return err
	})
	got, err := db.Notices(ctx, billing.NoticeFilter{AccountID: a.ID})
	if err != nil || len(got) != 2 {
		t.Fatalf("notices: %d, %v; want 2", len(got), err)
	}
	if !slices.Equal(got[0].Data.Why, withReasons.Data.Why) || len(got[0].Data.Reasons) != 2 {
		t.Errorf("notice with reasons reads back why %q, %d reasons; want %q and 2", got[0].Data.Why, len(got[0].Data.Reasons), withReasons.Data.Why)
	}
	if !slices.Equal(got[1].Data.Why, wordsOnly.Data.Why) {
		t.Errorf("notice with words only reads back why %q; want %q", got[1].Data.Why, wordsOnly.Data.Why)
	}
	var stored []bool
	rows, err := db.Pool.Query(ctx, `SELECT data ? 'why' FROM notices WHERE account_id = $1 ORDER BY id`, a.ID)
	if err == nil {
		stored, err = pgx.CollectRows(rows, pgx.RowTo[bool])
	}
	if err != nil || !slices.Equal(stored, []bool{false, true}) {
		t.Errorf("why stored: %v, %v; want only with the words-only notice", stored, err)
	}
}
