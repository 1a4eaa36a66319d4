package agent_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/agent/leases"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/internal/clock"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// learned returns the learned addresses of the last report that carried
// a complete DHCP list, and whether there was one.
func (f *fakeController) learned() ([]*pb.LearnedAddress, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.reports) - 1; i >= 0; i-- {
		if r := f.reports[i]; len(r.LearnedComplete) == 1 && r.LearnedComplete[0] == "dhcp" {
			return r.LearnedAddresses, true
		}
	}
	return nil, false
}

// TestAgentReportsAddressesLearnedFromTheLeaseFile: the agent reads the
// ISC lease file it is pointed at, matches the bound leases to the
// services it holds (by the relay's remote id "service-ID", or a RADIUS
// user name) and reports the bindings as a complete DHCP list; a lease
// that ends is reported gone.
func TestAgentReportsAddressesLearnedFromTheLeaseFile(t *testing.T) {
	f := startFake(t, "127.0.0.1:0")
	dir := t.TempDir()
	file := filepath.Join(dir, "dhcpd.leases")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file+".tmp", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil { // as dhcpd rewrites it
			t.Fatal(err)
		}
	}
	write(`lease 100.64.9.7 {
  ends 5 2099/12/04 10:00:00;
  binding state active;
  option agent.remote-id "service-7";
}
lease 100.64.9.99 {
  ends 5 2099/12/04 10:00:00;
  binding state active;
  option agent.remote-id "service-99";
}
lease 100.64.9.8 {
  ends never;
  binding state active;
  option agent.remote-id "cpe-aa-bb";
}
`)
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := agent.New(agent.Config{POP: "pop-l", Leases: agent.LeaseConfig{File: file, Format: "dhcpd"}}, conn,
		map[string]enforcement.Driver{"log": newDevice()}, quiet, clock.Real{}, nil); err == nil {
		t.Fatal("a lease file of an unknown format was accepted")
	}
	a, err := agent.New(agent.Config{POP: "pop-l", AgentID: "t", Leases: agent.LeaseConfig{File: file, Format: leases.FormatISC, Interval: time.Hour}},
		conn, map[string]enforcement.Driver{"log": newDevice()}, quiet, clock.Real{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	f.waitWatch(t)
	radiusBound := &pb.Service{ServiceId: "8", DesiredState: pbActive, Revision: 1, Binding: &pb.Binding{Method: "log", RadiusUsername: "CPE-AA-BB"}}
	noAddress := &pb.Service{ServiceId: "7", DesiredState: pbActive, Revision: 1, Binding: &pb.Binding{Method: "log"}}
	f.out <- snapshot(1, noAddress, radiusBound)
	waitFor(t, "the snapshot applied", func() bool { return a.AppliedRevision() == 1 })
	if err := a.LearnLeases(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the learned addresses reported", func() bool {
		got, ok := f.learned()
		return ok && len(got) == 2 && got[0].ServiceId == "7" && got[0].Address == "100.64.9.7" && got[0].Source == "dhcp" &&
			got[0].ExpiresAtUnixNano == time.Date(2099, 12, 4, 10, 0, 0, 0, time.UTC).UnixNano() &&
			got[1].ServiceId == "8" && got[1].Address == "100.64.9.8" && got[1].ExpiresAtUnixNano == 0
	})
	write(`lease 100.64.9.7 {
  ends 5 2099/12/04 10:00:00;
  binding state free;
  option agent.remote-id "service-7";
}
`)
	if err := a.LearnLeases(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the released lease reported gone", func() bool {
		got, ok := f.learned()
		return ok && len(got) == 0
	})
	write("lease 100.64.9.7 {\n  ends 5 2099/13/04 10:00:00;\n}\n")
	if err := a.LearnLeases(); err == nil {
		t.Fatal("a bad lease file was read without an error")
	}
}

// TestAgentReportsFramedAddressesOfRADIUSSessions: with LearnFromRADIUS,
// the framed addresses of a service's RADIUS user's sessions are reported
// as its learned addresses (source radius); services without a user name
// are not looked up.
func TestAgentReportsFramedAddressesOfRADIUSSessions(t *testing.T) {
	f := startFake(t, "127.0.0.1:0")
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	a, err := agent.New(agent.Config{POP: "pop-r", AgentID: "t"}, conn, map[string]enforcement.Driver{"log": newDevice()}, quiet, clock.Real{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sessions := map[string][]netip.Prefix{"jane": {netip.MustParsePrefix("100.64.4.4/32"), netip.MustParsePrefix("2001:db8:200:100::/56")}}
	var asked []string
	a.LearnFromRADIUS(func(user string) []netip.Prefix {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, user)
		return sessions[user]
	}, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	f.waitWatch(t)
	f.out <- snapshot(1, &pb.Service{ServiceId: "3", DesiredState: pbActive, Revision: 1, Binding: &pb.Binding{Method: "log", RadiusUsername: "jane"}},
		&pb.Service{ServiceId: "4", DesiredState: pbActive, Revision: 1, Binding: &pb.Binding{Method: "log"}})
	waitFor(t, "the snapshot applied", func() bool { return a.AppliedRevision() == 1 })
	if err := a.LearnRADIUS(); err != nil {
		t.Fatal(err)
	}
	radiusReport := func() []*pb.LearnedAddress {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := len(f.reports) - 1; i >= 0; i-- {
			if r := f.reports[i]; len(r.LearnedComplete) == 1 && r.LearnedComplete[0] == "radius" {
				return r.LearnedAddresses
			}
		}
		return nil
	}
	waitFor(t, "the framed address reported", func() bool {
		got := radiusReport()
		return len(got) == 2 && got[0].ServiceId == "3" && got[0].Address == "100.64.4.4" && got[0].Source == "radius" &&
			got[1].Address == "2001:db8:200:100::/56"
	})
	mu.Lock()
	defer mu.Unlock()
	for _, u := range asked {
		if u != "jane" {
			t.Errorf("looked up user %q", u)
		}
	}
}
