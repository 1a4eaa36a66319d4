package radius

import (
	"container/list"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// SessionsConfig bounds the session table.
type SessionsConfig struct {
	// Max is the most sessions kept (about 300 bytes each). When full, the
	// session updated longest ago is forgotten. Default 500000.
	Max int `yaml:"max"`
	// TTL forgets a session not updated (Start or Interim-Update) for this
	// long: its Stop was lost. Set it to a few interim intervals when the
	// NASes send Interim-Updates. Default 0: sessions end only with a Stop,
	// an Accounting-On/Off from their NAS, a NAK with Error-Cause 503, or
	// eviction when the table is full.
	TTL time.Duration `yaml:"ttl"`
}

const (
	defaultMaxSessions = 500_000
	// maxTombstones bounds the memory of recently stopped sessions, so that
	// a late Interim-Update does not bring a stopped session back.
	maxTombstones = 65_536
	tombstoneTTL  = 10 * time.Minute
	// maxAuthorizeNotes bounds the memory of recent authorize answers.
	maxAuthorizeNotes = 65_536
	// authorizeWindow is how long after an authorize answer a new session
	// of that user is taken to have been authorized with it.
	authorizeWindow = 2 * time.Minute
)

// State sources: why a session is believed to be in its state.
const (
	SourceStart      = "start"      // a new session with no sign of suspension
	SourceAccounting = "accounting" // the NAS's accounting showed it
	SourceAuthorize  = "authorize"  // the authorize endpoint answered for this user just before the session started
	SourceNAS        = "nas"        // the NAS acknowledged our CoA-Request
)

// Session is one subscriber session on a NAS, as learned from accounting.
type Session struct {
	// NAS identifies the NAS in the session key: its NAS-IP-Address, else
	// its NAS-Identifier, else the address accounting came from.
	NAS           string
	NASIP         netip.Addr
	NASIdentifier string
	UserName      string
	ID            string // Acct-Session-Id
	FramedIP      netip.Addr
	Started       time.Time
	Updated       time.Time
	// State is the session's enforcement state as last seen: acknowledged
	// by the NAS, reported in accounting, or assumed for a new session.
	State       enforcement.State
	StateSource string
	StateAt     time.Time
	// Speed is the driver's record of the speed attributes the session
	// holds: what the NAS last acknowledged in a CoA-Request, what the
	// authorize endpoint answered at the login that started the session,
	// or what the session's accounting showed. It is opaque here (the
	// driver encodes it; see [SpeedReader]); "" means unknown: a session
	// that started with none of these, so its speed is whatever the NAS
	// gave it.
	Speed string

	// FramedIPv6Prefix and DelegatedIPv6Prefix are the session's IPv6
	// prefixes as accounting last gave them (zero: none).
	FramedIPv6Prefix, DelegatedIPv6Prefix netip.Prefix
}

// SessionKey identifies a session: NAS, User-Name and Acct-Session-Id.
type SessionKey struct{ NAS, UserName, ID string }

// Key returns the session's key.
func (s *Session) Key() SessionKey { return SessionKey{s.NAS, s.UserName, s.ID} }

type authorizeNote struct {
	state enforcement.State
	speed string
	at    time.Time
}

// Classifier reads a session's state from the attributes of one of its
// accounting records (Filter-Id and vendor-specific ones); ok is false
// when they say nothing about it. The driver supplies it: what shows a
// suspended session depends on its NAS's vendor profile.
type Classifier func(s *Session, attrs []Attr) (st enforcement.State, ok bool)

// SpeedReader reads the speed a session holds from the attributes of one
// of its accounting records (a Mikrotik-Rate-Limit the NAS reports), in
// the driver's encoding of [Session.Speed]; ok is false when they say
// nothing about it. The driver supplies it.
type SpeedReader func(s *Session, attrs []Attr) (speed string, ok bool)

// Sessions is the session table: bounded, safe for concurrent use.
type Sessions struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	classify Classifier
	speed    SpeedReader
	byKey    map[SessionKey]*list.Element // of *Session
	byUser   map[string][]*Session
	byIP     map[netip.Addr][]*Session
	lru      *list.List // least recently updated first
	stopped  map[SessionKey]time.Time
	stopRing []SessionKey
	stopNext int
	notes    map[string]authorizeNote
	noteRing []string
	noteNext int

	// store, when attached, keeps the table across restarts; dirty holds
	// the keys changed since the last Flush (see persist.go).
	store   SessionStore
	dirty   map[SessionKey]struct{}
	flushMu sync.Mutex // one Flush at a time, so writes land in order
}

// NewSessions returns an empty session table.
func NewSessions(cfg SessionsConfig) *Sessions {
	if cfg.Max <= 0 {
		cfg.Max = defaultMaxSessions
	}
	return &Sessions{
		max:     cfg.Max,
		ttl:     cfg.TTL,
		now:     time.Now,
		byKey:   make(map[SessionKey]*list.Element),
		byUser:  make(map[string][]*Session),
		byIP:    make(map[netip.Addr][]*Session),
		lru:     list.New(),
		stopped: make(map[SessionKey]time.Time),
		notes:   make(map[string]authorizeNote),
	}
}

// SetClassifier sets how accounting records show a session's state; nil
// (the default) reads nothing from them.
func (t *Sessions) SetClassifier(c Classifier) {
	t.mu.Lock()
	t.classify = c
	t.mu.Unlock()
}

// SetSpeedReader sets how accounting records show a session's speed; nil
// (the default) reads nothing from them.
func (t *Sessions) SetSpeedReader(r SpeedReader) {
	t.mu.Lock()
	t.speed = r
	t.mu.Unlock()
}

// Len returns the number of sessions.
func (t *Sessions) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey)
}

// nasKey is the NAS part of a session key.
func nasKey(rec *AccountingRecord, src netip.Addr) string {
	switch {
	case rec.NASIP.IsValid():
		return rec.NASIP.String()
	case rec.NASIdentifier != "":
		return rec.NASIdentifier
	default:
		return src.String()
	}
}

// ApplyResult says what an accounting record did to the table.
type ApplyResult string

// Apply results.
const (
	Created  ApplyResult = "created"
	Updated  ApplyResult = "updated"
	Removed  ApplyResult = "removed"
	NASReset ApplyResult = "nas-reset" // Accounting-On/Off: the NAS's sessions are gone
	Ignored  ApplyResult = "ignored"
)

// Apply records an accounting record received from src (the NAS, or the
// RADIUS server that copied it).
func (t *Sessions) Apply(rec AccountingRecord, src netip.Addr) ApplyResult {
	now := t.now()
	nas := nasKey(&rec, src)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(now)
	switch rec.StatusType {
	case acctStatusAcctOn, acctStatusAcctOff:
		for e := t.lru.Front(); e != nil; {
			next := e.Next()
			if s := e.Value.(*Session); s.NAS == nas {
				t.removeLocked(e)
			}
			e = next
		}
		for k := range t.stopped {
			if k.NAS == nas {
				delete(t.stopped, k)
			}
		}
		return NASReset
	case acctStatusStart, acctStatusInterim, acctStatusStop:
	default:
		return Ignored
	}
	// A session is known by User-Name and Acct-Session-Id, or, for IPoE
	// subscribers without a User-Name, by its Framed-IP-Address and
	// Acct-Session-Id.
	if rec.SessionID == "" || (rec.UserName == "" && !rec.FramedIP.IsValid()) {
		return Ignored
	}
	key := SessionKey{nas, rec.UserName, rec.SessionID}
	e, exists := t.byKey[key]
	if rec.StatusType == acctStatusStop {
		if exists {
			t.removeLocked(e)
		}
		t.tombstoneLocked(key, now)
		return Removed
	}
	if at, ok := t.stopped[key]; ok && rec.StatusType == acctStatusInterim && now.Sub(at) < tombstoneTTL {
		return Ignored // a late Interim-Update of a stopped session
	}
	delete(t.stopped, key)
	evidenceAt := rec.EventTime
	if evidenceAt.IsZero() {
		evidenceAt = now
	}
	if exists {
		s := e.Value.(*Session)
		if rec.FramedIP.IsValid() && rec.FramedIP != s.FramedIP {
			t.unindexIPLocked(s)
			s.FramedIP = rec.FramedIP
			t.byIP[s.FramedIP] = append(t.byIP[s.FramedIP], s)
		}
		if rec.NASIdentifier != "" {
			s.NASIdentifier = rec.NASIdentifier
		}
		if rec.FramedIPv6Prefix.IsValid() {
			s.FramedIPv6Prefix = rec.FramedIPv6Prefix
		}
		if rec.DelegatedIPv6Prefix.IsValid() {
			s.DelegatedIPv6Prefix = rec.DelegatedIPv6Prefix
		}
		s.Updated = now
		if t.classify != nil {
			if st, ok := t.classify(s, rec.Attrs); ok && !evidenceAt.Before(s.StateAt.Truncate(time.Second)) {
				s.State, s.StateSource, s.StateAt = st, SourceAccounting, now
			}
		}
		// Like the state: accounting older than our last acknowledgement
		// does not overwrite it.
		if sp, ok := t.readSpeedLocked(s, rec.Attrs); ok && !evidenceAt.Before(s.StateAt.Truncate(time.Second)) {
			s.Speed = sp
		}
		t.lru.MoveToBack(e)
		t.markLocked(key)
		return Updated
	}
	s := &Session{
		NAS: nas, NASIP: rec.NASIP, NASIdentifier: rec.NASIdentifier,
		UserName: rec.UserName, ID: rec.SessionID, FramedIP: rec.FramedIP,
		FramedIPv6Prefix: rec.FramedIPv6Prefix, DelegatedIPv6Prefix: rec.DelegatedIPv6Prefix,
		Started: now, Updated: now,
		State: enforcement.Active, StateSource: SourceStart, StateAt: now,
	}
	if !s.NASIP.IsValid() && rec.NASIdentifier == "" {
		s.NASIP = src
	}
	n, noted := t.recentNoteLocked(rec, now)
	if st, ok := t.classifyLocked(s, rec.Attrs); ok {
		s.State, s.StateSource = st, SourceAccounting
	} else if noted {
		s.State, s.StateSource = n.state, SourceAuthorize
	}
	if sp, ok := t.readSpeedLocked(s, rec.Attrs); ok {
		s.Speed = sp
	} else if noted {
		s.Speed = n.speed
	}
	for len(t.byKey) >= t.max {
		t.removeLocked(t.lru.Front())
	}
	t.insertLocked(s)
	t.markLocked(key)
	return Created
}

// insertLocked adds a new session to the table and its indexes.
func (t *Sessions) insertLocked(s *Session) {
	t.byKey[s.Key()] = t.lru.PushBack(s)
	if s.UserName != "" {
		t.byUser[s.UserName] = append(t.byUser[s.UserName], s)
	}
	if s.FramedIP.IsValid() {
		t.byIP[s.FramedIP] = append(t.byIP[s.FramedIP], s)
	}
}

// recentNoteLocked returns the authorize answer given just before a new
// session of rec's User-Name (or, without one, of its Framed-IP-Address).
func (t *Sessions) recentNoteLocked(rec AccountingRecord, now time.Time) (authorizeNote, bool) {
	key := rec.UserName
	if key == "" {
		key = ipNoteKey(rec.FramedIP.String())
	}
	n, ok := t.notes[key]
	if !ok || now.Sub(n.at) >= authorizeWindow {
		return authorizeNote{}, false
	}
	return n, true
}

func (t *Sessions) classifyLocked(s *Session, attrs []Attr) (enforcement.State, bool) {
	if t.classify == nil {
		return "", false
	}
	return t.classify(s, attrs)
}

func (t *Sessions) readSpeedLocked(s *Session, attrs []Attr) (string, bool) {
	if t.speed == nil {
		return "", false
	}
	return t.speed(s, attrs)
}

func (t *Sessions) tombstoneLocked(key SessionKey, now time.Time) {
	if t.stopRing == nil {
		t.stopRing = make([]SessionKey, maxTombstones)
	}
	if old := t.stopRing[t.stopNext]; old != (SessionKey{}) {
		delete(t.stopped, old)
	}
	t.stopRing[t.stopNext] = key
	t.stopNext = (t.stopNext + 1) % maxTombstones
	t.stopped[key] = now
}

// expireLocked forgets sessions not updated within the TTL.
func (t *Sessions) expireLocked(now time.Time) {
	if t.ttl <= 0 {
		return
	}
	for e := t.lru.Front(); e != nil && now.Sub(e.Value.(*Session).Updated) > t.ttl; e = t.lru.Front() {
		t.removeLocked(e)
	}
}

func (t *Sessions) removeLocked(e *list.Element) {
	s := t.lru.Remove(e).(*Session)
	delete(t.byKey, s.Key())
	t.markLocked(s.Key())
	if s.UserName != "" {
		if l := deleteSession(t.byUser[s.UserName], s); len(l) == 0 {
			delete(t.byUser, s.UserName)
		} else {
			t.byUser[s.UserName] = l
		}
	}
	t.unindexIPLocked(s)
}

func (t *Sessions) unindexIPLocked(s *Session) {
	if !s.FramedIP.IsValid() {
		return
	}
	if l := deleteSession(t.byIP[s.FramedIP], s); len(l) == 0 {
		delete(t.byIP, s.FramedIP)
	} else {
		t.byIP[s.FramedIP] = l
	}
}

func deleteSession(l []*Session, s *Session) []*Session {
	if i := slices.Index(l, s); i >= 0 {
		return slices.Delete(l, i, i+1)
	}
	return l
}

// Find returns copies of the sessions of a subscriber: those of user when
// it is not empty, otherwise those whose Framed-IP-Address is in one of
// prefixes.
func (t *Sessions) Find(user string, prefixes []netip.Prefix) []Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(t.now())
	var out []Session
	if user != "" {
		for _, s := range t.byUser[user] {
			out = append(out, *s)
		}
		return out
	}
	for _, p := range prefixes {
		if p.IsSingleIP() {
			for _, s := range t.byIP[p.Addr()] {
				out = append(out, *s)
			}
			continue
		}
		for ip, l := range t.byIP {
			if p.Contains(ip) {
				for _, s := range l {
					out = append(out, *s)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Session) int { return a.Started.Compare(b.Started) })
	return slices.CompactFunc(out, func(a, b Session) bool { return a.Key() == b.Key() })
}

// Get returns a copy of one session.
func (t *Sessions) Get(k SessionKey) (Session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[k]; ok {
		return *e.Value.(*Session), true
	}
	return Session{}, false
}

// SetState records a session's state and why it is believed (source, one
// of the Source constants), if the session still exists; otherwise it
// does nothing.
func (t *Sessions) SetState(k SessionKey, st enforcement.State, source string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[k]; ok {
		s := e.Value.(*Session)
		s.State, s.StateSource, s.StateAt = st, source, t.now()
		t.markLocked(k)
	}
}

// SetApplied records a session's state, why it is believed (source) and
// the speed it holds ([Session.Speed]), if the session still exists;
// otherwise it does nothing.
func (t *Sessions) SetApplied(k SessionKey, st enforcement.State, source, speed string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[k]; ok {
		s := e.Value.(*Session)
		s.State, s.StateSource, s.StateAt, s.Speed = st, source, t.now(), speed
		t.markLocked(k)
	}
}

// Remove forgets a session (the NAS says it is gone). A late
// Interim-Update of it is ignored for a while, as after a Stop.
func (t *Sessions) Remove(k SessionKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[k]; ok {
		t.removeLocked(e)
	}
	t.tombstoneLocked(k, t.now())
}

// NoteAuthorized remembers, for a short while, what the authorize
// endpoint answered for user (and for the Framed-IP-Address framedIP, when
// the request carried one): the state and the speed (in the driver's
// encoding of [Session.Speed]), so that the session that follows starts
// with them. Empty user and framedIP are not noted.
func (t *Sessions) NoteAuthorized(user, framedIP string, st enforcement.State, speed string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if user != "" {
		t.noteLocked(user, st, speed)
	}
	if framedIP != "" {
		t.noteLocked(ipNoteKey(framedIP), st, speed)
	}
}

// ipNoteKey is the authorize note key of a Framed-IP-Address (user names
// and addresses share the notes).
func ipNoteKey(ip string) string { return "\x00ip:" + ip }

func (t *Sessions) noteLocked(user string, st enforcement.State, speed string) {
	if t.noteRing == nil {
		t.noteRing = make([]string, maxAuthorizeNotes)
	}
	if _, ok := t.notes[user]; !ok {
		if old := t.noteRing[t.noteNext]; old != "" {
			delete(t.notes, old)
		}
		t.noteRing[t.noteNext] = user
		t.noteNext = (t.noteNext + 1) % maxAuthorizeNotes
	}
	t.notes[user] = authorizeNote{state: st, speed: speed, at: t.now()}
}
