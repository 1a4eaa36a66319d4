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

	// wants holds the services last suspended through this driver: the
	// authorize endpoint answers from it, and Observe reads a service
	// without sessions from it (nothing on any NAS contradicts it and the
	// authorize endpoint gives it that state when it connects).
	wants *wants
	// matchCSID makes the authorize endpoint match an Access-Request's
	// Calling-Station-Id against User-Names that are MAC addresses
	// (authorize.match_calling_station_id).
	matchCSID bool
	def       *nas // the NAS whose reply answers an Access-Request from an unknown NAS
}

var _ enforcement.Driver = (*Driver)(nil)

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
	return d, nil
}

// Preload records the desired state of a service the agent already holds
// (from its state file, at start), before any Suspend or Restore: the
// authorize endpoint answers for it at once, and Observe of a suspended
// service with no session reads suspended. It sends nothing.
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
// gets its NAS's suspend action. A service with no session succeeds with
// nothing sent: the authorize endpoint suspends it when it connects.
func (d *Driver) Suspend(ctx context.Context, t enforcement.Target) error {
	return d.apply(ctx, t, enforcement.Suspended)
}

// Restore implements [enforcement.Driver].
func (d *Driver) Restore(ctx context.Context, t enforcement.Target) error {
	return d.apply(ctx, t, enforcement.Active)
}

func (d *Driver) apply(ctx context.Context, t enforcement.Target, want enforcement.State) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("radius: service %s: %w", t.ServiceID, err)
	}
	ss, err := d.sessionsOf(t)
	if err != nil {
		return fmt.Errorf("radius: %w", err)
	}
	// The authorize endpoint answers the new state from now on, before any
	// request reaches a NAS: a session cut by a Disconnect-Request
	// re-authenticates into the new state, whatever happens next.
	d.wants.set(t, want)
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Go(func() { errs[i] = d.applySession(ctx, t, s, want) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// applySession sends one session its NAS's action for want.
func (d *Driver) applySession(ctx context.Context, t enforcement.Target, s radiusproto.Session, want enforcement.State) error {
	n := d.nasOf(&s)
	if n == nil {
		return fmt.Errorf("radius: service %s: session %s of %s is on NAS %s, which is not configured", t.ServiceID, s.ID, s.UserName, s.NAS)
	}
	act := n.prof.restore
	if want == enforcement.Suspended {
		act = n.prof.suspend
	}
	if act.disconnect {
		// Cutting a session is not idempotent for the subscriber: only
		// sessions not already in the wanted state are disconnected.
		if s.State == want {
			return nil
		}
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
	for _, attrs := range act.coas {
		out, err := n.client.Exchange(ctx, rad.CodeCoARequest, d.sessionAttrs(&s, attrs))
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
	d.sessions.SetState(s.Key(), want, radiusproto.SourceNAS)
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
// endpoint makes for an Access-Request of its User-Name or address):
//
//   - the endpoint answers suspended: suspended when every session is
//     (each session's state being the one the NAS last acknowledged to a
//     CoA-Request, or the one its accounting showed), or when there is no
//     session; active when a session is not;
//   - the endpoint answers active: active when no session is suspended,
//     suspended otherwise.
//
// So a read-back confirms a state only when both the sessions and the
// next login are in it.
func (d *Driver) Observe(ctx context.Context, t enforcement.Target) (enforcement.State, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("radius: service %s: %w", t.ServiceID, err)
	}
	ss, err := d.sessionsOf(t)
	if err != nil {
		return "", fmt.Errorf("radius: %w", err)
	}
	if d.authorizeAnswer(t) == enforcement.Suspended {
		for _, s := range ss {
			if s.State != enforcement.Suspended {
				return enforcement.Active, nil
			}
		}
		return enforcement.Suspended, nil
	}
	for _, s := range ss {
		if s.State == enforcement.Suspended {
			return enforcement.Suspended, nil
		}
	}
	return enforcement.Active, nil
}

// authorizeAnswer is what the authorize endpoint answers now for an
// Access-Request of t's subscriber: suspended when a request carrying its
// User-Name (or, for a binding by framed address, each of its addresses)
// gets the suspended reply.
func (d *Driver) authorizeAnswer(t enforcement.Target) enforcement.State {
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
		if d.wants.suspendedService(t.ServiceID) {
			return enforcement.Suspended
		}
		return enforcement.Active
	}
	for _, r := range reqs {
		if !d.suspendedRequest(r) {
			return enforcement.Active
		}
	}
	return enforcement.Suspended
}

// suspendedRequest is the authorize endpoint's decision for one
// Access-Request: whether a suspended service uses its User-Name, its
// Framed-IP-Address or (with match_calling_station_id) its
// Calling-Station-Id.
func (d *Driver) suspendedRequest(r AuthorizeRequest) bool {
	if d.wants.suspendedUser(r.UserName) {
		return true
	}
	if r.FramedIP != "" {
		if ip, err := netip.ParseAddr(r.FramedIP); err == nil && d.wants.suspendedIP(ip) {
			return true
		}
	}
	return d.matchCSID && r.CallingStationID != "" && d.wants.suspendedMAC(r.CallingStationID)
}

// PendingReason is what [Driver.Pending] reports for a suspended service
// with no active session.
const PendingReason = "no active session; applies at next login"

// Pending implements [enforcement.PendingReporter]: a suspension of a
// service that has no session on any NAS is pending (nothing was cut; the
// authorize endpoint walls the next login). A restore with no session is
// not: the next login is already answered normally.
func (d *Driver) Pending(t enforcement.Target, st enforcement.State) string {
	if st != enforcement.Suspended {
		return ""
	}
	ss, err := d.sessionsOf(t)
	if err != nil || len(ss) > 0 {
		return ""
	}
	return PendingReason
}
