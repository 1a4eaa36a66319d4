package postgres_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// popRevision is a POP's revision counter.
func popRevision(t *testing.T, db *postgres.DB, pop string) int64 {
	t.Helper()
	var rev int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT revision FROM pops WHERE id = $1`, pop).Scan(&rev); err != nil {
		t.Fatal(err)
	}
	return rev
}

// gapFree checks that a POP's outbox holds exactly revisions 1…its
// revision, and returns them.
func gapFree(t *testing.T, db *postgres.DB, pop string) []billing.EnforcementChange {
	t.Helper()
	changes, latest, snap, err := db.ChangesSince(context.Background(), pop, 0, 100000)
	if err != nil || snap {
		t.Fatalf("ChangesSince(%s): snap=%v %v", pop, snap, err)
	}
	for i, c := range changes {
		if c.Revision != int64(i+1) {
			t.Fatalf("%s: change %d has revision %d: a gap or a duplicate", pop, i, c.Revision)
		}
	}
	if int64(len(changes)) != latest {
		t.Fatalf("%s: %d changes up to revision %d", pop, len(changes), latest)
	}
	return changes
}

func routerOS(addr string) billing.Binding {
	return billing.Binding{Method: billing.MethodRouterOS, Device: "edge", Addresses: []string{addr}}
}

func TestMoveServiceRemovesAtTheOldPOPAndAppliesAtTheNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	s, err := db.CreateService(ctx, billing.NewService{POP: "pop-a", Name: "fiber", Binding: routerOS("100.64.0.7"),
		ServiceAddress: billing.Address{Line1: "1 Elm St"}}, "test", t0)
	if err != nil || s.Version != 1 || s.ServiceAddress.Line1 != "1 Elm St" {
		t.Fatalf("create: %+v %v", s, err)
	}
	mustCreate(t, db, "pop-b")
	mustCreate(t, db, "pop-b")
	if _, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: s.ID, State: billing.StateSuspended, Reason: "past due", Actor: "test", At: t0}); err != nil {
		t.Fatal(err)
	}
	// pop-a's agent confirms the suspension.
	if err := db.RecordReport(ctx, billing.AgentReport{POP: "pop-a", AgentID: "a", AppliedRevision: 2, ReceivedAt: t0,
		Results: []billing.ServiceResult{{ServiceID: s.ID, Revision: 2, Applied: true, ObservedState: billing.StateSuspended, ObservedAt: t0}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Service(ctx, s.ID); !got.Confirmed() {
		t.Fatalf("not confirmed at pop-a: %+v", got.Confirmation)
	}

	// Refused moves write nothing.
	at := t0.Add(time.Hour)
	newBinding := routerOS("100.64.9.7")
	for _, c := range []struct {
		version int64
		mv      billing.ServiceMove
		code    billing.Code
		what    string
	}{
		{2, billing.ServiceMove{POP: "pop-b", Binding: newBinding}, billing.EPRECONDITION, "version 1, not 2"},
		{1, billing.ServiceMove{POP: "pop-z", Binding: newBinding}, billing.EINVALID, `pop "pop-z" does not exist`},
		{1, billing.ServiceMove{POP: "pop-a", Binding: routerOS("100.64.0.7")}, billing.EINVALID, "binding"},
	} {
		if _, err := db.MoveService(ctx, s.ID, c.version, c.mv, "clerk", at); billing.ErrorCode(err) != c.code || !strings.Contains(billing.ErrorMessage(err), c.what) {
			t.Errorf("move %+v at version %d: %v, want %s naming %q", c.mv, c.version, err, c.code, c.what)
		}
	}
	if _, err := db.MoveService(ctx, 999999, 1, billing.ServiceMove{POP: "pop-b", Binding: newBinding}, "clerk", at); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("unknown service: %v", err)
	}
	if a, b := popRevision(t, db, "pop-a"), popRevision(t, db, "pop-b"); a != 2 || b != 2 {
		t.Fatalf("refused moves took revisions: pop-a %d, pop-b %d", a, b)
	}

	plan, err := db.MoveService(ctx, s.ID, 1, billing.ServiceMove{POP: "pop-b", Binding: newBinding, Reason: "moved house",
		ServiceAddress: &billing.Address{Line1: "9 Oak St"}}, "clerk", at)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Service.Revision != 3 || plan.Service.POP != "pop-b" || plan.Service.Version != 2 {
		t.Errorf("plan's service %+v: want pop-b at its revision 3, version 2", plan.Service)
	}
	got, err := db.Service(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.POP != "pop-b" || !got.Binding.Equal(newBinding) || got.Version != 2 || got.Revision != 3 || got.ServiceAddress.Line1 != "9 Oak St" ||
		got.DesiredState != billing.StateSuspended || got.StateReason != "past due" ||
		got.Confirmation.Revision != 0 || got.Confirmation.LastConfirmedAt != nil || got.Confirmation.ObservedState != "" || got.Confirmed() {
		t.Errorf("stored %+v: want suspended at pop-b, binding and address new, confirmation restarted", got)
	}
	// Both POPs' outboxes, gap-free: a removal with the old binding at
	// pop-a, the current desired state with the new binding at pop-b.
	a := gapFree(t, db, "pop-a")
	if last := a[len(a)-1]; len(a) != 3 || last.ServiceID != s.ID || !last.Removed || !last.Binding.Equal(routerOS("100.64.0.7")) ||
		last.Reason != "moved to POP pop-b" {
		t.Errorf("pop-a's last change %+v: want the removal of the old binding", last)
	}
	b := gapFree(t, db, "pop-b")
	if last := b[len(b)-1]; len(b) != 3 || last.ServiceID != s.ID || last.Removed || last.DesiredState != billing.StateSuspended || !last.Binding.Equal(newBinding) {
		t.Errorf("pop-b's last change %+v: want the suspension with the new binding", last)
	}
	if _, snap, _ := db.Snapshot(ctx, "pop-a"); slices.ContainsFunc(snap, func(c billing.EnforcementChange) bool { return c.ServiceID == s.ID }) {
		t.Error("pop-a's snapshot still lists the moved service")
	}
	if _, snap, _ := db.Snapshot(ctx, "pop-b"); !slices.ContainsFunc(snap, func(c billing.EnforcementChange) bool { return c.ServiceID == s.ID && c.Revision == 3 }) {
		t.Error("pop-b's snapshot lacks the moved service")
	}
	es, err := db.AuditLog(ctx, billing.EntityService, s.ID)
	if err != nil || len(es) != 1 {
		t.Fatalf("audit: %+v %v", es, err)
	}
	if e := es[0]; e.Actor != "clerk" || e.Reason != "moved house" || e.Before["pop"] != "pop-a" || e.After["pop"] != "pop-b" ||
		e.After["binding"].(map[string]any)["addresses"].([]any)[0] != "100.64.9.7" {
		t.Errorf("audit row %+v", e)
	}

	// pop-a's agent reports the removal: it says nothing about the service
	// at pop-b. pop-b's agent confirms it there.
	report := func(pop string, rev int64, st billing.DesiredState) billing.Service {
		t.Helper()
		if err := db.RecordReport(ctx, billing.AgentReport{POP: pop, AgentID: pop, AppliedRevision: rev, ReceivedAt: at,
			Results: []billing.ServiceResult{{ServiceID: s.ID, Revision: rev, Applied: true, ObservedState: st, ObservedAt: at}}}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Service(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := report("pop-a", 3, billing.StateActive); got.Confirmation.Revision != 0 || got.Confirmation.ObservedState != "" {
		t.Errorf("pop-a's report of the removal reached the moved service: %+v", got.Confirmation)
	}
	if got := report("pop-b", 3, billing.StateSuspended); !got.Confirmed() || got.Confirmation.LastConfirmedAt == nil || !got.Confirmation.LastConfirmedAt.Equal(at) {
		t.Errorf("pop-b's confirmation: %+v", got.Confirmation)
	}
}

func TestEditServiceBindingInPlace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	s, err := db.CreateService(ctx, billing.NewService{POP: "olt-1", Name: "port 11",
		Binding: billing.Binding{Method: billing.MethodSNMP, Device: "olt", IfIndex: 11}}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	// A name edit: version and audit, no revision.
	plan, err := db.EditService(ctx, s.ID, 1, billing.ServiceEdit{Name: ptrTo("port 12")}, "clerk", at)
	if err != nil || plan.Service.Version != 2 || plan.Service.Revision != 1 || popRevision(t, db, "olt-1") != 1 {
		t.Fatalf("name edit: %+v %v", plan, err)
	}
	// The ifIndex typo: the new binding at the POP's next revision.
	plan, err = db.EditService(ctx, s.ID, 2, billing.ServiceEdit{Binding: &billing.BindingEdit{IfIndex: ptrTo(int32(12))}, Reason: "typo"}, "clerk", at)
	if err != nil || plan.Service.Version != 3 || plan.Service.Revision != 2 {
		t.Fatalf("binding edit: %+v %v", plan, err)
	}
	ch := gapFree(t, db, "olt-1")
	if last := ch[len(ch)-1]; len(ch) != 2 || last.Removed || last.Binding.IfIndex != 12 || last.DesiredState != billing.StateActive {
		t.Errorf("outbox %+v", ch)
	}
	// Stale and bad edits write nothing.
	if _, err := db.EditService(ctx, s.ID, 2, billing.ServiceEdit{Name: ptrTo("x")}, "clerk", at); billing.ErrorCode(err) != billing.EPRECONDITION {
		t.Errorf("stale: %v", err)
	}
	if _, err := db.EditService(ctx, s.ID, 3, billing.ServiceEdit{Binding: &billing.BindingEdit{IfIndex: ptrTo(int32(0))}}, "clerk", at); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("if_index 0 for snmp: %v", err)
	}
	if es, _ := db.AuditLog(ctx, billing.EntityService, s.ID); len(es) != 2 || es[1].Reason != "typo" || es[1].Before["binding"].(map[string]any)["if_index"] != float64(11) {
		t.Errorf("audit %+v", es)
	}
	if got, _ := db.Service(ctx, s.ID); got.Version != 3 || got.Binding.IfIndex != 12 || got.Name != "port 12" {
		t.Errorf("stored %+v", got)
	}
}

// TestConcurrentMovesBothWaysKeepRevisionsGapFree: services moving from
// pop-a to pop-b and from pop-b to pop-a at once, beside suspensions at
// both, lock the two POP rows in one order (no deadlock) and leave each
// POP's outbox gap-free, every service at the revision of its last change.
func TestConcurrentMovesBothWaysKeepRevisionsGapFree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	const n = 12
	var ids [2][]int64
	for i := range n {
		for side, pop := range []string{"pop-a", "pop-b"} {
			s, err := db.CreateService(ctx, billing.NewService{POP: pop, Binding: routerOS("100.64." + strconv.Itoa(side) + "." + strconv.Itoa(i+1))}, "test", t0)
			if err != nil {
				t.Fatal(err)
			}
			ids[side] = append(ids[side], s.ID)
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		for side, to := range []string{"pop-b", "pop-a"} {
			id := ids[side][i]
			wg.Go(func() {
				if _, err := db.MoveService(ctx, id, 1, billing.ServiceMove{POP: to, Binding: routerOS("100.65." + strconv.Itoa(side) + "." + strconv.Itoa(i+1))}, "clerk", t0); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if _, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: ids[1-side][i], State: billing.StateSuspended, Actor: "test", At: t0}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	for _, pop := range []string{"pop-a", "pop-b"} {
		changes := gapFree(t, db, pop)
		removed := 0
		for _, c := range changes {
			if c.Removed {
				removed++
			}
		}
		if removed != n {
			t.Errorf("%s: %d removals, want %d", pop, removed, n)
		}
	}
	var bad int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM services s WHERE NOT EXISTS (SELECT 1 FROM enforcement_changes e
			WHERE e.pop_id = s.pop_id AND e.revision = s.revision AND e.service_id = s.id AND NOT e.removed
				AND e.desired_state = s.desired_state AND e.addresses = s.addresses)
		OR s.revision <> (SELECT max(revision) FROM enforcement_changes e WHERE e.pop_id = s.pop_id AND e.service_id = s.id AND NOT e.removed)`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d services not at their last outbox change (%v)", bad, err)
	}
}
