package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/internal/printmailsim"
)

// TestVendorDownTenMinutesNothingLostEachLetterOnce takes the print-and-mail
// vendor down for ten simulated minutes while a billing run's invoices go
// out — answering 503, then refusing connections, then never answering,
// then creating letters but losing every answer — with the worker retrying
// on a simulated clock moved in 30-second steps. Emails are not held up;
// the failures are visible through the API while they last; nothing is
// given up; once the vendor is back every letter has been created exactly
// once (the vendor counts creations per idempotency key) and every mail
// delivery records its letter; the vendor's webhooks then mark them all
// mailed.
func TestVendorDownTenMinutesNothingLostEachLetterOnce(t *testing.T) {
	t.Parallel()
	var subs []subscriber
	for i := range 40 {
		s := subscriber{name: fmt.Sprintf("Subscriber %02d", i), zip: fmt.Sprintf("787%02d", i)}
		switch {
		case i < 20:
			s.delivery = billing.DeliveryMail
		case i < 30:
			s.delivery, s.email = billing.DeliveryBoth, fmt.Sprintf("s%d@example.net", i)
		default:
			s.delivery, s.email = billing.DeliveryEmail, fmt.Sprintf("s%d@example.net", i)
		}
		subs = append(subs, s)
	}
	w := newWorld(t, subs)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	metrics := delivery.NewMetrics(reg, w.db)
	svc := delivery.NewService(w.db, w.source(), delivery.ServiceOptions{WebhookSecrets: []string{webhookSecret}, Metrics: metrics})
	apiSrv := w.api(t, svc)
	sim := printmailsim.Start(t, printmailsim.Options{APIKey: vendorKey, WebhookSecret: webhookSecret,
		WebhookURL: apiSrv.URL + "/api/v1/webhooks/print-mail"})
	pm, pmCfg := vendor(t, sim, 250*time.Millisecond) // a hanging vendor costs a quarter second per request
	smtpSrv, sender := w.smtp(t)
	wk, err := delivery.NewWorker(delivery.Config{Backoff: []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}, MaxAttempts: 12},
		w.db, w.source(), delivery.WorkerOptions{Email: sender, Vendor: pm, PrintMail: pmCfg, Metrics: metrics}, w.clk, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.queue(t, wk.Channels()...); n != 50 {
		t.Fatalf("queued %d deliveries, want 30 letters and 20 emails", n)
	}

	// The outage, minute by minute.
	modes := []struct {
		until time.Duration
		name  string // what the failed attempts' errors say
		apply func()
	}{
		{150 * time.Second, "HTTP 503", func() { sim.SetMode(printmailsim.Unavailable) }},
		{300 * time.Second, "connection refused", func() {
			sim.SetMode(printmailsim.Up)
			if err := sim.Refuse(); err != nil {
				t.Fatal(err)
			}
		}},
		{450 * time.Second, "deadline exceeded", func() {
			if err := sim.Resume(); err != nil {
				t.Fatal(err)
			}
			sim.SetMode(printmailsim.Hang)
		}},
		{600 * time.Second, "HTTP 502", func() { sim.SetMode(printmailsim.AcceptThenFail) }},
	}
	start := w.clk.Now()
	step, current := 30*time.Second, -1
	errorsSeen := map[string]bool{}
	attempts := map[int64]int{}
	for elapsed := time.Duration(0); elapsed < 10*time.Minute; elapsed += step {
		w.clk.Set(start.Add(elapsed))
		for i, m := range modes {
			if elapsed < m.until {
				if i != current {
					m.apply()
					current = i
				}
				break
			}
		}
		drain(t, w, wk)
		for _, d := range w.deliveries(t, billing.ChannelMail) {
			if d.Status == billing.DeliveryFailed {
				t.Fatalf("delivery %d given up during the outage: %s", d.ID, d.LastError)
			}
			if d.Attempts > attempts[d.ID] && strings.Contains(d.LastError, modes[current].name) {
				errorsSeen[modes[current].name] = true
			}
			attempts[d.ID] = d.Attempts
		}
	}
	if len(errorsSeen) != len(modes) {
		t.Errorf("attempts failed with %v; want every phase of the outage", errorsSeen)
	}
	if got := len(smtpSrv.WaitFor(t, 20, 10*time.Second)); got != 20 {
		t.Errorf("%d emails during the outage, want all 20", got)
	}

	// While it lasts, the failures are visible through the API.
	var page struct {
		Items []billing.InvoiceDelivery `json:"items"`
	}
	if code := call(t, apiSrv, http.MethodGet, fmt.Sprintf("/api/v1/deliveries?billing_run_id=%d&channel=mail&status=queued&limit=1000", w.run.ID), nil, &page); code != 200 || len(page.Items) != 30 {
		t.Fatalf("queued letters through the API: %d, %d items, want 30", code, len(page.Items))
	}
	for _, d := range page.Items {
		if d.Attempts < 4 || d.LastError == "" {
			t.Errorf("delivery %d after the outage: %d attempts, last error %q", d.ID, d.Attempts, d.LastError)
		}
	}
	if got := gauge(t, reg, "tollgate_delivery_items", "mail", "queued"); got != 30 {
		t.Errorf("tollgate_delivery_items{channel=mail,status=queued} = %v during the outage, want 30", got)
	}
	if got := gauge(t, reg, "tollgate_delivery_attempt_errors_total", "mail", ""); got < 120 {
		t.Errorf("tollgate_delivery_attempt_errors_total{channel=mail} = %v, want at least 4 per letter", got)
	}
	createdDuringOutage := len(sim.Letters())
	if createdDuringOutage == 0 {
		t.Error("the vendor created no letter while losing its answers; the test did not cover that")
	}

	// The vendor is back.
	sim.SetMode(printmailsim.Up)
	for elapsed := 10 * time.Minute; elapsed <= 30*time.Minute; elapsed += step {
		w.clk.Set(start.Add(elapsed))
		drain(t, w, wk)
	}
	letters := map[string]printmailsim.Letter{}
	for _, l := range sim.Letters() {
		letters[l.ID] = l
	}
	creations := sim.Creations()
	if len(letters) != 30 || len(creations) != 30 {
		t.Fatalf("the vendor has %d letters under %d keys; want 30 and 30", len(letters), len(creations))
	}
	for key, n := range creations {
		if n != 1 {
			t.Errorf("idempotency key %s: %d letters", key, n)
		}
	}
	mail := w.deliveries(t, billing.ChannelMail)
	if len(mail) != 30 {
		t.Fatalf("%d mail deliveries, want 30", len(mail))
	}
	seen := map[string]bool{}
	for _, d := range mail {
		l, ok := letters[d.VendorLetterID]
		if d.Status != billing.DeliverySentToVendor || !ok || l.IdempotencyKey != d.IdempotencyKey || seen[d.VendorLetterID] {
			t.Errorf("delivery %d (%s): %s, letter %q", d.ID, d.InvoiceNumber, d.Status, d.VendorLetterID)
		}
		seen[d.VendorLetterID] = true
	}
	if t.Failed() {
		return
	}
	t.Logf("letters created while the answers were lost: %d of 30; attempts per letter up to %d", createdDuringOutage, maxAttempts(mail))

	// Mailed, each once.
	if n, err := sim.MailAll(ctx); err != nil || n != 30 {
		t.Fatalf("mailed %d: %v", n, err)
	}
	var counts []billing.DeliveryCount
	if code := call(t, apiSrv, http.MethodGet, fmt.Sprintf("/api/v1/deliveries/summary?billing_run_id=%d", w.run.ID), nil, &counts); code != 200 {
		t.Fatalf("summary: %d", code)
	}
	var summary []string
	for _, c := range counts {
		summary = append(summary, fmt.Sprintf("%s %s %d", c.Channel, c.Status, c.Count))
	}
	if got := strings.Join(summary, ", "); got != "email sent 20, mail mailed 30" {
		t.Fatalf("summary: %s", got)
	}
	for _, m := range []struct {
		name, label string
		want        float64
	}{
		{"tollgate_delivery_sent_total", "mail", 30}, {"tollgate_delivery_sent_total", "email", 20},
		{"tollgate_delivery_failed_total", "mail", 0}, {"tollgate_delivery_letter_events_total", "mailed", 30},
	} {
		if got := gauge(t, reg, m.name, m.label, ""); got != m.want {
			t.Errorf("%s{%s} = %v, want %v", m.name, m.label, got, m.want)
		}
	}
	if got := gauge(t, reg, "tollgate_delivery_items", "mail", "queued"); got != 0 {
		t.Errorf("tollgate_delivery_items{channel=mail,status=queued} = %v at the end", got)
	}
}

// gauge reads one sample of a metric family: the one whose first label is
// first and, if second is set, whose second label is second.
func gauge(t *testing.T, reg *prometheus.Registry, name, first, second string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ls := m.GetLabel()
			if len(ls) == 0 || ls[0].GetValue() != first || (second != "" && (len(ls) < 2 || ls[1].GetValue() != second)) {
				continue
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s{%s,%s}", name, first, second)
	return 0
}

func maxAttempts(ds []billing.InvoiceDelivery) int {
	n := 0
	for _, d := range ds {
		n = max(n, d.Attempts)
	}
	return n
}
