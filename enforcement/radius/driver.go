package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// Driver is the RADIUS enforcement driver: it suspends and restores the
// sessions the accounting listener learned, with CoA-Request or
// Disconnect-Request per each NAS's vendor profile. See the package
// documentation for what Observe reports.
type Driver struct {
	sessions *radiusproto.Sessions
	log      *slog.Logger
	nas      []*nas
	byKey    map[string]*nas // nas_ip values and names
	now      func() time.Time

	// wants holds the desired state and speed of the services this driver
	// was told about: the authorize endpoint answers from it, and Observe
	// and ObserveProfile read a service without sessions from it (nothing
	// on any NAS contradicts it and the authorize endpoint gives it that
	// state and speed when it connects).
	wants *wants
	// matchCSID makes the authorize endpoint match an Access-Request's
	// Calling-Station-Id against User-Names that are MAC addresses
	// (authorize.match_calling_station_id).
	matchCSID bool
	def       *nas // the NAS whose reply answers an Access-Request from an unknown NAS
}

var (
	_ enforcement.Shaper          = (*Driver)(nil)
	_ enforcement.PendingReporter = (*Driver)(nil)
)

type nas struct {
	cfg    NASConfig
	prof   *profile
	client *radiusproto.Client
	ignore map[uint32]bool
}

// NewDriver returns a driver for the NASes in cfgs, acting on the
// sessions in sessions (fed by a [radiusproto.AccountingServer]). It reads the
// secrets and opens one UDP socket per 256 requests of concurrency per
// NAS. Close it when done.
func NewDriver(cfgs []NASConfig, sessions *radiusproto.Sessions, log *slog.Logger) (*Driver, error) {
	if sessions == nil {
		return nil, errors.New("radius: NewDriver needs a session table")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{
		sessions: sessions,
		log:      log,
		byKey:    make(map[string]*nas),
		now:      time.Now,
		wants:    newWants(),
	}
	for _, c := range cfgs {
		n, err := d.addNAS(c)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.nas = append(d.nas, n)
	}
	if len(d.nas) > 0 {
		d.def = d.nas[0]
	}
	sessions.SetClassifier(d.classify)
	sessions.SetSpeedReader(d.readSpeed)
	return d, nil
}

// Preload records the desired state of a service the agent already holds
// (from its state file, at start), with its speed t.Profile, before any
// Suspend, Restore or Throttle: the authorize endpoint answers for it at
// once, and Observe and ObserveProfile of a service with no session read
// it. It sends nothing.
func (d *Driver) Preload(t enforcement.Target, st enforcement.State) {
	d.wants.set(t, st)
}

func (d *Driver) addNAS(c NASConfig) (*nas, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("radius: %w", err)
	}
	prof, err := newProfile(c)
	if err != nil {
		return nil, fmt.Errorf("radius: nas %s: %w", c.Name, err)
	}
	secret, err := c.Secret.Load()
	if err != nil {
		return nil, fmt.Errorf("radius: nas %s: %w", c.Name, err)
	}
	for _, k := range append([]string{c.Name}, c.NASIP...) {
		if other, dup := d.byKey[k]; dup {
			return nil, fmt.Errorf("radius: nas %s: %q already names nas %s", c.Name, k, other.cfg.Name)
		}
	}
	cl, err := radiusproto.NewClient(c.Address, secret, c.Timeout, c.Retries, c.Concurrency)
	if err != nil {
		return nil, fmt.Errorf("radius: nas %s: %w", c.Name, err)
	}
	n := &nas{cfg: c, prof: prof, client: cl, ignore: map[uint32]bool{radiusproto.ErrorCauseSessionNotFound: true}}
	for _, e := range c.IgnoreErrorCauses {
		n.ignore[e] = true
	}
	for _, k := range append([]string{c.Name}, c.NASIP...) {
		d.byKey[k] = n
	}
	return n, nil
}

// Close closes the NAS sockets. Calls in flight fail.
func (d *Driver) Close() error {
	for _, n := range d.nas {
		n.client.Close()
	}
	return nil
}

// Sessions returns the driver's session table.
func (d *Driver) Sessions() *radiusproto.Sessions { return d.sessions }

// nasOf returns the NAS a session belongs to.
func (d *Driver) nasOf(s *radiusproto.Session) *nas {
	if n, ok := d.byKey[s.NAS]; ok {
		return n
	}
	if s.NASIdentifier != "" {
		if n, ok := d.byKey[s.NASIdentifier]; ok {
			return n
		}
	}
	if s.NASIP.IsValid() {
		return d.byKey[s.NASIP.String()]
	}
	return nil
}

func (d *Driver) classify(s *radiusproto.Session, attrs []radiusproto.Attr) (enforcement.State, bool) {
	n := d.nasOf(s)
	if n == nil {
		return "", false
	}
	return n.prof.classify(attrs)
}

func (d *Driver) readSpeed(s *radiusproto.Session, attrs []radiusproto.Attr) (string, bool) {
	n := d.nasOf(s)
	if n == nil {
		return "", false
	}
	return n.speedFromAccounting(attrs)
}

// sessionsOf returns the sessions of a target: by RADIUS user name when
// the binding has one, else by Framed-IP-Address within its addresses;
// only those on the binding's Device when it names a NAS.
func (d *Driver) sessionsOf(t enforcement.Target) ([]radiusproto.Session, error) {
	b := t.Binding
	var prefixes []netip.Prefix
	if b.RADIUSUsername == "" {
		for _, a := range b.Addresses {
			p, err := radiusproto.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("service %s: address %q: %w", t.ServiceID, a, err)
			}
			prefixes = append(prefixes, p)
		}
		if len(prefixes) == 0 {
			return nil, fmt.Errorf("service %s: the binding has neither a RADIUS user name nor addresses", t.ServiceID)
		}
	}
	ss := d.sessions.Find(b.RADIUSUsername, prefixes)
	if b.Device == "" {
		return ss, nil
	}
	dev, ok := d.byKey[b.Device]
	if !ok {
		return nil, fmt.Errorf("service %s: device %q is not a configured NAS", t.ServiceID, b.Device)
	}
	out := ss[:0]
	for _, s := range ss {
		if d.nasOf(&s) == dev {
			out = append(out, s)
		}
	}
	return out, nil
}

// Suspend implements [enforcement.Driver]: every session of the service
// gets its NAS's suspend action (a throttled Cisco or Juniper session
// leaves the throttle redirect service first). A service with no session
// succeeds with nothing sent: the authorize endpoint suspends it when it
// connects.
func (d *Driver) Suspend(ctx context.Context, t enforcement.Target) error {
	return d.apply(ctx, t, enforcement.Suspended)
}

// Restore implements [enforcement.Driver] and [enforcement.Shaper]: every
// session of the service gets its NAS's restore action (out of a
// suspension or the throttle redirect) and t.Profile's speed in its NAS
// vendor's attributes, in CoA-Requests; a changed profile replaces the
// previous one (Cisco and Juniper: the old service is deactivated, the new
// one activated). With t.Profile nil, a speed Tollgate set earlier is
// taken off (the service deactivated, the NAS's active_rate_limit or
// active_filter sent, or else the session disconnected so that it comes
// back with the NAS's own). Requests go only where the session's recorded
// speed differs ([Driver.ObserveProfile]).
func (d *Driver) Restore(ctx context.Context, t enforcement.Target) error {
	return d.apply(ctx, t, enforcement.Active)
}

// Throttle implements [enforcement.Shaper]: every session of the service
// keeps its connection at t.Profile's speed and is put behind its NAS's
// throttle redirect (throttle_redirect: a MikroTik address list, a Cisco
// ISG or Juniper service, a generic filter), in CoA-Requests, without a
// disconnect (except out of a suspension whose restore action is one). A
// service with no session succeeds with nothing sent: the authorize
// endpoint throttles it when it connects.
func (d *Driver) Throttle(ctx context.Context, t enforcement.Target) error {
	if t.Profile == nil {
		return fmt.Errorf("radius: service %s: throttle needs a profile", t.ServiceID)
	}
	return d.apply(ctx, t, enforcement.Throttled)
}

func (d *Driver) apply(ctx context.Context, t enforcement.Target, want enforcement.State) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("radius: service %s: %w", t.ServiceID, err)
	}
	ss, err := d.sessionsOf(t)
	if err != nil {
		return fmt.Errorf("radius: %w", err)
	}
	// The authorize endpoint answers the new state and speed from now on,
	// before any request reaches a NAS: a session cut by a
	// Disconnect-Request re-authenticates into them, whatever happens
	// next.
	d.wants.set(t, want)
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Go(func() { errs[i] = d.applySession(ctx, t, s, want) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// plan returns the requests that take session s from its recorded state
// and speed to want at t.Profile on NAS n. A disconnect, if any, is the
// last step. A NAS of the disconnect access profile (one that takes no
// CoA) gets a Disconnect-Request instead of any CoA: its next login is
// answered with the new state and speed.
func (n *nas) plan(s radiusproto.Session, want enforcement.State, p *enforcement.Profile) ([]step, error) {
	steps, err := n.planCoA(s, want, p)
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		// Names from a profile (services, filters) end up in values a
		// packet must be able to carry.
		if err := checkSizes(st.attrs); err != nil {
			return nil, err
		}
	}
	if len(steps) == 0 || n.prof.name != ProfileDisconnect || steps[len(steps)-1].disconnect {
		return steps, nil
	}
	return []step{{disconnect: true}}, nil
}

func (n *nas) planCoA(s radiusproto.Session, want enforcement.State, p *enforcement.Profile) ([]step, error) {
	old, known := decodeSpeed(s.Speed)
	var steps []step
	access := func(act action) bool { // false: the action disconnects
		if act.disconnect {
			steps = append(steps, step{disconnect: true})
			return false
		}
		for _, attrs := range act.coas {
			steps = append(steps, step{attrs: attrs})
		}
		return true
	}
	switch want {
	case enforcement.Suspended:
		if s.State == enforcement.Throttled && (n.cfg.Vendor == VendorCisco || n.cfg.Vendor == VendorJuniper) {
			steps = append(steps, n.redirectOff(nil)...)
		}
		if n.prof.suspend.disconnect && s.State == enforcement.Suspended {
			// Cutting a session is not idempotent for the subscriber:
			// only sessions not already suspended are disconnected.
			return steps, nil
		}
		access(n.prof.suspend)
		return steps, nil
	case enforcement.Throttled:
		if s.State == enforcement.Suspended && !access(n.prof.restore) {
			return steps, nil
		}
		more, err := n.throttleSteps(s.State, old, known, p)
		return append(steps, more...), err
	}
	// A restore action that sends the speed's own attribute (generic's
	// active_filter Filter-Id, mikrotik-rate-limit's active_rate_limit)
	// would overwrite the profile: with a profile, the speed step is the
	// restore.
	overlaps := p != nil && !n.prof.restore.disconnect &&
		((n.cfg.Vendor == VendorGeneric && n.prof.name == ProfileFilterID) ||
			(n.cfg.Vendor == VendorMikrotik && n.prof.name == ProfileMikrotikRateLimit))
	switch s.State {
	case enforcement.Suspended:
		if overlaps {
			known = false
		} else if !access(n.prof.restore) {
			return steps, nil
		}
	case enforcement.Throttled:
		off := n.redirectOff(p)
		steps = append(steps, off...)
		if len(off) > 0 && off[len(off)-1].disconnect {
			return steps, nil
		}
		if n.cfg.Vendor == VendorGeneric {
			known = false // the redirect filter is in place, not the speed's
		}
	default:
		// Restoring an active session resends the restore CoAs (they are
		// idempotent on the NAS); a restore that disconnects does not cut
		// an active session.
		if !n.prof.restore.disconnect && !overlaps {
			access(n.prof.restore)
		}
	}
	more, err := n.speedSteps(old, known, p)
	return append(steps, more...), err
}

// applySession sends one session the requests that take it to want at
// t.Profile, then records what the NAS acknowledged.
func (d *Driver) applySession(ctx context.Context, t enforcement.Target, s radiusproto.Session, want enforcement.State) error {
	n := d.nasOf(&s)
	if n == nil {
		return fmt.Errorf("radius: service %s: session %s of %s is on NAS %s, which is not configured", t.ServiceID, s.ID, s.UserName, s.NAS)
	}
	steps, err := n.plan(s, want, t.Profile)
	if err != nil {
		return fmt.Errorf("radius: service %s: session %s of %s: %w", t.ServiceID, s.ID, s.UserName, err)
	}
	for _, st := range steps {
		if st.disconnect {
			out, err := n.client.Exchange(ctx, rad.CodeDisconnectRequest, d.sessionAttrs(&s, nil))
			if err != nil {
				return d.wrap(t, n, &s, "Disconnect-Request", err)
			}
			if !out.ACK && !n.ignore[out.ErrorCause] {
				return d.nak(t, n, &s, "Disconnect-Request", out)
			}
			// Gone either way: its Stop follows, and its reconnection is
			// authorized in the new state by the authorize endpoint.
			d.sessions.Remove(s.Key())
			return nil
		}
		out, err := n.client.Exchange(ctx, rad.CodeCoARequest, d.sessionAttrs(&s, st.attrs))
		if err != nil {
			return d.wrap(t, n, &s, "CoA-Request", err)
		}
		if out.ACK {
			continue
		}
		if out.ErrorCause == radiusproto.ErrorCauseSessionNotFound {
			d.log.Info("radius: the NAS no longer has the session; forgetting it",
				"nas", n.cfg.Name, "user", s.UserName, "session", s.ID, "service", t.ServiceID)
			d.sessions.Remove(s.Key())
			return nil
		}
		if !n.ignore[out.ErrorCause] {
			return d.nak(t, n, &s, "CoA-Request", out)
		}
	}
	speed := s.Speed
	if want != enforcement.Suspended {
		if _, known := decodeSpeed(s.Speed); known || t.Profile != nil {
			speed = encodeSpeed(t.Profile)
		}
	}
	d.sessions.SetApplied(s.Key(), want, radiusproto.SourceNAS, speed)
	return nil
}

func (d *Driver) wrap(t enforcement.Target, n *nas, s *radiusproto.Session, what string, err error) error {
	return fmt.Errorf("radius: service %s: %s to NAS %s for session %s of %s: %w", t.ServiceID, what, n.cfg.Name, s.ID, s.UserName, err)
}

// NAKError is a NAK other than "session not found".
type NAKError struct {
	NAS        string
	ErrorCause uint32 // 0: the NAK carried none
}

func (e *NAKError) Error() string {
	if e.ErrorCause == 0 {
		return fmt.Sprintf("NAS %s answered NAK without an Error-Cause", e.NAS)
	}
	return fmt.Sprintf("NAS %s answered NAK with Error-Cause %d (%s)", e.NAS, e.ErrorCause, radiusproto.ErrorCauseName(e.ErrorCause))
}

func (d *Driver) nak(t enforcement.Target, n *nas, s *radiusproto.Session, what string, out radiusproto.Outcome) error {
	return d.wrap(t, n, s, what, &NAKError{NAS: n.cfg.Name, ErrorCause: out.ErrorCause})
}

// sessionAttrs returns the attributes that identify a session to its NAS
// (RFC 5176 §3: NAS identification and session identification), with
// Event-Timestamp, followed by extra.
func (d *Driver) sessionAttrs(s *radiusproto.Session, extra []radiusproto.Attr) rad.Attributes {
	attrs := make(rad.Attributes, 0, 6+len(extra))
	if s.NASIP.Is4() {
		attrs.Add(rfc2865.NASIPAddress_Type, s.NASIP.AsSlice())
	} else if s.NASIdentifier != "" {
		attrs.Add(rfc2865.NASIdentifier_Type, []byte(s.NASIdentifier))
	}
	if s.UserName != "" {
		attrs.Add(rfc2865.UserName_Type, []byte(s.UserName))
	}
	attrs.Add(rfc2866.AcctSessionID_Type, []byte(s.ID))
	if s.FramedIP.Is4() {
		attrs.Add(rfc2865.FramedIPAddress_Type, s.FramedIP.AsSlice())
	}
	attrs.Add(rfc2869.EventTimestamp_Type, rad.NewInteger(uint32(d.now().Unix())))
	for _, a := range extra {
		// Values were checked against the size limits when the profile
		// was built.
		_ = a.Encode(&attrs)
	}
	return attrs
}

// Observe implements [enforcement.Driver]. A RADIUS NAS cannot be read, so
// Observe reports what the NAS last told, together with what the
// authorize endpoint answers for the service now (the same decision the
// endpoint makes for an Access-Request of its User-Name or address): the
// state of the first session not in the endpoint's state (each session's
// state being the one the NAS last acknowledged to a CoA-Request, the one
// its accounting showed, or the one the endpoint answered at the login
// that started it), else the endpoint's state; so a read-back confirms a
// state only when both the sessions and the next login are in it.
func (d *Driver) Observe(ctx context.Context, t enforcement.Target) (enforcement.State, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("radius: service %s: %w", t.ServiceID, err)
	}
	ss, err := d.sessionsOf(t)
	if err != nil {
		return "", fmt.Errorf("radius: %w", err)
	}
	ans := d.authorizeAnswer(t).state
	for _, s := range ss {
		if s.State != ans {
			return s.State, nil
		}
	}
	return ans, nil
}

// ObserveProfile implements [enforcement.Shaper]. RADIUS cannot read a
// NAS's queues, so the speed read back is the one recorded for each of the
// service's sessions: the profile whose attributes the NAS last
// acknowledged in a CoA-Request, or the one the authorize endpoint
// answered at the login that started the session, or the rates the
// session's accounting reported (a MikroTik's Mikrotik-Rate-Limit, with
// no name). A session that restarted with none of these (the NAS
// re-established it on its own, a technician cleared it) has an unknown
// speed and reads back nil, so the reconcile sends the profile again. The
// first session whose speed differs from t.Profile is reported, else the
// sessions' common one; with no session, the speed the authorize endpoint
// gives the next login (nil for a suspended service).
func (d *Driver) ObserveProfile(ctx context.Context, t enforcement.Target) (*enforcement.Profile, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("radius: service %s: %w", t.ServiceID, err)
	}
	ss, err := d.sessionsOf(t)
	if err != nil {
		return nil, fmt.Errorf("radius: %w", err)
	}
	if len(ss) == 0 {
		a := d.authorizeAnswer(t)
		if a.state == enforcement.Suspended || a.profile == nil {
			return nil, nil
		}
		p := *a.profile
		return &p, nil
	}
	var first *enforcement.Profile
	for i, s := range ss {
		p, known := decodeSpeed(s.Speed)
		if !known {
			return nil, nil
		}
		if !p.SameSpeed(t.Profile) {
			return p, nil
		}
		if i == 0 {
			first = p
		}
	}
	return first, nil
}

// authorizeAnswer is what the authorize endpoint answers now for an
// Access-Request of t's subscriber: the answer to a request carrying its
// User-Name, or, for a binding by framed address, to each of its
// addresses (active when they differ).
func (d *Driver) authorizeAnswer(t enforcement.Target) answer {
	var reqs []AuthorizeRequest
	if u := t.Binding.RADIUSUsername; u != "" {
		reqs = append(reqs, AuthorizeRequest{UserName: u})
	} else {
		for _, a := range t.Binding.Addresses {
			if p, err := radiusproto.ParsePrefix(a); err == nil && p.IsSingleIP() {
				reqs = append(reqs, AuthorizeRequest{FramedIP: p.Addr().String()})
			}
		}
	}
	if len(reqs) == 0 {
		// A binding by prefixes: no single Access-Request to ask about;
		// the driver's own record is the answer.
		return d.wants.service(t.ServiceID)
	}
	first := d.answerRequest(reqs[0])
	for _, r := range reqs[1:] {
		if a := d.answerRequest(r); a.state != first.state || !a.profile.Equal(first.profile) {
			return answerActive
		}
	}
	return first
}

// answerRequest is the authorize endpoint's decision for one
// Access-Request: the state and speed of the service that uses its
// User-Name, its Framed-IP-Address or (with match_calling_station_id) its
// Calling-Station-Id.
func (d *Driver) answerRequest(r AuthorizeRequest) answer {
	var ip netip.Addr
	if r.FramedIP != "" {
		ip, _ = netip.ParseAddr(r.FramedIP)
	}
	mac := ""
	if d.matchCSID {
		mac = r.CallingStationID
	}
	return d.wants.lookup(r.UserName, ip, mac)
}

// PendingReason is what [Driver.Pending] reports for a suspended service
// with no active session.
const PendingReason = "no active session; applies at next login"

// Pending implements [enforcement.PendingReporter]: a suspension or a
// throttle of a service that has no session on any NAS is pending (nothing
// was cut or slowed; the authorize endpoint answers the next login with
// it). A restore with no session is not: the next login is already
// answered normally, with the plan's speed.
func (d *Driver) Pending(t enforcement.Target, st enforcement.State) string {
	if st != enforcement.Suspended && st != enforcement.Throttled {
		return ""
	}
	ss, err := d.sessionsOf(t)
	if err != nil || len(ss) > 0 {
		return ""
	}
	return PendingReason
}
