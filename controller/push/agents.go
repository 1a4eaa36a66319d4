package push

import (
	"sync"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// maxPending bounds how many sent-but-unacknowledged revisions a stream
// remembers the commit time of; an agent that never acknowledges costs no
// more than this. The oldest are forgotten first (and never observed).
const maxPending = 4096

type agentKey struct{ pop, agentID string }

// agentState is what this replica knows about one agent (POP + agent id)
// while its Watch stream is open: the POP's latest revision, the revision the
// agent acknowledged, and the commit times of the revisions sent to it in
// deltas and not yet acknowledged.
type agentState struct {
	key     agentKey
	streams int // Watch streams open for the key (normally one)
	// shapes: the agent's Watch announced the service-profiles feature
	// (guarded by Server.agentsMu).
	shapes bool
	// certNotAfter is the expiry of the client certificate of its latest
	// Watch stream (zero without one; guarded by Server.agentsMu).
	certNotAfter time.Time

	mu      sync.Mutex
	latest  int64
	acked   int64
	pending []pendingRevision // in revision order
}

type pendingRevision struct {
	revision  int64
	committed time.Time
}

// attach registers a Watch stream of pop's agent agentID; shapes is
// whether it announced the service-profiles feature, certNotAfter the
// expiry of the client certificate it presented (zero: none).
func (s *Server) attach(pop, agentID string, shapes bool, certNotAfter time.Time) *agentState {
	k := agentKey{pop, agentID}
	s.agentsMu.Lock()
	defer s.agentsMu.Unlock()
	st, ok := s.agents[k]
	if !ok {
		st = &agentState{key: k}
		s.agents[k] = st
	}
	st.streams++
	st.shapes = shapes
	st.certNotAfter = certNotAfter
	return st
}

// agentShapes reports whether pop's agent agentID announced the
// service-profiles feature on its Watch stream to this replica (false when
// it has none open here).
func (s *Server) agentShapes(pop, agentID string) bool {
	s.agentsMu.Lock()
	defer s.agentsMu.Unlock()
	st := s.agents[agentKey{pop, agentID}]
	return st != nil && st.shapes
}

// detach ends a Watch stream; the last one removes the agent's lag series.
func (s *Server) detach(st *agentState) {
	s.agentsMu.Lock()
	defer s.agentsMu.Unlock()
	st.streams--
	if st.streams == 0 {
		delete(s.agents, st.key)
		s.metrics.agentLag.DeleteLabelValues(st.key.pop, st.key.agentID)
	}
}

func (s *Server) agent(pop, agentID string) *agentState {
	s.agentsMu.Lock()
	defer s.agentsMu.Unlock()
	return s.agents[agentKey{pop, agentID}]
}

// setLatest records the POP's latest revision as read from the feed.
func (s *Server) setLatest(st *agentState, latest int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.latest = max(st.latest, latest)
	s.updateLag(st)
}

// sentDelta remembers the commit times of the changes just sent.
func (st *agentState) sentDelta(changes []billing.EnforcementChange) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range changes {
		if c.CommittedAt.IsZero() || c.Revision <= st.acked {
			continue
		}
		if n := len(st.pending); n > 0 && c.Revision <= st.pending[n-1].revision {
			continue // already pending (a resend after a snapshot)
		}
		st.pending = append(st.pending, pendingRevision{c.Revision, c.CommittedAt})
	}
	if over := len(st.pending) - maxPending; over > 0 {
		st.pending = append(st.pending[:0], st.pending[over:]...)
	}
}

// acked records the agent's acknowledgement of revision at now and observes
// the commit→ack latency of every pending revision it covers.
func (s *Server) acked(st *agentState, revision int64, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if revision > st.acked {
		st.acked = revision
	}
	i := 0
	for ; i < len(st.pending) && st.pending[i].revision <= st.acked; i++ {
		s.metrics.commitToAck.Observe(max(now.Sub(st.pending[i].committed), 0).Seconds())
	}
	if i > 0 {
		st.pending = append(st.pending[:0], st.pending[i:]...)
	}
	s.updateLag(st)
}

// updateLag sets the agent's lag gauge; st.mu is held.
func (s *Server) updateLag(st *agentState) {
	s.metrics.agentLag.WithLabelValues(st.key.pop, st.key.agentID).Set(float64(max(st.latest-st.acked, 0)))
}
