package enforcement

import (
	"context"
	"errors"
)

// State is a service's enforcement state on a device.
type State string

// States.
const (
	// Active: the subscriber has normal access.
	Active State = "active"
	// Suspended: the subscriber is cut off or redirected to the portal.
	Suspended State = "suspended"
	// Throttled: the subscriber stays connected at a throttle profile's
	// speed (the target's Profile), with plain HTTP redirected to the portal
	// where the device can. Only a [Shaper] throttles or observes it.
	Throttled State = "throttled"
)

// Profile is the speed a service gets on a device; it mirrors the
// controller's service profile (controller/billing.ServiceProfile) and the
// proto's ServiceProfile without importing either. Rates are bits per
// second from the subscriber's point of view: download is towards the
// subscriber. Zero optional fields are "not set" and leave the device's
// default.
type Profile struct {
	// Name identifies the profile and its version ("fiber-100.v3"); drivers
	// write it where the device keeps a comment, so a read-back can tell
	// which profile is in place.
	Name                                         string
	DownloadRate, UploadRate                     int64
	DownloadBurstRate, UploadBurstRate           int64
	DownloadBurstThreshold, UploadBurstThreshold int64
	// BurstTime is the burst averaging window in seconds, both directions.
	BurstTime int
	// Priority is 1 (highest) to 8; 0 is not set.
	Priority int
	// Vendor names of services or policies configured on the NAS.
	CiscoService, CiscoPolicyIn, CiscoPolicyOut, JuniperService, FilterID string
}

// Equal reports whether p and q ask for the same speed; nil equals nil
// only.
func (p *Profile) Equal(q *Profile) bool {
	if p == nil || q == nil {
		return p == q
	}
	return *p == *q
}

// SameSpeed reports whether p and q enforce the same rates, bursts and
// priority, whatever their names and vendor overrides: what a read-back
// from a device that stores only numbers can confirm. nil equals nil only.
func (p *Profile) SameSpeed(q *Profile) bool {
	if p == nil || q == nil {
		return p == q
	}
	return p.DownloadRate == q.DownloadRate && p.UploadRate == q.UploadRate &&
		p.DownloadBurstRate == q.DownloadBurstRate && p.UploadBurstRate == q.UploadBurstRate &&
		p.DownloadBurstThreshold == q.DownloadBurstThreshold && p.UploadBurstThreshold == q.UploadBurstThreshold &&
		p.BurstTime == q.BurstTime && p.Priority == q.Priority
}

// Binding identifies a subscriber's service on the network; it mirrors the
// controller's binding.
type Binding struct {
	// Method names the driver ("log", "routeros", "radius", "snmp").
	Method string
	// Addresses are IP addresses or prefixes of the subscriber.
	Addresses []string
	// RADIUSUsername is the User-Name of the subscriber's sessions.
	RADIUSUsername string
	// Device names a device in the agent's config.
	Device string
	// IfIndex is an SNMP interface index.
	IfIndex int32
}

// Target is what a driver acts on: one service and its binding.
type Target struct {
	ServiceID string
	Binding   Binding
	// Reason is the controller's reason for the current desired state, for
	// drivers that can annotate the device (an address-list comment).
	Reason string
	// Profile is the speed for the state being applied: the plan's profile
	// on Restore, the throttle profile on [Shaper.Throttle]; nil when the
	// controller sets no speed (Restore then removes any speed Tollgate set
	// earlier and leaves the router's own). Drivers that are not a [Shaper]
	// ignore it.
	Profile *Profile
}

// Driver enforces desired state on one kind of device. Implementations must
// be safe for concurrent use and idempotent: suspending a suspended service
// or restoring an active one succeeds without changing anything.
type Driver interface {
	// Suspend cuts the service off (or redirects it to the portal).
	Suspend(ctx context.Context, t Target) error
	// Restore gives the service normal access again.
	Restore(ctx context.Context, t Target) error
	// Observe reads the device and reports the service's current state.
	Observe(ctx context.Context, t Target) (State, error)
}

// Shaper is implemented by drivers that enforce speed as well as access
// (RADIUS through CoA attributes, RouterOS through simple queues). SNMP
// port shutdown cannot, and the controller refuses a profile or a
// throttling account type for a service bound to it. A Shaper's Restore
// also applies t.Profile, and its Observe reports [Throttled] for a
// throttled service. Optional.
type Shaper interface {
	Driver
	// Throttle keeps the subscriber connected at t.Profile's speed (t.Profile
	// must not be nil) and redirects plain HTTP to the portal where the
	// device can. Idempotent, like Suspend and Restore.
	Throttle(ctx context.Context, t Target) error
	// ObserveProfile reads the speed the device holds for the service: nil
	// when it holds none that Tollgate set. The Name of the returned profile
	// is what the device recorded ("" when it cannot record one); the rates
	// are what the device enforces, so a hand-edited limit reads back as it
	// is and the reconcile sets it back. t.Profile is the profile last
	// applied (nil: none); a field whose "not set" the device stores as its
	// default value (RouterOS writes priority 0 as 8) reads back as
	// t.Profile has it when the device holds that default, so an unchanged
	// profile reads back SameSpeed.
	ObserveProfile(ctx context.Context, t Target) (*Profile, error)
}

// ErrUnknownMethod is returned when no driver is registered for a binding's
// method.
var ErrUnknownMethod = errors.New("no enforcement driver registered for this method")

// PendingReporter is implemented by drivers whose state can be in place
// without having reached the subscriber yet: a RADIUS suspension of a
// service with no active session is answered walled by the authorize
// endpoint at the next login, but nothing on a NAS holds it now. Optional.
type PendingReporter interface {
	// Pending is asked after a successful apply or read-back that found t
	// in state st. It returns why st is still pending ("no active session;
	// applies at next login"), or "" when st is fully in place. It does no
	// I/O.
	Pending(t Target, st State) string
}
