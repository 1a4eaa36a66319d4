package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestPendingShowsInStanding: an agent's pending result (a RADIUS
// suspension of a service with no active session) shows in the account's
// standing as pending, with its reason, and the service is not confirmed;
// the agent's later applied result confirms it and clears the reason.
func TestPendingShowsInStanding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, residential())
	a, id := c.account("pop-1")
	s, _, err := c.db.SetDesiredState(ctx, billing.StateChange{ServiceID: id, State: billing.StateSuspended, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	report := func(res billing.ServiceResult) {
		t.Helper()
		at := t0.Add(time.Second)
		res.ServiceID, res.Revision, res.ObservedState, res.ObservedAt = s.ID, s.Revision, billing.StateSuspended, at
		if err := c.db.RecordReport(ctx, billing.AgentReport{POP: s.POP, AgentID: "x", AppliedRevision: s.Revision, ReceivedAt: at,
			Results: []billing.ServiceResult{res}}); err != nil {
			t.Fatal(err)
		}
	}
	report(billing.ServiceResult{Pending: "no active session; applies at next login"})
	st, err := c.db.AccountStanding(ctx, a, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 || st.Services[0].Pending != "no active session; applies at next login" || st.Services[0].Confirmed() {
		t.Fatalf("standing after a pending result: %+v", st.Services)
	}
	report(billing.ServiceResult{Applied: true})
	if st, _ = c.db.AccountStanding(ctx, a, t0); st.Services[0].Pending != "" || !st.Services[0].Confirmed() {
		t.Fatalf("standing after the applied result: %+v", st.Services)
	}
}
