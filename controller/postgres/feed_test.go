package postgres_test

import (
	"context"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestFeedOnItsOwnPool: with WithFeedPool the feed reads and records on a
// pool of its own, and reads the same as without.
func TestFeedOnItsOwnPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	if err := db.WithFeedPool(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := db.WithFeedPool(ctx, 2); err == nil {
		t.Error("a second feed pool was accepted")
	}
	a, b := mustCreate(t, db, "edge-9"), mustCreate(t, db, "edge-9")
	s, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: b.ID, State: billing.StateSuspended, Reason: "owes", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	changes, latest, snap, err := db.ChangesSince(ctx, "edge-9", a.Revision, 10)
	if err != nil || snap || latest != s.Revision || len(changes) != 2 {
		t.Fatalf("ChangesSince: %d changes, latest %d, snap %v, err %v", len(changes), latest, snap, err)
	}
	if c := changes[1]; c.Revision != s.Revision || c.ServiceID != b.ID || c.DesiredState != billing.StateSuspended || c.Reason != "owes" ||
		c.Binding.Method != "log" || c.CommittedAt.IsZero() {
		t.Fatalf("last change %+v", c)
	}
	// Up to date, and unknown POPs: nothing, no snapshot.
	if changes, latest, snap, err := db.ChangesSince(ctx, "edge-9", s.Revision, 10); err != nil || snap || latest != s.Revision || len(changes) != 0 {
		t.Fatalf("up to date: %d changes, latest %d, snap %v, err %v", len(changes), latest, snap, err)
	}
	if changes, latest, snap, err := db.ChangesSince(ctx, "nowhere", 0, 10); err != nil || snap || latest != 0 || len(changes) != 0 {
		t.Fatalf("unknown POP: %d changes, latest %d, snap %v, err %v", len(changes), latest, snap, err)
	}
	if err := db.RecordReport(ctx, billing.AgentReport{POP: "edge-9", AgentID: "a1", AppliedRevision: s.Revision, ReceivedAt: t0,
		Results: []billing.ServiceResult{{ServiceID: b.ID, Revision: s.Revision, Applied: true, ObservedState: billing.StateSuspended, ObservedAt: t0}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Service(ctx, b.ID); !got.Confirmed() {
		t.Fatalf("not confirmed: %+v", got.Confirmation)
	}
	if rev, services, err := db.Snapshot(ctx, "edge-9"); err != nil || rev != s.Revision || len(services) != 2 {
		t.Fatalf("snapshot: rev %d, %d services, err %v", rev, len(services), err)
	}
}
