package routerossim

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ChangeOp is what a [Change] did to an item.
type ChangeOp string

// Change operations.
const (
	OpAdd    ChangeOp = "add"
	OpSet    ChangeOp = "set" // set, enable or disable
	OpRemove ChangeOp = "remove"
)

// Change is one item of a menu added, changed or removed, by a client's
// command or by a Server method (AddEntry, RemoveEntry, SetEntryDisabled).
// A command that names several items makes one Change per item. Commands
// that fail change nothing and make none.
type Change struct {
	// Seq numbers the simulator's changes 1, 2, … in the order they were
	// made, observed or not.
	Seq uint64
	// At is when the change was made: time.Now (not Config.Now), taken as
	// the change is applied, so that it can be compared with the
	// observer's own clock readings.
	At time.Time
	Op ChangeOp
	// Path is the menu: PathAddressList, PathAddressListV6, PathNAT,
	// PathFilter or PathSimpleQueue.
	Path string
	// ID is the item's id ("*1A").
	ID string
	// List and Address are an address-list entry's (empty for rules);
	// Address as the router shows it (10.0.0.7, not 10.0.0.7/32).
	List, Address string
	// Props are the item's properties after the change (for OpRemove: the
	// ones it had), without ".id". Each call gets its own copy.
	Props map[string]string
	// API is true for a change made by a client's command, false for one
	// made through a Server method.
	API bool
}

// observers delivers changes to the functions registered with OnChange,
// from one goroutine, in the order the changes were made.
type observers struct {
	active atomic.Bool // some observer is registered: record changes

	mu    sync.Mutex // guards list and queue
	list  []*observer
	queue []pendingChange
	wake  chan struct{} // capacity 1
	quit  chan struct{} // closed by Server.Close
	done  chan struct{} // closed when the dispatcher has returned

	// deliverMu is held while observers are called, so that stop can wait
	// out a call in progress.
	deliverMu sync.Mutex
}

type observer struct {
	fn      func(Change)
	from    uint64 // delivers changes with Seq > from
	stopped bool   // under deliverMu
}

// pendingChange is a change recorded under Server.dbMu. Items are
// immutable once stored, so it is turned into a Change later.
type pendingChange struct {
	seq uint64
	at  time.Time
	op  ChangeOp
	t   *table
	it  *item
	api bool
}

func newObservers() *observers {
	return &observers{wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

// OnChange calls fn for every change made to the simulator's menus from
// now on, until stop is called or the server is closed: one change at a
// time, in the order the changes were made (Seq ascending), from a
// goroutine of the simulator's own. Delivery is asynchronous: the command
// that made a change has its answer without waiting for fn, and
// [Change.At] says when the change happened. fn may call the Server's
// methods, OnChange included, but not stop or Close (they wait for fn to
// return). Close delivers the changes made before it, then returns.
//
// After stop returns fn is not called again. OnChange on a closed server
// registers nothing.
func (s *Server) OnChange(fn func(Change)) (stop func()) {
	o := &observer{fn: fn}
	s.dbMu.Lock()
	s.obs.mu.Lock()
	select {
	case <-s.obs.quit:
		s.obs.mu.Unlock()
		s.dbMu.Unlock()
		return func() {}
	default:
	}
	o.from = s.seq
	s.obs.list = append(s.obs.list, o)
	s.obs.active.Store(true)
	s.obs.mu.Unlock()
	s.dbMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.obs.mu.Lock()
			s.obs.list = slices.DeleteFunc(s.obs.list, func(x *observer) bool { return x == o })
			s.obs.active.Store(len(s.obs.list) > 0)
			s.obs.mu.Unlock()
			s.obs.deliverMu.Lock()
			o.stopped = true
			s.obs.deliverMu.Unlock()
		})
	}
}

// noteLocked records changes to items of t; the caller holds s.dbMu and
// has just made them.
func (s *Server) noteLocked(t *table, op ChangeOp, api bool, items ...*item) {
	if !s.obs.active.Load() {
		s.seq += uint64(len(items))
		return
	}
	at := time.Now()
	s.obs.mu.Lock()
	for _, it := range items {
		s.seq++
		s.obs.queue = append(s.obs.queue, pendingChange{seq: s.seq, at: at, op: op, t: t, it: it, api: api})
	}
	s.obs.mu.Unlock()
	select {
	case s.obs.wake <- struct{}{}:
	default:
	}
}

// dispatch delivers recorded changes until Close, then the rest.
func (s *Server) dispatch() {
	defer close(s.obs.done)
	for {
		select {
		case <-s.obs.wake:
			s.deliver()
		case <-s.obs.quit:
			s.deliver()
			return
		}
	}
}

func (s *Server) deliver() {
	for {
		s.obs.mu.Lock()
		queue := s.obs.queue
		s.obs.queue = nil
		list := slices.Clone(s.obs.list)
		s.obs.mu.Unlock()
		if len(queue) == 0 {
			return
		}
		s.obs.deliverMu.Lock()
		for _, p := range queue {
			for _, o := range list {
				if !o.stopped && p.seq > o.from {
					o.fn(p.change())
				}
			}
		}
		s.obs.deliverMu.Unlock()
	}
}

func (p pendingChange) change() Change {
	c := Change{Seq: p.seq, At: p.at, Op: p.op, Path: p.t.path, ID: formatID(p.it.id), API: p.api,
		Props: make(map[string]string, len(p.it.vals))}
	for k, v := range p.it.vals {
		c.Props[k] = v
	}
	if p.t.kind == kindAddressList {
		c.List, c.Address = p.it.vals["list"], p.it.vals["address"]
	}
	return c
}

// itemsLocked returns the distinct items ids name (those that exist); the
// caller holds s.dbMu.
func itemsLocked(t *table, ids []uint64) []*item {
	out := make([]*item, 0, len(ids))
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			continue
		}
		if it := t.get(id); it != nil {
			out = append(out, it)
		}
	}
	return out
}

// changeItems runs remove, set, enable or disable on t's items ids under
// s.dbMu and records the changes.
func (s *Server) changeItems(t *table, verb string, ids []uint64, a args, api bool) *trapError {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	return s.changeItemsLocked(t, verb, ids, a, api)
}

// changeItemsLocked is changeItems for a caller that holds s.dbMu.
func (s *Server) changeItemsLocked(t *table, verb string, ids []uint64, a args, api bool) *trapError {
	var removed []*item
	if verb == "remove" {
		removed = itemsLocked(t, ids)
	}
	if err := t.change(verb, ids, a); err != nil {
		return err
	}
	if verb == "remove" {
		s.noteLocked(t, OpRemove, api, removed...)
	} else {
		s.noteLocked(t, OpSet, api, itemsLocked(t, ids)...)
	}
	return nil
}
