package radius

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// SessionStore keeps the session table across restarts: the agent's state
// file implements it (agent.Store's sessions bucket). Keys and values are
// this package's encoding; the store only keeps them.
type SessionStore interface {
	// SaveSessions stores puts and removes deletes in one durable
	// transaction; it returns only once they are on disk, or the error.
	SaveSessions(puts map[string][]byte, deletes []string) error
	// LoadSessions calls fn with every stored session; an error from fn
	// stops it and is returned.
	LoadSessions(fn func(key, value []byte) error) error
}

// storedSession is a session as kept in a [SessionStore].
type storedSession struct {
	NAS           string            `json:"nas"`
	NASIP         string            `json:"nas_ip,omitempty"`
	NASIdentifier string            `json:"nas_id,omitempty"`
	UserName      string            `json:"user,omitempty"`
	ID            string            `json:"id"`
	FramedIP      string            `json:"framed_ip,omitempty"`
	FramedIPv6    string            `json:"framed_ipv6,omitempty"`
	DelegatedIPv6 string            `json:"delegated_ipv6,omitempty"`
	Started       int64             `json:"started"`
	Updated       int64             `json:"updated"`
	State         enforcement.State `json:"state"`
	StateSource   string            `json:"state_source,omitempty"`
	StateAt       int64             `json:"state_at"`
	Speed         string            `json:"speed,omitempty"`
}

// storeKey is a session key as a store key.
func storeKey(k SessionKey) string { return k.NAS + "\x00" + k.UserName + "\x00" + k.ID }

func encodeSession(s *Session) []byte {
	v := storedSession{NAS: s.NAS, NASIdentifier: s.NASIdentifier, UserName: s.UserName, ID: s.ID,
		Started: s.Started.UnixNano(), Updated: s.Updated.UnixNano(),
		State: s.State, StateSource: s.StateSource, StateAt: s.StateAt.UnixNano(), Speed: s.Speed}
	if s.NASIP.IsValid() {
		v.NASIP = s.NASIP.String()
	}
	if s.FramedIP.IsValid() {
		v.FramedIP = s.FramedIP.String()
	}
	if s.FramedIPv6Prefix.IsValid() {
		v.FramedIPv6 = s.FramedIPv6Prefix.String()
	}
	if s.DelegatedIPv6Prefix.IsValid() {
		v.DelegatedIPv6 = s.DelegatedIPv6Prefix.String()
	}
	b, _ := json.Marshal(v)
	return b
}

func decodeSession(key, value []byte) (*Session, error) {
	var v storedSession
	if err := json.Unmarshal(value, &v); err != nil {
		return nil, err
	}
	s := &Session{NAS: v.NAS, NASIdentifier: v.NASIdentifier, UserName: v.UserName, ID: v.ID,
		Started: time.Unix(0, v.Started), Updated: time.Unix(0, v.Updated),
		State: v.State, StateSource: v.StateSource, StateAt: time.Unix(0, v.StateAt), Speed: v.Speed}
	var err error
	if v.NASIP != "" {
		if s.NASIP, err = netip.ParseAddr(v.NASIP); err != nil {
			return nil, err
		}
	}
	if v.FramedIP != "" {
		if s.FramedIP, err = netip.ParseAddr(v.FramedIP); err != nil {
			return nil, err
		}
	}
	if v.FramedIPv6 != "" {
		if s.FramedIPv6Prefix, err = netip.ParsePrefix(v.FramedIPv6); err != nil {
			return nil, err
		}
	}
	if v.DelegatedIPv6 != "" {
		if s.DelegatedIPv6Prefix, err = netip.ParsePrefix(v.DelegatedIPv6); err != nil {
			return nil, err
		}
	}
	if string(key) != storeKey(s.Key()) || s.ID == "" || (s.State != enforcement.Active && s.State != enforcement.Suspended && s.State != enforcement.Throttled) {
		return nil, errors.New("key and value disagree")
	}
	return s, nil
}

// Attach makes the table durable in store: it loads the sessions stored
// there (skipping, and deleting, any it cannot read and any beyond
// sessions.max), and from then on
// every change is written by [Sessions.Flush]. Call it once, before the
// accounting listener starts. It returns the number of sessions loaded.
func (t *Sessions) Attach(store SessionStore) (int, error) {
	var bad []string
	t.mu.Lock()
	err := store.LoadSessions(func(key, value []byte) error {
		s, err := decodeSession(key, value)
		if err != nil {
			bad = append(bad, string(key))
			return nil
		}
		if _, dup := t.byKey[s.Key()]; dup {
			return nil
		}
		if len(t.byKey) >= t.max {
			// Over sessions.max (lowered since): the extra ones are
			// forgotten, here and in the file.
			bad = append(bad, string(key))
			return nil
		}
		t.insertLocked(s)
		return nil
	})
	n := len(t.byKey)
	t.lru.Init()
	// The LRU order is by last update.
	ss := make([]*Session, 0, n)
	for _, e := range t.byKey {
		ss = append(ss, e.Value.(*Session))
	}
	slices.SortFunc(ss, func(a, b *Session) int { return a.Updated.Compare(b.Updated) })
	for _, s := range ss {
		t.byKey[s.Key()] = t.lru.PushBack(s)
	}
	t.store = store
	t.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("radius sessions: loading: %w", err)
	}
	if len(bad) > 0 {
		if err := store.SaveSessions(nil, bad); err != nil {
			return n, fmt.Errorf("radius sessions: removing %d unreadable or extra: %w", len(bad), err)
		}
	}
	return n, nil
}

// markLocked notes that the session with key k changed (or went away) and
// must be written by the next Flush.
func (t *Sessions) markLocked(k SessionKey) {
	if t.store == nil {
		return
	}
	if t.dirty == nil {
		t.dirty = make(map[SessionKey]struct{})
	}
	t.dirty[k] = struct{}{}
}

// Flush writes the changes since the last Flush to the attached store in
// one transaction (nothing without one). On error the changes stay to be
// written by the next Flush.
func (t *Sessions) Flush() error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	t.mu.Lock()
	if t.store == nil || len(t.dirty) == 0 {
		t.mu.Unlock()
		return nil
	}
	store, dirty := t.store, t.dirty
	t.dirty = nil
	puts := make(map[string][]byte, len(dirty))
	var deletes []string
	for k := range dirty {
		if e, ok := t.byKey[k]; ok {
			puts[storeKey(k)] = encodeSession(e.Value.(*Session))
		} else {
			deletes = append(deletes, storeKey(k))
		}
	}
	t.mu.Unlock()
	if err := store.SaveSessions(puts, deletes); err != nil {
		t.mu.Lock()
		for k := range dirty {
			t.markLocked(k)
		}
		t.mu.Unlock()
		return fmt.Errorf("radius sessions: writing %d changes: %w", len(dirty), err)
	}
	return nil
}

// Durable says whether the table is attached to a store.
func (t *Sessions) Durable() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.store != nil
}
