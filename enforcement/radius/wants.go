package radius

import (
	"net/netip"
	"strings"
	"sync"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// wants is the authorize endpoint's index: the desired state and speed
// of the services this driver was last told about (Suspend, Restore,
// Throttle, Preload), by what an Access-Request can match them on
// (User-Name, Framed-IP-Address, a MAC address as Calling-Station-Id). It
// changes at the start of every Suspend, Restore and Throttle, before any
// CoA or Disconnect-Request is sent, so a subscriber cut by a
// Disconnect-Request re-authenticates into the new state and speed (there
// is no window in which the endpoint answers the old one). Only services
// that change an Access-Accept are held (suspended, throttled, or active
// with a profile); every other user is answered "nothing to add". The
// agent fills it at start from its stored desired state
// ([Driver.Preload]).
type wants struct {
	mu       sync.RWMutex
	bySvc    map[string]*want
	byUser   map[string]svcSet // User-Name -> services using it
	byMAC    map[string]svcSet // User-Names that are MAC addresses, normalised (for Calling-Station-Id)
	byIP     map[netip.Addr]svcSet
	prefixes map[netip.Prefix]svcSet
}

// want is one service's desired state and speed.
type want struct {
	id      string
	keys    wantKeys
	state   enforcement.State
	profile *enforcement.Profile
}

type svcSet map[string]struct{}

// wantKeys is what a service is matched on.
type wantKeys struct {
	user     string
	prefixes []netip.Prefix
}

func newWants() *wants {
	return &wants{
		bySvc:    make(map[string]*want),
		byUser:   make(map[string]svcSet),
		byMAC:    make(map[string]svcSet),
		byIP:     make(map[netip.Addr]svcSet),
		prefixes: make(map[netip.Prefix]svcSet),
	}
}

// keysOf returns what an Access-Request of t's subscriber can be matched
// on: its User-Name when the binding has one, else (a binding by framed
// address) its addresses, as the driver finds its sessions. Unparsable
// addresses are left out (the driver call reports them).
func keysOf(t enforcement.Target) wantKeys {
	k := wantKeys{user: t.Binding.RADIUSUsername}
	if k.user != "" {
		return k
	}
	for _, a := range t.Binding.Addresses {
		if p, err := radiusproto.ParsePrefix(a); err == nil {
			k.prefixes = append(k.prefixes, p)
		}
	}
	return k
}

func addTo[K comparable](m map[K]svcSet, k K, id string) {
	s, ok := m[k]
	if !ok {
		s = svcSet{}
		m[k] = s
	}
	s[id] = struct{}{}
}

func removeFrom[K comparable](m map[K]svcSet, k K, id string) {
	if s, ok := m[k]; ok {
		delete(s, id)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

// set records t's desired state st and its speed t.Profile.
func (w *wants) set(t enforcement.Target, st enforcement.State) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.bySvc[t.ServiceID]; ok {
		w.unindexLocked(old)
		delete(w.bySvc, t.ServiceID)
	}
	if st == enforcement.Active && t.Profile == nil {
		return
	}
	v := &want{id: t.ServiceID, keys: keysOf(t), state: st}
	if t.Profile != nil {
		p := *t.Profile
		v.profile = &p
	}
	w.bySvc[v.id] = v
	if u := v.keys.user; u != "" {
		addTo(w.byUser, u, v.id)
		if m, ok := macKey(u); ok {
			addTo(w.byMAC, m, v.id)
		}
	}
	for _, p := range v.keys.prefixes {
		if p.IsSingleIP() {
			addTo(w.byIP, p.Addr(), v.id)
		} else {
			addTo(w.prefixes, p, v.id)
		}
	}
}

func (w *wants) unindexLocked(v *want) {
	if u := v.keys.user; u != "" {
		removeFrom(w.byUser, u, v.id)
		if m, ok := macKey(u); ok {
			removeFrom(w.byMAC, m, v.id)
		}
	}
	for _, p := range v.keys.prefixes {
		if p.IsSingleIP() {
			removeFrom(w.byIP, p.Addr(), v.id)
		} else {
			removeFrom(w.prefixes, p, v.id)
		}
	}
}

// answer is the endpoint's decision for a subscriber: its state and the
// speed it gets (nil: none).
type answer struct {
	state   enforcement.State
	profile *enforcement.Profile
}

var answerActive = answer{state: enforcement.Active}

// service returns what the driver was last told for a service.
func (w *wants) service(id string) answer {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if v, ok := w.bySvc[id]; ok {
		return answer{v.state, v.profile}
	}
	return answerActive
}

// stateRank orders the states a request may match several services in:
// a suspension wins over a throttle, which wins over a speed.
func stateRank(st enforcement.State) int {
	switch st {
	case enforcement.Suspended:
		return 2
	case enforcement.Throttled:
		return 1
	}
	return 0
}

// lookup is the answer for an Access-Request carrying user (a User-Name),
// ip (its Framed-IP-Address; invalid: none) and mac (its
// Calling-Station-Id, matched against User-Names that are MAC addresses;
// "": not matched). Of several matching services, the suspended one wins,
// then the throttled one, then the lowest service id.
func (w *wants) lookup(user string, ip netip.Addr, mac string) answer {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var best *want
	consider := func(set svcSet) {
		for id := range set {
			v := w.bySvc[id]
			if best == nil || stateRank(v.state) > stateRank(best.state) ||
				(stateRank(v.state) == stateRank(best.state) && v.id < best.id) {
				best = v
			}
		}
	}
	if user != "" {
		consider(w.byUser[user])
	}
	if ip.IsValid() {
		ip = ip.Unmap()
		consider(w.byIP[ip])
		for p, set := range w.prefixes {
			if p.Contains(ip) {
				consider(set)
			}
		}
	}
	if m, ok := macKey(mac); ok {
		consider(w.byMAC[m])
	}
	if best == nil {
		return answerActive
	}
	return answer{best.state, best.profile}
}

// macKey returns s as 12 lower-case hex digits when it is a MAC address
// (separated by ':', '-' or '.', or not at all).
func macKey(s string) (string, bool) {
	t := strings.Map(func(r rune) rune {
		switch r {
		case ':', '-', '.':
			return -1
		}
		return r
	}, strings.ToLower(s))
	if len(t) != 12 || strings.Trim(t, "0123456789abcdef") != "" {
		return "", false
	}
	return t, true
}
