package routeros

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-routeros/routeros/v3/proto"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// Simple queues: the speed of a service with a profile.
//
// The driver keeps one simple queue (/queue/simple) per service whose
// target holds a profile, named "<QueuePrefix><service id>" (default
// "tollgate-svc-7") and commented "<CommentPrefix>svc=<id> profile=<name>",
// with the service's addresses as its target. RouterOS writes every pair
// of a simple queue as target-upload/target-download, so max-limit is
// upload/download of the profile's rates ("20000000/100000000" for 100M
// down, 20M up), as are burst-limit, burst-threshold and burst-time; the
// profile's one priority is written to both directions, and a priority of
// 0 (not set) as RouterOS's default 8. The driver writes every property
// each time, so a property the profile leaves unset goes back to
// RouterOS's default rather than keep an older profile's value. Rates are
// written in plain bits per second (RouterOS also reads k and M, and the
// driver reads them back either way).
//
// A queue whose comment does not start with the prefix is never changed
// or removed; one that holds the driver's name is an error the driver
// reports rather than take it over.

// queueMenu is the simple queue menu.
const queueMenu = "/queue/simple"

// queueProps are the properties the driver reads.
const queueProps = "=.proplist=.id,name,target,max-limit,burst-limit,burst-threshold,burst-time,priority,comment,disabled"

// msgAlreadyHaveName is RouterOS's trap for a second queue of one name.
const msgAlreadyHaveName = "failure: already have such name"

// queueName is the name of service id's queue.
func (r *router) queueName(id string) string { return r.cfg.QueuePrefix + id }

// pair is the two halves of a simple queue property: upload, download.
type pair struct{ up, down int64 }

// shape is what a simple queue enforces, as numbers.
type shape struct {
	maxLimit, burstLimit, burstThreshold, burstTime, priority pair
}

// queue is a simple queue as the driver reads it back.
type queue struct {
	id, name string
	targets  []string // entryKey of each, sorted
	shape    shape
	ok       bool // every property parsed
	comment  string
	disabled bool
}

func parseQueue(sen *proto.Sentence) queue {
	m := sen.Map
	q := queue{id: m[".id"], name: m["name"], comment: m["comment"], ok: true}
	for _, t := range strings.Split(m["target"], ",") {
		if t = strings.TrimSpace(t); t != "" {
			q.targets = append(q.targets, entryKey(t))
		}
	}
	slices.Sort(q.targets)
	for _, f := range []struct {
		key   string
		dst   *pair
		parse func(string) (int64, bool)
	}{
		{"max-limit", &q.shape.maxLimit, parseRate}, {"burst-limit", &q.shape.burstLimit, parseRate},
		{"burst-threshold", &q.shape.burstThreshold, parseRate}, {"burst-time", &q.shape.burstTime, parseSeconds},
		{"priority", &q.shape.priority, parsePriority},
	} {
		v, present := m[f.key]
		if !present {
			continue
		}
		p, ok := parsePair(v, f.parse)
		q.ok = q.ok && ok
		*f.dst = p
	}
	switch m["disabled"] {
	case "true", "yes":
		q.disabled = true
	}
	return q
}

// parsePair reads "up/down", or one value for both.
func parsePair(v string, parse func(string) (int64, bool)) (pair, bool) {
	up, down, two := strings.Cut(v, "/")
	if !two {
		down = up
	}
	u, ok1 := parse(strings.TrimSpace(up))
	d, ok2 := parse(strings.TrimSpace(down))
	return pair{u, d}, ok1 && ok2
}

// parseRate reads a rate as RouterOS prints or takes one: bits per
// second, optionally with k, M or G.
func parseRate(s string) (int64, bool) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1_000, s[:n-1]
		case 'M':
			mult, s = 1_000_000, s[:n-1]
		case 'G':
			mult, s = 1_000_000_000, s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}

// parseSeconds reads a time as RouterOS prints one ("8s", "1m30s",
// "00:00:08") or takes one ("8"), in whole seconds.
func parseSeconds(s string) (int64, bool) {
	if h, rest, ok := strings.Cut(s, ":"); ok {
		m, sec, ok := strings.Cut(rest, ":")
		hh, e1 := strconv.Atoi(h)
		mm, e2 := strconv.Atoi(m)
		ss, e3 := strconv.Atoi(sec)
		if !ok || e1 != nil || e2 != nil || e3 != nil {
			return 0, false
		}
		return int64(hh*3600 + mm*60 + ss), true
	}
	if s != "" && s[len(s)-1] >= '0' && s[len(s)-1] <= '9' {
		s += "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return int64(d / time.Second), true
}

func parsePriority(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 1 && n <= 8
}

// defaultPriority is RouterOS's priority for a queue that sets none.
const defaultPriority = 8

// shapeOf is what a queue at p enforces.
func shapeOf(p *enforcement.Profile) shape {
	prio := int64(p.Priority)
	if prio == 0 {
		prio = defaultPriority
	}
	bt := int64(p.BurstTime)
	return shape{
		maxLimit:       pair{p.UploadRate, p.DownloadRate},
		burstLimit:     pair{p.UploadBurstRate, p.DownloadBurstRate},
		burstThreshold: pair{p.UploadBurstThreshold, p.DownloadBurstThreshold},
		burstTime:      pair{bt, bt},
		priority:       pair{prio, prio},
	}
}

// profileName is a profile's name as the driver writes it into a comment:
// printable, without spaces, at most 64 bytes.
func profileName(name string) string {
	name = strings.Join(strings.Fields(cleanReason(name)), "_")
	if len(name) > 64 {
		name = strings.ToValidUTF8(name[:64], "")
	}
	return name
}

// queueComment is the comment of service id's queue at profile p.
func (r *router) queueComment(id string, p *enforcement.Profile) string {
	c := r.cfg.CommentPrefix + "svc=" + id
	if n := profileName(p.Name); n != "" {
		c += " profile=" + n
	}
	return c
}

// profileFromComment reads the profile name from a queue's comment.
func profileFromComment(c string) string {
	_, rest, ok := strings.Cut(c, " profile=")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, " ")
	return name
}

// queueWords are the properties of service t's queue at t.Profile on
// addrs, every one of them written (see the package's queue notes).
func (r *router) queueWords(t enforcement.Target, addrs []address) []string {
	sh := shapeOf(t.Profile)
	keys := make([]string, len(addrs))
	for i, a := range addrs {
		keys[i] = a.key
	}
	rate := func(p pair) string { return strconv.FormatInt(p.up, 10) + "/" + strconv.FormatInt(p.down, 10) }
	return []string{
		"=target=" + strings.Join(keys, ","),
		"=max-limit=" + rate(sh.maxLimit),
		"=burst-limit=" + rate(sh.burstLimit),
		"=burst-threshold=" + rate(sh.burstThreshold),
		fmt.Sprintf("=burst-time=%ds/%ds", sh.burstTime.up, sh.burstTime.down),
		fmt.Sprintf("=priority=%d/%d", sh.priority.up, sh.priority.down),
		"=comment=" + r.queueComment(t.ServiceID, t.Profile),
		"=disabled=no",
	}
}

// queueInPlace reports whether q already is service t's queue at
// t.Profile on addrs.
func (r *router) queueInPlace(q queue, t enforcement.Target, addrs []address) bool {
	keys := make([]string, len(addrs))
	for i, a := range addrs {
		keys[i] = a.key
	}
	slices.Sort(keys)
	return q.ok && !q.disabled && q.shape == shapeOf(t.Profile) && slices.Equal(q.targets, keys) &&
		q.comment == r.queueComment(t.ServiceID, t.Profile)
}

// readQueue prints the queue of service id: found false when there is
// none.
func (r *router) readQueue(ctx context.Context, s *session, id string) (q queue, found bool, err error) {
	c, err := r.sendQueueRead(ctx, s, id)
	if err != nil {
		return queue{}, false, err
	}
	return r.awaitQueueRead(ctx, c, id)
}

// sendQueueRead sends readQueue's print; awaitQueueRead awaits it.
func (r *router) sendQueueRead(ctx context.Context, s *session, id string) (*call, error) {
	return s.send(ctx, []string{queueMenu + "/print", queueProps, "?name=" + r.queueName(id)}, nil)
}

func (r *router) awaitQueueRead(ctx context.Context, c *call, id string) (q queue, found bool, err error) {
	name := r.queueName(id)
	if err := c.wait(ctx); err != nil {
		return queue{}, false, fmt.Errorf("print queue %s: %w", name, err)
	}
	for _, sen := range c.re {
		if q := parseQueue(sen); q.name == name {
			return q, true, nil
		}
	}
	return queue{}, false, nil
}

// readQueues prints every simple queue.
func (r *router) readQueues(ctx context.Context, s *session) ([]queue, error) {
	var out []queue
	c, err := s.send(ctx, []string{queueMenu + "/print", queueProps}, func(sen *proto.Sentence) { out = append(out, parseQueue(sen)) })
	if err != nil {
		return nil, err
	}
	if err := c.wait(ctx); err != nil {
		return nil, fmt.Errorf("print %s: %w", queueMenu, err)
	}
	return out, nil
}

// setQueue makes service t's queue hold t.Profile on addrs (added, or set
// where it differs), or removes it when t.Profile is nil (see
// queueChange).
func (r *router) setQueue(ctx context.Context, s *session, t enforcement.Target, addrs []address) error {
	q, found, err := r.readQueue(ctx, s, t.ServiceID)
	if err != nil {
		return err
	}
	words, err := r.queueChange(q, found, t, addrs)
	if err != nil || words == nil {
		return err
	}
	c, err := s.send(ctx, words, nil)
	if err != nil {
		return err
	}
	return r.awaitQueueChange(ctx, c, t.ServiceID)
}

// queueChange is the command that makes service t's queue, read as q
// (found false: none), hold t.Profile on addrs: an add, a set where it
// differs, a remove when t.Profile is nil; nil when nothing is to change.
// A queue of that name the driver does not own is left alone: an error
// when t.Profile is to be applied, nothing to do when none is.
func (r *router) queueChange(q queue, found bool, t enforcement.Target, addrs []address) ([]string, error) {
	name := r.queueName(t.ServiceID)
	if found {
		if svc, owned := owner(q.comment, r.cfg.CommentPrefix); !owned || (svc != "" && svc != t.ServiceID) {
			if t.Profile == nil {
				return nil, nil // not the driver's speed: nothing to take away
			}
			return nil, fmt.Errorf("the simple queue %s is not the driver's (comment %q); rename it or give it the comment %q",
				name, q.comment, r.cfg.CommentPrefix+"svc="+t.ServiceID)
		}
	}
	switch {
	case t.Profile == nil && !found:
		return nil, nil
	case t.Profile == nil:
		return []string{queueMenu + "/remove", "=.id=" + q.id}, nil
	case found && r.queueInPlace(q, t, addrs):
		return nil, nil
	case found:
		return append([]string{queueMenu + "/set", "=.id=" + q.id}, r.queueWords(t, addrs)...), nil
	}
	return append([]string{queueMenu + "/add", "=name=" + name}, r.queueWords(t, addrs)...), nil
}

// awaitQueueChange awaits queueChange's command: a queue removed meanwhile
// is removed; a queue of the name added meanwhile is an error the next
// attempt settles.
func (r *router) awaitQueueChange(ctx context.Context, c *call, id string) error {
	name := r.queueName(id)
	err := c.wait(ctx)
	msg, trapped := trapMessage(err)
	switch {
	case err == nil:
		return nil
	case trapped && msg == msgNoSuchItem:
		return nil
	case trapped && msg == msgAlreadyHaveName:
		return fmt.Errorf("queue %s: a queue of that name was added meanwhile (the next attempt sets it): %w", name, err)
	}
	return fmt.Errorf("queue %s: %w", name, err)
}

// ObserveProfile implements [enforcement.Shaper]: it reads the service's
// simple queue (during an agent's full reconcile, from BeginReconcile's
// read). It returns nil when there is none, or the queue is not the
// driver's or is disabled (it enforces nothing then). The rates are the
// queue's; the name is the profile named in its comment. Where a queue's
// two halves differ (edited by hand), the half that differs from
// t.Profile is reported, so the read-back shows the drift; RouterOS's
// default priority 8 reads back as t.Profile's priority when that is 0
// (not set) or 8.
func (d *Driver) ObserveProfile(ctx context.Context, t enforcement.Target) (*enforcement.Profile, error) {
	r, _, err := d.target(t)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("routeros %s: %w", r.cfg.Name, err)
	}
	name := r.queueName(t.ServiceID)
	q, found, ok := r.queueFromSnapshot(name)
	if !ok {
		ctx, cancel := opContext(ctx, r)
		defer cancel()
		err = r.do(ctx, func(ctx context.Context, s *session) error {
			var err error
			q, found, err = r.readQueue(ctx, s, t.ServiceID)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if !found || q.disabled {
		return nil, nil
	}
	if svc, owned := owner(q.comment, r.cfg.CommentPrefix); !owned || (svc != "" && svc != t.ServiceID) {
		return nil, nil
	}
	if !q.ok {
		return nil, fmt.Errorf("routeros %s: queue %s: a property does not parse (max-limit, bursts, burst-time, priority)", r.cfg.Name, name)
	}
	return profileOfQueue(q, t.Profile), nil
}

// profileOfQueue is the profile q enforces, in want's terms (see
// ObserveProfile).
func profileOfQueue(q queue, want *enforcement.Profile) *enforcement.Profile {
	var w enforcement.Profile
	if want != nil {
		w = *want
	}
	pick := func(p pair, want int64) int64 {
		if p.up != want {
			return p.up
		}
		return p.down
	}
	sh := q.shape
	wantPrio := int64(w.Priority)
	if wantPrio == 0 {
		wantPrio = defaultPriority
	}
	prio := pick(sh.priority, wantPrio)
	if prio == defaultPriority && (w.Priority == 0 || w.Priority == defaultPriority) {
		prio = int64(w.Priority)
	}
	return &enforcement.Profile{
		Name:                   profileFromComment(q.comment),
		UploadRate:             sh.maxLimit.up,
		DownloadRate:           sh.maxLimit.down,
		UploadBurstRate:        sh.burstLimit.up,
		DownloadBurstRate:      sh.burstLimit.down,
		UploadBurstThreshold:   sh.burstThreshold.up,
		DownloadBurstThreshold: sh.burstThreshold.down,
		BurstTime:              int(pick(sh.burstTime, int64(w.BurstTime))),
		Priority:               int(prio),
	}
}

// ReconcileQueues makes every configured router's simple queues those of
// want (service id → target; the complete set of this driver's services
// that hold a profile: active at the plan's, throttled at the throttle
// profile; targets without a Profile are left out): it reads each router's
// queues with one print, adds the missing queues, sets those that differ
// (a max-limit edited by hand), and removes the driver's queues of
// services not wanted (orphans). Queues whose comment lacks the prefix are
// never touched; one that holds a wanted queue's name is reported as a
// problem. The routers are reconciled concurrently, each on its own
// connection with its commands pipelined, and start over on a new
// connection after a connection failure until ctx ends.
//
// The error is Report.Err().
func (d *Driver) ReconcileQueues(ctx context.Context, want map[string]enforcement.Target) (Report, error) {
	var rep Report
	type wantedQueue struct {
		t     enforcement.Target
		addrs []address
	}
	per := map[string]map[string]wantedQueue{}
	for _, name := range d.names {
		per[name] = map[string]wantedQueue{}
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t := want[id]
		if t.Profile == nil {
			continue
		}
		if t.ServiceID == "" {
			t.ServiceID = id
		}
		r, addrs, err := d.target(t)
		if err != nil {
			rep.Invalid = append(rep.Invalid, fmt.Errorf("service %s: %w", id, err))
			continue
		}
		per[r.cfg.Name][r.queueName(t.ServiceID)] = wantedQueue{t, addrs}
	}
	rep.Routers = make([]RouterReport, len(d.names))
	var wg sync.WaitGroup
	for i, name := range d.names {
		wg.Go(func() {
			r := d.routers[name]
			w := per[name]
			rr := RouterReport{Router: name, Wanted: len(w)}
			r.changing(nil, "")
			start := time.Now()
			rr.Err = r.do(ctx, func(ctx context.Context, s *session) error {
				rr.Attempts++
				rr.Listed, rr.Kept, rr.Foreign, rr.Failed, rr.Problems = 0, 0, 0, 0, nil
				problem := func(format string, args ...any) {
					if len(rr.Problems) < maxProblems {
						rr.Problems = append(rr.Problems, fmt.Sprintf(format, args...))
					}
				}
				queues, err := r.readQueues(ctx, s)
				if err != nil {
					return err
				}
				var adds, sets, removes []action
				seen := map[string]bool{}
				for _, q := range queues {
					rr.Listed++
					svc, owned := owner(q.comment, r.cfg.CommentPrefix)
					wq, isWanted := w[q.name]
					if !owned {
						rr.Foreign++
						if isWanted {
							seen[q.name] = true
							problem("the simple queue %s is not the driver's (comment %q); service %s gets no speed", q.name, q.comment, wq.t.ServiceID)
						}
						continue
					}
					if !isWanted || seen[q.name] || (svc != "" && svc != wq.t.ServiceID) {
						removes = append(removes, action{actRemove, q.name, []string{queueMenu + "/remove", "=.id=" + q.id}})
						continue
					}
					seen[q.name] = true
					if r.queueInPlace(q, wq.t, wq.addrs) {
						rr.Kept++
						continue
					}
					sets = append(sets, action{actSet, q.name, append([]string{queueMenu + "/set", "=.id=" + q.id}, r.queueWords(wq.t, wq.addrs)...)})
				}
				names := make([]string, 0, len(w))
				for n := range w {
					if !seen[n] {
						names = append(names, n)
					}
				}
				slices.Sort(names)
				for _, n := range names {
					wq := w[n]
					adds = append(adds, action{actAdd, n, append([]string{queueMenu + "/add", "=name=" + n}, r.queueWords(wq.t, wq.addrs)...)})
				}
				// Removals first: a queue's name or target freed by an
				// orphan is then free for the queue that takes it.
				actions := slices.Concat(removes, sets, adds)
				if len(actions) == 0 {
					return nil
				}
				return r.apply(ctx, s, actions, &rr, problem)
			})
			rr.Duration = time.Since(start)
			if rr.Err != nil {
				r.log.Warn("queue reconcile did not finish", "err", rr.Err, "attempts", rr.Attempts)
			} else {
				r.log.Info("queues reconciled", "wanted", rr.Wanted, "listed", rr.Listed, "added", rr.Added, "removed", rr.Removed,
					"updated", rr.Updated, "foreign", rr.Foreign, "failed", rr.Failed, "took", rr.Duration.Round(time.Millisecond).String())
			}
			rep.Routers[i] = rr
		})
	}
	wg.Wait()
	return rep, rep.Err()
}
