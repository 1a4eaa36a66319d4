package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func mustCreate(t *testing.T, db billing.ServiceStore, pop string) billing.Service {
	t.Helper()
	s, err := db.CreateService(context.Background(), billing.NewService{
		POP: pop, Name: "subscriber", Binding: billing.Binding{Method: billing.MethodLog, Addresses: []string{"100.64.0.1"}},
	}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServiceDesiredStateLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)

	s := mustCreate(t, db, "north-1")
	if s.Revision != 1 || s.DesiredState != billing.StateActive {
		t.Fatalf("new service: revision %d state %s, want 1 active", s.Revision, s.DesiredState)
	}
	other := mustCreate(t, db, "south-1")
	if other.Revision != 1 {
		t.Fatalf("revisions are per POP: first service at south-1 got %d", other.Revision)
	}

	got, changed, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: s.ID, State: billing.StateSuspended, Reason: "past due", Actor: "user:test", At: t0})
	if err != nil || !changed || got.Revision != 2 || got.DesiredState != billing.StateSuspended || got.StateReason != "past due" {
		t.Fatalf("suspend: %+v changed=%v err=%v", got, changed, err)
	}
	again, changed, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: s.ID, State: billing.StateSuspended, At: t0})
	if err != nil || changed || again.Revision != 2 {
		t.Fatalf("suspending a suspended service must change nothing: rev %d changed=%v err=%v", again.Revision, changed, err)
	}
	changes, latest, snap, err := db.ChangesSince(ctx, "north-1", 0, 100)
	if err != nil || snap || latest != 2 || len(changes) != 2 || changes[1].DesiredState != billing.StateSuspended {
		t.Fatalf("outbox: %+v latest=%d snap=%v err=%v", changes, latest, snap, err)
	}

	_, _, err = db.SetDesiredState(ctx, billing.StateChange{ServiceID: 99999, State: billing.StateSuspended, At: t0})
	if billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("unknown service: got %v, want not_found", err)
	}
	_, _, err = db.SetDesiredState(ctx, billing.StateChange{ServiceID: s.ID, State: "off", At: t0})
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("bad state: got %v, want invalid", err)
	}
}

func TestCreateServiceRejectsBadInput(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	for name, in := range map[string]billing.NewService{
		"bad pop":           {POP: "North 1", Binding: billing.Binding{Method: "log"}},
		"bad method":        {POP: "n1", Binding: billing.Binding{Method: "telnet"}},
		"bad address":       {POP: "n1", Binding: billing.Binding{Method: "log", Addresses: []string{"300.1.1.1"}}},
		"routeros, no IP":   {POP: "n1", Binding: billing.Binding{Method: "routeros"}},
		"snmp, no ifIndex":  {POP: "n1", Binding: billing.Binding{Method: "snmp", Device: "sw1"}},
		"radius, no user":   {POP: "n1", Binding: billing.Binding{Method: "radius"}},
		"bad initial state": {POP: "n1", Binding: billing.Binding{Method: "log"}, State: "paused"},
	} {
		_, err := db.CreateService(context.Background(), in, "test", t0)
		if billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: got %v, want an invalid error", name, err)
		}
	}
	list, err := db.Services(context.Background(), billing.ServiceFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("rejected input must create nothing: %d services, err %v", len(list), err)
	}
}

// TestRevisionsBecomeVisibleInOrder checks the property agents rely on: a
// reader that has seen revision N has seen every revision below N, even with
// many concurrent writers.
func TestRevisionsBecomeVisibleInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	const pop, writers, perWriter = "core-1", 8, 40
	ids := make([]int64, writers)
	for i := range ids {
		ids[i] = mustCreate(t, db, pop).ID
	}
	base, _, _, err := db.ChangesSince(ctx, pop, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	since := base[len(base)-1].Revision
	want := since + writers*perWriter

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			state := billing.StateSuspended
			for range perWriter {
				if _, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: ids[w], State: state, At: t0}); err != nil {
					t.Error(err)
					return
				}
				state = map[billing.DesiredState]billing.DesiredState{billing.StateSuspended: billing.StateActive, billing.StateActive: billing.StateSuspended}[state]
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for since < want && time.Now().Before(deadline) {
		changes, _, snap, err := db.ChangesSince(ctx, pop, since, 7)
		if err != nil || snap {
			t.Fatalf("ChangesSince(%d): snap=%v err=%v", since, snap, err)
		}
		for _, c := range changes {
			if c.Revision != since+1 {
				t.Fatalf("saw revision %d right after %d: a revision was skipped", c.Revision, since)
			}
			since = c.Revision
		}
	}
	wg.Wait()
	if since != want {
		t.Fatalf("followed up to revision %d, want %d", since, want)
	}
}

func TestChangesSinceAsksForSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	s := mustCreate(t, db, "edge-1")
	if _, _, snap, _ := db.ChangesSince(ctx, "edge-1", 5, 10); !snap {
		t.Error("an agent ahead of the POP's revision (restored database) must get a snapshot")
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE pops SET compacted_revision = 1 WHERE id = 'edge-1'`); err != nil {
		t.Fatal(err)
	}
	if _, _, snap, _ := db.ChangesSince(ctx, "edge-1", 0, 10); !snap {
		t.Error("an agent behind the compacted history must get a snapshot")
	}
	rev, services, err := db.Snapshot(ctx, "edge-1")
	if err != nil || rev != 1 || len(services) != 1 || services[0].ServiceID != s.ID {
		t.Fatalf("snapshot: rev %d services %+v err %v", rev, services, err)
	}
	rev, services, err = db.Snapshot(ctx, "nowhere")
	if err != nil || rev != 0 || len(services) != 0 {
		t.Fatalf("snapshot of an unknown POP: rev %d services %d err %v", rev, len(services), err)
	}
}

func TestRecordReportConfirmsOnlyOwnPOP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	mine := mustCreate(t, db, "west-1")
	theirs := mustCreate(t, db, "east-1")
	mine, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: mine.ID, State: billing.StateSuspended, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Second)
	err = db.RecordReport(ctx, billing.AgentReport{POP: "west-1", AgentID: "a1", AppliedRevision: mine.Revision, ReceivedAt: at, Results: []billing.ServiceResult{
		{ServiceID: mine.ID, Revision: mine.Revision, Applied: true, ObservedState: billing.StateSuspended, ObservedAt: at},
		{ServiceID: theirs.ID, Revision: 1, Applied: true, ObservedState: billing.StateSuspended, ObservedAt: at},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := db.Service(ctx, mine.ID)
	if !got.Confirmed() || got.Confirmation.LastConfirmedAt == nil || !got.Confirmation.LastConfirmedAt.Equal(at) {
		t.Fatalf("own service not confirmed: %+v", got.Confirmation)
	}
	other, _ := db.Service(ctx, theirs.ID)
	if other.Confirmation.ObservedState != "" || other.Confirmation.LastConfirmedAt != nil {
		t.Fatalf("an agent of west-1 changed east-1's service: %+v", other.Confirmation)
	}

	// A failure keeps the earlier confirmation time but shows the error.
	err = db.RecordReport(ctx, billing.AgentReport{POP: "west-1", AgentID: "a1", AppliedRevision: mine.Revision, ReceivedAt: at, Results: []billing.ServiceResult{
		{ServiceID: mine.ID, Revision: mine.Revision, Applied: false, Error: "router unreachable", ObservedAt: at.Add(time.Minute)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = db.Service(ctx, mine.ID)
	if got.Confirmation.LastError != "router unreachable" || !got.Confirmation.LastConfirmedAt.Equal(at) {
		t.Fatalf("after a failure: %+v", got.Confirmation)
	}
}

func TestCompactionForgetsOldHistoryAndSendsLateAgentsASnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	s := mustCreate(t, db, "edge-1") // revision 1, at t0
	later := t0.Add(48 * time.Hour)
	for i, state := range []billing.DesiredState{billing.StateSuspended, billing.StateActive} { // revisions 2 and 3
		if _, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: s.ID, State: state, Reason: "test", Actor: "test", At: later.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.CompactEnforcementHistory(ctx, t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("compaction removed %d changes (err %v), want the one before the cutoff", n, err)
	}
	if _, _, snap, _ := db.ChangesSince(ctx, "edge-1", 0, 10); !snap {
		t.Error("an agent at revision 0 must get a snapshot after revision 1 was compacted")
	}
	changes, latest, snap, err := db.ChangesSince(ctx, "edge-1", 1, 10)
	if err != nil || snap || latest != 3 || len(changes) != 2 || changes[0].Revision != 2 {
		t.Fatalf("an agent at the compacted revision gets the rest as deltas: %+v latest %d snapshot %v err %v", changes, latest, snap, err)
	}
	if n, err := db.CompactEnforcementHistory(ctx, t0.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("second compaction removed %d (err %v)", n, err)
	}
	if _, services, err := db.Snapshot(ctx, "edge-1"); err != nil || len(services) != 1 || services[0].DesiredState != billing.StateActive {
		t.Fatalf("the snapshot still has the service's current state: %+v %v", services, err)
	}
}
