package portal

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	signIns  *prometheus.CounterVec
	codes    *prometheus.CounterVec
	payments *prometheus.CounterVec
	refused  *prometheus.CounterVec
	restore  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_portal_sign_ins_total",
			Help: "Portal sign-in attempts by method (code, captive) and result (ok, wrong_code, bad_token, reused_token, not_suspended, limited)."}, []string{"via", "result"}),
		codes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_portal_codes_total",
			Help: "Sign-in code requests by result (sent, unknown_account, no_email, account_limit, send_failed)."}, []string{"result"}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_portal_payments_total",
			Help: "Portal payments by result (succeeded, failed, error, duplicate: a form sent again while or after it was taken)."}, []string{"result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_portal_refused_total",
			Help: "Portal requests refused by reason (csrf, form, cross_site, rate_limit)."}, []string{"reason"}),
		restore: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tollgate_portal_restore_seen_seconds",
			Help:    "From a portal payment to its page seeing every service confirmed restored by the agents.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120}}),
	}
	if reg != nil {
		reg.MustRegister(m.signIns, m.codes, m.payments, m.refused, m.restore)
	}
	return m
}
