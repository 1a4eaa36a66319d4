package routeros_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	goros "github.com/go-routeros/routeros/v3"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

const (
	user     = "tollgate"
	password = "s3cret"
	list     = routeros.DefaultAddressList
)

func startSim(t testing.TB, cfg routerossim.Config) *routerossim.Server {
	t.Helper()
	if cfg.Users == nil {
		cfg.Users = map[string]string{user: password}
	}
	s, err := routerossim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// routerConfig is a router on sim with the password in a file, as in
// production, and no rate limit.
func routerConfig(t testing.TB, name string, sim *routerossim.Server) routeros.RouterConfig {
	t.Helper()
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return routeros.RouterConfig{Name: name, Address: sim.Addr(), Username: user, PasswordFile: pwFile, RateLimit: -1}
}

func newDriver(t testing.TB, routers ...routeros.RouterConfig) *routeros.Driver {
	t.Helper()
	d, err := routeros.New(routeros.Config{Routers: routers}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// peer is the device side of the conformance suite: fresh targets on one
// simulated router, and a technician's hands on its address list.
type peer struct {
	sim    *routerossim.Server
	device string
}

var peerSeq struct {
	sync.Mutex
	n int
}

func (p *peer) Targets(t *testing.T, n int) []enforcement.Target {
	peerSeq.Lock()
	defer peerSeq.Unlock()
	var out []enforcement.Target
	for range n {
		peerSeq.n++
		i := peerSeq.n
		var addrs []string
		switch i % 3 {
		case 0: // a host
			addrs = []string{fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}
		case 1: // a host written as /32, and its IPv6 address
			addrs = []string{fmt.Sprintf("10.%d.%d.%d/32", i>>16&255, i>>8&255, i&255), fmt.Sprintf("2001:db8::%x", i)}
		case 2: // a small network
			addrs = []string{fmt.Sprintf("100.%d.%d.%d/30", 64+i>>14&63, i>>6&255, i<<2&255)}
		}
		out = append(out, enforcement.Target{ServiceID: fmt.Sprintf("svc-%d", i), Reason: "nonpayment",
			Binding: enforcement.Binding{Method: "routeros", Addresses: addrs, Device: p.device}})
	}
	return out
}

// Tamper suspends by hand with the driver's comment (a technician copying
// a tollgate entry, or one left from an earlier run), or restores by
// removing whatever is listed.
func (p *peer) Tamper(t *testing.T, target enforcement.Target, s enforcement.State) {
	for _, a := range target.Binding.Addresses {
		if s == enforcement.Suspended {
			if _, err := p.sim.AddEntry(list, a, routeros.DefaultCommentPrefix+"svc="+target.ServiceID); err != nil && err.Error() != routerossim.MsgAlreadyHave {
				t.Fatal(err)
			}
		} else {
			p.sim.RemoveEntry(list, a)
		}
	}
}

// TamperProfile edits the service's simple queue as a technician would:
// its rates, bursts and priority become p's.
func (p *peer) TamperProfile(t *testing.T, target enforcement.Target, prof enforcement.Profile) {
	prio := prof.Priority
	if prio == 0 {
		prio = 8
	}
	err := p.sim.SetSimpleQueue(routeros.DefaultQueuePrefix+target.ServiceID, map[string]string{
		"max-limit":       fmt.Sprintf("%d/%d", prof.UploadRate, prof.DownloadRate),
		"burst-limit":     fmt.Sprintf("%d/%d", prof.UploadBurstRate, prof.DownloadBurstRate),
		"burst-threshold": fmt.Sprintf("%d/%d", prof.UploadBurstThreshold, prof.DownloadBurstThreshold),
		"burst-time":      fmt.Sprintf("%d/%d", prof.BurstTime, prof.BurstTime),
		"priority":        fmt.Sprintf("%d/%d", prio, prio),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialRouter logs in to sim as an administrator would and returns a
// function running commands that must succeed.
func dialRouter(t *testing.T, sim *routerossim.Server) func(words ...string) {
	t.Helper()
	c, err := goros.DialTimeout(sim.Addr(), user, password, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return func(words ...string) {
		t.Helper()
		if _, err := c.RunArgs(words); err != nil {
			t.Fatalf("%q: %v", words, err)
		}
	}
}
