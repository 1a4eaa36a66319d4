// Package clientaddr tells the address of the person behind an HTTP
// request when the controller may sit behind reverse proxies: the TCP peer,
// or, when the peer is a trusted proxy, the last address in
// X-Forwarded-For that is not one (the proxies append; anything before a
// trusted hop's entry could be forged by the client). The customer portal
// and the staff console use it for rate limits and sign-in backoff.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are trusted reverse proxies.
type Proxies []netip.Prefix

// ParseProxies reads addresses or CIDR prefixes; field names the config
// setting in the error ("portal.trusted_proxies").
func ParseProxies(field string, list []string) (Proxies, []error) {
	var out Proxies
	var errs []error
	for _, s := range list {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not an address or CIDR prefix", field, s))
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out, errs
}

// Of is the address of the client of r (the zero Addr when r's remote
// address is not an IP address).
func (ps Proxies) Of(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !ps.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		if a = a.Unmap(); !ps.trusted(a) {
			return a
		}
	}
	return peer
}

func (ps Proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
