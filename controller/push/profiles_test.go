package push_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/push"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// TestThrottledOnlyToAgentsThatShape: the same records reach an agent
// announcing the service-profiles feature as THROTTLED with the throttle
// profile, and any other agent as SUSPENDED (with the profile, which it
// ignores), in snapshots and deltas alike; an active record carries its
// plan's profile to both; a throttled record without a profile is
// SUSPENDED even for a shaping agent.
func TestThrottledOnlyToAgentsThatShape(t *testing.T) {
	ts := serve(t, nil)
	throttle := &billing.EdgeProfile{Name: "throttle-residential", ServiceProfile: billing.ServiceProfile{DownloadRate: 1_000_000, UploadRate: 1_000_000}}
	plan := &billing.EdgeProfile{Name: "fiber-100.v2", ServiceProfile: billing.ServiceProfile{DownloadRate: 100_000_000, UploadRate: 20_000_000,
		DownloadBurstRate: 150_000_000, BurstTime: 8, Priority: 3, Vendor: billing.VendorOverrides{CiscoService: "FIBER100", FilterID: "f100"}}}
	ts.feed.add("pop-a",
		billing.EnforcementChange{Revision: 1, ServiceID: 7, DesiredState: billing.StateThrottled, Profile: throttle, Binding: billing.Binding{Method: "routeros"}},
		billing.EnforcementChange{Revision: 2, ServiceID: 8, DesiredState: billing.StateActive, Profile: plan, Binding: billing.Binding{Method: "radius"}},
		billing.EnforcementChange{Revision: 3, ServiceID: 9, DesiredState: billing.StateThrottled, Binding: billing.Binding{Method: "routeros"}})
	c := dial(t, ts.addr, nil)
	for _, tc := range []struct {
		name     string
		features []string
		want     pb.DesiredState
	}{
		{"shaping agent", []string{"ipam", push.FeatureServiceProfiles}, pb.DesiredState_DESIRED_STATE_THROTTLED},
		{"older agent", nil, pb.DesiredState_DESIRED_STATE_SUSPENDED},
		{"agent with other features", []string{"ipam"}, pb.DesiredState_DESIRED_STATE_SUSPENDED},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w, err := c.Watch(ctx, &pb.WatchRequest{Pop: "pop-a", AgentId: tc.name, Features: tc.features})
		if err != nil {
			t.Fatal(err)
		}
		snap := recv(t, w).GetSnapshot()
		if snap == nil {
			t.Fatalf("%s: no snapshot first", tc.name)
		}
		byID := map[string]*pb.Service{}
		for _, s := range snap.GetServices() {
			byID[s.GetServiceId()] = s
		}
		check := func(what string, svc map[string]*pb.Service) {
			t.Helper()
			if s := svc["7"]; s.GetDesiredState() != tc.want || s.GetProfile().GetName() != "throttle-residential" || s.GetProfile().GetDownloadRate() != 1_000_000 {
				t.Errorf("%s %s: throttled service sent as %v with profile %v, want %v with the throttle profile", tc.name, what, s.GetDesiredState(), s.GetProfile(), tc.want)
			}
			p := svc["8"].GetProfile()
			if svc["8"].GetDesiredState() != pb.DesiredState_DESIRED_STATE_ACTIVE || p.GetName() != "fiber-100.v2" || p.GetUploadRate() != 20_000_000 ||
				p.GetDownloadBurstRate() != 150_000_000 || p.GetBurstTimeSeconds() != 8 || p.GetPriority() != 3 || p.GetCiscoService() != "FIBER100" || p.GetFilterId() != "f100" {
				t.Errorf("%s %s: active service %v", tc.name, what, svc["8"])
			}
			if s := svc["9"]; s.GetDesiredState() != pb.DesiredState_DESIRED_STATE_SUSPENDED || s.GetProfile() != nil {
				t.Errorf("%s %s: throttled service without a profile sent as %v %v, want SUSPENDED", tc.name, what, s.GetDesiredState(), s.GetProfile())
			}
		}
		check("snapshot", byID)
		cancel()

		// The same through a delta: a record added while an up-to-date
		// stream watches.
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		w, err = c.Watch(ctx, &pb.WatchRequest{Pop: "pop-a", AgentId: tc.name, Features: tc.features, SinceRevision: ts.feed.latestRevision("pop-a")})
		if err != nil {
			t.Fatal(err)
		}
		rev := ts.feed.latestRevision("pop-a") + 1
		ts.feed.add("pop-a", billing.EnforcementChange{Revision: rev, ServiceID: 7, DesiredState: billing.StateThrottled, Profile: throttle, Binding: billing.Binding{Method: "routeros"}})
		ts.hub.Notify("pop-a")
		var delta *pb.Delta
		for delta == nil {
			delta = recv(t, w).GetDelta()
		}
		if s := delta.GetChanges()[0]; s.GetDesiredState() != tc.want || s.GetProfile().GetName() != "throttle-residential" {
			t.Errorf("%s delta: %v, want %v with the throttle profile", tc.name, s, tc.want)
		}
		cancel()
	}
}

// latestRevision is the POP's latest revision, under the feed's lock.
func (f *fakeFeed) latestRevision(pop string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest(pop)
}

// TestReportsSayWhetherTheAgentShapes: a report from an agent whose Watch
// announced service-profiles reaches the feed with Shapes set and its
// observed profile; one from an agent that did not, without.
func TestReportsSayWhetherTheAgentShapes(t *testing.T) {
	ts := serve(t, nil)
	ts.feed.add("pop-a", billing.EnforcementChange{Revision: 1, ServiceID: 7, DesiredState: billing.StateThrottled, Binding: billing.Binding{Method: "log"}})
	c := dial(t, ts.addr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := c.Watch(ctx, &pb.WatchRequest{Pop: "pop-a", AgentId: "new", Features: []string{push.FeatureServiceProfiles}})
	if err != nil {
		t.Fatal(err)
	}
	recv(t, w) // the snapshot: the stream is attached
	for _, agent := range []string{"new", "old"} {
		r, err := c.Report(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Send(&pb.ReportRequest{Pop: "pop-a", AgentId: agent, AppliedRevision: 1, Results: []*pb.ServiceResult{{ServiceId: "7", Revision: 1,
			Outcome: pb.Outcome_OUTCOME_APPLIED, ObservedState: pb.DesiredState_DESIRED_STATE_THROTTLED, ObservedProfile: "throttle-residential"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.CloseAndRecv(); err != nil {
			t.Fatal(err)
		}
	}
	ts.feed.mu.Lock()
	defer ts.feed.mu.Unlock()
	if len(ts.feed.reports) != 2 {
		t.Fatalf("%d reports, want 2", len(ts.feed.reports))
	}
	for _, rep := range ts.feed.reports {
		res := rep.Results[0]
		if rep.Shapes != (rep.AgentID == "new") || res.ObservedState != billing.StateThrottled || res.ObservedProfile != "throttle-residential" {
			t.Errorf("agent %s: shapes %v, observed %s %q", rep.AgentID, rep.Shapes, res.ObservedState, res.ObservedProfile)
		}
	}
}
