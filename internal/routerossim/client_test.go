package routerossim_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-routeros/routeros/v3"

	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// These tests use github.com/go-routeros/routeros/v3 as the client: the
// simulator must be indistinguishable from a router to an off-the-shelf
// client.

func start(t *testing.T, cfg routerossim.Config) *routerossim.Server {
	t.Helper()
	s, err := routerossim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, s *routerossim.Server) *routeros.Client {
	t.Helper()
	c, err := routeros.DialTimeout(s.Addr(), "admin", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *routeros.Client, words ...string) *routeros.Reply {
	t.Helper()
	r, err := c.RunArgs(words)
	if err != nil {
		t.Fatalf("%q: %v", words, err)
	}
	return r
}

// trapMessage runs a command that must fail and returns the trap's message.
func trapMessage(t *testing.T, c *routeros.Client, words ...string) string {
	t.Helper()
	_, err := c.RunArgs(words)
	var de *routeros.DeviceError
	if !errors.As(err, &de) {
		t.Fatalf("%q: %v, want a !trap", words, err)
	}
	return de.Sentence.Map["message"]
}

func TestAddressListWithGoRouterOS(t *testing.T) {
	s := start(t, routerossim.Config{})
	c := dial(t, s)
	const al = "/ip/firewall/address-list"

	r := run(t, c, al+"/add", "=list=blocked", "=address=10.0.0.1/32", "=comment=tollgate:svc=1")
	id := r.Done.Map["ret"]
	if !strings.HasPrefix(id, "*") {
		t.Fatalf("add returned %q, want an id like *1A", id)
	}
	run(t, c, al+"/add", "=list=blocked", "=address=10.0.0.0/24")
	run(t, c, al+"/add", "=list=other", "=address=10.0.0.1")
	run(t, c, al+"/add", "=list=blocked", "=address=portal.example.net", "=disabled=yes")

	if msg := trapMessage(t, c, al+"/add", "=list=blocked", "=address=10.0.0.1"); msg != routerossim.MsgAlreadyHave {
		t.Fatalf("duplicate add: %q", msg)
	}
	if msg := trapMessage(t, c, al+"/add", "=list=blocked", "=address=10.0.0.300"); !strings.Contains(msg, "address") {
		t.Fatalf("bad address: %q", msg)
	}

	r = run(t, c, al+"/print", "?list=blocked", "=.proplist=.id,address,comment")
	var got []string
	for _, re := range r.Re {
		got = append(got, re.Map[".id"]+" "+re.Map["address"]+" "+re.Map["comment"])
		if _, ok := re.Map["list"]; ok {
			t.Fatal(".proplist did not limit the properties")
		}
	}
	if want := []string{id + " 10.0.0.1 tollgate:svc=1", "*2 10.0.0.0/24 ", "*4 portal.example.net "}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("print = %q, want %q", got, want)
	}
	r = run(t, c, al+"/print", "?list=blocked", "?disabled=false", "?address=10.0.0.1", "?address=10.0.0.0/24", "?#|")
	if len(r.Re) != 2 {
		t.Fatalf("query with ?#|: %d entries, want 2", len(r.Re))
	}
	r = run(t, c, al+"/print", "=count-only=", "?list=blocked")
	if r.Done.Map["ret"] != "3" {
		t.Fatalf("count-only: %q", r.Done.Map["ret"])
	}

	run(t, c, al+"/set", "=.id="+id, "=comment=changed", "=disabled=yes")
	e := s.Entries("blocked")[0]
	if e.Comment != "changed" || !e.Disabled {
		t.Fatalf("after set: %+v", e)
	}
	if msg := trapMessage(t, c, al+"/set", "=.id="+id, "=address=10.0.0.0/24"); msg != routerossim.MsgAlreadyHave {
		t.Fatalf("set onto an existing entry: %q", msg)
	}
	run(t, c, al+"/remove", "=.id="+id+",*2")
	if msg := trapMessage(t, c, al+"/remove", "=.id="+id); msg != routerossim.MsgNoSuchItem {
		t.Fatalf("removing twice: %q", msg)
	}
	if n := s.Count("blocked"); n != 1 {
		t.Fatalf("%d entries left, want 1", n)
	}
	if msg := trapMessage(t, c, "/ip/firewall/bogus/print"); msg != routerossim.MsgNoSuchCommand {
		t.Fatalf("unknown menu: %q", msg)
	}

	// IPv6 lists show hosts as /128.
	run(t, c, "/ipv6/firewall/address-list/add", "=list=blocked", "=address=2001:db8::1")
	r = run(t, c, "/ipv6/firewall/address-list/print", "?address=2001:db8::1/128")
	if len(r.Re) != 1 {
		t.Fatalf("IPv6 entry not found as /128: %v", r)
	}
	if msg := trapMessage(t, c, "/ipv6/firewall/address-list/add", "=list=blocked", "=address=10.9.9.9"); !strings.Contains(msg, "address") {
		t.Fatalf("IPv4 address in the IPv6 list: %q", msg)
	}
}

func TestTamperHelpers(t *testing.T) {
	s := start(t, routerossim.Config{})
	if _, err := s.AddEntry("l", "10.0.0.1", "by hand"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEntry("l", "10.0.0.1/32", ""); err == nil || err.Error() != routerossim.MsgAlreadyHave {
		t.Fatalf("duplicate AddEntry: %v", err)
	}
	if _, err := s.AddEntry("l", "2001:db8::7", ""); err != nil {
		t.Fatal(err)
	}
	if !s.SetEntryDisabled("l", "10.0.0.1", true) {
		t.Fatal("SetEntryDisabled found nothing")
	}
	es := s.Entries("l")
	if len(es) != 2 || !es[0].Disabled || es[0].Comment != "by hand" || !es[1].IPv6 || es[1].Address != "2001:db8::7/128" {
		t.Fatalf("entries %+v", es)
	}
	if !s.RemoveEntry("l", "2001:db8::7") || s.RemoveEntry("l", "2001:db8::7") {
		t.Fatal("RemoveEntry")
	}
}

func TestFirewallRulesWithGoRouterOS(t *testing.T) {
	s := start(t, routerossim.Config{})
	c := dial(t, s)
	first := run(t, c, "/ip/firewall/filter/add", "=chain=forward", "=action=fasttrack-connection", "=connection-state=established,related").Done.Map["ret"]
	run(t, c, "/ip/firewall/filter/add", "=chain=forward", "=action=drop", "=src-address-list=s", "=comment=tollgate: drop", "=place-before="+first)
	run(t, c, "/ip/firewall/filter/add", "=chain=forward", "=action=accept", "=protocol=udp", "=dst-port=53", "=place-before="+first)
	run(t, c, "/ip/firewall/nat/add", "=chain=dstnat", "=action=dst-nat", "=protocol=tcp", "=dst-port=80", "=to-addresses=192.0.2.10", "=to-ports=8080")
	if msg := trapMessage(t, c, "/ip/firewall/filter/add", "=action=drop"); !strings.Contains(msg, "chain") {
		t.Fatalf("rule without chain: %q", msg)
	}
	if msg := trapMessage(t, c, "/ip/firewall/filter/add", "=chain=forward", "=place-before=*77"); msg != routerossim.MsgNoSuchItem {
		t.Fatalf("place-before a missing rule: %q", msg)
	}
	r := run(t, c, "/ip/firewall/filter/print", "=.proplist=action,comment")
	var actions []string
	for _, re := range r.Re {
		actions = append(actions, re.Map["action"])
	}
	if strings.Join(actions, ",") != "drop,accept,fasttrack-connection" {
		t.Fatalf("rule order %v", actions)
	}
	nat := s.Items(routerossim.PathNAT)
	if len(nat) != 1 || nat[0]["to-addresses"] != "192.0.2.10" || nat[0]["disabled"] != "false" {
		t.Fatalf("nat %v", nat)
	}
}

func TestLoginsWithGoRouterOS(t *testing.T) {
	s := start(t, routerossim.Config{Users: map[string]string{"api": "secret"}})
	if _, err := routeros.DialTimeout(s.Addr(), "api", "wrong", 5*time.Second); err == nil || !strings.Contains(err.Error(), routerossim.MsgBadLogin) {
		t.Fatalf("bad password: %v", err)
	}
	c, err := routeros.DialTimeout(s.Addr(), "api", "secret", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.SetFaults(routerossim.Faults{RefuseLogins: true})
	if _, err := routeros.DialTimeout(s.Addr(), "api", "secret", 5*time.Second); err == nil {
		t.Fatal("login worked while logins are refused")
	}
	s.SetFaults(routerossim.Faults{Down: true})
	if _, err := routeros.DialTimeout(s.Addr(), "api", "secret", 5*time.Second); err == nil {
		t.Fatal("login worked while the router is down")
	}
}

func TestAPISSLWithGoRouterOS(t *testing.T) {
	srvTLS, caPEM, err := routerossim.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, routerossim.Config{TLS: srvTLS})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c, err := routeros.DialTLSTimeout(s.Addr(), "admin", "", &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run(t, c, "/ip/firewall/address-list/add", "=list=l", "=address=10.0.0.9")
	if n := s.Count("l"); n != 1 {
		t.Fatalf("%d entries", n)
	}
	// A plain client gets nowhere with a TLS listener.
	if _, err := routeros.DialTimeout(s.Addr(), "admin", "", time.Second); err == nil {
		t.Fatal("plain login on the API-SSL port worked")
	}
}

func TestFaultsWithGoRouterOS(t *testing.T) {
	s := start(t, routerossim.Config{})
	c := dial(t, s)
	const add = "/ip/firewall/address-list/add"

	s.SetFaults(routerossim.Faults{Latency: 100 * time.Millisecond})
	begin := time.Now()
	run(t, c, add, "=list=l", "=address=10.0.0.1")
	if took := time.Since(begin); took < 100*time.Millisecond {
		t.Fatalf("answered in %s with 100ms latency", took)
	}

	s.SetFaults(routerossim.Faults{Traps: map[string]string{add: "failure: simulated"}})
	if msg := trapMessage(t, c, add, "=list=l", "=address=10.0.0.2"); msg != "failure: simulated" {
		t.Fatalf("trap fault: %q", msg)
	}
	run(t, c, "/ip/firewall/address-list/print") // other commands work

	s.SetFaults(routerossim.Faults{DropAfter: 1})
	c2 := dial(t, s) // login is the one sentence answered
	if _, err := c2.Run(add, "=list=l", "=address=10.0.0.3"); err == nil {
		t.Fatal("the command after DropAfter's sentences was answered")
	}
	if _, err := c.Run("/ip/firewall/address-list/print"); err == nil {
		t.Fatal("an older connection past DropAfter was not dropped")
	}

	s.SetFaults(routerossim.Faults{})
	c3 := dial(t, s)
	run(t, c3, add, "=list=l", "=address=10.0.0.4")
	if es := s.Entries("l"); len(es) != 2 || es[1].Address != "10.0.0.4" {
		t.Fatalf("entries %+v: the trapped and dropped commands must not have run", es)
	}
	if st := s.Stats(); st.Dropped != 2 || st.Logins != 3 {
		t.Fatalf("stats %+v", st)
	}

	// A long latency holds answers back until it is lowered.
	s.SetFaults(routerossim.Faults{Latency: time.Hour})
	done := make(chan error, 1)
	go func() { _, err := c3.Run("/ip/firewall/address-list/print"); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("answered despite an hour's latency: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	s.SetFaults(routerossim.Faults{})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lowering the latency did not release the waiting command")
	}
}

func TestEmptyRepliesWithGoRouterOS(t *testing.T) {
	s := start(t, routerossim.Config{EmptyReplies: true})
	c := dial(t, s)
	r := run(t, c, "/ip/firewall/address-list/print", "?list=nothing")
	if len(r.Re) != 0 || r.Done == nil {
		t.Fatalf("reply %v", r)
	}
}
