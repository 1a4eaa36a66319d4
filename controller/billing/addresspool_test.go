package billing

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func space(t *testing.T, p AddressPool) PoolSpace {
	t.Helper()
	if p.POP == "" {
		p.POP, p.Name = "north-1", "pool"
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s, err := p.Space()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestNextFreeSkipsReservedAndTaken(t *testing.T) {
	s := space(t, AddressPool{Prefix: "100.64.1.0/24", Gateway: "100.64.1.1", Excluded: []string{"100.64.1.2-100.64.1.9", "100.64.1.12"}})
	for _, c := range []struct {
		taken []netip.Prefix
		want  string
	}{
		{nil, "100.64.1.10/32"},
		{prefixes("100.64.1.10/32"), "100.64.1.11/32"},
		{prefixes("100.64.1.10/32", "100.64.1.11/32"), "100.64.1.13/32"},
		{prefixes("100.64.1.8/29", "10.0.0.0/8", "2001:db8::/32"), "100.64.1.16/32"},
		{prefixes("100.64.1.0/25", "100.64.1.128/26"), "100.64.1.192/32"},
	} {
		got, ok := s.NextFree(c.taken)
		if !ok || got.String() != c.want {
			t.Errorf("NextFree(%v) = %v, %v; want %s", c.taken, got, ok, c.want)
		}
	}
	if got, ok := s.NextFree(prefixes("100.64.1.0/25", "100.64.1.128/26", "100.64.1.192/27", "100.64.1.224/28", "100.64.1.240/29",
		"100.64.1.248/30", "100.64.1.252/31", "100.64.1.254/32")); ok {
		t.Errorf("a full pool gave %v (the broadcast address is reserved)", got)
	}
	if c := s.Capacity(); c != 256-2-1-8-1 {
		t.Errorf("Capacity = %v; want 244 (network, broadcast, gateway and 9 excluded left out)", c)
	}
}

func TestNextFreeDelegatesIPv6Prefixes(t *testing.T) {
	s := space(t, AddressPool{Prefix: "2001:db8:100::/48", Excluded: []string{"2001:db8:100::/56"}})
	if s.DelegationLength != 56 {
		t.Fatalf("default IPv6 delegation length = %d; want 56", s.DelegationLength)
	}
	got, ok := s.NextFree(prefixes("2001:db8:100:100::/56", "2001:db8:100:205::1/128"))
	if !ok || got.String() != "2001:db8:100:300::/56" {
		t.Errorf("NextFree = %v, %v; want 2001:db8:100:300::/56 (the /56 holding a bound address is taken)", got, ok)
	}
	if c := s.Capacity(); c != 255 {
		t.Errorf("Capacity = %v; want 255", c)
	}
	big := space(t, AddressPool{Prefix: "2001:db8::/32", DelegationLength: 64})
	if got, ok := big.NextFree(prefixes("2001:db8::/33")); !ok || got.String() != "2001:db8:8000::/64" {
		t.Errorf("NextFree past a /33 = %v, %v", got, ok)
	}
	if c := big.Capacity(); c != 1<<32 {
		t.Errorf("Capacity of a /32 in /64s = %v", c)
	}
	if got, ok := space(t, AddressPool{Prefix: "::/0", DelegationLength: 1}).NextFree(prefixes("::/1")); !ok || got.String() != "8000::/1" {
		t.Errorf("top of the IPv6 space: %v, %v", got, ok)
	}
	if got, ok := space(t, AddressPool{Prefix: "::/0", DelegationLength: 1}).NextFree(prefixes("::/1", "8000::/1")); ok {
		t.Errorf("full IPv6 space gave %v", got)
	}
}

// TestNextFreeNeverOverlaps: on random pools and taken sets, the block
// handed out is inside the pool, aligned, and overlaps nothing taken or
// reserved; and it is the lowest such block.
func TestNextFreeNeverOverlaps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		bits := 24 + r.IntN(7)
		deleg := bits + r.IntN(33-bits)
		p := AddressPool{Prefix: netip.PrefixFrom(netip.MustParseAddr("10.1.2.0"), bits).Masked().String(), DelegationLength: deleg}
		if bits <= 28 {
			p.Excluded = []string{"10.1.2.5-10.1.2.9"}
		}
		s := space(t, p)
		var taken []netip.Prefix
		for j := r.IntN(40); j > 0; j-- {
			a := netip.AddrFrom4([4]byte{10, 1, 2, byte(r.IntN(256))})
			taken = append(taken, netip.PrefixFrom(a, 28+r.IntN(5)).Masked())
		}
		blocked := func(p netip.Prefix) bool {
			for _, t := range taken {
				if t.Overlaps(p) {
					return true
				}
			}
			for _, x := range s.Reserved {
				if p.Contains(x.From) || p.Contains(x.To) || (x.From.Less(p.Addr()) && lastAddr(p).Less(x.To)) {
					return true
				}
			}
			return false
		}
		var want netip.Prefix
		for a := s.Prefix.Addr(); s.Prefix.Contains(a); {
			p := netip.PrefixFrom(a, deleg)
			if !blocked(p) {
				want = p
				break
			}
			next := lastAddr(p).Next()
			if !next.IsValid() {
				break
			}
			a = next
		}
		got, ok := s.NextFree(taken)
		if ok != want.IsValid() || ok && got != want {
			t.Fatalf("pool %s/%d taken %v: NextFree = %v, %v; want %v", s.Prefix, deleg, taken, got, ok, want)
		}
	}
}

func TestAddressPoolValidateNamesTheField(t *testing.T) {
	neg := -1
	for _, c := range []struct {
		p    AddressPool
		want string
	}{
		{AddressPool{POP: "n", Name: "Bad Name", Prefix: "10.0.0.0/24"}, `name "Bad Name"`},
		{AddressPool{POP: "n", Name: "a", Prefix: "10.0.0.5/24"}, "has host bits set (did you mean 10.0.0.0/24?)"},
		{AddressPool{POP: "n", Name: "a", Prefix: "ten"}, `prefix "ten"`},
		{AddressPool{POP: "n", Name: "a", Prefix: "10.0.0.0/24", DelegationLength: 16}, "delegation_length 16"},
		{AddressPool{POP: "n", Name: "a", Prefix: "10.0.0.0/24", Gateway: "10.0.1.1"}, `gateway "10.0.1.1"`},
		{AddressPool{POP: "n", Name: "a", Prefix: "10.0.0.0/24", Excluded: []string{"10.0.0.9-10.0.0.3"}}, `excluded[0]`},
		{AddressPool{POP: "n", Name: "a", Prefix: "10.0.0.0/24", QuarantineHours: &neg}, "quarantine_hours -1"},
	} {
		err := c.p.Validate()
		if err == nil || ErrorCode(err) != EINVALID || !contains(ErrorMessage(err), c.want) {
			t.Errorf("Validate(%+v) = %v; want EINVALID naming %q", c.p, err, c.want)
		}
	}
	p := AddressPool{POP: "n", Name: "a", Prefix: "10.0.0.0/24"}
	if err := p.Validate(); err != nil || *p.QuarantineHours != DefaultQuarantineHours || p.DelegationLength != 32 {
		t.Errorf("defaults: %v %+v", err, p)
	}
}

func TestPoolUsage(t *testing.T) {
	s := space(t, AddressPool{Prefix: "10.0.0.0/29"}) // 6 usable
	u := s.Usage(2, 1)
	if u.Capacity != 6 || u.UsedPercent != 50 {
		t.Errorf("Usage = %+v; want capacity 6, 50%%", u)
	}
}
