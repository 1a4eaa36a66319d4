package clientaddr

import (
	"net/http"
	"testing"
)

func TestOf(t *testing.T) {
	proxies, errs := ParseProxies("x.trusted_proxies", []string{"10.0.0.0/8", "192.0.2.7"})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, c := range []struct {
		name, remote, xff, want string
	}{
		{"direct client", "198.51.100.4:5000", "", "198.51.100.4"},
		{"direct client's forged header ignored", "198.51.100.4:5000", "203.0.113.9", "198.51.100.4"},
		{"through a trusted proxy", "10.1.2.3:443", "203.0.113.9", "203.0.113.9"},
		{"two trusted hops", "10.1.2.3:443", "203.0.113.9, 192.0.2.7", "203.0.113.9"},
		{"client's own forged first entry skipped", "10.1.2.3:443", "1.1.1.1, 203.0.113.9", "203.0.113.9"},
		{"garbage hop: the peer", "10.1.2.3:443", "not-an-ip", "10.1.2.3"},
		{"only proxies: the peer", "10.1.2.3:443", "10.9.9.9", "10.1.2.3"},
		{"IPv4-mapped IPv6 peer", "[::ffff:198.51.100.4]:5000", "", "198.51.100.4"},
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := proxies.Of(r).String(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
	if _, errs := ParseProxies("x.trusted_proxies", []string{"nonsense"}); len(errs) != 1 || errs[0].Error() != `x.trusted_proxies: "nonsense" is not an address or CIDR prefix` {
		t.Errorf("bad proxy: %v", errs)
	}
}
