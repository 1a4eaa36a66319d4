package push

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the push service's Prometheus metrics.
type Metrics struct {
	connected       *prometheus.GaugeVec
	sent            *prometheus.CounterVec
	popRevision     *prometheus.GaugeVec
	appliedRevision *prometheus.GaugeVec
	results         *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_push_connected_agents", Help: "Agent Watch streams open on this replica, by POP.",
		}, []string{"pop"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_push_messages_sent_total", Help: "Watch messages sent, by POP and type (snapshot, delta, heartbeat).",
		}, []string{"pop", "type"}),
		popRevision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_push_pop_revision", Help: "Latest enforcement revision of each POP seen by this replica.",
		}, []string{"pop"}),
		appliedRevision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_push_agent_applied_revision", Help: "Highest revision an agent of the POP reported as applied.",
		}, []string{"pop"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_push_service_results_total", Help: "Per-service results reported by agents, by POP and outcome.",
		}, []string{"pop", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.sent, m.popRevision, m.appliedRevision, m.results)
	}
	return m
}

// Sent returns the counter of messages of typ ("snapshot", "delta",
// "heartbeat") sent to pop's agents.
func (m *Metrics) Sent(pop, typ string) prometheus.Counter { return m.sent.WithLabelValues(pop, typ) }
