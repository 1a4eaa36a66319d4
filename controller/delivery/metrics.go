package delivery

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Metrics are delivery's Prometheus metrics:
//
//	tollgate_delivery_sent_total{channel}           accepted by the mail server (email) or the vendor (mail)
//	tollgate_delivery_failed_total{channel}         given up (permanent error or last attempt)
//	tollgate_delivery_attempt_errors_total{channel} failed attempts (retried or not)
//	tollgate_delivery_letter_events_total{status}   vendor webhooks applied: mailed, returned, other
//	tollgate_delivery_items{channel,status}         deliveries queued, sent_to_vendor or failed now (read at scrape)
type Metrics struct {
	sent, failed, attemptErrors *prometheus.CounterVec
	events                      *prometheus.CounterVec
}

// CountStore reads the open deliveries for the gauge.
type CountStore interface {
	OpenDeliveryCounts(ctx context.Context) ([]billing.DeliveryCount, error)
}

// NewMetrics registers delivery's metrics with reg (nil: not registered);
// the gauge reads store at every scrape (nil: no gauge).
func NewMetrics(reg prometheus.Registerer, store CountStore) *Metrics {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_delivery_sent_total",
			Help: "Invoice deliveries accepted by the mail server (email) or the print-and-mail vendor (mail)."}, []string{"channel"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_delivery_failed_total",
			Help: "Invoice deliveries given up: a permanent error, or the last attempt failed."}, []string{"channel"}),
		attemptErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_delivery_attempt_errors_total",
			Help: "Failed invoice delivery attempts, retried or not."}, []string{"channel"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_delivery_letter_events_total",
			Help: "Print-and-mail vendor status webhooks applied to letters: mailed, returned, other."}, []string{"status"}),
	}
	for _, c := range []billing.DeliveryChannel{billing.ChannelEmail, billing.ChannelMail} {
		m.sent.WithLabelValues(string(c))
		m.failed.WithLabelValues(string(c))
		m.attemptErrors.WithLabelValues(string(c))
	}
	for _, s := range []string{"mailed", "returned", "other"} {
		m.events.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.attemptErrors, m.events)
		if store != nil {
			reg.MustRegister(&itemsCollector{store: store})
		}
	}
	return m
}

var itemsDesc = prometheus.NewDesc("tollgate_delivery_items",
	"Invoice deliveries by channel that are queued, sent_to_vendor (waiting to be mailed) or failed, now.",
	[]string{"channel", "status"}, nil)

// itemsCollector counts open deliveries at scrape time.
type itemsCollector struct{ store CountStore }

func (c *itemsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- itemsDesc }

func (c *itemsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.store.OpenDeliveryCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(itemsDesc, err)
		return
	}
	n := map[[2]string]int64{}
	for _, k := range counts {
		n[[2]string{string(k.Channel), string(k.Status)}] = k.Count
	}
	for _, ch2 := range []billing.DeliveryChannel{billing.ChannelEmail, billing.ChannelMail} {
		for _, s := range []billing.DeliveryStatus{billing.DeliveryQueued, billing.DeliverySentToVendor, billing.DeliveryFailed} {
			if ch2 == billing.ChannelEmail && s == billing.DeliverySentToVendor {
				continue
			}
			ch <- prometheus.MustNewConstMetric(itemsDesc, prometheus.GaugeValue, float64(n[[2]string{string(ch2), string(s)}]), string(ch2), string(s))
		}
	}
}
