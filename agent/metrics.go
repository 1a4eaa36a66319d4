package agent

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the agent's Prometheus metrics.
type Metrics struct {
	connected       prometheus.Gauge
	appliedRevision prometheus.Gauge
	applyErrors     prometheus.Counter
	driverSeconds   *prometheus.HistogramVec
	services        *prometheus.GaugeVec
	failedServices  prometheus.Gauge
	storeErrors     prometheus.Counter
	reconcileDrift  prometheus.Counter
	sinceMessage    prometheus.GaugeFunc
	redirects       *prometheus.CounterVec
	certExpiry      prometheus.GaugeFunc

	reg      prometheus.Registerer
	agent    atomic.Pointer[Agent] // the agent the metrics describe, once attached
	notAfter atomic.Int64          // the client certificate's notAfter (Unix seconds); 0: none
}

// NewMetrics creates the agent's metrics and registers them with reg (nil:
// not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_agent_connected", Help: "1 while the agent has a live Watch stream to the controller.",
		}),
		appliedRevision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_agent_applied_revision", Help: "Highest enforcement revision the agent has applied and stored.",
		}),
		applyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_agent_apply_errors_total", Help: "Driver calls that failed to apply a desired state.",
		}),
		driverSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_agent_driver_seconds", Help: "Latency of driver suspend/restore calls, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method"}),
		services: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_agent_services",
			Help: "Services held in the agent's state file, by desired state: active, suspended, throttled (kept connected at a throttle profile; " +
				"suspended instead where the driver cannot throttle), removing (removed by the controller, restore not yet applied).",
		}, []string{"desired_state"}),
		failedServices: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_agent_failed_services", Help: "Services whose last apply failed; the agent retries them.",
		}),
		reconcileDrift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_agent_drift_repaired_total",
			Help: "Services the periodic full reconcile found in another state on the device than the one applied (and applied again).",
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_agent_state_write_errors_total",
			Help: "Failed writes to the state file; the message is not acknowledged and is received again after reconnecting.",
		}),
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_agent_redirects_total",
			Help: "Requests answered by the redirect responder, by result: redirected (302 to the portal with a token), " +
				"unknown (the source address is no single service's: neutral page), active (the service is not suspended: " +
				"active page), no_config (suspended, but no redirect settings from the controller yet: neutral page), " +
				"awaiting_snapshot (the state file is new or was reset and the controller's snapshot has not arrived: 503, no redirect).",
		}, []string{"result"}),
	}
	for _, r := range []string{resultRedirected, resultUnknown, resultActive, resultNoConfig, resultAwaitingSnapshot} {
		m.redirects.WithLabelValues(r)
	}
	m.sinceMessage = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tollgate_agent_seconds_since_controller_message",
		Help: "Seconds since the last message (snapshot, delta or heartbeat) from the controller; across restarts, " +
			"from the last contact recorded in the state file, or from the agent's start if there is none.",
	}, func() float64 {
		a := m.agent.Load()
		if a == nil {
			return 0
		}
		return a.clock.Now().Sub(time.Unix(0, a.lastMessage.Load())).Seconds()
	})
	m.certExpiry = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tollgate_agent_client_certificate_expiry_seconds",
		Help: "Seconds until the notAfter of the client certificate the agent presents to the controller (negative: expired; " +
			"the controller then refuses the agent). Not exported when the agent connects without TLS. The certificate is read at start: " +
			"restart the agent after renewing it.",
	}, func() float64 {
		now := time.Now()
		if a := m.agent.Load(); a != nil {
			now = a.clock.Now()
		}
		return float64(m.notAfter.Load()) - float64(now.UnixMilli())/1000
	})
	if reg != nil {
		reg.MustRegister(m.connected, m.appliedRevision, m.applyErrors, m.driverSeconds, m.services, m.failedServices, m.storeErrors, m.reconcileDrift, m.sinceMessage, m.redirects)
		m.reg = reg
	}
	return m
}

func (m *Metrics) attach(a *Agent) { m.agent.Store(a) }

// ClientCertificate makes the metrics export the time left until notAfter,
// the expiry of the client certificate the agent presents to the
// controller (tollgate_agent_client_certificate_expiry_seconds). Call it
// once, at start; without it (a plaintext connection) the metric is not
// exported.
func (m *Metrics) ClientCertificate(notAfter time.Time) {
	if m.notAfter.Swap(notAfter.Unix()) == 0 && m.reg != nil {
		m.reg.MustRegister(m.certExpiry)
	}
}
