package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusdriver "github.com/tollgate-isp/tollgate/enforcement/radius"
	"github.com/tollgate-isp/tollgate/internal/radiustest"
	"github.com/tollgate-isp/tollgate/radius"
)

// coaInFlight bounds the CoA exchanges in flight (the NAS's concurrency
// setting and the number of callers).
const coaInFlight = 64

// BenchmarkCoA: suspensions through the RADIUS driver, one CoA-Request
// each (filter-id profile), to real FreeRADIUS 3 acting as the NAS
// (threaded, logging off, Message-Authenticator required and checked),
// 64 in flight. b.N sessions are learned first, then each is suspended
// once. Reports coa_per_s. Run with a fixed count: -benchtime=20000x.
func BenchmarkCoA(b *testing.B) {
	fr := radiustest.Start(b, radiustest.Options{Quiet: true, RequireMessageAuthenticator: true})
	secretFile := filepath.Join(b.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(fr.Secret), 0o600); err != nil {
		b.Fatal(err)
	}
	sessions := radius.NewSessions(radius.SessionsConfig{Max: b.N + 1})
	d, err := radiusdriver.NewDriver([]radiusdriver.NASConfig{{
		Name: "bench", Address: fr.CoAAddr, NASIP: []string{"127.0.0.1"},
		Secret:  radius.Secret{SecretFile: secretFile},
		Profile: radiusdriver.ProfileFilterID, ActiveFilter: "internet",
		Concurrency: coaInFlight,
	}}, sessions, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()

	nas := netip.MustParseAddr("127.0.0.1")
	targets := make([]enforcement.Target, b.N)
	for i := range targets {
		user := fmt.Sprintf("bench-%d", i)
		sessions.Apply(radius.AccountingRecord{
			StatusType: 1, UserName: user, SessionID: fmt.Sprintf("s-%d", i), NASIP: nas,
			FramedIP: netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}),
		}, nas)
		targets[i] = enforcement.Target{ServiceID: user, Binding: enforcement.Binding{Method: "radius", RADIUSUsername: user}}
	}
	ctx := context.Background()
	// Warm up: FreeRADIUS's threads and our sockets.
	for range 3 {
		if err := d.Restore(ctx, targets[0]); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}

	var next atomic.Int64
	var failed atomic.Int64
	var firstErr sync.Once
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range coaInFlight {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(targets) {
					return
				}
				if err := d.Suspend(ctx, targets[i]); err != nil {
					failed.Add(1)
					firstErr.Do(func() { b.Errorf("suspend %s: %v", targets[i].ServiceID, err) })
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d CoA exchanges failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "coa_per_s")
	b.ReportMetric(0, "ns/op")
}
