package billing

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

// IP address management: a POP's address pools, the next free address (or
// delegated IPv6 prefix) of a pool, and how full a pool is. The decisions
// here are pure; controller/postgres reads a pool and its taken blocks
// under the pool's row lock, calls [PoolSpace.NextFree] and writes the
// assignment, which a database exclusion constraint keeps unique.

// DefaultQuarantineHours is how long a released address stays out of
// automatic allocation when its pool does not say: a day, longer than the
// usual DHCP lease, so a returning client's stale lease, the router's ARP
// or neighbour cache and any address-list entry of the old subscriber have
// gone before another subscriber gets the address, and abuse reports for
// the old holder's last hours are not attributed to the new one.
const DefaultQuarantineHours = 24

// maxQuarantineHours bounds a pool's quarantine (a year).
const maxQuarantineHours = 366 * 24

// AllocateAuto is [NewService.Allocate]'s value that takes one block from
// every address family the POP has a pool for.
const AllocateAuto = "auto"

// AllocateLearned is [NewService.Allocate]'s value that allocates nothing:
// the service takes the addresses its POP's agent learns from DHCP leases
// or RADIUS accounting (a routeros binding may then have none).
const AllocateLearned = "learned"

// AddressPool is a range of addresses at a POP from which services get
// their addresses (IPv4) or delegated prefixes (IPv6).
type AddressPool struct {
	ID   int64  `json:"id" readOnly:"true"`
	POP  string `json:"pop" doc:"The POP whose services the pool serves."`
	Name string `json:"name" doc:"Unique name (lower-case letters, digits, '.', '_', '-')."`
	// Prefix is the pool's range, e.g. 100.64.1.0/24 or 2001:db8:100::/40.
	Prefix string `json:"prefix" doc:"The pool's range as a prefix: 100.64.1.0/24, 2001:db8:100::/40."`
	// DelegationLength is the prefix length of what one service gets: 32
	// (one IPv4 address) by default for IPv4, 56 for IPv6 (a delegated
	// prefix; 64 or 60 are common too, 128 a single address).
	DelegationLength int `json:"delegation_length" minimum:"0" maximum:"128" doc:"Prefix length each service gets: 32 (default for IPv4) is one address; for IPv6 the delegated prefix (default 56)."`
	// Gateway is the router's address in the pool; never handed out.
	Gateway string `json:"gateway,omitempty" doc:"The router's address in the pool; never allocated."`
	// Excluded are addresses never handed out: single addresses, prefixes
	// or ranges "FIRST-LAST".
	Excluded []string `json:"excluded,omitempty" doc:"Never allocated: addresses, prefixes or ranges FIRST-LAST (e.g. 100.64.1.1-100.64.1.9)."`
	// QuarantineHours is how long a released block stays out of
	// allocation (DefaultQuarantineHours when not given; 0: reused at once).
	QuarantineHours *int      `json:"quarantine_hours,omitempty" minimum:"0" maximum:"8784" doc:"Hours a released address stays out of automatic allocation (default 24)."`
	CreatedAt       time.Time `json:"created_at" readOnly:"true"`
	// Usage is filled when the pool is read.
	Usage *PoolUsage `json:"usage,omitempty" readOnly:"true"`
}

// PoolUsage is how full a pool is.
type PoolUsage struct {
	// Capacity is how many blocks of DelegationLength the pool can hand
	// out (excluded ones, the gateway, and an IPv4 pool's network and
	// broadcast addresses not counted); a float for IPv6's sizes.
	Capacity float64 `json:"capacity"`
	// Bound blocks are assigned to services; Quarantined ones were
	// released and wait out the quarantine.
	Bound       int64 `json:"bound"`
	Quarantined int64 `json:"quarantined"`
	// UsedPercent is (Bound+Quarantined)/Capacity in percent (100 for a
	// pool with no capacity).
	UsedPercent float64 `json:"used_percent"`
}

// Usage computes a pool's usage from its space and counts.
func (s PoolSpace) Usage(bound, quarantined int64) PoolUsage {
	u := PoolUsage{Capacity: s.Capacity(), Bound: bound, Quarantined: quarantined, UsedPercent: 100}
	if u.Capacity > 0 {
		u.UsedPercent = math.Min(100, 100*float64(bound+quarantined)/u.Capacity)
	}
	return u
}

var poolNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Validate checks a new pool and fills its defaults: the prefix written
// canonically, the delegation length, the quarantine.
func (p *AddressPool) Validate() error {
	if err := ValidatePOPID(p.POP); err != nil {
		return err
	}
	if !poolNamePattern.MatchString(p.Name) {
		return Errorf(EINVALID, "name %q is not a valid pool name (lower-case letters, digits, '.', '_', '-'; 1-63 characters)", p.Name)
	}
	if p.QuarantineHours == nil {
		h := DefaultQuarantineHours
		p.QuarantineHours = &h
	}
	if h := *p.QuarantineHours; h < 0 || h > maxQuarantineHours {
		return Errorf(EINVALID, "quarantine_hours %d is out of range 0-%d", h, maxQuarantineHours)
	}
	pfx, err := netip.ParsePrefix(strings.TrimSpace(p.Prefix))
	if err != nil {
		return Errorf(EINVALID, "prefix %q is not a prefix such as 100.64.1.0/24 or 2001:db8::/40", p.Prefix)
	}
	if pfx.Masked() != pfx {
		return Errorf(EINVALID, "prefix %s has host bits set (did you mean %s?)", pfx, pfx.Masked())
	}
	p.Prefix = pfx.String()
	if p.DelegationLength == 0 {
		p.DelegationLength = 32
		if pfx.Addr().Is6() {
			p.DelegationLength = 56
		}
	}
	_, err = p.Space()
	return err
}

// PoolSpace is a pool's range parsed: what [PoolSpace.NextFree] and
// [PoolSpace.Capacity] decide on.
type PoolSpace struct {
	Prefix           netip.Prefix
	DelegationLength int
	// Reserved are never handed out: the gateway, the excluded ranges and,
	// for an IPv4 pool of /30 or wider handing out single addresses, its
	// network and broadcast addresses.
	Reserved []AddressRange
}

// AddressRange is the addresses From to To, both included.
type AddressRange struct{ From, To netip.Addr }

// Space parses the pool's prefix, gateway and excluded ranges. EINVALID
// names the bad field.
func (p AddressPool) Space() (PoolSpace, error) {
	pfx, err := netip.ParsePrefix(p.Prefix)
	if err != nil {
		return PoolSpace{}, Errorf(EINVALID, "prefix %q is not a prefix", p.Prefix)
	}
	bits := pfx.Addr().BitLen()
	if p.DelegationLength < pfx.Bits() || p.DelegationLength > bits {
		return PoolSpace{}, Errorf(EINVALID, "delegation_length %d must be between the prefix's length %d and %d", p.DelegationLength, pfx.Bits(), bits)
	}
	s := PoolSpace{Prefix: pfx, DelegationLength: p.DelegationLength}
	if p.Gateway != "" {
		gw, err := netip.ParseAddr(strings.TrimSpace(p.Gateway))
		if err != nil || !pfx.Contains(gw) {
			return PoolSpace{}, Errorf(EINVALID, "gateway %q is not an address in %s", p.Gateway, pfx)
		}
		s.Reserved = append(s.Reserved, AddressRange{gw, gw})
	}
	for i, x := range p.Excluded {
		r, err := ParseAddressRange(x)
		if err != nil || !pfx.Contains(r.From) || !pfx.Contains(r.To) {
			return PoolSpace{}, Errorf(EINVALID, "excluded[%d] %q is not an address, prefix or range FIRST-LAST inside %s", i, x, pfx)
		}
		s.Reserved = append(s.Reserved, r)
	}
	if pfx.Addr().Is4() && p.DelegationLength == 32 && pfx.Bits() <= 30 {
		last := lastAddr(pfx)
		s.Reserved = append(s.Reserved, AddressRange{pfx.Addr(), pfx.Addr()}, AddressRange{last, last})
	}
	return s, nil
}

// ParseAddressRange parses "ADDR", "PREFIX" or "FIRST-LAST" (same family,
// FIRST not after LAST).
func ParseAddressRange(s string) (AddressRange, error) {
	s = strings.TrimSpace(s)
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(from))
		b, err2 := netip.ParseAddr(strings.TrimSpace(to))
		if err1 != nil || err2 != nil || a.BitLen() != b.BitLen() || b.Less(a) {
			return AddressRange{}, fmt.Errorf("%q is not a range FIRST-LAST", s)
		}
		return AddressRange{a, b}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return AddressRange{}, err
		}
		p = p.Masked()
		return AddressRange{p.Addr(), lastAddr(p)}, nil
	}
	a, err := netip.ParseAddr(s)
	return AddressRange{a, a}, err
}

// Blocks is how many blocks of DelegationLength the prefix holds, as a
// float (an IPv6 pool may hold 2^64 and more).
func (s PoolSpace) Blocks() float64 {
	return math.Exp2(float64(s.DelegationLength - s.Prefix.Bits()))
}

// Capacity is how many blocks can be handed out: Blocks less those that
// touch a reserved address.
func (s PoolSpace) Capacity() float64 {
	reserved := 0.0
	for _, r := range mergeRanges(s.clip(s.Reserved)) {
		reserved += s.blockIndex(r.To).sub(s.blockIndex(r.From)).float() + 1
	}
	return s.Blocks() - reserved
}

// NextFree is the lowest block of the pool (a /32 or /128 for a single
// address, else a delegated prefix) that overlaps neither a reserved
// address nor any of taken (blocks bound to services, or released and in
// quarantine; prefixes outside the pool are ignored). ok is false when the
// pool is full.
func (s PoolSpace) NextFree(taken []netip.Prefix) (block netip.Prefix, ok bool) {
	blockers := slices.Clone(s.Reserved)
	for _, t := range taken {
		if t.Addr().BitLen() == s.Prefix.Addr().BitLen() {
			t = t.Masked()
			blockers = append(blockers, AddressRange{t.Addr(), lastAddr(t)})
		}
	}
	blockers = mergeRanges(s.clip(blockers))
	step := u128{}.shl1(uint(s.Prefix.Addr().BitLen() - s.DelegationLength))
	last := toU128(lastAddr(s.Prefix))
	cand := toU128(s.Prefix.Addr())
	for _, b := range blockers {
		candEnd := cand.add(step).sub(u128{lo: 1})
		from, to := toU128(b.From), toU128(b.To)
		if to.less(cand) {
			continue
		}
		if candEnd.less(from) {
			break
		}
		// The blocker overlaps the candidate: the next candidate is the
		// first block after the blocker's end.
		if to == last {
			return netip.Prefix{}, false
		}
		next := s.blockIndex(b.To)
		cand = toU128(s.Prefix.Addr()).add(next.add(u128{lo: 1}).mul2(uint(s.Prefix.Addr().BitLen() - s.DelegationLength)))
	}
	if last.less(cand) {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(cand.addr(s.Prefix.Addr().Is4()), s.DelegationLength), true
}

// clip keeps the parts of rs inside the prefix.
func (s PoolSpace) clip(rs []AddressRange) []AddressRange {
	first, last := s.Prefix.Addr(), lastAddr(s.Prefix)
	out := make([]AddressRange, 0, len(rs))
	for _, r := range rs {
		if r.From.BitLen() != first.BitLen() || r.To.Less(first) || last.Less(r.From) {
			continue
		}
		if r.From.Less(first) {
			r.From = first
		}
		if last.Less(r.To) {
			r.To = last
		}
		out = append(out, r)
	}
	return out
}

// blockIndex is the number of the block a (inside the prefix) falls in.
func (s PoolSpace) blockIndex(a netip.Addr) u128 {
	return toU128(a).sub(toU128(s.Prefix.Addr())).shr(uint(a.BitLen() - s.DelegationLength))
}

// mergeRanges sorts ranges and merges those that overlap or touch.
func mergeRanges(rs []AddressRange) []AddressRange {
	slices.SortFunc(rs, func(a, b AddressRange) int { return cmp.Or(a.From.Compare(b.From), a.To.Compare(b.To)) })
	var out []AddressRange
	for _, r := range rs {
		if n := len(out); n > 0 && (!out[n-1].To.Less(r.From) || out[n-1].To.Next() == r.From) {
			if out[n-1].To.Less(r.To) {
				out[n-1].To = r.To
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	host := uint(p.Addr().BitLen() - p.Bits())
	return toU128(p.Addr()).add(u128{}.shl1(host).sub(u128{lo: 1})).addr(p.Addr().Is4())
}

// u128 is an address as a 128-bit number (an IPv4 address in lo's low 32
// bits), for the arithmetic of blocks.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}

func (x u128) addr(v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(x.lo >> 24), byte(x.lo >> 16), byte(x.lo >> 8), byte(x.lo)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(x.hi >> (8 * i))
		b[15-i] = byte(x.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

func (x u128) add(y u128) u128 {
	lo := x.lo + y.lo
	carry := uint64(0)
	if lo < x.lo {
		carry = 1
	}
	return u128{x.hi + y.hi + carry, lo}
}

func (x u128) sub(y u128) u128 {
	lo := x.lo - y.lo
	borrow := uint64(0)
	if x.lo < y.lo {
		borrow = 1
	}
	return u128{x.hi - y.hi - borrow, lo}
}

func (x u128) less(y u128) bool { return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo }

// shl1 is 1<<n (n up to 128; 1<<128 wraps to 0, the size of the whole
// IPv6 space, which only a ::/0 pool handing out ::/0 asks for).
func (u128) shl1(n uint) u128 { return u128{lo: 1}.mul2(n) }

// mul2 is x<<n.
func (x u128) mul2(n uint) u128 {
	switch {
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{hi: x.lo << (n - 64)}
	case n == 0:
		return x
	}
	return u128{x.hi<<n | x.lo>>(64-n), x.lo << n}
}

// shr is x>>n.
func (x u128) shr(n uint) u128 {
	switch {
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{lo: x.hi >> (n - 64)}
	case n == 0:
		return x
	}
	return u128{x.hi >> n, x.lo>>n | x.hi<<(64-n)}
}

func (x u128) float() float64 { return float64(x.hi)*math.Exp2(64) + float64(x.lo) }

// Learned address sources.
const (
	LearnedDHCP   = "dhcp"
	LearnedRADIUS = "radius"
)

// LearnedAddress is an address (or delegated prefix) an agent learned a
// service holds.
type LearnedAddress struct {
	ServiceID int64
	Address   netip.Prefix
	Source    string
	// ExpiresAt is when its lease ends (zero: not known).
	ExpiresAt time.Time
}

// ParseLearnedAddress reads an agent's learned address: an address or a
// prefix, from the source dhcp or radius.
func ParseLearnedAddress(serviceID int64, address, source string) (LearnedAddress, error) {
	l := LearnedAddress{ServiceID: serviceID, Source: source}
	if source != LearnedDHCP && source != LearnedRADIUS {
		return l, Errorf(EINVALID, "learned address source %q is not one of dhcp, radius", source)
	}
	if a, err := netip.ParseAddr(address); err == nil {
		l.Address = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		return l, nil
	}
	p, err := netip.ParsePrefix(address)
	if err != nil {
		return l, Errorf(EINVALID, "learned address %q is neither an IP address nor a prefix", address)
	}
	l.Address = p.Masked()
	return l, nil
}

// AddressConflictError is the refusal of an address that overlaps one
// already bound to another service.
func AddressConflictError(address, bound string, serviceID int64, serviceName string) error {
	name := ""
	if serviceName != "" {
		name = fmt.Sprintf(" (%s)", serviceName)
	}
	return Errorf(ECONFLICT, "address %s conflicts with %s, bound to service %d%s", address, bound, serviceID, name)
}

// AddressPoolEdit changes a pool: the fields given, the others left as
// they are. The prefix and delegation length never change (a pool's range
// is what its services' addresses were taken from: create another pool
// instead).
type AddressPoolEdit struct {
	Name *string `json:"name,omitempty" doc:"New unique name (lower-case letters, digits, '.', '_', '-')."`
	// Gateway: "" takes the gateway away.
	Gateway *string `json:"gateway,omitempty" doc:"The router's address in the pool; \"\" for none. Refused while a service holds it."`
	// Excluded replaces the excluded list ([] empties it).
	Excluded        *[]string `json:"excluded,omitempty" doc:"Replaces the excluded addresses, prefixes and ranges FIRST-LAST ([] for none). An exclusion that covers an address a service holds is refused (409 naming the service)."`
	QuarantineHours *int      `json:"quarantine_hours,omitempty" minimum:"0" maximum:"8784" doc:"Hours a released address stays out of automatic allocation; applies to addresses released from now on."`
}

// Apply is pool p after the edit, checked (EINVALID naming the field),
// and the reserved ranges the edit adds (a new gateway, new exclusions),
// which must not cover an address bound to a service
// ([AddressPool.ReservedConflict]). changed is false when the edit
// changes nothing.
func (e AddressPoolEdit) Apply(p AddressPool) (edited AddressPool, added []FieldRange, changed bool, err error) {
	edited = p
	edited.Usage = nil
	if e.Name != nil {
		edited.Name = strings.TrimSpace(*e.Name)
	}
	if e.Gateway != nil {
		edited.Gateway = strings.TrimSpace(*e.Gateway)
	}
	if e.Excluded != nil {
		edited.Excluded = slices.Clone(*e.Excluded)
	}
	if e.QuarantineHours != nil {
		h := *e.QuarantineHours
		edited.QuarantineHours = &h
	}
	if err := edited.Validate(); err != nil {
		return edited, nil, false, err
	}
	if edited.Gateway != "" && edited.Gateway != p.Gateway {
		gw, _ := netip.ParseAddr(edited.Gateway)
		added = append(added, FieldRange{"gateway " + edited.Gateway, AddressRange{gw, gw}})
	}
	for i, x := range edited.Excluded {
		if !slices.Contains(p.Excluded, x) {
			r, _ := ParseAddressRange(x) // Validate parsed it
			added = append(added, FieldRange{fmt.Sprintf("excluded[%d] %s", i, x), r})
		}
	}
	changed = edited.Name != p.Name || edited.Gateway != p.Gateway || !slices.Equal(edited.Excluded, p.Excluded) ||
		*edited.QuarantineHours != *p.QuarantineHours
	return edited, added, changed, nil
}

// FieldRange is a range of addresses and the field (with its value) that
// gives it: "gateway 100.64.1.1", "excluded[2] 100.64.1.10-100.64.1.20".
type FieldRange struct {
	Field string
	AddressRange
}

// BoundBlock is an address or prefix bound to a service.
type BoundBlock struct {
	Block       netip.Prefix
	ServiceID   int64
	ServiceName string
}

// ReservedConflict refuses reserved ranges (a pool edit's new gateway or
// exclusions) that cover an address bound to a service: ECONFLICT naming
// the field, the first such address, its service and how many bound
// blocks the field covers. nil when none is.
func ReservedConflict(reserved []FieldRange, bound []BoundBlock) error {
	for _, r := range reserved {
		var first *BoundBlock
		n := 0
		for i, b := range bound {
			from, to := b.Block.Masked().Addr(), lastAddr(b.Block.Masked())
			if r.From.BitLen() != from.BitLen() || to.Less(r.From) || r.To.Less(from) {
				continue
			}
			if first == nil {
				first = &bound[i]
			}
			n++
		}
		if first == nil {
			continue
		}
		who := fmt.Sprintf("service %d", first.ServiceID)
		if first.ServiceName != "" {
			who += fmt.Sprintf(" (%s)", first.ServiceName)
		}
		more := ""
		if n > 1 {
			more = fmt.Sprintf(", and %d more bound addresses", n-1)
		}
		block := first.Block.String()
		if first.Block.IsSingleIP() {
			block = first.Block.Addr().String()
		}
		return Errorf(ECONFLICT, "%s covers %s, bound to %s%s: give the service another address first, or exclude less", r.Field, block, who, more)
	}
	return nil
}

// AddressPoolStore persists address pools.
type AddressPoolStore interface {
	// CreateAddressPool creates a pool (its POP too, if new). EINVALID
	// names the bad field; ECONFLICT for a name taken or a prefix that
	// overlaps another pool's.
	CreateAddressPool(ctx context.Context, p AddressPool, at time.Time) (AddressPool, error)
	// AddressPools lists the pools (of one POP, if pop is not empty) in id
	// order, with their usage at now; no coded errors.
	AddressPools(ctx context.Context, pop string, now time.Time) ([]AddressPool, error)
	// AddressPool returns one pool with its usage; ENOTFOUND if none.
	AddressPool(ctx context.Context, id int64, now time.Time) (AddressPool, error)
	// DeleteAddressPool deletes a pool; ENOTFOUND if none, ECONFLICT while
	// a service holds an address from it.
	DeleteAddressPool(ctx context.Context, id int64) (AddressPool, error)
	// UpdateAddressPool edits a pool (AddressPoolEdit) with its audit
	// entry (actor), and answers it with its usage at at. ENOTFOUND if
	// none; EINVALID names a bad field; ECONFLICT for a name taken or a
	// new gateway or exclusion covering an address a service holds
	// (naming the service). Nothing written on error.
	UpdateAddressPool(ctx context.Context, id int64, e AddressPoolEdit, actor string, at time.Time) (AddressPool, error)
}
