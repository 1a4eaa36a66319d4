package routeros_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

func comments(items []map[string]string) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["comment"])
	}
	return out
}

func TestWalledGardenBootstrap(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	// The router's own configuration: a fasttrack rule and an accept for
	// established connections in forward, a masquerade in NAT.
	setup := dialRouter(t, sim)
	setup("/ip/firewall/filter/add", "=chain=forward", "=action=fasttrack-connection", "=connection-state=established,related", "=comment=defconf: fasttrack")
	setup("/ip/firewall/filter/add", "=chain=forward", "=action=accept", "=connection-state=established,related", "=comment=defconf: accept established")
	setup("/ip/firewall/nat/add", "=chain=srcnat", "=action=masquerade", "=out-interface=ether1", "=comment=defconf: masquerade")

	rc := routerConfig(t, "r", sim)
	rc.WalledGarden.Bootstrap = true
	rc.WalledGarden.Redirect = "192.0.2.10:8080"
	// Host names too, as in deploy/routeros/walled-garden.rsc: RouterOS
	// resolves them.
	rc.WalledGarden.Allow = []string{"198.51.100.20", "203.0.113.0/28", "Portal.ISP.example."}
	d := newDriver(t, rc)
	if err := d.Suspend(context.Background(), target("x", "", "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	wantFilter := []string{
		"tollgate:walled-garden accept dns udp",
		"tollgate:walled-garden accept dns tcp",
		"tollgate:walled-garden accept responder",
		"tollgate:walled-garden accept garden",
		"tollgate:walled-garden drop",
		"defconf: fasttrack",
		"defconf: accept established",
	}
	filter := sim.Items(routerossim.PathFilter)
	if got := comments(filter); strings.Join(got, "|") != strings.Join(wantFilter, "|") {
		t.Fatalf("filter rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantFilter, "\n"))
	}
	nat := sim.Items(routerossim.PathNAT)
	if got := comments(nat); strings.Join(got, "|") != "tollgate:walled-garden redirect http|tollgate:walled-garden redirect http throttled|defconf: masquerade" {
		t.Fatalf("nat rules %q", got)
	}
	for k, v := range map[string]string{"chain": "dstnat", "action": "dst-nat", "protocol": "tcp", "dst-port": "80",
		"src-address-list": "tollgate-throttled", "to-addresses": "192.0.2.10", "to-ports": "8080"} {
		if nat[1][k] != v {
			t.Errorf("throttled redirect rule %s=%q, want %q", k, nat[1][k], v)
		}
	}
	for _, rule := range filter {
		if rule["src-address-list"] == "tollgate-throttled" {
			t.Errorf("a filter rule for the throttle list: %v (throttled subscribers must not be dropped)", rule)
		}
	}
	redirect := nat[0]
	for k, v := range map[string]string{"chain": "dstnat", "action": "dst-nat", "protocol": "tcp", "dst-port": "80",
		"src-address-list": "tollgate-suspended", "to-addresses": "192.0.2.10", "to-ports": "8080"} {
		if redirect[k] != v {
			t.Errorf("redirect rule %s=%q, want %q", k, redirect[k], v)
		}
	}
	drop := filter[4]
	if drop["action"] != "drop" || drop["src-address-list"] != "tollgate-suspended" || drop["chain"] != "forward" {
		t.Errorf("drop rule %v", drop)
	}
	if got := listed(sim, "tollgate-walled-garden"); strings.Join(got, "|") != "198.51.100.20 tollgate:walled-garden|203.0.113.0/28 tollgate:walled-garden|portal.isp.example tollgate:walled-garden" {
		t.Fatalf("walled-garden list %q", got)
	}

	// A technician deletes one rule; the next connection puts it back in
	// its place, and nothing else is added twice.
	for _, it := range filter {
		if it["comment"] == "tollgate:walled-garden accept responder" {
			setup("/ip/firewall/filter/remove", "=.id="+it[".id"])
		}
	}
	sim.DropConnections()
	if _, err := d.Observe(context.Background(), target("x", "", "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if got := comments(sim.Items(routerossim.PathFilter)); strings.Join(got, "|") != strings.Join(wantFilter, "|") {
		t.Fatalf("filter rules after the repair:\n%s", strings.Join(got, "\n"))
	}
	if n := len(sim.Items(routerossim.PathNAT)); n != 3 {
		t.Fatalf("%d nat rules", n)
	}
}

// On an empty router the rules go in in order too.
func TestWalledGardenBootstrapEmptyRouter(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	rc := routerConfig(t, "r", sim)
	rc.WalledGarden.Bootstrap = true
	rc.WalledGarden.Redirect = "192.0.2.10:80"
	d := newDriver(t, rc)
	if _, err := d.Observe(context.Background(), target("x", "", "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if got := comments(sim.Items(routerossim.PathFilter)); len(got) != 5 || got[0] != "tollgate:walled-garden accept dns udp" || got[4] != "tollgate:walled-garden drop" {
		t.Fatalf("filter %q", got)
	}
}

// A rule the router refuses is logged; enforcement goes on.
func TestWalledGardenBootstrapFailureDoesNotStopEnforcement(t *testing.T) {
	sim := startSim(t, routerossim.Config{})
	sim.SetFaults(routerossim.Faults{Traps: map[string]string{"/ip/firewall/nat/add": "failure: not allowed"}})
	rc := routerConfig(t, "r", sim)
	rc.WalledGarden.Bootstrap = true
	rc.WalledGarden.Redirect = "192.0.2.10:80"
	d := newDriver(t, rc)
	if err := d.Suspend(context.Background(), target("x", "", "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if n := sim.Count(list); n != 1 {
		t.Fatalf("%d entries", n)
	}
}
