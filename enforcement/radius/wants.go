package radius

import (
	"net/netip"
	"strings"
	"sync"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// wants is the authorize endpoint's index: the services this driver was
// last told to suspend, by what an Access-Request can match them on
// (User-Name, Framed-IP-Address). It changes at the start of every
// Suspend and Restore, before any CoA or Disconnect-Request is sent, so a
// subscriber cut by a restore's Disconnect re-authenticates against the
// new state (there is no window in which the endpoint answers the old
// one). Only suspended services are held: every other user is answered
// "nothing to add". The agent fills it at start from its stored desired
// state ([Driver.Preload]).
type wants struct {
	mu       sync.RWMutex
	bySvc    map[string]wantKeys // suspended services
	byUser   map[string]int      // User-Name -> suspended services using it
	byMAC    map[string]int      // User-Names that are MAC addresses, normalised (for Calling-Station-Id)
	byIP     map[netip.Addr]int  // single Framed-IP-Address -> suspended services
	prefixes map[netip.Prefix]int
}

// wantKeys is what a suspended service is matched on.
type wantKeys struct {
	user     string
	prefixes []netip.Prefix
}

func newWants() *wants {
	return &wants{
		bySvc:    make(map[string]wantKeys),
		byUser:   make(map[string]int),
		byMAC:    make(map[string]int),
		byIP:     make(map[netip.Addr]int),
		prefixes: make(map[netip.Prefix]int),
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

// set records t's desired state.
func (w *wants) set(t enforcement.Target, st enforcement.State) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.bySvc[t.ServiceID]; ok {
		w.unindexLocked(old)
		delete(w.bySvc, t.ServiceID)
	}
	if st != enforcement.Suspended {
		return
	}
	k := keysOf(t)
	w.bySvc[t.ServiceID] = k
	if k.user != "" {
		w.byUser[k.user]++
		if m, ok := macKey(k.user); ok {
			w.byMAC[m]++
		}
	}
	for _, p := range k.prefixes {
		if p.IsSingleIP() {
			w.byIP[p.Addr()]++
		} else {
			w.prefixes[p]++
		}
	}
}

func (w *wants) unindexLocked(k wantKeys) {
	dec := func(m map[string]int, key string) {
		if m[key] <= 1 {
			delete(m, key)
		} else {
			m[key]--
		}
	}
	if k.user != "" {
		dec(w.byUser, k.user)
		if m, ok := macKey(k.user); ok {
			dec(w.byMAC, m)
		}
	}
	for _, p := range k.prefixes {
		if p.IsSingleIP() {
			if w.byIP[p.Addr()] <= 1 {
				delete(w.byIP, p.Addr())
			} else {
				w.byIP[p.Addr()]--
			}
			continue
		}
		if w.prefixes[p] <= 1 {
			delete(w.prefixes, p)
		} else {
			w.prefixes[p]--
		}
	}
}

// suspendedService reports whether the service was last told to suspend.
func (w *wants) suspendedService(id string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	_, ok := w.bySvc[id]
	return ok
}

// suspendedUser reports whether a suspended service uses this User-Name.
func (w *wants) suspendedUser(user string) bool {
	if user == "" {
		return false
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.byUser[user] > 0
}

// suspendedIP reports whether a suspended service's addresses hold ip.
func (w *wants) suspendedIP(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.byIP[ip] > 0 {
		return true
	}
	for p := range w.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// suspendedMAC reports whether a suspended service's User-Name is the MAC
// address csid (a Calling-Station-Id) in any usual notation.
func (w *wants) suspendedMAC(csid string) bool {
	m, ok := macKey(csid)
	if !ok {
		return false
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.byMAC[m] > 0
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
