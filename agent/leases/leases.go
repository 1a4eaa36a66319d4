package leases

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
)

// Lease is one address's (or delegated prefix's) last state in a lease
// file.
type Lease struct {
	// Address is the leased address as a /32 or /128, or the delegated
	// prefix.
	Address netip.Prefix
	// HWAddr is the client's hardware address, lower-case with colons;
	// ClientID the DHCPv4 client identifier or DHCPv6 DUID as written
	// (hex with colons); Hostname the client's host name; CircuitID and
	// RemoteID the relay agent's option 82 sub-options (ISC files only).
	HWAddr, ClientID, Hostname, CircuitID, RemoteID string
	// Ends is when the lease expires (zero: never).
	Ends time.Time
	// Active is false for a lease released, expired, declined or freed
	// as written in the file.
	Active bool
}

// Format is a lease file's format.
type Format string

// Lease file formats.
const (
	FormatISC Format = "isc"
	FormatKea Format = "kea"
)

// ParseFile reads and parses a lease file of the format.
func ParseFile(path string, f Format) ([]Lease, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	switch f {
	case FormatISC:
		return ParseISC(b)
	case FormatKea:
		return ParseKea(b)
	}
	return nil, fmt.Errorf("lease file format %q is not one of isc, kea", f)
}

// Current keeps the leases bound at now: active and not ended.
func Current(ls []Lease, now time.Time) []Lease {
	out := make([]Lease, 0, len(ls))
	for _, l := range ls {
		if l.Active && (l.Ends.IsZero() || l.Ends.After(now)) {
			out = append(out, l)
		}
	}
	return out
}

// lastPerAddress keeps the last lease of each address, in address order.
func lastPerAddress(ls []Lease) []Lease {
	idx := make(map[netip.Prefix]int, len(ls))
	out := ls[:0]
	for _, l := range ls {
		if i, ok := idx[l.Address]; ok {
			out[i] = l
			continue
		}
		idx[l.Address] = len(out)
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Lease) int {
		if c := a.Address.Addr().Compare(b.Address.Addr()); c != 0 {
			return c
		}
		return a.Address.Bits() - b.Address.Bits()
	})
	return out
}

// MatchField is the lease field that identifies a subscriber's service.
type MatchField string

// Match fields.
const (
	MatchHWAddr    MatchField = "hwaddr"
	MatchClientID  MatchField = "client-id"
	MatchHostname  MatchField = "hostname"
	MatchCircuitID MatchField = "circuit-id"
	MatchRemoteID  MatchField = "remote-id"
)

// Value is the lease's value of the field.
func (l Lease) Value(f MatchField) string {
	switch f {
	case MatchHWAddr:
		return l.HWAddr
	case MatchClientID:
		return l.ClientID
	case MatchHostname:
		return l.Hostname
	case MatchCircuitID:
		return l.CircuitID
	case MatchRemoteID:
		return l.RemoteID
	}
	return ""
}

// ParseMatchField checks a match field's name.
func ParseMatchField(s string) (MatchField, error) {
	switch f := MatchField(s); f {
	case MatchHWAddr, MatchClientID, MatchHostname, MatchCircuitID, MatchRemoteID:
		return f, nil
	}
	return "", fmt.Errorf("match %q is not one of hwaddr, client-id, hostname, circuit-id, remote-id", s)
}

// Matcher finds the service a lease belongs to: the service whose RADIUS
// user name is the lease's match field (DHCP with RADIUS authorization,
// where the NAS sends the MAC address or the option 82 circuit id as
// User-Name), or the service whose id the field names as "service-ID"
// (a host name or remote id the ISP's provisioning sets).
type Matcher struct {
	Field MatchField
	// byKey maps a user name, and "service-ID", to the service id.
	byKey map[string]string
}

// NewMatcher builds a matcher over the services (id → RADIUS user name,
// empty if none).
func NewMatcher(field MatchField, services map[string]string) *Matcher {
	m := &Matcher{Field: field, byKey: make(map[string]string, 2*len(services))}
	for id, user := range services {
		m.byKey["service-"+id] = id
		if user != "" {
			m.byKey[strings.ToLower(user)] = id
		}
	}
	return m
}

// Service is the id of the lease's service; ok is false for a lease of no
// known service.
func (m *Matcher) Service(l Lease) (id string, ok bool) {
	v := l.Value(m.Field)
	if v == "" {
		return "", false
	}
	id, ok = m.byKey[strings.ToLower(v)]
	return id, ok
}

// Binding is a learned address of a service.
type Binding struct {
	ServiceID string
	Address   netip.Prefix
	Ends      time.Time
}

// Learn matches the leases bound at now to services.
func Learn(ls []Lease, m *Matcher, now time.Time) []Binding {
	var out []Binding
	for _, l := range Current(ls, now) {
		if id, ok := m.Service(l); ok {
			out = append(out, Binding{ServiceID: id, Address: l.Address, Ends: l.Ends})
		}
	}
	return out
}
