package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

func mustPool(t *testing.T, db *postgres.DB, p billing.AddressPool) billing.AddressPool {
	t.Helper()
	out, err := db.CreateAddressPool(context.Background(), p, t0)
	if err != nil {
		t.Fatalf("CreateAddressPool(%s): %v", p.Name, err)
	}
	return out
}

func allocated(t *testing.T, db *postgres.DB, pop, allocate string, at time.Time) (billing.Service, error) {
	t.Helper()
	return db.CreateService(context.Background(), billing.NewService{POP: pop, Name: "auto " + allocate,
		Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge"}, Allocate: allocate}, "test", at)
}

// TestAllocationUnderConcurrencyIsDistinct: 50 services created at once
// with "allocate": "auto" on one /24 get 50 distinct addresses, none of
// them the gateway or an excluded one, and the pool's usage counts them.
func TestAllocationUnderConcurrencyIsDistinct(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	pool := mustPool(t, db, billing.AddressPool{POP: "tower-1", Name: "tower-1-v4", Prefix: "100.64.7.0/24", Gateway: "100.64.7.1",
		Excluded: []string{"100.64.7.2-100.64.7.9"}})
	const n = 50
	addrs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := allocated(t, db, "tower-1", billing.AllocateAuto, t0)
			errs[i] = err
			if err == nil && len(s.Binding.Addresses) == 1 {
				addrs[i] = s.Binding.Addresses[0]
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, a := range addrs {
		if errs[i] != nil || a == "" {
			t.Fatalf("service %d: %q %v", i, a, errs[i])
		}
		if seen[a] {
			t.Fatalf("address %s handed out twice", a)
		}
		seen[a] = true
	}
	for a := 1; a <= 9; a++ {
		if seen[fmt.Sprintf("100.64.7.%d", a)] {
			t.Fatalf("reserved address 100.64.7.%d handed out", a)
		}
	}
	if !seen["100.64.7.10"] || !seen["100.64.7.59"] {
		t.Errorf("not the lowest free addresses: %v", seen)
	}
	got, err := db.AddressPool(ctx, pool.ID, t0)
	if err != nil || got.Usage == nil || got.Usage.Bound != n || got.Usage.Capacity != 256-2-9 {
		t.Fatalf("usage %+v %v; want %d bound of 245", got.Usage, err, n)
	}
}

// TestAddressConflictIsRefusedNamingTheOtherService: an address of a pool
// bound to one service cannot be bound to another, by hand or by a move;
// nothing is written.
func TestAddressConflictIsRefusedNamingTheOtherService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	mustPool(t, db, billing.AddressPool{POP: "tower-1", Name: "v4", Prefix: "100.64.8.0/24"})
	first, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Name: "Jane Doe home", Binding: routerOS("100.64.8.20")}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.CreateService(ctx, billing.NewService{POP: "tower-1", Name: "other", Binding: routerOS("100.64.8.20")}, "test", t0)
	want := fmt.Sprintf("bound to service %d (Jane Doe home)", first.ID)
	if billing.ErrorCode(err) != billing.ECONFLICT || !strings.Contains(billing.ErrorMessage(err), want) {
		t.Fatalf("second bind: %v; want ECONFLICT naming %q", err, want)
	}
	// A prefix holding the address conflicts too.
	if _, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: routerOS("100.64.8.16/29")}, "test", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("overlapping prefix: %v", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM services`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d services after refusals (%v), want 1", n, err)
	}
	// Auto allocation skips the static address.
	second, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: routerOS("100.64.8.21")}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.MoveService(ctx, second.ID, second.Version, billing.ServiceMove{POP: "tower-1", Binding: routerOS("100.64.8.20")}, "test", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("move onto a bound address: %v", err)
	}
	// The same address written twice in one binding is one address.
	if _, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: billing.Binding{Method: billing.MethodRouterOS,
		Addresses: []string{"100.64.8.30", "100.64.8.30/32"}}}, "test", t0); err != nil {
		t.Fatalf("an address written twice: %v", err)
	}
	// Outside every pool nothing is tracked (as before pools existed).
	for range 2 {
		if _, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: routerOS("10.9.9.9")}, "test", t0); err != nil {
			t.Fatalf("address outside the pools: %v", err)
		}
	}
}

// TestReleaseOnCancelQuarantinesTheAddress: a service cancelled and taken
// off its POP releases its address; it is not handed out again until the
// pool's quarantine has passed.
func TestReleaseOnCancelQuarantinesTheAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{OnCancel: billing.CancelRemove})
	hours := 48
	mustPool(t, db, billing.AddressPool{POP: "pop-1", Name: "small", Prefix: "100.64.9.0/30", DelegationLength: 32, QuarantineHours: &hours})
	plan, err := db.MoveService(ctx, f.service.ID, f.service.Version, billing.ServiceMove{POP: "pop-1",
		Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge"}, Allocate: billing.AllocateAuto}, "test", t0)
	if err != nil || len(plan.Service.Binding.Addresses) != 1 || plan.Service.Binding.Addresses[0] != "100.64.9.1" {
		t.Fatalf("move with allocation: %+v %v", plan.Service.Binding, err)
	}
	cancelAt := chicagoNoon(billing.NewDate(2027, 3, 10))
	if _, err := db.CancelService(ctx, f.service.ID, 0, billing.CancelRequest{Context: lifecycleCtx(cancelAt)}, false); err != nil {
		t.Fatal(err)
	}
	next, err := allocated(t, db, "pop-1", "small", cancelAt.Add(time.Hour))
	if err != nil || next.Binding.Addresses[0] != "100.64.9.2" {
		t.Fatalf("allocation during the quarantine: %v %v; want 100.64.9.2", next.Binding.Addresses, err)
	}
	if _, err := allocated(t, db, "pop-1", "small", cancelAt.Add(2*time.Hour)); billing.ErrorCode(err) != billing.ECONFLICT ||
		!strings.Contains(billing.ErrorMessage(err), "small is full") {
		t.Fatalf("a full pool: %v", err)
	}
	pools, err := db.AddressPools(ctx, "pop-1", cancelAt.Add(2*time.Hour))
	if err != nil || len(pools) != 1 || pools[0].Usage.Quarantined != 1 || pools[0].Usage.UsedPercent != 100 {
		t.Fatalf("usage during the quarantine: %+v %v", pools, err)
	}
	after, err := allocated(t, db, "pop-1", "small", cancelAt.Add(49*time.Hour))
	if err != nil || after.Binding.Addresses[0] != "100.64.9.1" {
		t.Fatalf("allocation after the quarantine: %v %v; want 100.64.9.1 again", after.Binding, err)
	}
}

// TestAddressPoolsDualStackAndDelete: auto takes one IPv4 address and one
// delegated IPv6 prefix; pools cannot overlap; a pool with allocated
// addresses cannot be deleted; one without can.
func TestAddressPoolsDualStackAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	v4 := mustPool(t, db, billing.AddressPool{POP: "olt-2", Name: "olt-2-v4", Prefix: "100.65.0.0/24"})
	mustPool(t, db, billing.AddressPool{POP: "olt-2", Name: "olt-2-v6", Prefix: "2001:db8:200::/48", DelegationLength: 56})
	if _, err := db.CreateAddressPool(ctx, billing.AddressPool{POP: "olt-3", Name: "overlap", Prefix: "100.65.0.128/25"}, t0); billing.ErrorCode(err) != billing.ECONFLICT ||
		!strings.Contains(billing.ErrorMessage(err), "olt-2-v4") {
		t.Fatalf("overlapping pool: %v", err)
	}
	s, err := allocated(t, db, "olt-2", billing.AllocateAuto, t0)
	if err != nil || strings.Join(s.Binding.Addresses, " ") != "100.65.0.1 2001:db8:200::/56" {
		t.Fatalf("dual-stack allocation: %v %v", s.Binding.Addresses, err)
	}
	if _, err := db.DeleteAddressPool(ctx, v4.ID); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("delete a pool in use: %v", err)
	}
	if _, err := allocated(t, db, "olt-2", "nope", t0); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("unknown pool: %v", err)
	}
	empty := mustPool(t, db, billing.AddressPool{POP: "olt-2", Name: "spare", Prefix: "100.65.1.0/24"})
	if _, err := db.DeleteAddressPool(ctx, empty.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddressPool(ctx, empty.ID, t0); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("deleted pool: %v", err)
	}
}

// TestLearnedAddressesReachTheBinding: a service without an address of its
// own gets, at a new revision, the address its POP's agent learned from a
// DHCP lease; a service with a static address keeps it; a complete DHCP
// list without the lease takes the learned address away again; a learned
// address of a service at another POP is ignored.
func TestLearnedAddressesReachTheBinding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	if _, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge"}}, "test", t0); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("a routeros service without an address, not learned: %v", err)
	}
	dynamic, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge"},
		Allocate: billing.AllocateLearned}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	static, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: routerOS("100.64.3.3")}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := db.CreateService(ctx, billing.NewService{POP: "tower-2", Binding: billing.Binding{Method: billing.MethodLog}}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	learn := func(sid int64, addr string) billing.LearnedAddress {
		l, err := billing.ParseLearnedAddress(sid, addr, billing.LearnedDHCP)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	rev := popRevision(t, db, "tower-1")
	if err := db.RecordReport(ctx, billing.AgentReport{POP: "tower-1", AgentID: "a1", ReceivedAt: t0, LearnedComplete: []string{billing.LearnedDHCP},
		Learned: []billing.LearnedAddress{learn(dynamic.ID, "100.64.3.20"), learn(static.ID, "100.64.3.21"), learn(elsewhere.ID, "100.64.3.22"),
			learn(dynamic.ID, "2001:db8:1:100::/56")}}); err != nil {
		t.Fatal(err)
	}
	// Allocation skips an address a lease holds: of a /31 holding the
	// static .21 and the leased .20, nothing is free.
	mustPool(t, db, billing.AddressPool{POP: "tower-1", Name: "t1", Prefix: "100.64.3.20/31"})
	if s, err := allocated(t, db, "tower-1", "t1", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("allocation over a leased address: %v %v; want the pool full", s.Binding.Addresses, err)
	}
	changes, _, _, err := db.ChangesSince(ctx, "tower-1", rev, 100)
	if err != nil || len(changes) != 1 || changes[0].ServiceID != dynamic.ID ||
		strings.Join(changes[0].Binding.Addresses, " ") != "100.64.3.20 2001:db8:1:100::/56" || changes[0].DesiredState != billing.StateActive {
		t.Fatalf("changes after learning: %+v %v; want one for service %d with its learned addresses", changes, err, dynamic.ID)
	}
	if got, err := db.Service(ctx, dynamic.ID); err != nil || strings.Join(got.LearnedAddresses, " ") != "100.64.3.20 2001:db8:1:100::/56" {
		t.Errorf("the service's learned addresses: %v %v", got.LearnedAddresses, err)
	}
	// The captive portal finds the subscriber by the learned address (also
	// inside the delegated prefix); the static service's own address wins.
	if got, err := db.ServiceByAddress(ctx, "2001:db8:1:100::77"); err != nil || got.ID != dynamic.ID {
		t.Errorf("ServiceByAddress(learned prefix): %v %v", got.ID, err)
	}
	if got, err := db.ServiceByAddress(ctx, "100.64.3.21"); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("an address learned for a service with its own: %v %v", got.ID, err)
	}
	_, snap, err := db.Snapshot(ctx, "tower-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range snap {
		if c.ServiceID == static.ID && strings.Join(c.Binding.Addresses, " ") != "100.64.3.3" {
			t.Errorf("the static service's binding: %v", c.Binding.Addresses)
		}
	}
	// The same list again changes nothing; a complete list without it
	// forgets the address.
	rev = popRevision(t, db, "tower-1")
	if err := db.RecordReport(ctx, billing.AgentReport{POP: "tower-1", AgentID: "a1", ReceivedAt: t0, LearnedComplete: []string{billing.LearnedDHCP},
		Learned: []billing.LearnedAddress{learn(dynamic.ID, "100.64.3.20"), learn(dynamic.ID, "2001:db8:1:100::/56")}}); err != nil {
		t.Fatal(err)
	}
	if got := popRevision(t, db, "tower-1"); got != rev {
		t.Fatalf("an unchanged list took revision %d", got)
	}
	if err := db.RecordReport(ctx, billing.AgentReport{POP: "tower-1", AgentID: "a1", ReceivedAt: t0, LearnedComplete: []string{billing.LearnedDHCP}}); err != nil {
		t.Fatal(err)
	}
	changes, _, _, err = db.ChangesSince(ctx, "tower-1", rev, 100)
	if err != nil || len(changes) != 1 || len(changes[0].Binding.Addresses) != 0 {
		t.Fatalf("changes after the lease went: %+v %v", changes, err)
	}
}

// TestLearnedAddressesDualStackExpiryAndConflicts: a service with a static
// IPv4 address gets its learned IPv6 prefix on its binding too (dual
// stack), not a learned IPv4 address; an ended lease is never used and
// one that ends later leaves the binding at the next report (any report,
// by the controller's clock at receipt), at a new revision; a learned
// address another service holds in a pool stays off the learner's binding
// and is shown on the learner as a conflict naming the holder.
func TestLearnedAddressesDualStackExpiryAndConflicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	mustPool(t, db, billing.AddressPool{POP: "tower-1", Name: "t1", Prefix: "100.64.4.0/24"})
	dual, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: routerOS("100.64.4.10")}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Name: "Holder", Binding: routerOS("100.64.4.20")}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := db.CreateService(ctx, billing.NewService{POP: "tower-1", Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge"},
		Allocate: billing.AllocateLearned}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	learn := func(sid int64, addr string, expires time.Time) billing.LearnedAddress {
		l, err := billing.ParseLearnedAddress(sid, addr, billing.LearnedDHCP)
		if err != nil {
			t.Fatal(err)
		}
		l.ExpiresAt = expires
		return l
	}
	rev := popRevision(t, db, "tower-1")
	if err := db.RecordReport(ctx, billing.AgentReport{POP: "tower-1", AgentID: "a1", ReceivedAt: t0, LearnedComplete: []string{billing.LearnedDHCP},
		Learned: []billing.LearnedAddress{
			learn(dual.ID, "100.64.4.11", t0.Add(time.Hour)), learn(dual.ID, "2001:db8:2:100::/56", t0.Add(time.Hour)),
			learn(dynamic.ID, "100.64.4.20", time.Time{}), learn(dynamic.ID, "100.64.4.30", t0.Add(-time.Minute)),
			learn(dynamic.ID, "100.64.4.31", time.Time{})}}); err != nil {
		t.Fatal(err)
	}
	bindings := func(since int64) map[int64]string {
		t.Helper()
		changes, _, _, err := db.ChangesSince(ctx, "tower-1", since, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]string{}
		for _, c := range changes {
			out[c.ServiceID] = strings.Join(c.Binding.Addresses, " ")
		}
		return out
	}
	got := bindings(rev)
	if len(got) != 2 || got[dual.ID] != "100.64.4.10 2001:db8:2:100::/56" || got[dynamic.ID] != "100.64.4.31" {
		t.Fatalf("bindings after learning: %v; want service %d dual stack (100.64.4.10 2001:db8:2:100::/56) and %d only 100.64.4.31",
			got, dual.ID, dynamic.ID)
	}
	if _, snap, err := db.Snapshot(ctx, "tower-1"); err != nil {
		t.Fatal(err)
	} else {
		for _, c := range snap {
			if c.ServiceID == holder.ID && strings.Join(c.Binding.Addresses, " ") != "100.64.4.20" {
				t.Errorf("the holder's binding: %v", c.Binding.Addresses)
			}
		}
	}
	if s, err := db.ServiceByAddress(ctx, "2001:db8:2:100::1"); err != nil || s.ID != dual.ID {
		t.Errorf("ServiceByAddress(learned IPv6 of a dual stack service): %d %v, want %d", s.ID, err, dual.ID)
	}
	s, err := db.Service(ctx, dynamic.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.LearnedConflicts) != 1 || s.LearnedConflicts[0] != (billing.LearnedConflict{Address: "100.64.4.20", BoundTo: holder.ID}) ||
		strings.Join(s.LearnedAddresses, " ") != "100.64.4.20 100.64.4.31" {
		t.Fatalf("learner: learned %v, conflicts %+v; want 100.64.4.20 and .31 learned (the ended .30 dropped), .20 held by service %d",
			s.LearnedAddresses, s.LearnedConflicts, holder.ID)
	}
	if s, err := db.Service(ctx, dual.ID); err != nil || len(s.LearnedConflicts) != 0 {
		t.Fatalf("dual stack service: conflicts %+v %v, want none", s.LearnedConflicts, err)
	}

	// The holder gives the address up: the learner gets it on its binding
	// at a new revision; taking it back takes it off again.
	rev = popRevision(t, db, "tower-1")
	if _, err := db.EditService(ctx, holder.ID, 1, billing.ServiceEdit{Binding: &billing.BindingEdit{Addresses: &[]string{"100.64.4.21"}}}, "clerk", t0); err != nil {
		t.Fatal(err)
	}
	if got := bindings(rev); got[dynamic.ID] != "100.64.4.20 100.64.4.31" || got[holder.ID] != "100.64.4.21" {
		t.Fatalf("bindings after the holder let the address go: %v; want service %d with 100.64.4.20 100.64.4.31", got, dynamic.ID)
	}
	rev = popRevision(t, db, "tower-1")
	if _, err := db.EditService(ctx, holder.ID, 2, billing.ServiceEdit{Binding: &billing.BindingEdit{Addresses: &[]string{"100.64.4.20"}}}, "clerk", t0); err != nil {
		t.Fatal(err)
	}
	if got := bindings(rev); got[dynamic.ID] != "100.64.4.31" || got[holder.ID] != "100.64.4.20" {
		t.Fatalf("bindings after the holder took the address back: %v; want service %d with 100.64.4.31 alone", got, dynamic.ID)
	}

	// Two hours later a report without addresses (an ack) drops the ended
	// leases: the dual stack service loses its IPv6 prefix at a new
	// revision.
	rev = popRevision(t, db, "tower-1")
	if err := db.RecordReport(ctx, billing.AgentReport{POP: "tower-1", AgentID: "a1", ReceivedAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := bindings(rev); len(got) != 1 || got[dual.ID] != "100.64.4.10" {
		t.Fatalf("bindings after the lease ended: %v; want service %d back to 100.64.4.10 alone", got, dual.ID)
	}
	if _, err := db.ServiceByAddress(ctx, "2001:db8:2:100::1"); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("ServiceByAddress(an ended lease): %v, want ENOTFOUND", err)
	}
}
