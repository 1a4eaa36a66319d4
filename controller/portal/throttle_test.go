package portal_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/portal"
)

// TestThrottledSubscriberIsToldTheSpeed: a subscriber of a type that
// throttles instead of cutting off lands on the portal (captive link and
// RFC 8908 API alike) and reads that the service is slowed, and how much,
// until the balance is paid.
func TestThrottledSubscriberIsToldTheSpeed(t *testing.T) {
	e := newEnv(t, func(c *portal.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	typ := e.typ
	typ.SuspendAction = billing.SuspendThrottle
	typ.ThrottleProfile = &billing.EdgeProfile{ServiceProfile: billing.ServiceProfile{DownloadRate: 1_000_000, UploadRate: 1_000_000}}
	if _, err := e.db.UpdateAccountType(context.Background(), typ); err != nil {
		t.Fatal(err)
	}
	s := e.owing("Tess", "p1", "10.1.0.40", due(-30), 5000)
	e.suspend()
	if svc, err := e.db.Service(context.Background(), s.service.ID); err != nil || svc.DesiredState != billing.StateThrottled {
		t.Fatalf("service %s (%v), want throttled", svc.DesiredState, err)
	}
	p := e.browser().get(strings.TrimPrefix(e.captiveURL(s.service, 10*time.Minute), e.url))
	p.must(t, 200, "Service slowed", "slowed to 1 Mbit/s until the balance is paid", "Your service is slowed to 1 Mbit/s until the balance is paid. To restore full speed")
	if strings.Contains(p.body, "Service suspended") || strings.Contains(p.body, "service is suspended") || strings.Contains(p.body, "was suspended") {
		t.Fatalf("a throttled subscriber reads that the service is suspended")
	}
	req, _ := http.NewRequest("GET", e.url+"/captive-portal/api", nil)
	req.Header.Set("X-Forwarded-For", "10.1.0.40")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := decodeJSON(resp.Body, &m); err != nil {
		t.Fatal(err)
	}
	if m["captive"] != true {
		t.Fatalf("captive-portal API for a throttled subscriber: %v, want captive", m)
	}
}
