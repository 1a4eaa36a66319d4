package bench

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

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
//
// Beside it, in the same run against the same FreeRADIUS, the floor: a
// bare layeh.com/radius client (radius.Exchange, a socket per request as
// layeh does it) sends b.N CoA-Requests of the same shape — the session's
// NAS-IP-Address, User-Name, Acct-Session-Id, Framed-IP-Address,
// Event-Timestamp, the suspended Filter-Id and a Message-Authenticator —
// 64 in flight (coa_bare_layeh_per_s), and coa_vs_bare_ratio is
// coa_per_s ÷ coa_bare_layeh_per_s. The bare client goes second, so
// FreeRADIUS is as warm for it as for the driver.
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
	coaPerSecond := float64(b.N) / elapsed.Seconds()

	bare := bareLayehCoA(ctx, b, fr.CoAAddr, []byte(fr.Secret), targets, sessions)
	b.Logf("CoA through the driver %.0f/s, bare layeh client %.0f/s (%d requests, %d in flight)", coaPerSecond, bare, b.N, coaInFlight)
	b.ReportMetric(coaPerSecond, "coa_per_s")
	b.ReportMetric(bare, "coa_bare_layeh_per_s")
	b.ReportMetric(coaPerSecond/bare, "coa_vs_bare_ratio")
	b.ReportMetric(0, "ns/op")
}

// bareLayehCoA sends one CoA-Request per target, shaped like the driver's
// filter-id suspension of the target's session, straight from
// layeh.com/radius (radius.Exchange, its DefaultClient) to addr, coaInFlight
// at a time, and returns the requests answered per second. Every answer
// must be a CoA-ACK.
func bareLayehCoA(ctx context.Context, b *testing.B, addr string, secret []byte, targets []enforcement.Target, sessions *radius.Sessions) float64 {
	b.Helper()
	packets := make([]*layeh.Packet, len(targets))
	for i, t := range targets {
		ss := sessions.Find(t.Binding.RADIUSUsername, nil)
		if len(ss) != 1 {
			b.Fatalf("%d sessions of %s, want 1", len(ss), t.Binding.RADIUSUsername)
		}
		s := ss[0]
		p := layeh.New(layeh.CodeCoARequest, secret)
		p.Add(rfc2865.NASIPAddress_Type, s.NASIP.AsSlice())
		p.Add(rfc2865.UserName_Type, []byte(s.UserName))
		p.Add(rfc2866.AcctSessionID_Type, []byte(s.ID))
		p.Add(rfc2865.FramedIPAddress_Type, s.FramedIP.AsSlice())
		p.Add(rfc2869.EventTimestamp_Type, layeh.NewInteger(uint32(time.Now().Unix())))
		p.Add(rfc2865.FilterID_Type, []byte(radiusdriver.DefaultSuspendedName))
		signMessageAuthenticator(b, p)
		packets[i] = p
	}
	var next, failed atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range coaInFlight {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(packets) {
					return
				}
				resp, err := layeh.Exchange(ctx, packets[i], addr)
				if err == nil && resp.Code != layeh.CodeCoAACK {
					err = fmt.Errorf("answered %v", resp.Code)
				}
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { b.Errorf("bare layeh CoA-Request %d: %v", i, err) })
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d bare layeh CoA exchanges failed", n, len(packets))
	}
	return float64(len(packets)) / elapsed.Seconds()
}

// signMessageAuthenticator adds a Message-Authenticator to a CoA-Request
// (RFC 5176 §3.5, RFC 3579 §3.2: HMAC-MD5 over the packet with the
// attribute's value and the Request Authenticator zero). layeh's Encode
// then computes the Request Authenticator over the signed attributes.
func signMessageAuthenticator(b *testing.B, p *layeh.Packet) {
	p.Authenticator = [16]byte{}
	p.Set(rfc2869.MessageAuthenticator_Type, make([]byte, 16))
	wire, err := p.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	mac := hmac.New(md5.New, p.Secret)
	mac.Write(wire)
	p.Set(rfc2869.MessageAuthenticator_Type, mac.Sum(nil))
}
