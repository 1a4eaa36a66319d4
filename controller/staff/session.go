package staff

import "time"

// SessionRules are a console session's timeouts: it ends after Idle
// without use, and after Absolute however much it is used.
type SessionRules struct {
	Idle     time.Duration
	Absolute time.Duration
}

// DefaultSessionRules: 30 minutes idle, 12 hours (a working day) absolute.
var DefaultSessionRules = SessionRules{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}

// Session is a signed-in console session. Only the hash of its secret is
// kept.
type Session struct {
	IDHash     []byte
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end: CreatedAt + Absolute.
	ExpiresAt time.Time
	EndedAt   time.Time // zero while not signed out
}

// NewSession starts a session at now.
func (r SessionRules) NewSession(idHash []byte, userID int64, now time.Time) Session {
	return Session{IDHash: idHash, UserID: userID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(r.Absolute)}
}

// SessionEnd says why a session is no longer usable ("" while it is).
type SessionEnd string

// Reasons a session has ended.
const (
	SessionLive      SessionEnd = ""
	SessionSignedOut SessionEnd = "signed_out"
	SessionIdle      SessionEnd = "idle"
	SessionExpired   SessionEnd = "expired"
	SessionUserGone  SessionEnd = "user_disabled"
)

// Check says whether s may be used at now by a user who is (or is not)
// disabled. Both ends are exclusive: at exactly LastSeenAt+Idle or
// ExpiresAt the session is over.
func (r SessionRules) Check(s Session, now time.Time, userDisabled bool) SessionEnd {
	switch {
	case !s.EndedAt.IsZero():
		return SessionSignedOut
	case userDisabled:
		return SessionUserGone
	case !now.Before(s.ExpiresAt):
		return SessionExpired
	case !now.Before(s.LastSeenAt.Add(r.Idle)):
		return SessionIdle
	}
	return SessionLive
}

// TouchDue reports whether using s at now should record now as last seen:
// at most once a minute, to spare the database a write per request. The
// idle timeout is therefore exact to within a minute.
func TouchDue(s Session, now time.Time) bool { return now.Sub(s.LastSeenAt) >= time.Minute }
