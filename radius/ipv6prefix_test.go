package radius

import (
	"net/netip"
	"testing"

	"layeh.com/radius/rfc2866"
)

// TestAccountingIPv6Prefixes: Framed-IPv6-Prefix and Delegated-IPv6-Prefix
// (written with only their prefix's leading octets, as NASes do) reach the
// session, survive an update without them and the state file, and a
// malformed one is ignored.
func TestAccountingIPv6Prefixes(t *testing.T) {
	b := buildAcct(t, testSecret, rfc2866.AcctStatusType_Value_Start, "jane", "s6", "10.0.0.1", "",
		Attr{Type: typeFramedIPv6Prefix, Value: string([]byte{0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 7})},
		Attr{Type: typeDelegatedIPv6Prefix, Value: string([]byte{0, 56, 0x20, 0x01, 0x0d, 0xb8, 0x02, 0, 0x01})})
	rec, _, err := parseAccountingRequest(b, testSecret, false)
	if err != nil {
		t.Fatal(err)
	}
	if rec.FramedIPv6Prefix.String() != "2001:db8:1:7::/64" || rec.DelegatedIPv6Prefix.String() != "2001:db8:200:100::/56" {
		t.Fatalf("prefixes %v %v", rec.FramedIPv6Prefix, rec.DelegatedIPv6Prefix)
	}
	tab := NewSessions(SessionsConfig{Max: 10})
	src := netip.MustParseAddr("10.0.0.1")
	tab.Apply(rec, src)
	rec.StatusType, rec.FramedIPv6Prefix, rec.DelegatedIPv6Prefix = acctStatusInterim, netip.Prefix{}, netip.Prefix{}
	tab.Apply(rec, src)
	ss := tab.Find("jane", nil)
	if len(ss) != 1 || ss[0].DelegatedIPv6Prefix.String() != "2001:db8:200:100::/56" || ss[0].FramedIPv6Prefix.String() != "2001:db8:1:7::/64" {
		t.Fatalf("session %+v", ss)
	}
	back, err := decodeSession([]byte(storeKey(ss[0].Key())), encodeSession(&ss[0]))
	if err != nil || back.DelegatedIPv6Prefix != ss[0].DelegatedIPv6Prefix || back.FramedIPv6Prefix != ss[0].FramedIPv6Prefix {
		t.Fatalf("state file round trip: %+v %v", back, err)
	}
	for _, v := range [][]byte{{0}, {0, 129, 0x20}, {0, 64, 0x20, 0x01}} {
		if p := ipv6Prefix(v); p.IsValid() {
			t.Errorf("ipv6Prefix(%v) = %v; want none", v, p)
		}
	}
}
