package routeros

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-routeros/routeros/v3/proto"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// RouterReport is what a full reconcile found and did on one router.
type RouterReport struct {
	Router string
	// Wanted is how many addresses should be in the list.
	Wanted int
	// Listed is how many entries the list had when it was read (both
	// address families).
	Listed int
	// Added, Removed and Updated count the changes made (an update enables
	// a disabled entry of the driver's or rewrites its comment to name the
	// service that now holds the address). They add up over attempts.
	Added, Removed, Updated int
	// Kept counts wanted addresses already listed by the driver.
	Kept int
	// Foreign counts entries whose comment lacks the prefix: never touched.
	// ForeignWanted is how many of them list a wanted address (which is
	// then suspended, though not by the driver).
	Foreign, ForeignWanted int
	// Failed counts commands the router refused; Problems describes the
	// first few, and addresses that cannot be put right (a disabled entry
	// the driver does not own, one address wanted for two services).
	Failed   int
	Problems []string
	// Attempts is how many times the reconcile started (a connection
	// failure starts it again on a new connection).
	Attempts int
	Duration time.Duration
	// Err is why the reconcile did not finish (connection failures until
	// the context ended), or nil.
	Err error
}

// Report is a full reconcile of every configured router.
type Report struct {
	Routers []RouterReport
	// Invalid lists targets that could not be placed on a router (no or a
	// bad address, an unknown device).
	Invalid []error
}

// Err joins the routers' errors, the failed commands and the invalid
// targets; nil when everything is in order.
func (r Report) Err() error {
	var errs []error
	for _, rr := range r.Routers {
		if rr.Err != nil {
			errs = append(errs, rr.Err)
		} else if rr.Failed > 0 {
			errs = append(errs, fmt.Errorf("routeros %s: %d commands failed: %v", rr.Router, rr.Failed, rr.Problems))
		}
	}
	return errors.Join(append(errs, r.Invalid...)...)
}

// wanted is one address a router's list should hold.
type wanted struct {
	addr    address
	service string
	comment string
}

const maxProblems = 20

// Reconcile makes every configured router's address list hold exactly the
// addresses of want (service id → target; the complete set of suspended
// services of this driver's bindings): it reads each list with one print,
// adds what is missing, enables or relabels the driver's own entries where
// needed, and removes the driver's entries for addresses not wanted.
// Entries without the comment prefix are never touched. The routers are
// reconciled concurrently, each on its own connection with its commands
// pipelined; a router whose connection fails starts over on a new one
// until ctx ends, without holding up the others. Changes made concurrently
// through Suspend and Restore for the same router may be undone when want
// does not include them yet: pass the desired state as of the call.
//
// The error is Report.Err().
func (d *Driver) Reconcile(ctx context.Context, want map[string]enforcement.Target) (Report, error) {
	return d.reconcileList(ctx, suspendedList, want)
}

// ReconcileThrottled is Reconcile for the throttle list: want is the
// complete set of throttled services of this driver's bindings. Their
// queues are ReconcileQueues' work.
func (d *Driver) ReconcileThrottled(ctx context.Context, want map[string]enforcement.Target) (Report, error) {
	return d.reconcileList(ctx, throttleList, want)
}

// listOf picks one of a router's address lists.
type listOf func(*settings) string

func suspendedList(s *settings) string { return s.AddressList }
func throttleList(s *settings) string  { return s.ThrottleList }

func (d *Driver) reconcileList(ctx context.Context, list listOf, want map[string]enforcement.Target) (Report, error) {
	var rep Report
	per := map[string]map[string]wanted{}
	for _, name := range d.names {
		per[name] = map[string]wanted{}
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	conflicts := map[string][]string{}
	for _, id := range ids {
		t := want[id]
		if t.ServiceID == "" {
			t.ServiceID = id
		}
		r, addrs, err := d.target(t)
		if err != nil {
			rep.Invalid = append(rep.Invalid, fmt.Errorf("service %s: %w", id, err))
			continue
		}
		cmt := comment(r.cfg.CommentPrefix, t.ServiceID, t.Reason)
		for _, a := range addrs {
			if w, dup := per[r.cfg.Name][a.key]; dup {
				conflicts[r.cfg.Name] = append(conflicts[r.cfg.Name], fmt.Sprintf("%s is wanted for services %s and %s; the entry names %s", a.key, w.service, t.ServiceID, w.service))
				continue
			}
			per[r.cfg.Name][a.key] = wanted{addr: a, service: t.ServiceID, comment: cmt}
		}
	}
	rep.Routers = make([]RouterReport, len(d.names))
	var wg sync.WaitGroup
	for i, name := range d.names {
		wg.Go(func() {
			rr := d.routers[name].reconcile(ctx, list(d.routers[name].cfg), per[name])
			rr.Problems = append(conflicts[name], rr.Problems...)
			rep.Routers[i] = rr
		})
	}
	wg.Wait()
	return rep, rep.Err()
}

// ReconcileRouter is Reconcile for one router: want holds its targets only
// (targets for other routers are reported as invalid).
func (d *Driver) ReconcileRouter(ctx context.Context, name string, want map[string]enforcement.Target) (RouterReport, error) {
	r, ok := d.routers[name]
	if !ok {
		return RouterReport{Router: name}, fmt.Errorf("%w: %q is not a configured router", ErrBadTarget, name)
	}
	w := map[string]wanted{}
	var invalid []error
	for id, t := range want {
		if t.ServiceID == "" {
			t.ServiceID = id
		}
		tr, addrs, err := d.target(t)
		if err == nil && tr != r {
			err = fmt.Errorf("%w: bound to router %s", ErrBadTarget, tr.cfg.Name)
		}
		if err != nil {
			invalid = append(invalid, fmt.Errorf("service %s: %w", id, err))
			continue
		}
		for _, a := range addrs {
			if old, dup := w[a.key]; !dup || t.ServiceID < old.service {
				w[a.key] = wanted{addr: a, service: t.ServiceID, comment: comment(r.cfg.CommentPrefix, t.ServiceID, t.Reason)}
			}
		}
	}
	rr := r.reconcile(ctx, r.cfg.AddressList, w)
	rep := Report{Routers: []RouterReport{rr}, Invalid: invalid}
	return rr, rep.Err()
}

func (r *router) reconcile(ctx context.Context, list string, want map[string]wanted) RouterReport {
	rep := RouterReport{Router: r.cfg.Name, Wanted: len(want)}
	r.changing(nil, "")
	start := time.Now()
	rep.Err = r.do(ctx, func(ctx context.Context, s *session) error {
		rep.Attempts++
		return r.reconcileOnce(ctx, s, list, want, &rep)
	})
	rep.Duration = time.Since(start)
	if rep.Err != nil {
		r.log.Warn("reconcile did not finish", "list", list, "err", rep.Err, "attempts", rep.Attempts)
	} else {
		r.log.Info("reconciled", "list", list, "wanted", rep.Wanted, "listed", rep.Listed, "added", rep.Added, "removed", rep.Removed,
			"updated", rep.Updated, "foreign", rep.Foreign, "failed", rep.Failed, "took", rep.Duration.Round(time.Millisecond).String())
	}
	return rep
}

type actionKind int

const (
	actAdd actionKind = iota
	actSet
	actRemove
)

type action struct {
	kind  actionKind
	key   string
	words []string
}

func (r *router) reconcileOnce(ctx context.Context, s *session, list string, want map[string]wanted, rep *RouterReport) error {
	rep.Listed, rep.Kept, rep.Foreign, rep.ForeignWanted, rep.Failed, rep.Problems = 0, 0, 0, 0, 0, nil
	problem := func(format string, args ...any) {
		if len(rep.Problems) < maxProblems {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}

	lists, noV6, err := r.readLists(ctx, s, list)
	if err != nil {
		return err
	}
	if noV6 {
		for _, w := range want {
			if w.addr.fam == familyV6 {
				problem("%s: the router has no IPv6 address lists", w.addr.key)
			}
		}
	}
	families := []*family{familyV4, familyV6}

	var adds, sets, removes []action
	seen := make(map[string]bool, len(want))
	for i, fam := range families {
		for _, e := range lists[i] {
			rep.Listed++
			svc, owned := owner(e.comment, r.cfg.CommentPrefix)
			w, isWanted := want[e.key]
			isWanted = isWanted && w.addr.fam == fam
			if !owned {
				rep.Foreign++
				if isWanted {
					seen[e.key] = true
					if e.disabled {
						problem("%s is in the list as a disabled entry the driver does not own (%s, comment %q)", e.key, e.id, e.comment)
					} else {
						rep.ForeignWanted++
					}
				}
				continue
			}
			if !isWanted || seen[e.key] {
				removes = append(removes, action{actRemove, e.key, []string{fam.menu + "/remove", "=.id=" + e.id}})
				continue
			}
			seen[e.key] = true
			words := []string{fam.menu + "/set", "=.id=" + e.id}
			if e.disabled {
				words = append(words, "=disabled=no")
			}
			if svc != w.service {
				words = append(words, "=comment="+w.comment)
			}
			if len(words) > 2 {
				sets = append(sets, action{actSet, e.key, words})
			} else {
				rep.Kept++
			}
		}
	}
	missing := make([]string, 0, len(want)-len(seen))
	for k := range want {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	for _, k := range missing {
		w := want[k]
		adds = append(adds, action{actAdd, k, []string{w.addr.fam.menu + "/add", "=list=" + list, "=address=" + k, "=comment=" + w.comment}})
	}
	actions := slices.Concat(adds, sets, removes)
	if len(actions) == 0 {
		return nil
	}
	return r.apply(ctx, s, actions, rep, problem)
}

// readLists reads the router's address list named list, IPv4 and IPv6
// (one print each, both on the wire at once). noV6 reports a router
// without IPv6 address lists (RouterOS 6 without the ipv6 package).
func (r *router) readLists(ctx context.Context, s *session, list string) (lists [2][]entry, noV6 bool, err error) {
	families := []*family{familyV4, familyV6}
	calls := make([]*call, len(families))
	for i, fam := range families {
		c, err := s.send(ctx, []string{fam.menu + "/print", entryProps, "?list=" + list},
			func(sen *proto.Sentence) { lists[i] = append(lists[i], parseEntry(sen)) })
		if err != nil {
			return lists, false, err
		}
		calls[i] = c
	}
	for i, c := range calls {
		err := c.wait(ctx)
		if msg, ok := trapMessage(err); ok && families[i] == familyV6 && msg == "no such command prefix" {
			noV6 = true
			continue
		}
		if err != nil {
			return lists, false, fmt.Errorf("print %s: %w", families[i].menu, err)
		}
	}
	return lists, noV6, nil
}

// apply sends the actions pipelined (the session's window bounds how many
// wait at once) and tallies their results as they come back.
func (r *router) apply(ctx context.Context, s *session, actions []action, rep *RouterReport, problem func(string, ...any)) error {
	type sent struct {
		c *call
		a *action
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan sent, cap(s.window))
	var sendErr error
	go func() {
		defer close(results)
		for i := range actions {
			c, err := s.send(actx, actions[i].words, nil)
			if err != nil {
				sendErr = err
				return
			}
			results <- sent{c, &actions[i]}
		}
	}()
	var connErr error
	for p := range results {
		if connErr != nil {
			continue // draining after a failure
		}
		err := p.c.wait(ctx)
		msg, trapped := trapMessage(err)
		switch {
		case err == nil:
			switch p.a.kind {
			case actAdd:
				rep.Added++
			case actSet:
				rep.Updated++
			case actRemove:
				rep.Removed++
			}
		case trapped && p.a.kind == actAdd && msg == msgAlreadyHave:
			rep.Kept++ // added meanwhile
		case trapped && p.a.kind == actRemove && msg == msgNoSuchItem:
			rep.Removed++ // removed meanwhile
		case trapped:
			rep.Failed++
			problem("%s %s: %s", p.a.words[0], p.a.key, msg)
		default:
			connErr = err
			cancel()
		}
	}
	if connErr != nil {
		return connErr
	}
	if sendErr != nil {
		return sendErr
	}
	return nil
}
