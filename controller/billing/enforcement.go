package billing

import (
	"context"
	"time"
)

// EnforcementChange is one entry of a POP's enforcement history: the full
// desired state of a service at a revision.
type EnforcementChange struct {
	Revision     int64
	ServiceID    int64
	DesiredState DesiredState
	Reason       string
	Binding      Binding
	// Profile is the speed the service gets in DesiredState (the plan's
	// profile when active, the throttle profile when throttled); nil: none.
	Profile *EdgeProfile
	// Removed means the service no longer exists at this POP.
	Removed bool
	// CommittedAt is when the change was decided (its outbox row's
	// created_at); set by ChangesSince, zero in a snapshot.
	CommittedAt time.Time
}

// ServiceResult is an agent's report of applying one service's desired
// state.
type ServiceResult struct {
	ServiceID int64
	Revision  int64
	// Applied is false when the driver failed; Error says why.
	Applied bool
	Error   string
	// Pending, when not empty, says why the state the agent applied has not
	// reached the subscriber yet ("no active session; applies at next
	// login"): neither failed nor confirmed. Applied is false then.
	Pending       string
	ObservedState DesiredState
	// ObservedProfile is the name of the profile read back from the device
	// ("" when it holds none Tollgate set, or the agent does not shape).
	ObservedProfile string
	ObservedAt      time.Time
}

// UnconfirmedCount is how many of a POP's services the agent has not
// confirmed in their current desired state: Pending of them have a
// pending result (applied, takes effect at a later event such as the
// subscriber's next login), the other Unconfirmed have none, or a failed
// or outdated one.
type UnconfirmedCount struct {
	Unconfirmed int64
	Pending     int64
}

// AgentReport is one acknowledgement from an agent.
type AgentReport struct {
	POP             string
	AgentID         string
	Version         string
	AppliedRevision int64
	// Shapes is true when the agent announced the "service-profiles"
	// feature: it enforces profiles and the throttled state. An agent that
	// does not enforces a throttled service as suspended, and that
	// confirms it.
	Shapes  bool
	Results []ServiceResult
	// ReceivedAt is the controller's time of receipt.
	ReceivedAt time.Time
	// Learned are addresses the agent learned its services hold (DHCP
	// leases, RADIUS accounting); LearnedComplete the sources whose
	// Learned list is complete: their other addresses at the POP are
	// forgotten.
	Learned         []LearnedAddress
	LearnedComplete []string
}

// EnforcementFeed is what the push service reads and writes. Implementations
// must make revisions visible in commit order per POP.
type EnforcementFeed interface {
	// Snapshot returns the desired state of every service at the POP and the
	// revision it is consistent with. An unknown POP yields revision 0 and no
	// services (an agent may start before any service exists). No coded
	// errors: an error is the store's (the push service retries).
	Snapshot(ctx context.Context, pop string) (revision int64, services []EnforcementChange, err error)
	// ChangesSince returns up to limit changes with revision > since in
	// revision order, plus the POP's latest revision. needSnapshot is true
	// when since is older than the retained history or newer than the POP's
	// revision, in which case the caller must send a snapshot instead. No
	// coded errors: an error is the store's.
	ChangesSince(ctx context.Context, pop string, since int64, limit int) (changes []EnforcementChange, latest int64, needSnapshot bool, err error)
	// RecordReport stores an agent's acknowledgement and per-service results.
	// Results for services that are not at the report's POP are ignored, as
	// is a report for an unknown POP. No coded errors.
	RecordReport(ctx context.Context, r AgentReport) error
}
