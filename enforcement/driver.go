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
)

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
