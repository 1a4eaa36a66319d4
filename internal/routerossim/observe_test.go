package routerossim_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// recorder collects the changes an observer is given.
type recorder struct {
	mu  sync.Mutex
	got []routerossim.Change
}

func (r *recorder) observe(c routerossim.Change) {
	r.mu.Lock()
	r.got = append(r.got, c)
	r.mu.Unlock()
}

func (r *recorder) changes() []routerossim.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]routerossim.Change(nil), r.got...)
}

// wait returns the changes once there are n of them.
func (r *recorder) wait(t *testing.T, n int) []routerossim.Change {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.changes()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d changes observed, want %d: %+v", len(got), n, got)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOnChangeReportsEveryChangeInOrder(t *testing.T) {
	s := start(t, routerossim.Config{})
	if _, err := s.AddEntry("blocked", "10.0.0.99", ""); err != nil { // before anyone observes
		t.Fatal(err)
	}
	var r recorder
	stop := s.OnChange(r.observe)
	defer stop()
	c := dial(t, s)
	const al = routerossim.PathAddressList

	before := time.Now()
	id := run(t, c, al+"/add", "=list=blocked", "=address=10.0.0.1/32", "=comment=tollgate:svc=1").Done.Map["ret"]
	id2 := run(t, c, al+"/add", "=list=blocked", "=address=10.0.0.2").Done.Map["ret"]
	trapMessage(t, c, al+"/add", "=list=blocked", "=address=10.0.0.1") // refused: no change
	run(t, c, al+"/set", "=.id="+id, "=comment=tollgate:svc=7")
	run(t, c, al+"/disable", "=.id="+id)
	trapMessage(t, c, al+"/remove", "=.id="+id+",*FFFF") // one missing: nothing removed
	run(t, c, routerossim.PathNAT+"/add", "=chain=dstnat", "=action=dst-nat", "=to-addresses=192.0.2.1")
	run(t, c, al+"/remove", "=.id="+id+","+id2)
	if _, err := s.AddEntry("blocked", "2001:db8::7", "by hand"); err != nil {
		t.Fatal(err)
	}
	if !s.SetEntryDisabled("blocked", "2001:db8::7", true) || !s.RemoveEntry("blocked", "10.0.0.99") {
		t.Fatal("tamper helpers failed")
	}
	after := time.Now()

	got := r.wait(t, 10)
	want := []struct {
		op            routerossim.ChangeOp
		path, address string
		api           bool
	}{
		{routerossim.OpAdd, al, "10.0.0.1", true},
		{routerossim.OpAdd, al, "10.0.0.2", true},
		{routerossim.OpSet, al, "10.0.0.1", true},
		{routerossim.OpSet, al, "10.0.0.1", true},
		{routerossim.OpAdd, routerossim.PathNAT, "", true},
		{routerossim.OpRemove, al, "10.0.0.1", true},
		{routerossim.OpRemove, al, "10.0.0.2", true},
		{routerossim.OpAdd, routerossim.PathAddressListV6, "2001:db8::7/128", false},
		{routerossim.OpSet, routerossim.PathAddressListV6, "2001:db8::7/128", false},
		{routerossim.OpRemove, al, "10.0.0.99", false},
	}
	if len(got) != len(want) {
		t.Fatalf("%d changes, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Op != w.op || g.Path != w.path || g.Address != w.address || g.API != w.api {
			t.Errorf("change %d: %s %s %q api=%v, want %s %s %q api=%v", i, g.Op, g.Path, g.Address, g.API, w.op, w.path, w.address, w.api)
		}
		if g.Seq != got[0].Seq+uint64(i) {
			t.Errorf("change %d: seq %d after %d", i, g.Seq, got[0].Seq)
		}
		if g.At.Before(before) || g.At.After(after) || i > 0 && g.At.Before(got[i-1].At) {
			t.Errorf("change %d at %v, outside [%v, %v] or before the previous one", i, g.At, before, after)
		}
		if w.path != routerossim.PathNAT && (g.List != "blocked" || g.Props["list"] != "blocked" || g.Props["address"] != w.address) {
			t.Errorf("change %d: list %q, props %v", i, g.List, g.Props)
		}
	}
	if got[0].Seq != 2 {
		t.Errorf("first observed change has seq %d, want 2 (the entry added before is 1)", got[0].Seq)
	}
	if got[0].ID != id || got[0].Props["comment"] != "tollgate:svc=1" {
		t.Errorf("add: %+v", got[0])
	}
	if got[2].Props["comment"] != "tollgate:svc=7" || got[3].Props["disabled"] != "true" || got[5].Props["disabled"] != "true" {
		t.Errorf("set, disable, remove carry the wrong properties: %v, %v, %v", got[2].Props, got[3].Props, got[5].Props)
	}
	if got[4].Props["chain"] != "dstnat" || got[4].List != "" {
		t.Errorf("NAT rule: %+v", got[4])
	}
	got[0].Props["comment"] = "mine" // each call has its own copy
	if r.changes()[0].Props["comment"] != "mine" || s.Entries("blocked")[0].Comment == "mine" {
		t.Error("Props is not the observer's own copy")
	}

	// After stop, nothing more.
	stop()
	run(t, c, al+"/add", "=list=blocked", "=address=10.0.0.3")
	var r2 recorder
	stop2 := s.OnChange(r2.observe)
	defer stop2()
	run(t, c, al+"/add", "=list=blocked", "=address=10.0.0.4")
	if g := r2.wait(t, 1); g[0].Address != "10.0.0.4" || g[0].Seq != got[9].Seq+2 {
		t.Fatalf("second observer: %+v", g)
	}
	if n := len(r.changes()); n != 10 {
		t.Fatalf("the stopped observer got %d changes, want 10", n)
	}
}

// Many clients at once: every change is observed exactly once, in Seq
// order, and an observer may call the server's methods.
func TestOnChangeUnderConcurrentClients(t *testing.T) {
	s := start(t, routerossim.Config{})
	var r recorder
	var counts []int
	stop := s.OnChange(func(c routerossim.Change) {
		counts = append(counts, s.Count("")) // only this goroutine touches counts
		r.observe(c)
	})
	defer stop()
	const clients, each = 8, 50
	var wg sync.WaitGroup
	for i := range clients {
		c := dial(t, s)
		wg.Go(func() {
			for j := range each {
				if _, err := c.RunArgs([]string{"/ip/firewall/address-list/add", "=list=l", fmt.Sprintf("=address=10.%d.0.%d", i, j)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := r.wait(t, clients*each)
	seen := map[string]bool{}
	for i, c := range got {
		if i > 0 && c.Seq != got[i-1].Seq+1 {
			t.Fatalf("change %d has seq %d after %d", i, c.Seq, got[i-1].Seq)
		}
		if seen[c.Address] {
			t.Fatalf("%s observed twice", c.Address)
		}
		seen[c.Address] = true
	}
	if len(got) != clients*each || len(counts) != len(got) {
		t.Fatalf("%d changes, %d counts", len(got), len(counts))
	}
}

// Close delivers what was changed before it; OnChange after Close
// registers nothing.
func TestCloseDeliversPendingChanges(t *testing.T) {
	s, err := routerossim.Start(routerossim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var r recorder
	s.OnChange(r.observe)
	for i := range 100 {
		if _, err := s.AddEntry("l", fmt.Sprintf("10.0.0.%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if n := len(r.changes()); n != 100 {
		t.Fatalf("%d changes delivered by Close, want 100", n)
	}
	called := false
	s.OnChange(func(routerossim.Change) { called = true })()
	if _, err := s.AddEntry("l", "10.0.1.1", ""); err != nil {
		t.Fatal(err)
	}
	if called {
		t.Fatal("an observer registered after Close was called")
	}
}
