package postgres_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func TestUnconfirmedServices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a := mustCreate(t, db, "uc-a")
	b := mustCreate(t, db, "uc-a")
	mustCreate(t, db, "uc-b")
	check := func(want map[string]int64) {
		t.Helper()
		got, err := db.UnconfirmedServices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("UnconfirmedServices = %v, want %v", got, want)
		}
	}
	check(map[string]int64{"uc-a": 2, "uc-b": 1})

	report := func(s billing.Service, applied bool) {
		t.Helper()
		at := t0.Add(time.Second)
		err := db.RecordReport(ctx, billing.AgentReport{POP: s.POP, AgentID: "x", AppliedRevision: s.Revision, ReceivedAt: at, Results: []billing.ServiceResult{
			{ServiceID: s.ID, Revision: s.Revision, Applied: applied, ObservedState: s.DesiredState, ObservedAt: at},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	report(a, true)
	report(b, false) // a failure confirms nothing
	check(map[string]int64{"uc-a": 1, "uc-b": 1})

	// A new desired state is unconfirmed until the agent confirms it.
	a, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: a.ID, State: billing.StateSuspended, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	check(map[string]int64{"uc-a": 2, "uc-b": 1})
	report(a, true)
	report(b, true)
	check(map[string]int64{"uc-a": 0, "uc-b": 1})
}
