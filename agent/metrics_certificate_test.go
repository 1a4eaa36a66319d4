package agent

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/internal/clock"
)

const certExpiryMetric = "tollgate_agent_client_certificate_expiry_seconds"

// certExpiry scrapes reg for the certificate gauge; ok is false without it.
func certExpiry(t *testing.T, reg *prometheus.Registry) (v float64, ok bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == certExpiryMetric && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// The agent exports the time left on its client certificate, on its own
// clock, once told the certificate's expiry; without one (plaintext) there
// is no series.
func TestClientCertificateExpiryMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if v, ok := certExpiry(t, reg); ok {
		t.Fatalf("%s = %v before a certificate, want no series", certExpiryMetric, v)
	}
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(start)
	m.attach(&Agent{clock: clk})
	m.ClientCertificate(start.Add(29 * 24 * time.Hour))
	for _, tc := range []struct {
		after time.Duration
		left  float64
	}{{0, 29 * 86400}, {30 * 24 * time.Hour, -86400}} {
		clk.Set(start.Add(tc.after))
		if v, ok := certExpiry(t, reg); !ok || v != tc.left {
			t.Errorf("%s after start: %s = %v (present %v), want %v", tc.after, certExpiryMetric, v, ok, tc.left)
		}
	}
}
