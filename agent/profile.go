package agent

import (
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-isp/tollgate/enforcement"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// FeatureServiceProfiles is the feature the agent announces in
// WatchRequest.features: it enforces Service.profile through drivers that
// are an [enforcement.Shaper], and DESIRED_STATE_THROTTLED.
const FeatureServiceProfiles = "service-profiles"

// features are what the agent announces to the controller.
var features = []string{FeatureServiceProfiles}

// Service profiles at the agent.
//
// The controller sends, per service, a desired state (active, suspended,
// throttled) and the profile (speed) of that state: the plan's when active,
// the throttle profile when throttled, none when suspended. Only a driver
// that is an [enforcement.Shaper] enforces speed; for every other driver
// the agent ignores profiles, and enforces a throttled service by
// suspending it (fail safe: a driver that cannot throttle must not leave a
// subscriber the controller wants limited with full access), with a
// warning. That choice is the service's effective state ([effectiveState]),
// which is what the agent applies, records as applied and compares with the
// device.
//
// The profile a service's driver is to hold ([shapedProfile]) is part of
// what is applied: a change of profile alone (an upgrade) reaches the
// driver like a change of state, the speed is read back
// ([enforcement.Shaper.ObserveProfile], compared with
// [enforcement.Profile.SameSpeed]) and reported as observed_profile, and the
// full reconcile repairs a speed edited by hand on the device. The record
// keeps the profile applied (applied_profile), so that an unchanged profile
// in a later snapshot calls no driver.

// profileOf converts the proto's service profile to the drivers' (nil for
// nil): the one place the two meet.
func profileOf(p *pb.ServiceProfile) *enforcement.Profile {
	if p == nil {
		return nil
	}
	return &enforcement.Profile{
		Name:                   p.GetName(),
		DownloadRate:           p.GetDownloadRate(),
		UploadRate:             p.GetUploadRate(),
		DownloadBurstRate:      p.GetDownloadBurstRate(),
		UploadBurstRate:        p.GetUploadBurstRate(),
		DownloadBurstThreshold: p.GetDownloadBurstThreshold(),
		UploadBurstThreshold:   p.GetUploadBurstThreshold(),
		BurstTime:              int(p.GetBurstTimeSeconds()),
		Priority:               int(p.GetPriority()),
		CiscoService:           p.GetCiscoService(),
		CiscoPolicyIn:          p.GetCiscoPolicyIn(),
		CiscoPolicyOut:         p.GetCiscoPolicyOut(),
		JuniperService:         p.GetJuniperService(),
		FilterID:               p.GetFilterId(),
	}
}

// shaper returns the driver of s's binding as a Shaper, if it is one.
func (a *Agent) shaper(s *pb.Service) (enforcement.Shaper, bool) {
	sh, ok := a.drivers[s.GetBinding().GetMethod()].(enforcement.Shaper)
	return sh, ok
}

// effectiveState is the state the agent applies for s: removed services
// are restored; a throttled service is suspended when its driver is not a
// Shaper or the controller sent no throttle profile.
func (a *Agent) effectiveState(s *pb.Service) pb.DesiredState {
	switch {
	case s.GetRemoved():
		return pb.DesiredState_DESIRED_STATE_ACTIVE
	case s.GetDesiredState() != pb.DesiredState_DESIRED_STATE_THROTTLED:
		return s.GetDesiredState()
	}
	if _, ok := a.shaper(s); !ok || s.GetProfile() == nil {
		return pb.DesiredState_DESIRED_STATE_SUSPENDED
	}
	return pb.DesiredState_DESIRED_STATE_THROTTLED
}

// shapedProfile is the profile s's driver is to hold in state st (s's
// effective state): s's profile when the driver is a Shaper and st is
// active or throttled; nil otherwise (a suspended service's queue is left
// as it is, a removed service's is taken away, and a driver that is not a
// Shaper holds no speed).
func (a *Agent) shapedProfile(s *pb.Service, st pb.DesiredState) *pb.ServiceProfile {
	if _, ok := a.shaper(s); !ok || s.GetRemoved() || st == pb.DesiredState_DESIRED_STATE_SUSPENDED {
		return nil
	}
	return s.GetProfile()
}

// sameProfile compares applied profiles; nil equals nil only.
func sameProfile(x, y *pb.ServiceProfile) bool {
	if x == nil || y == nil {
		return x == y
	}
	return proto.Equal(x, y)
}

// enforcementState is the drivers' name of a state.
func enforcementState(st pb.DesiredState) enforcement.State {
	switch st {
	case pb.DesiredState_DESIRED_STATE_SUSPENDED:
		return enforcement.Suspended
	case pb.DesiredState_DESIRED_STATE_THROTTLED:
		return enforcement.Throttled
	}
	return enforcement.Active
}

// desiredState is the proto's name of a state read from a device.
func desiredState(st enforcement.State) pb.DesiredState {
	switch st {
	case enforcement.Suspended:
		return pb.DesiredState_DESIRED_STATE_SUSPENDED
	case enforcement.Throttled:
		return pb.DesiredState_DESIRED_STATE_THROTTLED
	}
	return pb.DesiredState_DESIRED_STATE_ACTIVE
}

// observedProfileName is what the agent reports as observed_profile for a
// speed got read back from the device while want was to be in place: ""
// when the device holds no speed set by Tollgate; want's name when the
// device enforces want's speed (the name the device recorded may be
// shortened, or the device may record none: what is confirmed is the
// speed); otherwise the name the device recorded.
func observedProfileName(got *enforcement.Profile, want *pb.ServiceProfile) string {
	switch {
	case got == nil:
		return ""
	case want != nil && got.SameSpeed(profileOf(want)):
		return want.GetName()
	}
	return got.Name
}
