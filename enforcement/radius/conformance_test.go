package radius

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/enforcementtest"
	"github.com/tollgate-isp/tollgate/internal/radiustest"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// peer is the device side of the conformance suite: FreeRADIUS 3 receives
// the driver's CoA and Disconnect requests as the NAS, and radclient plays
// the NAS's accounting into the agent's listener.
//
// A RADIUS NAS cannot be read, so the driver observes what the NAS tells
// it: acknowledgements and accounting. A hand-made change on a NAS
// reaches the driver the same way, and that is how Tamper makes it:
//
//   - a hand-made restore: the technician clears the subscriber's session
//     on the NAS and it reconnects without the suspension (accounting Stop
//     of the old session, Start of a new one without the suspended
//     attribute);
//   - a hand-made suspension: the NAS's accounting (Interim-Update) shows
//     the session with the suspended attribute (address list, Filter-Id...)
//     applied behind the driver's back.
type peer struct {
	e        *env
	name     string
	nasIP    string
	byIP     bool     // bind targets by address instead of user name
	suspendA []string // the suspended attribute, as radclient input
	// speedAttr renders a profile as the NAS reports it in accounting
	// (radclient input); nil: the NAS reports no speed.
	speedAttr func(enforcement.Profile) string
	ipBase    int

	mu   sync.Mutex
	n    int
	live map[string]*peerSession // by service
}

type peerSession struct {
	user, id, ip string
	gen          int
}

func (p *peer) Targets(t *testing.T, n int) []enforcement.Target {
	t.Helper()
	p.mu.Lock()
	var out []enforcement.Target
	var packets [][]string
	for range n {
		p.n++
		svc := fmt.Sprintf("%s-svc-%d", p.name, p.n)
		s := &peerSession{
			user: fmt.Sprintf("%s-user-%d", p.name, p.n),
			ip:   fmt.Sprintf("100.%d.%d.%d", 64+p.ipBase, p.n/250, p.n%250+1),
			gen:  1,
		}
		s.id = fmt.Sprintf("%s-1", s.user)
		p.live[svc] = s
		b := enforcement.Binding{Method: "radius", RADIUSUsername: s.user}
		if p.byIP {
			b = enforcement.Binding{Method: "radius", Addresses: []string{s.ip + "/32"}}
		}
		out = append(out, enforcement.Target{ServiceID: svc, Binding: b, Reason: "conformance"})
		packets = append(packets, acctPacket("Start", p.nasIP, s.user, s.id, s.ip))
	}
	p.mu.Unlock()
	p.e.sendAcct(t, packets...)
	return out
}

func (p *peer) Tamper(t *testing.T, target enforcement.Target, st enforcement.State) {
	t.Helper()
	p.mu.Lock()
	s := p.live[target.ServiceID]
	p.mu.Unlock()
	if st == enforcement.Active {
		old := s.id
		s.gen++
		s.id = fmt.Sprintf("%s-%d", s.user, s.gen)
		p.e.sendAcct(t,
			acctPacket("Stop", p.nasIP, s.user, old, s.ip, "Acct-Terminate-Cause = Admin-Reset"),
			acctPacket("Start", p.nasIP, s.user, s.id, s.ip))
		return
	}
	p.e.sendAcct(t, acctPacket("Interim-Update", p.nasIP, s.user, s.id, s.ip, p.suspendA...))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	nas := []NASConfig{
		// Restore by disconnecting: the reconnection is authorized without
		// the address list.
		{Name: "mikrotik", NASIP: []string{"127.0.1.1"}, Profile: ProfileMikrotikAddressList},
		// CoA both ways; services bound by address.
		{Name: "filter", NASIP: []string{"127.0.1.2"}, Profile: ProfileFilterID, ActiveFilter: "internet"},
		// Cut on suspend and on restore.
		{Name: "disconnect", NASIP: []string{"127.0.1.3"}, Profile: ProfileDisconnect},
		{Name: "cisco", NASIP: []string{"127.0.1.4"}, Profile: ProfileCiscoAVPair, ActiveService: "internet"},
	}
	e := newEnv(t, radiustest.Options{}, nas...)
	for i, p := range []*peer{
		{name: "mikrotik", suspendA: []string{`Mikrotik-Address-List = "tollgate-suspended"`}},
		{name: "filter", byIP: true, suspendA: []string{`Filter-Id = "tollgate-suspended"`}},
		{name: "disconnect", suspendA: []string{`Filter-Id = "tollgate-suspended"`}},
		{name: "cisco", suspendA: []string{`Cisco-AVPair = "subscriber:service-name=tollgate-suspended"`}},
	} {
		p.e, p.nasIP, p.ipBase, p.live = e, nas[i].NASIP[0], i, map[string]*peerSession{}
		t.Run(p.name, func(t *testing.T) { enforcementtest.Run(t, e.driver, p) })
	}
	// The suite went through the NAS: FreeRADIUS received each NAS's
	// requests (suspensions of sessions created by the drift cases too).
	perNAS := map[string]int{}
	for _, r := range e.fr.Records(t) {
		perNAS[r.Get("NAS-IP-Address")+" "+r.Type]++
	}
	for _, want := range []string{"127.0.1.1 CoA-Request", "127.0.1.1 Disconnect-Request", "127.0.1.2 CoA-Request",
		"127.0.1.3 Disconnect-Request", "127.0.1.4 CoA-Request"} {
		if perNAS[want] == 0 {
			t.Errorf("FreeRADIUS received no %s (got %v)", want, perNAS)
		}
	}
}

// TamperProfile is a hand-made change of a session's speed as a NAS shows
// it: the technician clears the session and it comes back with other
// attributes (accounting Stop, then Start of a new session carrying the
// speed as the NAS reports it, when it reports one: a MikroTik's
// Mikrotik-Rate-Limit). The driver then reads the new session's speed
// from its accounting, or as unknown, and the reconcile sets it back.
func (p *peer) TamperProfile(t *testing.T, target enforcement.Target, prof enforcement.Profile) {
	t.Helper()
	p.mu.Lock()
	s := p.live[target.ServiceID]
	p.mu.Unlock()
	old := s.id
	s.gen++
	s.id = fmt.Sprintf("%s-%d", s.user, s.gen)
	var extra []string
	if p.speedAttr != nil {
		extra = append(extra, p.speedAttr(prof))
	}
	p.e.sendAcct(t,
		acctPacket("Stop", p.nasIP, s.user, old, s.ip, "Acct-Terminate-Cause = Admin-Reset"),
		acctPacket("Start", p.nasIP, s.user, s.id, s.ip, extra...))
}

// The speed cases (RunShaper) and the access cases (Run) for the NAS
// vendors whose attributes carry a profile's rates themselves: MikroTik
// (restoring out of the throttle by disconnecting, or all by CoA) and
// Juniper (the rate service with the rates as parameters).
func TestShaperConformance(t *testing.T) {
	t.Parallel()
	nas := []NASConfig{
		{Name: "mikrotik", NASIP: []string{"127.0.2.1"}, Profile: ProfileMikrotikAddressList},
		{Name: "mikrotik-coa", NASIP: []string{"127.0.2.2"}, Profile: ProfileMikrotikAddressList,
			ActiveAddressList: "tollgate-active", ActiveRateLimit: "1G/1G"},
		{Name: "juniper", NASIP: []string{"127.0.2.3"}, Profile: ProfileJuniperERX, ActiveService: "internet"},
	}
	e := newEnv(t, radiustest.Options{}, nas...)
	mikrotikRate := func(p enforcement.Profile) string {
		return fmt.Sprintf("Mikrotik-Rate-Limit = %q", radiusproto.MikrotikRateLimit(rateProfile(&p)))
	}
	for i, p := range []*peer{
		{name: "mikrotik", suspendA: []string{`Mikrotik-Address-List = "tollgate-suspended"`}, speedAttr: mikrotikRate},
		{name: "mikrotik-coa", byIP: true, suspendA: []string{`Mikrotik-Address-List = "tollgate-suspended"`}, speedAttr: mikrotikRate},
		{name: "juniper", suspendA: []string{`ERX-Service-Activate:1 = "tollgate-suspended"`}},
	} {
		p.e, p.nasIP, p.ipBase, p.live = e, nas[i].NASIP[0], 10+i, map[string]*peerSession{}
		t.Run(p.name, func(t *testing.T) {
			enforcementtest.Run(t, e.driver, p)
			enforcementtest.RunShaper(t, e.driver, p)
		})
	}
	// The speed went to FreeRADIUS as the vendors' attributes.
	seen := map[string]bool{}
	for _, r := range e.fr.Records(t) {
		for _, k := range []string{"Mikrotik-Rate-Limit", "ERX-Service-Activate", "ERX-Service-Deactivate", "Mikrotik-Address-List"} {
			for _, v := range r.Attrs[k] {
				seen[r.Get("NAS-IP-Address")+" "+k+"="+v] = true
			}
		}
	}
	for _, want := range []string{
		"127.0.2.1 Mikrotik-Rate-Limit=20M/100M 30M/150M 16M/80M 8/8 5",
		"127.0.2.1 Mikrotik-Rate-Limit=1M/1M",
		"127.0.2.1 Mikrotik-Address-List=tollgate-throttled",
		"127.0.2.2 Mikrotik-Rate-Limit=1G/1G", // the profile removed
		"127.0.2.2 Mikrotik-Address-List=tollgate-active",
		"127.0.2.3 ERX-Service-Activate=tollgate-rate(50000000,300000000)",
		"127.0.2.3 ERX-Service-Activate=tollgate-throttled",
		"127.0.2.3 ERX-Service-Deactivate=tollgate-rate",
	} {
		if !seen[want] {
			t.Errorf("FreeRADIUS received no CoA with %s", want)
		}
	}
}

// namedPeer is a peer whose NAS enforces a speed through names configured
// on it: the suite's profiles get a service (Cisco) or a filter (generic
// Filter-Id) named after the profile.
type namedPeer struct {
	*peer
	vendor string
}

var _ enforcementtest.VendorNamer = namedPeer{}

func (p namedPeer) NameProfile(prof enforcement.Profile) enforcement.Profile {
	name, _, _ := strings.Cut(prof.Name, ".")
	switch p.vendor {
	case VendorCisco:
		prof.CiscoService = "tollgate-" + name
	default:
		prof.FilterID = "tollgate-" + name
	}
	return prof
}

// The speed cases (RunShaper) and the access cases (Run) for the NAS
// vendors whose speed is a name configured on the NAS: Cisco (ISG
// services, activated and deactivated by CoA) and generic (Filter-Id).
func TestShaperConformanceNamed(t *testing.T) {
	t.Parallel()
	nas := []NASConfig{
		{Name: "cisco", NASIP: []string{"127.0.3.1"}, Profile: ProfileCiscoAVPair, ActiveService: "internet"},
		{Name: "filter", NASIP: []string{"127.0.3.2"}, Profile: ProfileFilterID, ActiveFilter: "internet"},
		{Name: "filter-disconnect", NASIP: []string{"127.0.3.3"}, Profile: ProfileFilterID},
	}
	e := newEnv(t, radiustest.Options{}, nas...)
	for i, p := range []namedPeer{
		{&peer{name: "cisco", suspendA: []string{`Cisco-AVPair = "subscriber:service-name=tollgate-suspended"`}}, VendorCisco},
		{&peer{name: "filter", byIP: true, suspendA: []string{`Filter-Id = "tollgate-suspended"`}}, VendorGeneric},
		{&peer{name: "filter-disconnect", suspendA: []string{`Filter-Id = "tollgate-suspended"`}}, VendorGeneric},
	} {
		p.e, p.nasIP, p.ipBase, p.live = e, nas[i].NASIP[0], 20+i, map[string]*peerSession{}
		t.Run(p.name, func(t *testing.T) {
			enforcementtest.Run(t, e.driver, p)
			enforcementtest.RunShaper(t, e.driver, p)
		})
	}
	seen := map[string]bool{}
	for _, r := range e.fr.Records(t) {
		seen[r.Get("NAS-IP-Address")+" "+r.Type] = true
		for _, k := range []string{"Cisco-AVPair", "Filter-Id"} {
			for _, v := range r.Attrs[k] {
				seen[r.Get("NAS-IP-Address")+" "+r.Type+" "+k+"="+v] = true
			}
		}
	}
	for _, want := range []string{
		"127.0.3.1 CoA-Request Cisco-AVPair=subscriber:command=activate-service",
		"127.0.3.1 CoA-Request Cisco-AVPair=subscriber:service-name=tollgate-fiber-100",
		"127.0.3.1 CoA-Request Cisco-AVPair=subscriber:service-name=tollgate-fiber-300",
		"127.0.3.1 CoA-Request Cisco-AVPair=subscriber:command=deactivate-service",
		"127.0.3.2 CoA-Request Filter-Id=tollgate-fiber-100",
		"127.0.3.2 CoA-Request Filter-Id=tollgate-fiber-300",
		"127.0.3.2 CoA-Request Filter-Id=tollgate-throttle",
		"127.0.3.2 CoA-Request Filter-Id=internet", // the profile removed
		"127.0.3.3 CoA-Request Filter-Id=tollgate-fiber-100",
		"127.0.3.3 Disconnect-Request", // the profile removed, no active filter
	} {
		if !seen[want] {
			t.Errorf("FreeRADIUS received no %s (got %v)", want, seen)
		}
	}
}
