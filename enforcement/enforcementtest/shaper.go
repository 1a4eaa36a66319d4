package enforcementtest

import (
	"context"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// ShaperPeer is the device side of a [RunShaper] conformance run.
type ShaperPeer interface {
	Peer
	// TamperProfile changes the speed the device holds for target behind
	// the driver's back (a technician edits the queue's max-limit): the
	// rates become p's.
	TamperProfile(t *testing.T, target enforcement.Target, p enforcement.Profile)
}

// VendorNamer is implemented by a [ShaperPeer] whose device enforces a
// speed only through names configured on it (a Cisco ISG's services or
// QoS policies, a generic NAS's Filter-Id filters): [RunShaper] passes
// each of its profiles through NameProfile before use, and the peer
// returns it with the vendor names its device needs. Distinct profiles
// (distinct Names) must get distinct vendor names, so that a change of
// profile is a change on the device. Peers that do not implement it get
// the profiles with rates only.
type VendorNamer interface {
	NameProfile(p enforcement.Profile) enforcement.Profile
}

// Profiles used by the shaper cases: a plan, its upgrade, and a throttle.
var (
	planProfile = enforcement.Profile{Name: "fiber-100.v1", DownloadRate: 100_000_000, UploadRate: 20_000_000,
		DownloadBurstRate: 150_000_000, UploadBurstRate: 30_000_000, DownloadBurstThreshold: 80_000_000,
		UploadBurstThreshold: 16_000_000, BurstTime: 8, Priority: 5}
	upgradeProfile  = enforcement.Profile{Name: "fiber-300.v1", DownloadRate: 300_000_000, UploadRate: 50_000_000}
	throttleProfile = enforcement.Profile{Name: "throttle.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
)

// RunShaper runs the speed cases of the conformance suite (apply, change,
// read back, drift repaired, throttle and restore) for a driver that
// enforces profiles. Drivers run [Run] as well. A peer that is a
// [VendorNamer] gets the profiles with its device's vendor names.
func RunShaper(t *testing.T, d enforcement.Shaper, p ShaperPeer) {
	t.Helper()
	ctx := context.Background()
	planProfile, upgradeProfile, throttleProfile := planProfile, upgradeProfile, throttleProfile
	if n, ok := p.(VendorNamer); ok {
		planProfile, upgradeProfile, throttleProfile = n.NameProfile(planProfile), n.NameProfile(upgradeProfile), n.NameProfile(throttleProfile)
	}
	observe := func(t *testing.T, target enforcement.Target, wantState enforcement.State, wantSpeed *enforcement.Profile, when string) {
		t.Helper()
		got, err := d.Observe(ctx, target)
		if err != nil {
			t.Fatalf("%s: observe %s: %v", when, target.ServiceID, err)
		}
		if got != wantState {
			t.Fatalf("%s: service %s observed %q, want %q", when, target.ServiceID, got, wantState)
		}
		speed, err := d.ObserveProfile(ctx, target)
		if err != nil {
			t.Fatalf("%s: observe profile of %s: %v", when, target.ServiceID, err)
		}
		if !speed.SameSpeed(wantSpeed) {
			t.Fatalf("%s: service %s reads back speed %+v, want %+v", when, target.ServiceID, speed, wantSpeed)
		}
	}
	with := func(target enforcement.Target, p enforcement.Profile) enforcement.Target {
		target.Profile = &p
		return target
	}

	t.Run("ProfileAppliedAndChanged", func(t *testing.T) {
		target := p.Targets(t, 1)[0]
		for i := range 2 { // idempotent
			if err := d.Restore(ctx, with(target, planProfile)); err != nil {
				t.Fatalf("restore with the plan's profile #%d: %v", i+1, err)
			}
			observe(t, with(target, planProfile), enforcement.Active, &planProfile, "after applying the plan's profile")
		}
		if err := d.Restore(ctx, with(target, upgradeProfile)); err != nil {
			t.Fatalf("restore with the upgraded profile: %v", err)
		}
		observe(t, with(target, upgradeProfile), enforcement.Active, &upgradeProfile, "after an upgrade")
		if err := d.Restore(ctx, target); err != nil {
			t.Fatalf("restore without a profile: %v", err)
		}
		observe(t, target, enforcement.Active, nil, "after the profile was removed")
	})

	t.Run("ProfileDriftRepaired", func(t *testing.T) {
		target := with(p.Targets(t, 1)[0], planProfile)
		if err := d.Restore(ctx, target); err != nil {
			t.Fatal(err)
		}
		hand := planProfile
		hand.DownloadRate, hand.DownloadBurstRate, hand.DownloadBurstThreshold = 500_000_000, 0, 0
		hand.UploadBurstRate, hand.UploadBurstThreshold, hand.BurstTime = 0, 0, 0
		p.TamperProfile(t, target, hand)
		speed, err := d.ObserveProfile(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		if speed.SameSpeed(&planProfile) {
			t.Fatalf("after a hand-made edit the read-back still shows the plan's speed %+v: the driver does not read the device", speed)
		}
		if err := d.Restore(ctx, target); err != nil {
			t.Fatalf("repairing the edited profile: %v", err)
		}
		observe(t, target, enforcement.Active, &planProfile, "after repairing the hand-made edit")
	})

	t.Run("ThrottleAndRestore", func(t *testing.T) {
		ts := p.Targets(t, 2)
		for _, target := range ts {
			if err := d.Restore(ctx, with(target, planProfile)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 2 {
			if err := d.Throttle(ctx, with(ts[0], throttleProfile)); err != nil {
				t.Fatalf("throttle #%d: %v", i+1, err)
			}
			observe(t, with(ts[0], throttleProfile), enforcement.Throttled, &throttleProfile, "after throttling")
		}
		observe(t, with(ts[1], planProfile), enforcement.Active, &planProfile, "a neighbour of the throttled service")
		if err := d.Restore(ctx, with(ts[0], planProfile)); err != nil {
			t.Fatalf("restore after throttling: %v", err)
		}
		observe(t, with(ts[0], planProfile), enforcement.Active, &planProfile, "after paying: the plan's profile, not the throttle")
		// Suspending a throttled service cuts it off.
		if err := d.Throttle(ctx, with(ts[1], throttleProfile)); err != nil {
			t.Fatal(err)
		}
		if err := d.Suspend(ctx, ts[1]); err != nil {
			t.Fatalf("suspend a throttled service: %v", err)
		}
		st, err := d.Observe(ctx, ts[1])
		if err != nil || st != enforcement.Suspended {
			t.Fatalf("a throttled service suspended reads back %q, %v; want suspended", st, err)
		}
	})
}
