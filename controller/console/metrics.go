package console

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	signIns *prometheus.CounterVec
	refused *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_console_sign_ins_total",
			Help: "Staff console sign-in attempts by result (ok, or the refusal reason)."}, []string{"result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_console_requests_refused_total",
			Help: "Console requests refused before reaching a page: cross_site, csrf, role."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.signIns, m.refused)
	}
	return m
}
