package charge

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Metrics are the payment metrics: the charge service's, observed where the
// gateway's answer is recorded, and every posted payment's, observed by the
// store once the payment's transaction committed ([Metrics.PaymentPosted];
// controller/postgres.DB.ObservePayments):
//
//	tollgate_payment_gateway_charges_total{gateway,trigger,status} every answer: succeeded, processing, declined, error, unsettled
//	tollgate_payment_gateway_declines_total{gateway,code}          declined charges by the gateway's decline code
//	tollgate_payment_gateway_errors_total{gateway,code}            refused requests (the error's code) and unknown answers (code unsettled)
//	tollgate_payments_posted_total{method}                         payments posted (API, batches, gateway charges)
//	tollgate_payments_posted_minor_units_total{method,currency}    their amounts, in the currency's minor units (cents)
type Metrics struct {
	charges, declines, errors *prometheus.CounterVec
	posted, postedAmount      *prometheus.CounterVec
}

// Statuses of tollgate_payment_gateway_charges_total.
const (
	statusSucceeded  = "succeeded"
	statusProcessing = "processing"
	statusDeclined   = "declined"
	statusError      = "error"
	statusUnsettled  = "unsettled"
)

// NewMetrics creates the charge service's metrics and registers them with
// reg (nil: not registered). Give them to a service with
// [Service.UseMetrics].
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		charges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_payment_gateway_charges_total",
			Help: "Charges sent to the payment gateway, by gateway, trigger (autopay, portal, staff) and status: succeeded, processing " +
				"(an ACH debit settling), declined, error (the gateway refused the request), unsettled (its answer is unknown; recovered later)."},
			[]string{"gateway", "trigger", "status"}),
		declines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_payment_gateway_declines_total",
			Help: "Charges the payment gateway declined, by gateway and decline code (card_declined, insufficient_funds, ...; unknown when none)."},
			[]string{"gateway", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_payment_gateway_errors_total",
			Help: "Charge requests the payment gateway refused (code: the error's class, e.g. invalid) or did not answer (code unsettled: " +
				"unreachable or a server error; the attempt stays pending and is recovered), by gateway."},
			[]string{"gateway", "code"}),
	}
	m.posted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_payments_posted_total",
		Help: "Payments posted to accounts (entered by staff, posted in batches, or charged through the gateway), by method."}, []string{"method"})
	m.postedAmount = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_payments_posted_minor_units_total",
		Help: "Amounts of the payments posted, in the currency's minor units (cents), by method and currency."}, []string{"method", "currency"})
	for _, method := range []billing.PaymentMethod{billing.PayCard, billing.PayACH, billing.PayCheck, billing.PayCash, billing.PayWire,
		billing.PayMoneyOrder, billing.PayOther} {
		m.posted.WithLabelValues(string(method))
	}
	if reg != nil {
		reg.MustRegister(m.charges, m.declines, m.errors, m.posted, m.postedAmount)
	}
	return m
}

// PaymentPosted counts a payment posted (the store calls it after the
// payment's transaction committed).
func (m *Metrics) PaymentPosted(method billing.PaymentMethod, currency billing.Currency, amount int64) {
	if m == nil {
		return
	}
	m.posted.WithLabelValues(string(method)).Inc()
	m.postedAmount.WithLabelValues(string(method), string(currency)).Add(float64(amount))
}

// UseMetrics makes the service count the gateway's answers in m. The
// series of every trigger and status of the service's gateway start at 0,
// so that the first decline shows in increase().
func (s *Service) UseMetrics(m *Metrics) {
	s.metrics = m
	if m == nil {
		return
	}
	for _, tr := range []billing.AttemptTrigger{billing.TriggerAutopay, billing.TriggerPortal, billing.TriggerStaff} {
		for _, st := range []string{statusSucceeded, statusProcessing, statusDeclined, statusError, statusUnsettled} {
			m.charges.WithLabelValues(s.gw.Name(), string(tr), st)
		}
	}
}

// answered counts one gateway answer to an attempt.
func (m *Metrics) answered(gateway string, trigger billing.AttemptTrigger, status, code string) {
	if m == nil {
		return
	}
	m.charges.WithLabelValues(gateway, string(trigger), status).Inc()
	switch status {
	case statusDeclined:
		if code == "" {
			code = "unknown"
		}
		m.declines.WithLabelValues(gateway, code).Inc()
	case statusError:
		m.errors.WithLabelValues(gateway, code).Inc()
	case statusUnsettled:
		m.errors.WithLabelValues(gateway, statusUnsettled).Inc()
	}
}
