package push

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Metrics are the push service's Prometheus metrics.
type Metrics struct {
	connected       *prometheus.GaugeVec
	sent            *prometheus.CounterVec
	popRevision     *prometheus.GaugeVec
	appliedRevision *prometheus.GaugeVec
	results         *prometheus.CounterVec
	agentLag        *prometheus.GaugeVec
	commitToAck     prometheus.Histogram
	unconfirmed     *unconfirmedCollector
	certificates    *certificateCollector
}

// CommitToAckBuckets are the buckets of tollgate_push_commit_to_ack_seconds:
// 5 ms to 30 s.
var CommitToAckBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_push_connected_agents", Help: "Agent Watch streams open on this replica, by POP.",
		}, []string{"pop"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_push_messages_sent_total", Help: "Watch messages sent, by POP and type (redirect, snapshot, delta, heartbeat).",
		}, []string{"pop", "type"}),
		popRevision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_push_pop_revision", Help: "Latest enforcement revision of each POP seen by this replica.",
		}, []string{"pop"}),
		appliedRevision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_push_agent_applied_revision", Help: "Highest revision an agent of the POP reported as applied.",
		}, []string{"pop"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_push_service_results_total", Help: "Per-service results reported by agents, by POP and outcome (applied, pending, failed).",
		}, []string{"pop", "outcome"}),
		agentLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_push_agent_lag_revisions",
			Help: "Revisions an agent watching from this replica is behind: the POP's latest revision minus the revision the agent acknowledged. The series exists while the agent's Watch stream is open.",
		}, []string{"pop", "agent_id"}),
		commitToAck: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tollgate_push_commit_to_ack_seconds",
			Help:    "Time from a change's commit (its outbox row) to the acknowledgement of its revision by an agent it was sent to in a delta, one observation per change and stream.",
			Buckets: CommitToAckBuckets,
		}),
		unconfirmed: &unconfirmedCollector{desc: prometheus.NewDesc("tollgate_push_unconfirmed_services",
			"Services whose current desired state the POP's agent has not confirmed (applied at the service's revision and read back); counted in the database at each scrape. "+
				`state="pending": the agent applied it but it takes effect at a later event (a RADIUS suspension with no active session: applies at next login, since the authorize endpoint answers walled); state="unconfirmed": the others (not applied yet, failing, or read back otherwise).`,
			[]string{"pop", "state"}, nil)},
	}
	m.certificates = &certificateCollector{desc: prometheus.NewDesc("tollgate_push_agent_certificate_expiry_seconds",
		"Seconds until the notAfter of the client certificate an agent watching from this replica presented (negative: expired), "+
			"by POP and agent id. The series exists while the agent's Watch stream is open over mutual TLS.",
		[]string{"pop", "agent_id"}, nil)}
	if reg != nil {
		reg.MustRegister(m.connected, m.sent, m.popRevision, m.appliedRevision, m.results, m.agentLag, m.commitToAck, m.unconfirmed, m.certificates)
	}
	return m
}

// Sent returns the counter of messages of typ ("redirect", "snapshot",
// "delta", "heartbeat") sent to pop's agents.
func (m *Metrics) Sent(pop, typ string) prometheus.Counter { return m.sent.WithLabelValues(pop, typ) }

// UnconfirmedCounter is implemented by feeds that can count, per POP, the
// services whose current desired state is not confirmed by an agent. A
// [Server] whose feed implements it serves tollgate_push_unconfirmed_services.
type UnconfirmedCounter interface {
	// UnconfirmedServices counts, for every POP, the services whose
	// desired state its agent has not confirmed (zeros for a POP whose
	// all are); no coded errors (an error is the store's, and the gauge
	// shows nothing for that scrape).
	UnconfirmedServices(ctx context.Context) (map[string]billing.UnconfirmedCount, error)
}

// unconfirmedCollector asks the database at each scrape, so every replica
// reports the same numbers and nothing is cached. A failed count leaves the
// series out of that scrape rather than failing the whole scrape.
type unconfirmedCollector struct {
	desc   *prometheus.Desc
	source atomic.Pointer[UnconfirmedCounter]
}

func (c *unconfirmedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *unconfirmedCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.source.Load()
	if src == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := (*src).UnconfirmedServices(ctx)
	if err != nil {
		return
	}
	for pop, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n.Unconfirmed), pop, "unconfirmed")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n.Pending), pop, "pending")
	}
}

// certificateCollector reports, at each scrape, the time left on the client
// certificate of every agent watching from this replica, on the server's
// clock.
type certificateCollector struct {
	desc   *prometheus.Desc
	server atomic.Pointer[Server]
}

func (c *certificateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *certificateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.server.Load()
	if s == nil {
		return
	}
	now := s.clock.Now()
	s.agentsMu.Lock()
	defer s.agentsMu.Unlock()
	for k, st := range s.agents {
		if st.certNotAfter.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, st.certNotAfter.Sub(now).Seconds(), k.pop, k.agentID)
	}
}
