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
	check := func(want map[string]billing.UnconfirmedCount) {
		t.Helper()
		got, err := db.UnconfirmedServices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("UnconfirmedServices = %v, want %v", got, want)
		}
	}
	check(map[string]billing.UnconfirmedCount{"uc-a": {Unconfirmed: 2}, "uc-b": {Unconfirmed: 1}})

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
	check(map[string]billing.UnconfirmedCount{"uc-a": {Unconfirmed: 1}, "uc-b": {Unconfirmed: 1}})

	// A new desired state is unconfirmed until the agent confirms it.
	a, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: a.ID, State: billing.StateSuspended, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	check(map[string]billing.UnconfirmedCount{"uc-a": {Unconfirmed: 2}, "uc-b": {Unconfirmed: 1}})
	report(a, true)
	report(b, true)
	check(map[string]billing.UnconfirmedCount{"uc-a": {Unconfirmed: 0}, "uc-b": {Unconfirmed: 1}})

	// A pending result (a RADIUS suspension with no session) is counted as
	// pending, not unconfirmed, and shown on the service; it neither
	// confirms nor fails.
	a, _, err = db.SetDesiredState(ctx, billing.StateChange{ServiceID: a.ID, State: billing.StateActive, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err = db.SetDesiredState(ctx, billing.StateChange{ServiceID: a.ID, State: billing.StateSuspended, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(2 * time.Second)
	if err := db.RecordReport(ctx, billing.AgentReport{POP: a.POP, AgentID: "x", AppliedRevision: a.Revision, ReceivedAt: at, Results: []billing.ServiceResult{
		{ServiceID: a.ID, Revision: a.Revision, Pending: "no active session; applies at next login", ObservedState: billing.StateSuspended, ObservedAt: at},
	}}); err != nil {
		t.Fatal(err)
	}
	check(map[string]billing.UnconfirmedCount{"uc-a": {Pending: 1}, "uc-b": {Unconfirmed: 1}})
	got, err := db.Service(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Confirmed() || got.Confirmation.Pending != "no active session; applies at next login" || got.Confirmation.LastError != "" {
		t.Fatalf("pending service: confirmed=%v %+v", got.Confirmed(), got.Confirmation)
	}
	// A newer desired state is not pending until the agent says so.
	a, _, err = db.SetDesiredState(ctx, billing.StateChange{ServiceID: a.ID, State: billing.StateActive, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	check(map[string]billing.UnconfirmedCount{"uc-a": {Unconfirmed: 1}, "uc-b": {Unconfirmed: 1}})
	if got, _ := db.Service(ctx, a.ID); got.Confirmation.Pending != "" {
		t.Fatalf("pending shown for a newer revision: %+v", got.Confirmation)
	}
	// Applied clears it.
	report(a, true)
	check(map[string]billing.UnconfirmedCount{"uc-a": {}, "uc-b": {Unconfirmed: 1}})
}
