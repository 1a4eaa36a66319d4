package agent

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the agent's Prometheus metrics.
type Metrics struct {
	connected       prometheus.Gauge
	appliedRevision prometheus.Gauge
	applyErrors     prometheus.Counter
	driverSeconds   *prometheus.HistogramVec
}

// NewMetrics creates the agent's metrics and registers them with reg (nil:
// not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_agent_connected", Help: "1 while the agent has a live Watch stream to the controller.",
		}),
		appliedRevision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_agent_applied_revision", Help: "Highest enforcement revision the agent has applied.",
		}),
		applyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_agent_apply_errors_total", Help: "Driver calls that failed to apply a desired state.",
		}),
		driverSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_agent_driver_seconds", Help: "Latency of driver suspend/restore calls, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method"}),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.appliedRevision, m.applyErrors, m.driverSeconds)
	}
	return m
}
