package routeros

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrBadTarget is wrapped by the errors for targets the driver cannot act
// on: no addresses, an address that is not an IP address or prefix, a
// service id it cannot write into a comment, a device that is not
// configured.
var ErrBadTarget = errors.New("routeros: bad target")

// family is an address family's address-list menu.
type family struct {
	menu     string
	hostBits int
}

var (
	familyV4 = &family{menu: "/ip/firewall/address-list", hostBits: 32}
	familyV6 = &family{menu: "/ipv6/firewall/address-list", hostBits: 128}
)

// address is a subscriber address in canonical form.
type address struct {
	fam    *family
	prefix netip.Prefix
	// key is how the driver compares addresses: a host as a bare address
	// ("10.0.0.1", "2001:db8::1"), a network as a prefix ("10.0.0.0/24").
	key string
}

// parseAddress reads a binding's address: an IP address or a prefix
// without host bits (IPv4-mapped IPv6 addresses count as IPv4).
func parseAddress(s string) (address, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return address{}, fmt.Errorf("%w: address %q is not an IP address or prefix", ErrBadTarget, s)
		}
		if p.Masked() != p {
			return address{}, fmt.Errorf("%w: prefix %q has host bits set", ErrBadTarget, s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return address{}, fmt.Errorf("%w: address %q is not an IP address or prefix", ErrBadTarget, s)
		}
		if a.Zone() != "" {
			return address{}, fmt.Errorf("%w: address %q has a zone", ErrBadTarget, s)
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	fam := familyV4
	if p.Addr().Is6() {
		fam = familyV6
	}
	key := p.String()
	if p.IsSingleIP() {
		key = p.Addr().String()
	}
	return address{fam: fam, prefix: p, key: key}, nil
}

// forms are the ways a router may show the address in a list: RouterOS
// shows IPv4 hosts bare and IPv6 hosts with /128, and the driver accepts
// either for both.
func (a address) forms() []string {
	if a.prefix.IsSingleIP() {
		return []string{a.key, fmt.Sprintf("%s/%d", a.key, a.fam.hostBits)}
	}
	return []string{a.key}
}

// entryKey is the key of an address as a router shows it; anything that is
// not an IP address or prefix (a range, a DNS name) is its own key.
func entryKey(s string) string {
	if a, err := parseAddress(s); err == nil {
		return a.key
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		// A prefix with host bits set: the router clears them.
		if a, err := parseAddress(p.Masked().String()); err == nil {
			return a.key
		}
	}
	return s
}

// comment is what the driver writes into the comment of the entries of a
// service: prefix, "svc=" and the service id, then the controller's reason
// if there is one.
func comment(prefix, serviceID, reason string) string {
	c := prefix + "svc=" + serviceID
	if r := cleanReason(reason); r != "" {
		c += " reason=" + r
	}
	return c
}

// cleanReason keeps a reason printable and short.
func cleanReason(r string) string {
	r = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7F || c == '"' || c == '\\' {
			return ' '
		}
		return c
	}, r)
	r = strings.Join(strings.Fields(r), " ")
	if len(r) > 64 {
		r = strings.ToValidUTF8(r[:64], "")
	}
	return r
}

// checkServiceID refuses ids that would not survive a round trip through a
// comment.
func checkServiceID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty service id", ErrBadTarget)
	}
	for _, c := range id {
		if c <= ' ' || c == 0x7F {
			return fmt.Errorf("%w: service id %q has spaces or control characters", ErrBadTarget, id)
		}
	}
	return nil
}

// owner reads an entry's comment: whether the driver owns it (the comment
// starts with prefix) and, if so, the service id it names ("" for an owned
// entry that names none).
func owner(commentText, prefix string) (serviceID string, owned bool) {
	rest, ok := strings.CutPrefix(commentText, prefix)
	if !ok || prefix == "" {
		return "", false
	}
	rest, ok = strings.CutPrefix(rest, "svc=")
	if !ok {
		return "", true
	}
	id, _, _ := strings.Cut(rest, " ")
	return id, true
}

// parseAllow reads a walled_garden.allow entry: an address or prefix, or a
// fully qualified host name, which goes into the IPv4 list as it is
// (RouterOS resolves it and re-resolves it as its DNS records expire).
func parseAllow(s string) (address, error) {
	if a, err := parseAddress(s); err == nil {
		return a, nil
	}
	name := strings.TrimSuffix(strings.ToLower(s), ".")
	if !isHostName(name) {
		return address{}, fmt.Errorf("%q is neither an IP address, a prefix nor a fully qualified host name (such as portal.isp.example)", s)
	}
	return address{fam: familyV4, key: name}, nil
}

// isHostName says whether s is a fully qualified DNS host name: two or
// more labels of letters, digits and inner hyphens (1 to 63 characters
// each, 253 in all), the last not all digits.
func isHostName(s string) bool {
	labels := strings.Split(s, ".")
	if len(s) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
