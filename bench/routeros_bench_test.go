package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// BenchmarkRouterOSReconcile100k is one full reconcile of a router's
// address list against 100,000 suspended services through the routeros
// driver, over a real TCP connection to the in-repo RouterOS API simulator.
// The router starts with 10,000 stale entries of the driver's (services no
// longer suspended) and 1,000 entries someone else made; the reconcile
// reads the list with one print, adds the 100,000 missing entries and
// removes the 10,000 stale ones, commands pipelined (the driver's default
// window of 64, no rate limit). The benchmark fails unless the list ends
// up exactly right, foreign entries untouched. It reports
// routeros_reconcile_100k_s (target ≤ 20 s). Run with -benchtime=1x.
func BenchmarkRouterOSReconcile100k(b *testing.B) {
	const (
		services = 100_000
		stale    = 10_000
		foreign  = 1_000
	)
	list := routeros.DefaultAddressList
	want := make(map[string]enforcement.Target, services)
	for i := range services {
		id := fmt.Sprintf("svc-%06d", i)
		want[id] = enforcement.Target{ServiceID: id, Reason: "nonpayment", Binding: enforcement.Binding{
			Method: "routeros", Device: "pop-1", Addresses: []string{fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)}}}
	}
	var total time.Duration
	for range b.N {
		b.StopTimer()
		sim, err := routerossim.Start(routerossim.Config{Users: map[string]string{"tollgate": "pw"}})
		if err != nil {
			b.Fatal(err)
		}
		for i := range stale {
			if _, err := sim.AddEntry(list, fmt.Sprintf("172.16.%d.%d", i>>8, i&255), fmt.Sprintf("tollgate:svc=old-%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		for i := range foreign {
			if _, err := sim.AddEntry(list, fmt.Sprintf("192.168.%d.%d", i>>8, i&255), "blocked by hand"); err != nil {
				b.Fatal(err)
			}
		}
		d, err := routeros.New(routeros.Config{Routers: []routeros.RouterConfig{{
			Name: "pop-1", Address: sim.Addr(), Username: "tollgate", Password: "pw", RateLimit: -1,
		}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		start := time.Now()
		rep, err := d.Reconcile(context.Background(), want)
		elapsed := time.Since(start)

		b.StopTimer()
		total += elapsed
		if err != nil {
			b.Fatal(err)
		}
		r := rep.Routers[0]
		b.Logf("reconcile: %s, %d listed, %d added, %d removed, %d foreign, %d attempts, %d sentences",
			elapsed.Round(time.Millisecond), r.Listed, r.Added, r.Removed, r.Foreign, r.Attempts, sim.Stats().Sentences)
		if r.Added != services || r.Removed != stale || r.Foreign != foreign {
			b.Fatalf("report %+v", r)
		}
		entries := sim.Entries(list)
		owned, others := 0, 0
		for _, e := range entries {
			if strings.HasPrefix(e.Comment, "tollgate:svc=svc-") {
				owned++
			} else if e.Comment == "blocked by hand" {
				others++
			}
		}
		if len(entries) != services+foreign || owned != services || others != foreign {
			b.Fatalf("the list has %d entries, %d of the wanted services and %d foreign; want %d and %d", len(entries), owned, others, services, foreign)
		}
		d.Close()
		sim.Close()
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "routeros_reconcile_100k_s")
	b.ReportMetric(0, "ns/op")
}
