package routeros

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-routeros/routeros/v3/proto"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// ErrClosed is returned by a driver after Close.
var ErrClosed = errors.New("routeros: driver closed")

// Driver enforces suspensions through RouterOS firewall address lists on
// the routers of a POP. It is safe for concurrent use; each router has its
// own connection, window and rate limit, so a router that is slow or down
// holds up only the calls that need it.
type Driver struct {
	log     *slog.Logger
	routers map[string]*router
	names   []string
}

var _ enforcement.Shaper = (*Driver)(nil)

// router is one configured router and its connection.
type router struct {
	cfg     *settings
	log     *slog.Logger
	limiter *limiter
	ctx     context.Context // ends at Close
	cancel  context.CancelFunc

	mu      sync.Mutex
	sess    *session
	dialing *dialAttempt
	closed  bool
	snap    *snapshot // see BeginReconcile
	// After a failed connection attempt, calls get its error until
	// retryAt rather than each trying again: a router that is down or
	// refuses the login sees one attempt per backoff (doubling from
	// 100ms to 5s), however many calls wait for it.
	lastErr error
	backoff time.Duration
	retryAt time.Time
}

type dialAttempt struct {
	done chan struct{}
	s    *session
	err  error
}

// New returns a driver for the routers in cfg. It checks the config and
// reads the password files; it does not connect (the first call to a
// router does, and calls reconnect as needed). log may be nil.
func New(cfg Config, log *slog.Logger) (*Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Routers) == 0 {
		return nil, errors.New("routeros: no routers configured")
	}
	d := &Driver{log: log, routers: map[string]*router{}}
	for _, rc := range cfg.Routers {
		s, err := rc.resolve()
		if err != nil {
			return nil, fmt.Errorf("routeros: %w", err)
		}
		if _, dup := d.routers[s.Name]; dup {
			return nil, fmt.Errorf("routeros: router %s is configured twice", s.Name)
		}
		ctx, cancel := context.WithCancel(context.Background())
		d.routers[s.Name] = &router{cfg: s, log: log.With("router", s.Name), limiter: newLimiter(s.RateLimit), ctx: ctx, cancel: cancel}
		d.names = append(d.names, s.Name)
	}
	slices.Sort(d.names)
	return d, nil
}

// Routers returns the names of the configured routers, sorted.
func (d *Driver) Routers() []string { return slices.Clone(d.names) }

// Close closes every router's connection; calls in progress fail and later
// ones return ErrClosed.
func (d *Driver) Close() error {
	for _, r := range d.routers {
		r.mu.Lock()
		r.closed = true
		s := r.sess
		r.sess = nil
		r.mu.Unlock()
		r.cancel()
		if s != nil {
			s.close(ErrClosed)
		}
	}
	return nil
}

// routerFor picks the router of a binding: the one its Device names, or
// the only one configured when Device is empty.
func (d *Driver) routerFor(device string) (*router, error) {
	if device == "" {
		if len(d.names) == 1 {
			return d.routers[d.names[0]], nil
		}
		return nil, fmt.Errorf("%w: the binding names no device and %d routers are configured", ErrBadTarget, len(d.names))
	}
	r, ok := d.routers[device]
	if !ok {
		return nil, fmt.Errorf("%w: device %q is not a configured router (have %s)", ErrBadTarget, device, strings.Join(d.names, ", "))
	}
	return r, nil
}

// target resolves a target's router and addresses.
func (d *Driver) target(t enforcement.Target) (*router, []address, error) {
	r, err := d.routerFor(t.Binding.Device)
	if err != nil {
		return nil, nil, err
	}
	if err := checkServiceID(t.ServiceID); err != nil {
		return nil, nil, err
	}
	if len(t.Binding.Addresses) == 0 {
		return nil, nil, fmt.Errorf("%w: service %s has no addresses", ErrBadTarget, t.ServiceID)
	}
	var addrs []address
	seen := map[string]bool{}
	for _, s := range t.Binding.Addresses {
		a, err := parseAddress(strings.TrimSpace(s))
		if err != nil {
			return nil, nil, fmt.Errorf("service %s: %w", t.ServiceID, err)
		}
		if !seen[a.key] {
			seen[a.key] = true
			addrs = append(addrs, a)
		}
	}
	return r, addrs, nil
}

// defaultOpTimeout bounds a Suspend, Restore or Observe whose context has
// no deadline, in units of the router's Timeout.
const defaultOpTimeout = 3

// do runs op on the router's connection, connecting first if needed, and
// runs it again on a new connection after a connection failure, with
// backoff, until it succeeds, fails otherwise, or ctx ends.
func (r *router) do(ctx context.Context, op func(context.Context, *session) error) error {
	var last error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			if last != nil {
				return fmt.Errorf("routeros %s: %w (last attempt: %v)", r.cfg.Name, err, last)
			}
			return fmt.Errorf("routeros %s: %w", r.cfg.Name, err)
		}
		s, err := r.session(ctx)
		if err == nil {
			err = op(ctx, s)
		}
		if err == nil || !isConnError(err) {
			if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				if last != nil {
					return fmt.Errorf("routeros %s: %w (last attempt: %v)", r.cfg.Name, err, last)
				}
				return fmt.Errorf("routeros %s: %w", r.cfg.Name, err)
			}
			return err
		}
		last = err
		if errors.Is(err, ErrClosed) {
			return err
		}
		backoff := min(100*time.Millisecond<<min(attempt, 5), 2*time.Second)
		backoff = backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// session returns the router's logged-in connection, making one if there
// is none. Callers share one connection attempt; it runs under the
// router's own timeout, so a caller giving up does not abort it for the
// others.
func (r *router) session(ctx context.Context) (*session, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, &connError{router: r.cfg.Name, err: ErrClosed}
	}
	if r.sess != nil && r.sess.alive() {
		s := r.sess
		r.mu.Unlock()
		return s, nil
	}
	if r.dialing == nil {
		if r.lastErr != nil && time.Now().Before(r.retryAt) {
			err := r.lastErr
			r.mu.Unlock()
			return nil, err
		}
		a := &dialAttempt{done: make(chan struct{})}
		r.dialing = a
		go r.connect(a)
	}
	a := r.dialing
	r.mu.Unlock()
	select {
	case <-a.done:
		return a.s, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *router) connect(a *dialAttempt) {
	s, err := r.dial()
	r.mu.Lock()
	r.dialing = nil
	switch {
	case err == nil && r.closed:
		s.close(ErrClosed)
		err = ErrClosed
	case err == nil:
		r.sess = s
		if r.lastErr != nil {
			r.log.Info("connected to router again")
		} else {
			r.log.Debug("connected to router")
		}
		r.lastErr, r.backoff = nil, 0
	case r.lastErr == nil:
		r.log.Warn("cannot reach router; retrying", "err", err)
	default:
		r.log.Debug("cannot reach router", "err", err)
	}
	if err != nil {
		var ce *connError
		if !errors.As(err, &ce) {
			err = &connError{router: r.cfg.Name, err: err}
		}
		s = nil
		r.backoff = min(max(2*r.backoff, 100*time.Millisecond), 5*time.Second)
		r.retryAt = time.Now().Add(r.backoff)
		r.lastErr = err
	}
	a.s, a.err = s, err
	r.mu.Unlock()
	close(a.done)
}

// dial connects, logs in and, if configured, puts missing walled-garden
// rules back.
func (r *router) dial() (*session, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Timeout)
	defer cancel()
	nd := &net.Dialer{KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if r.cfg.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: nd, Config: r.cfg.tls}).DialContext(ctx, "tcp", r.cfg.Address)
	} else {
		conn, err = nd.DialContext(ctx, "tcp", r.cfg.Address)
	}
	if err != nil {
		return nil, err
	}
	s := newSession(r.cfg.Name, conn, r.cfg.Timeout, r.cfg.Pipeline, r.limiter)
	if err := s.login(ctx, r.cfg.Username, r.cfg.password); err != nil {
		s.close(err)
		return nil, err
	}
	if r.cfg.WalledGarden.Bootstrap {
		if err := r.bootstrap(ctx, s); err != nil {
			if isConnError(err) || ctx.Err() != nil {
				s.close(err)
				return nil, fmt.Errorf("walled-garden bootstrap: %w", err)
			}
			// A rule the router refuses is logged; enforcement goes on
			// and the next connection tries again.
			r.log.Error("walled-garden bootstrap failed", "err", err)
		}
	}
	return s, nil
}

// entry is an address-list entry as the driver reads it back.
type entry struct {
	id       string
	address  string // as the router shows it
	key      string // entryKey(address)
	comment  string
	disabled bool
}

func parseEntry(sen *proto.Sentence) entry {
	e := entry{id: sen.Map[".id"], address: sen.Map["address"], comment: sen.Map["comment"]}
	e.key = entryKey(e.address)
	switch sen.Map["disabled"] {
	case "true", "yes":
		e.disabled = true
	}
	return e
}

const entryProps = "=.proplist=.id,address,comment,disabled"

// lookup prints, with one pipelined command per address, list's entries
// for each of addrs.
func (r *router) lookup(ctx context.Context, s *session, list string, addrs []address) ([][]entry, error) {
	found, err := r.lookupLists(ctx, s, []string{list}, addrs)
	if err != nil {
		return nil, err
	}
	return found[0], nil
}

// lookupLists is lookup for several lists at once: every print is on the
// wire before the first answer is awaited. found[i] is lists[i]'s.
func (r *router) lookupLists(ctx context.Context, s *session, lists []string, addrs []address) (found [][][]entry, err error) {
	calls, err := r.sendLookups(ctx, s, lists, addrs)
	if err != nil {
		return nil, err
	}
	return collectLookups(ctx, calls, addrs)
}

// sendLookups sends the prints of lookupLists; collectLookups awaits them.
func (r *router) sendLookups(ctx context.Context, s *session, lists []string, addrs []address) ([][]*call, error) {
	calls := make([][]*call, len(lists))
	for l, list := range lists {
		calls[l] = make([]*call, len(addrs))
		for i, a := range addrs {
			words := []string{a.fam.menu + "/print", entryProps, "?list=" + list}
			forms := a.forms()
			for _, f := range forms {
				words = append(words, "?address="+f)
			}
			if len(forms) == 2 {
				words = append(words, "?#|")
			}
			c, err := s.send(ctx, words, nil)
			if err != nil {
				return nil, err
			}
			calls[l][i] = c
		}
	}
	return calls, nil
}

func collectLookups(ctx context.Context, calls [][]*call, addrs []address) ([][][]entry, error) {
	found := make([][][]entry, len(calls))
	for l, cs := range calls {
		found[l] = make([][]entry, len(addrs))
		for i, c := range cs {
			if err := c.wait(ctx); err != nil {
				return nil, err
			}
			for _, sen := range c.re {
				if e := parseEntry(sen); e.key == addrs[i].key {
					found[l][i] = append(found[l][i], e)
				}
			}
		}
	}
	return found, nil
}

// Suspend implements [enforcement.Driver]: each of the binding's addresses
// goes into the router's address list with the service's comment. An
// address already listed counts as done ("already have such entry"); an
// entry of the driver's own is enabled again if disabled, and relabelled if
// it names another service. The driver's entries for the addresses in the
// throttle list are removed (a throttled service suspended is cut off);
// the service's queue is left as it is.
func (d *Driver) Suspend(ctx context.Context, t enforcement.Target) error {
	r, addrs, err := d.target(t)
	if err != nil {
		return err
	}
	ctx, cancel := opContext(ctx, r)
	defer cancel()
	r.changing(addrs, t.ServiceID)
	return r.do(ctx, func(ctx context.Context, s *session) error {
		// The throttle list's entries are looked up on the same round
		// trip as the adds: a service that was not throttled costs one.
		lookups, err := r.sendLookups(ctx, s, []string{r.cfg.ThrottleList}, addrs)
		if err != nil {
			return err
		}
		if err := r.listAdd(ctx, s, r.cfg.AddressList, addrs, t); err != nil {
			return fmt.Errorf("routeros %s: suspend %s: %w", r.cfg.Name, t.ServiceID, err)
		}
		found, err := collectLookups(ctx, lookups, addrs)
		if err != nil {
			return err
		}
		calls, what, err := r.sendRemoves(ctx, s, found[0], addrs)
		if err != nil {
			return err
		}
		if err := awaitRemoves(ctx, calls, what, r.cfg.ThrottleList); err != nil {
			return fmt.Errorf("routeros %s: suspend %s: %w", r.cfg.Name, t.ServiceID, err)
		}
		return nil
	})
}

// listAdd puts addrs into list with t's comment: an address already
// listed counts as done; an entry of the driver's own is enabled again if
// disabled, and relabelled if it names another service.
func (r *router) listAdd(ctx context.Context, s *session, list string, addrs []address, t enforcement.Target) error {
	cmt := comment(r.cfg.CommentPrefix, t.ServiceID, t.Reason)
	calls := make([]*call, len(addrs))
	for i, a := range addrs {
		c, err := s.send(ctx, []string{a.fam.menu + "/add", "=list=" + list, "=address=" + a.key, "=comment=" + cmt}, nil)
		if err != nil {
			return err
		}
		calls[i] = c
	}
	var listed []address
	for i, c := range calls {
		err := c.wait(ctx)
		if msg, ok := trapMessage(err); ok && msg == msgAlreadyHave {
			listed = append(listed, addrs[i])
			continue
		}
		if err != nil {
			return fmt.Errorf("add %s to %s: %w", addrs[i].key, list, err)
		}
	}
	if len(listed) == 0 {
		return nil
	}
	// Already listed: make sure the entries are enabled, and that the
	// driver's own name this service.
	found, err := r.lookup(ctx, s, list, listed)
	if err != nil {
		return err
	}
	var errs []error
	for i, es := range found {
		for _, e := range es {
			svc, owned := owner(e.comment, r.cfg.CommentPrefix)
			if !owned {
				if e.disabled {
					errs = append(errs, fmt.Errorf("%s is in %s as a disabled entry the driver does not own (comment %q)",
						listed[i].key, list, e.comment))
				}
				continue
			}
			words := []string{listed[i].fam.menu + "/set", "=.id=" + e.id}
			if e.disabled {
				words = append(words, "=disabled=no")
			}
			if svc != t.ServiceID {
				words = append(words, "=comment="+cmt)
			}
			if len(words) == 2 {
				continue
			}
			if _, err := s.run(ctx, words...); err != nil {
				if isConnError(err) {
					return err
				}
				errs = append(errs, fmt.Errorf("set %s in %s: %w", listed[i].key, list, err))
			}
		}
	}
	return errors.Join(errs...)
}

// listRemove removes the driver's own entries for addrs from list.
func (r *router) listRemove(ctx context.Context, s *session, list string, addrs []address) error {
	found, err := r.lookup(ctx, s, list, addrs)
	if err != nil {
		return err
	}
	calls, what, err := r.sendRemoves(ctx, s, found, addrs)
	if err != nil {
		return err
	}
	return awaitRemoves(ctx, calls, what, list)
}

// sendRemoves sends the removal of the driver's own entries among found
// (an address's entries per addrs' index); what names each removal's
// address.
func (r *router) sendRemoves(ctx context.Context, s *session, found [][]entry, addrs []address) (calls []*call, what []string, err error) {
	for i, es := range found {
		for _, e := range es {
			if _, owned := owner(e.comment, r.cfg.CommentPrefix); !owned {
				continue
			}
			c, err := s.send(ctx, []string{addrs[i].fam.menu + "/remove", "=.id=" + e.id}, nil)
			if err != nil {
				return nil, nil, err
			}
			calls = append(calls, c)
			what = append(what, addrs[i].key)
		}
	}
	return calls, what, nil
}

// awaitRemoves awaits sendRemoves' calls; an entry gone meanwhile is
// removed.
func awaitRemoves(ctx context.Context, calls []*call, what []string, list string) error {
	for i, c := range calls {
		err := c.wait(ctx)
		if msg, ok := trapMessage(err); ok && msg == msgNoSuchItem {
			continue // gone already
		}
		if err != nil {
			return fmt.Errorf("remove %s from %s: %w", what[i], list, err)
		}
	}
	return nil
}

// Restore implements [enforcement.Driver]: the driver's own entries for
// the binding's addresses are removed from the address list and the
// throttle list, and the service's simple queue is set to t.Profile
// (created or updated), or removed when t.Profile is nil. Entries and
// queues it does not own stay (and Observe will go on reporting the
// service suspended).
func (d *Driver) Restore(ctx context.Context, t enforcement.Target) error {
	r, addrs, err := d.target(t)
	if err != nil {
		return err
	}
	ctx, cancel := opContext(ctx, r)
	defer cancel()
	r.changing(addrs, t.ServiceID)
	return r.do(ctx, func(ctx context.Context, s *session) error {
		// Two round trips: every read on the wire at once (both lists,
		// each address, the queue), then every change.
		lists := []string{r.cfg.AddressList, r.cfg.ThrottleList}
		lookups, err := r.sendLookups(ctx, s, lists, addrs)
		if err != nil {
			return err
		}
		qc, err := r.sendQueueRead(ctx, s, t.ServiceID)
		if err != nil {
			return err
		}
		found, err := collectLookups(ctx, lookups, addrs)
		if err != nil {
			return err
		}
		q, qFound, err := r.awaitQueueRead(ctx, qc, t.ServiceID)
		if err != nil {
			return fmt.Errorf("routeros %s: restore %s: %w", r.cfg.Name, t.ServiceID, err)
		}
		queueWords, err := r.queueChange(q, qFound, t, addrs)
		if err != nil {
			return fmt.Errorf("routeros %s: restore %s: %w", r.cfg.Name, t.ServiceID, err)
		}
		removes := make([][]*call, len(lists))
		whats := make([][]string, len(lists))
		for l := range lists {
			if removes[l], whats[l], err = r.sendRemoves(ctx, s, found[l], addrs); err != nil {
				return err
			}
		}
		var queueCall *call
		if queueWords != nil {
			if queueCall, err = s.send(ctx, queueWords, nil); err != nil {
				return err
			}
		}
		for l, list := range lists {
			if err := awaitRemoves(ctx, removes[l], whats[l], list); err != nil {
				return fmt.Errorf("routeros %s: restore %s: %w", r.cfg.Name, t.ServiceID, err)
			}
		}
		if queueCall != nil {
			if err := r.awaitQueueChange(ctx, queueCall, t.ServiceID); err != nil {
				return fmt.Errorf("routeros %s: restore %s: %w", r.cfg.Name, t.ServiceID, err)
			}
		}
		return nil
	})
}

// Throttle implements [enforcement.Shaper]: the service's simple queue is
// set to t.Profile (the throttle profile), its addresses go into the
// throttle list, whose plain HTTP the router redirects to the portal
// without dropping anything, and the driver's entries for them leave the
// address list of the suspended.
func (d *Driver) Throttle(ctx context.Context, t enforcement.Target) error {
	r, addrs, err := d.target(t)
	if err != nil {
		return err
	}
	if t.Profile == nil {
		return fmt.Errorf("%w: throttling service %s needs a throttle profile", ErrBadTarget, t.ServiceID)
	}
	ctx, cancel := opContext(ctx, r)
	defer cancel()
	r.changing(addrs, t.ServiceID)
	return r.do(ctx, func(ctx context.Context, s *session) error {
		// The queue first: a subscriber let out of the suspended list is
		// already held at the throttle speed.
		if err := r.setQueue(ctx, s, t, addrs); err != nil {
			return fmt.Errorf("routeros %s: throttle %s: %w", r.cfg.Name, t.ServiceID, err)
		}
		if err := r.listAdd(ctx, s, r.cfg.ThrottleList, addrs, t); err != nil {
			return fmt.Errorf("routeros %s: throttle %s: %w", r.cfg.Name, t.ServiceID, err)
		}
		if err := r.listRemove(ctx, s, r.cfg.AddressList, addrs); err != nil {
			return fmt.Errorf("routeros %s: throttle %s: %w", r.cfg.Name, t.ServiceID, err)
		}
		return nil
	})
}

// Observe implements [enforcement.Driver]: it reads the router (during an
// agent's full reconcile, the one read of BeginReconcile; see there). The
// service is suspended when every one of its addresses has an enabled
// entry in the address list (whoever made it); else throttled when every
// one has an enabled entry in the throttle list; otherwise it is active,
// so that a partly undone suspension shows as drift and Suspend repairs
// it.
func (d *Driver) Observe(ctx context.Context, t enforcement.Target) (enforcement.State, error) {
	r, addrs, err := d.target(t)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("routeros %s: %w", r.cfg.Name, err)
	}
	if st, ok := r.stateFromSnapshot(addrs); ok {
		return st, nil
	}
	ctx, cancel := opContext(ctx, r)
	defer cancel()
	state := enforcement.Active
	err = r.do(ctx, func(ctx context.Context, s *session) error {
		found, err := r.lookupLists(ctx, s, []string{r.cfg.AddressList, r.cfg.ThrottleList}, addrs)
		if err != nil {
			return err
		}
		switch {
		case allListed(found[0]):
			state = enforcement.Suspended
		case allListed(found[1]):
			state = enforcement.Throttled
		default:
			state = enforcement.Active
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return state, nil
}

// allListed reports whether every address has an enabled entry.
func allListed(found [][]entry) bool {
	for _, es := range found {
		if !slices.ContainsFunc(es, func(e entry) bool { return !e.disabled }) {
			return false
		}
	}
	return true
}

// opContext gives a call without a deadline one of a few router timeouts.
func opContext(ctx context.Context, r *router) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultOpTimeout*r.cfg.Timeout)
}
