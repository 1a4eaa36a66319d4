package billing

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// DesiredState is what the controller wants the network to do with a service.
type DesiredState string

// Desired states.
const (
	StateActive    DesiredState = "active"
	StateSuspended DesiredState = "suspended"
	// StateThrottled keeps the subscriber connected at the account type's
	// throttle profile's speed instead of cutting them off (a suspension
	// of a type with suspend_action throttle). Only the sweep and its
	// approvals decide it; staff set active or suspended.
	StateThrottled DesiredState = "throttled"
)

// LosesService reports whether the state takes service away from the
// subscriber for money owed: suspended or throttled. The blast-radius
// guard counts these, and only these; a profile change keeps a service
// active and is never held.
func (s DesiredState) LosesService() bool { return s == StateSuspended || s == StateThrottled }

// Valid reports whether s is a state staff may set (active or suspended;
// throttled is decided by the sweep alone).
func (s DesiredState) Valid() bool { return s == StateActive || s == StateSuspended }

// Enforcement methods: which driver at the POP enforces a service.
const (
	MethodLog      = "log"
	MethodRouterOS = "routeros"
	MethodRADIUS   = "radius"
	MethodSNMP     = "snmp"
)

// Binding identifies a subscriber's service on the network.
type Binding struct {
	// Method is the enforcement method (MethodLog, MethodRouterOS, …).
	Method string `json:"method"`
	// Addresses are the subscriber's IP addresses or prefixes.
	Addresses []string `json:"addresses,omitempty"`
	// RADIUSUsername is the User-Name of the subscriber's RADIUS sessions.
	// A radius binding without one is bound by framed address: its sessions
	// are those whose Framed-IP-Address is in Addresses (IPoE/DHCP
	// subscribers with no User-Name).
	RADIUSUsername string `json:"radius_username,omitempty"`
	// Device names the device in the agent's config that enforces the service.
	Device string `json:"device,omitempty"`
	// IfIndex is the port's SNMP interface index (method snmp).
	IfIndex int32 `json:"if_index,omitempty"`
}

// Validate checks the binding has what its method needs.
func (b Binding) Validate() error { return b.validate(false) }

// validate checks the binding; learned: its addresses may be left to
// those its POP's agent learns (AllocateLearned).
func (b Binding) validate(learned bool) error {
	for _, a := range b.Addresses {
		if _, err := netip.ParsePrefix(a); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(a); err != nil {
			return Errorf(EINVALID, "address %q is neither an IP address nor a prefix", a)
		}
	}
	switch b.Method {
	case MethodLog:
	case MethodRouterOS:
		if len(b.Addresses) == 0 && !learned {
			return Errorf(EINVALID, "method routeros needs at least one address (or allocate: auto, a pool's name, or learned)")
		}
	case MethodRADIUS:
		if b.RADIUSUsername == "" && len(b.Addresses) == 0 {
			return Errorf(EINVALID, "method radius needs radius_username, or addresses to bind by Framed-IP-Address")
		}
	case MethodSNMP:
		if b.Device == "" || b.IfIndex <= 0 {
			return Errorf(EINVALID, "method snmp needs device and a positive if_index")
		}
	default:
		return Errorf(EINVALID, "method %q is not one of log, routeros, radius, snmp", b.Method)
	}
	return nil
}

// Service is one subscriber service as enforced at a POP.
type Service struct {
	ID      int64   `json:"id"`
	POP     string  `json:"pop"`
	Name    string  `json:"name"`
	Binding Binding `json:"binding"`
	// ServiceAddress is where the service is delivered; the account's
	// address is the billing address.
	ServiceAddress Address `json:"service_address,omitzero"`
	// Version increases with every move, edit or lifecycle change of the
	// service: its ETag, sent back as If-Match with the next one.
	Version int64 `json:"version" readOnly:"true"`

	DesiredState DesiredState `json:"desired_state"`
	// StateReason says, in plain language, why the service has its desired
	// state.
	StateReason string `json:"state_reason"`
	// Profile is the speed the current revision gives the service: its
	// plan's profile when active, its account type's throttle profile when
	// throttled; absent when suspended, when the plan has none, or when its
	// binding cannot shape (snmp).
	Profile *EdgeProfile `json:"profile,omitempty" readOnly:"true"`
	// Revision is the POP revision at which the desired state was decided.
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	Confirmation Confirmation `json:"confirmation"`
	// LearnedAddresses are the addresses its POP's agent learned it holds
	// (DHCP leases, RADIUS accounting; ended leases dropped): its binding
	// carries those of an address family it has no address of its own of
	// (a static IPv4 address and a learned IPv6 prefix: dual stack),
	// except conflicts. Filled when one service is read.
	LearnedAddresses []string `json:"learned_addresses,omitempty" readOnly:"true"`
	// LearnedConflicts are learned addresses another service holds, bound
	// in an address pool: left off this service's binding (the pool's
	// record wins) until the lease or the other binding changes. Filled
	// when one service is read.
	LearnedConflicts []LearnedConflict `json:"learned_conflicts,omitempty" readOnly:"true" doc:"Learned addresses left off the binding because another service holds them in an address pool: a DHCP or RADIUS server handing out an address Tollgate bound to someone else. Fix the pool binding or the server's configuration."`

	// AccountID is the subscriber account the service belongs to (nil for an
	// unbilled service).
	AccountID *int64 `json:"account_id,omitempty"`
	// PlanID is the plan it is billed on (nil: not billed).
	PlanID *int64 `json:"plan_id,omitempty"`
	// StartDate and EndDate (exclusive) bound the days it is billed for.
	StartDate Date `json:"start_date,omitzero"`
	EndDate   Date `json:"end_date,omitzero"`
	// Quantity multiplies the plan's price (1 unless changed).
	Quantity int64 `json:"quantity,omitempty" readOnly:"true"`
	// PauseFrom and PauseTo (exclusive, the day it resumes) bound its pause.
	PauseFrom Date `json:"pause_from,omitzero" readOnly:"true"`
	PauseTo   Date `json:"pause_to,omitzero" readOnly:"true"`
}

// Confirmation is what the POP's agent last reported about a service.
type Confirmation struct {
	// Revision is the highest revision the agent applied for this service.
	Revision int64 `json:"revision"`
	// ObservedState is the state read back from the device ("" if never).
	ObservedState DesiredState `json:"observed_state,omitempty"`
	// ObservedProfile is the name of the profile the agent read back from
	// the device ("" when none, or the agent does not shape).
	ObservedProfile string `json:"observed_profile,omitempty"`
	// LastConfirmedAt is when the agent last read the device back and found
	// it matching the desired state at Revision.
	LastConfirmedAt *time.Time `json:"last_confirmed_at,omitempty"`
	// LastError is the driver's last error, empty after a success.
	LastError    string     `json:"last_error,omitempty"`
	LastResultAt *time.Time `json:"last_result_at,omitempty"`
	// Pending, when not empty, says why the agent's result for the current
	// desired state is pending: applied, but not yet reaching the
	// subscriber ("no active session; applies at next login" for a RADIUS
	// suspension with no session, which the authorize endpoint walls at the
	// next login). Neither failing nor confirmed.
	Pending string `json:"pending,omitempty"`
}

// Confirmed reports whether the agent has confirmed the current desired
// state.
func (s Service) Confirmed() bool {
	return s.Confirmation.Revision >= s.Revision && s.Confirmation.ObservedState == s.DesiredState
}

var popIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidatePOPID checks a POP id: lower-case letters, digits, '.', '_' and '-',
// 1 to 63 characters, starting with a letter or digit.
func ValidatePOPID(pop string) error {
	if !popIDPattern.MatchString(pop) {
		return Errorf(EINVALID, "pop %q is not a valid POP id (lower-case letters, digits, '.', '_', '-'; 1-63 characters)", pop)
	}
	return nil
}

// NewService is the input to [ServiceStore.CreateService].
type NewService struct {
	POP     string  `json:"pop"`
	Name    string  `json:"name"`
	Binding Binding `json:"binding"`
	// ServiceAddress is where the service is delivered (empty: not known).
	ServiceAddress Address `json:"service_address,omitzero"`
	// State is the initial desired state; empty means active.
	State DesiredState `json:"state,omitempty"`
	// AccountID and PlanID bill the service; a plan needs an account and a
	// start date.
	AccountID *int64 `json:"account_id,omitempty"`
	PlanID    *int64 `json:"plan_id,omitempty"`
	// StartDate is the first billed day; EndDate (exclusive) the day billing
	// stops, if known.
	StartDate Date `json:"start_date,omitzero"`
	EndDate   Date `json:"end_date,omitzero"`
	// Quantity multiplies the plan's price (1-100000; 0 means 1).
	Quantity int64 `json:"quantity,omitempty" minimum:"0" maximum:"100000"`
	// Allocate, when set, adds addresses from the POP's address pools to
	// the binding: "auto" one block from each address family the POP has
	// a pool for, or the name of one pool; "learned" (AllocateLearned)
	// adds none and lets a binding that needs addresses go without, to
	// take those its POP's agent learns.
	Allocate string `json:"allocate,omitempty" maxLength:"63" doc:"Add addresses from the POP's pools to binding.addresses: auto (one from each address family the POP has a pool for, the first pool with room) or a pool's name; or learned: none, the service takes the addresses its POP's agent learns from DHCP leases (a routeros binding may then have none)."`
}

// Validate checks the input and fills defaults.
func (n *NewService) Validate() error {
	if err := ValidatePOPID(n.POP); err != nil {
		return err
	}
	n.Name = strings.TrimSpace(n.Name)
	if len(n.Name) > 200 {
		return Errorf(EINVALID, "name is longer than 200 characters")
	}
	if err := checkAddress("service_address", &n.ServiceAddress); err != nil {
		return err
	}
	if n.State == "" {
		n.State = StateActive
	}
	if !n.State.Valid() {
		return Errorf(EINVALID, "state %q is not one of active, suspended", n.State)
	}
	if n.Quantity == 0 {
		n.Quantity = 1
	}
	if n.Quantity < 1 || n.Quantity > maxQuantity {
		return Errorf(EINVALID, "quantity %d is out of range 1-%d", n.Quantity, maxQuantity)
	}
	if n.PlanID != nil && (n.AccountID == nil || n.StartDate.IsZero()) {
		return Errorf(EINVALID, "plan_id needs account_id and start_date")
	}
	if !n.EndDate.IsZero() && (n.StartDate.IsZero() || !n.EndDate.After(n.StartDate)) {
		return Errorf(EINVALID, "end_date %s must come after start_date", n.EndDate)
	}
	return n.Binding.validate(n.Allocate == AllocateLearned)
}

// StateChange is the input to [ServiceStore.SetDesiredState].
type StateChange struct {
	ServiceID int64
	State     DesiredState
	// Reason is recorded with the change and shown to staff.
	Reason string
	// Actor names who or what decided: "user:alice", "job:delinquency-sweep".
	Actor string
	// At is the decision time from the injected clock.
	At time.Time
}

// ServiceFilter selects services in [ServiceStore.Services].
type ServiceFilter struct {
	POP   string
	State DesiredState
	// AccountID, when not 0, lists only that account's services.
	AccountID int64
	// AfterID and Limit page through results in id order.
	AfterID int64
	Limit   int
}

// ServiceStore persists services and writes every desired-state change
// through the enforcement outbox.
type ServiceStore interface {
	// CreateService creates a service (and its POP if new) and records its
	// initial desired state at a new revision. EINVALID names the bad field
	// (an unknown account or plan, or a plan in another currency than the
	// account's, included).
	CreateService(ctx context.Context, in NewService, actor string, at time.Time) (Service, error)
	// Service returns one service; ENOTFOUND if there is none with that id.
	Service(ctx context.Context, id int64) (Service, error)
	// Services lists services matching the filter in id order; no coded
	// errors.
	Services(ctx context.Context, f ServiceFilter) ([]Service, error)
	// SetDesiredState changes a service's desired state, writing the change
	// with the POP's next revision in the same transaction. Setting the state
	// it already has changes nothing and reports changed=false. ENOTFOUND if
	// the service does not exist, EINVALID for a state other than active or
	// suspended.
	SetDesiredState(ctx context.Context, c StateChange) (s Service, changed bool, err error)
}

// LearnedConflict is a learned address that another service holds, bound
// in an address pool.
type LearnedConflict struct {
	Address string `json:"address" doc:"The learned address or prefix."`
	// BoundTo is the service that holds it.
	BoundTo int64 `json:"bound_to_service_id" doc:"The service the address is bound to in its pool."`
}
