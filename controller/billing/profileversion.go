package billing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// EdgeProfile is a service profile as the edge receives it: the profile
// with the name a device records it by ("fiber-100.v3" for a plan's third
// version, "throttle-residential" for an account type's throttle speed).
type EdgeProfile struct {
	// Name is set by Tollgate (read-only): the plan's or account type's
	// name, lowercased, with the plan's profile version.
	Name string `json:"name" readOnly:"true"`
	ServiceProfile
}

// ProfileName is the edge name of a plan's profile version:
// "<plan name as a slug>.v<version>".
func ProfileName(plan string, version int) string {
	return slug(plan) + ".v" + strconv.Itoa(version)
}

// ThrottleProfileName is the edge name of an account type's throttle
// profile.
func ThrottleProfileName(accountType string) string { return "throttle-" + slug(accountType) }

// slug lowercases s and replaces every run of characters other than
// letters and digits with one '-', for names a router can show.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		out = "plan"
	}
	return out
}

// ProfileSource says where the profile of a desired-state record comes
// from: the outbox writer looks the profile up by it (see
// [ProfileSourceFor]).
type ProfileSource string

// Profile sources.
const (
	// ProfileNone: the record carries no profile (suspended; a binding
	// that cannot shape).
	ProfileNone ProfileSource = ""
	// ProfileFromPlan: the current profile version of the service's plan.
	ProfileFromPlan ProfileSource = "plan"
	// ProfileFromThrottle: the throttle profile of the account's type.
	ProfileFromThrottle ProfileSource = "throttle"
)

// ProfileSourceFor is the profile a record of a service in state carries:
// the plan's current profile when active, the account type's throttle
// profile when throttled, none when suspended. (A binding that cannot
// shape, see [MethodShapes], carries none in any state; the writer applies
// that with [ShapingMethods].)
func ProfileSourceFor(state DesiredState) ProfileSource {
	switch state {
	case StateActive:
		return ProfileFromPlan
	case StateThrottled:
		return ProfileFromThrottle
	}
	return ProfileNone
}

// shapingMethods are the binding methods whose drivers enforce speed
// (enforcement.Shaper): RouterOS simple queues, RADIUS CoA attributes, and
// the log driver (which records what it would do). SNMP port shutdown
// cannot.
var shapingMethods = []string{MethodLog, MethodRADIUS, MethodRouterOS}

// ReceivesProfile reports whether a service in state bound with method
// gets its plan's profile now: active and bound with a method that shapes.
// (A suspended or throttled one gets it when restored.)
func ReceivesProfile(state DesiredState, method string) bool {
	return state == StateActive && MethodShapes(method)
}

// NeedsProfileRevision reports whether a service whose current revision
// carries has needs a new revision to carry its plan's profile want: it
// receives a profile (see [ReceivesProfile]) and has is not want.
func NeedsProfileRevision(state DesiredState, method string, has, want *EdgeProfile) bool {
	if !ReceivesProfile(state, method) {
		return false
	}
	if has == nil || want == nil {
		return has != want
	}
	return *has != *want
}

// ShapingMethods lists the binding methods that can enforce a profile.
func ShapingMethods() []string { return slices.Clone(shapingMethods) }

// MethodShapes reports whether a binding method can enforce a profile.
func MethodShapes(method string) bool { return slices.Contains(shapingMethods, method) }

// ErrNoShaping is the message for a profile or throttle given to a
// service whose binding cannot enforce speed.
func errNoShaping(field string, serviceID int64, method string) error {
	what := "service"
	if serviceID != 0 {
		what = fmt.Sprintf("service %d", serviceID)
	}
	return Errorf(EINVALID, "%s: %s is bound with method %s, which enforces access only (port up or down) and cannot enforce a speed; bind it with routeros or radius, or choose a plan without a profile",
		field, what, method)
}

// CheckShaping refuses a profile for a service whose binding cannot
// enforce one: hasProfile is whether the plan it would be on carries a
// profile (or its account type throttles). field names what the caller
// changed (plan_id, binding.method, account_type_id).
//
// Errors: EINVALID naming the field, the service and its method.
func CheckShaping(field string, serviceID int64, method string, hasProfile bool) error {
	if hasProfile && !MethodShapes(method) {
		return errNoShaping(field, serviceID, method)
	}
	return nil
}

// SuspendAction is what an account type's suspension for non-payment does.
type SuspendAction string

// Suspend actions.
const (
	// SuspendBlock cuts the service off (the default).
	SuspendBlock SuspendAction = "block"
	// SuspendThrottle keeps it connected at the type's throttle profile.
	SuspendThrottle SuspendAction = "throttle"
)

// SuspendState is the desired state a suspension for non-payment gives
// the type's services: throttled for a type with suspend_action throttle,
// suspended otherwise.
func (t AccountType) SuspendState() DesiredState {
	if t.SuspendAction == SuspendThrottle && t.ThrottleProfile != nil {
		return StateThrottled
	}
	return StateSuspended
}

// Throttles reports whether the type's suspensions throttle.
func (t AccountType) Throttles() bool { return t.SuspendState() == StateThrottled }

// validateSuspendAction checks suspend_action and throttle_profile and
// names the throttle profile.
func (t *AccountType) validateSuspendAction() error {
	switch t.SuspendAction {
	case "":
		t.SuspendAction = SuspendBlock
	case SuspendBlock, SuspendThrottle:
	default:
		return Errorf(EINVALID, "suspend_action %q is not one of block, throttle", t.SuspendAction)
	}
	if t.SuspendAction == SuspendThrottle && t.ThrottleProfile == nil {
		return Errorf(EINVALID, "throttle_profile is required with suspend_action throttle (the speed a throttled subscriber keeps, e.g. 1000000 bit/s both ways)")
	}
	if t.ThrottleProfile != nil {
		if err := t.ThrottleProfile.Validate(); err != nil {
			return Errorf(EINVALID, "throttle_profile.%s", ErrorMessage(err))
		}
		t.ThrottleProfile.Name = ThrottleProfileName(t.Name)
	}
	return nil
}

// RateWords says a rate in bits per second as people read it: "1 Mbit/s",
// "512 kbit/s", "1.5 Gbit/s".
func RateWords(bps int64) string {
	units := []struct {
		n    int64
		name string
	}{{1_000_000_000, "Gbit/s"}, {1_000_000, "Mbit/s"}, {1_000, "kbit/s"}}
	for _, u := range units {
		if bps >= u.n {
			return strconv.FormatFloat(float64(bps)/float64(u.n), 'f', -1, 64) + " " + u.name
		}
	}
	return strconv.FormatInt(bps, 10) + " bit/s"
}

// SpeedWords says a profile's speed: "1 Mbit/s" when both directions are
// the same, else "10 Mbit/s down, 2 Mbit/s up".
func (p ServiceProfile) SpeedWords() string {
	if p.DownloadRate == p.UploadRate {
		return RateWords(p.DownloadRate)
	}
	return RateWords(p.DownloadRate) + " down, " + RateWords(p.UploadRate) + " up"
}

// ThrottledWords is what the "why" of a throttled service adds, for staff
// and subscribers: "slowed to 1 Mbit/s until the balance is paid".
func ThrottledWords(p *EdgeProfile) string {
	if p == nil {
		return "slowed until the balance is paid"
	}
	return "slowed to " + p.SpeedWords() + " until the balance is paid"
}

// ProfileVersion is one profile of a plan from its creation on. Versions
// are never edited: a change adds one, which reaches every active service
// on the plan at once (speed is not billed by period, so unlike a price it
// has no effective date).
type ProfileVersion struct {
	PlanID  int64 `json:"plan_id"`
	Version int   `json:"version"`
	// Profile is the version's profile; nil: none (access only).
	Profile   *EdgeProfile `json:"profile"`
	Actor     string       `json:"actor,omitempty"`
	Reason    string       `json:"reason,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

// ProfiledService is a service on a plan, as a profile change counts it.
type ProfiledService struct {
	ServiceID int64
	AccountID int64
	State     DesiredState
	Method    string
}

// ProfileChangeRequest asks to give a plan a new profile (nil: take its
// profile away, leaving speed to the routers).
type ProfileChangeRequest struct {
	Plan Plan
	// Current is the plan's profile now (nil: none) and CurrentVersion its
	// version (0: the plan never had one).
	Current        *EdgeProfile
	CurrentVersion int
	NewProfile     *ServiceProfile
	// Services are the plan's services that are not removed.
	Services []ProfiledService
	Actor    string
	Now      time.Time
	Reason   string
	// AllowAccessOnly accepts a new profile although some of the plan's
	// services are bound with a method that cannot enforce speed (SNMP):
	// they keep access-only enforcement. Without it such a change is
	// refused.
	AllowAccessOnly bool
}

// accessOnlyNamed is how many access-only services a refusal names by id.
const accessOnlyNamed = 5

// ProfileFanOutBatch is how many services one transaction of a profile
// change's fan-out gives a new revision: small enough that a POP's
// revision lock is held briefly and agents receive the change in deltas
// of ordinary size, large enough that a plan of 50,000 services takes a
// hundred transactions.
const ProfileFanOutBatch = 500

// ProfileChange is what a plan's profile change does.
type ProfileChange struct {
	Version ProfileVersion `json:"version"`
	// FanOut are the services that get a new revision carrying the new
	// profile (the active ones whose binding can shape), in id order, in
	// batches of ProfileFanOutBatch (see [ProfileChange.Batches]). They
	// lose no service, so the blast-radius guard never holds them. Not
	// in the answer (a plan may have tens of thousands): ReceiveNow
	// counts them.
	FanOut     []int64 `json:"-"`
	ReceiveNow int     `json:"receive_now"`
	// FanOutQueued is true when a job (retried until done, resumed after
	// a restart) sends the new profile to the ReceiveNow services after
	// the change commits; false when the change sent it itself.
	FanOutQueued bool `json:"fan_out_queued"`
	// AccessOnly are the services bound with a method that cannot enforce
	// speed (SNMP): they stay as they are, access only. A change that
	// gives the plan a profile while it has any is refused unless the
	// request allows it (allow_access_only).
	AccessOnly []int64 `json:"access_only"`
	// Later counts the services suspended or throttled now: they receive
	// the new profile when restored.
	Later int            `json:"later"`
	Audit LifecycleAudit `json:"-"`
	Why   []string       `json:"why"`
}

// Batches splits FanOut into the fan-out's transactions.
func (c ProfileChange) Batches() [][]int64 {
	var out [][]int64
	for ids := c.FanOut; len(ids) > 0; {
		n := min(len(ids), ProfileFanOutBatch)
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	return out
}

// PlanProfileChange decides a plan's new profile version: the version
// (its name "<plan>.v<n>"), the services that receive it now (active and
// bound with a shaping method), those that stay access-only (SNMP), and
// those that get it when restored.
//
// Errors (EINVALID, naming the field): an invalid profile; the profile
// the plan already has.
func PlanProfileChange(req ProfileChangeRequest) (ProfileChange, error) {
	p := req.Plan
	var next *EdgeProfile
	if req.NewProfile != nil {
		np := *req.NewProfile
		if err := np.Validate(); err != nil {
			return ProfileChange{}, Errorf(EINVALID, "profile.%s", ErrorMessage(err))
		}
		next = &EdgeProfile{Name: ProfileName(p.Name, req.CurrentVersion+1), ServiceProfile: np}
	}
	switch {
	case next == nil && req.Current == nil:
		return ProfileChange{}, Errorf(EINVALID, "profile: plan %q has no profile already", p.Name)
	case next != nil && req.Current != nil && next.ServiceProfile == req.Current.ServiceProfile:
		return ProfileChange{}, Errorf(EINVALID, "profile: plan %q already has this profile (%s)", p.Name, req.Current.Name)
	}
	c := ProfileChange{Version: ProfileVersion{PlanID: p.ID, Version: req.CurrentVersion + 1, Profile: next, Actor: req.Actor,
		Reason: req.Reason, CreatedAt: req.Now}, FanOut: []int64{}, AccessOnly: []int64{}}
	services := slices.Clone(req.Services)
	slices.SortFunc(services, func(a, b ProfiledService) int { return compareInt64(a.ServiceID, b.ServiceID) })
	for _, s := range services {
		switch {
		case !MethodShapes(s.Method):
			c.AccessOnly = append(c.AccessOnly, s.ServiceID)
		case ReceivesProfile(s.State, s.Method):
			c.FanOut = append(c.FanOut, s.ServiceID)
		default:
			c.Later++
		}
	}
	if next != nil && len(c.AccessOnly) > 0 && !req.AllowAccessOnly {
		return ProfileChange{}, refuseAccessOnly(p.Name, c.AccessOnly)
	}
	c.ReceiveNow = len(c.FanOut)
	c.Audit = LifecycleAudit{Actor: req.Actor, At: req.Now, Entity: auditEntityPlan, EntityID: p.ID, Action: "profile_change",
		Before: map[string]any{"profile": req.Current, "profile_version": req.CurrentVersion},
		After:  map[string]any{"profile": next, "profile_version": req.CurrentVersion + 1}, Reason: req.Reason}
	c.Why = append(c.Why, fmt.Sprintf("plan %q: %s → %s (version %d)", p.Name, profileWords(req.Current), profileWords(next), req.CurrentVersion+1))
	c.Why = append(c.Why, fmt.Sprintf("%d active services receive the new profile now, in %d batches of at most %d; no one loses service, so the suspension guard does not hold them",
		len(c.FanOut), len(c.Batches()), ProfileFanOutBatch))
	if c.Later > 0 {
		c.Why = append(c.Why, fmt.Sprintf("%d suspended or throttled services receive it when restored", c.Later))
	}
	if len(c.AccessOnly) > 0 {
		c.Why = append(c.Why, fmt.Sprintf("%d services bound with snmp keep access-only enforcement and no speed (allow_access_only): %v", len(c.AccessOnly), c.AccessOnly))
	}
	return c, nil
}

// refuseAccessOnly is the refusal of a profile for plan planName while
// services ids (sorted) are bound with a method that cannot enforce it:
// it names the count, the first few ids and the ways forward.
func refuseAccessOnly(planName string, ids []int64) error {
	named := make([]string, 0, accessOnlyNamed)
	for _, id := range ids[:min(len(ids), accessOnlyNamed)] {
		named = append(named, strconv.FormatInt(id, 10))
	}
	list := strings.Join(named, ", ")
	if len(ids) > accessOnlyNamed {
		list += fmt.Sprintf(" and %d more", len(ids)-accessOnlyNamed)
	}
	return Errorf(EINVALID, "profile: plan %q has %d services bound with snmp, which enforces access only and cannot enforce a speed (services %s); "+
		"bind them with routeros or radius, or move them to a plan without a profile, or send allow_access_only: true to give the plan "+
		"its profile while they keep access-only enforcement", planName, len(ids), list)
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// profileWords names a profile for the "why": "fiber-100.v2 (100 Mbit/s
// down, 20 Mbit/s up)", or "no profile".
func profileWords(p *EdgeProfile) string {
	if p == nil {
		return "no profile"
	}
	return p.Name + " (" + p.SpeedWords() + ")"
}
