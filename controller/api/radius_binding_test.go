package api_test

import (
	"strings"
	"testing"
)

// TestRADIUSBindingByFramedAddress: a radius binding may name the
// subscriber's addresses instead of a User-Name (IPoE/DHCP sessions carry
// no User-Name; the agent finds them by Framed-IP-Address); one with
// neither is refused, naming what is missing.
func TestRADIUSBindingByFramedAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/api/v1/services", billingToken, "ipoe-1",
		`{"pop":"north-1","name":"IPoE","binding":{"method":"radius","addresses":["100.64.9.9"],"device":"bng-1"}}`)
	if r.status != 200 {
		t.Fatalf("radius binding by framed address: %d %s", r.status, r.body)
	}
	b := r.json(t)["binding"].(map[string]any)
	if b["method"] != "radius" || b["addresses"].([]any)[0] != "100.64.9.9" || b["radius_username"] != nil {
		t.Fatalf("binding %v", b)
	}
	r = e.do("POST", "/api/v1/services", billingToken, "ipoe-2", `{"pop":"north-1","name":"Nothing","binding":{"method":"radius"}}`)
	if r.status != 422 || !strings.Contains(string(r.body), "radius_username, or addresses") {
		t.Fatalf("radius binding with neither: %d %s", r.status, r.body)
	}
}
