package radius

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/internal/radiustest"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// FreeRADIUS as the NAS: every vendor profile's CoA-Request and
// Disconnect-Request are accepted (so their authenticators and
// Message-Authenticator are right: FreeRADIUS requires and checks it) and
// decode to the attributes the vendor expects.
func TestProfilesAgainstFreeRADIUS(t *testing.T) {
	t.Parallel()
	nas := []NASConfig{
		{Name: "mikrotik", NASIP: []string{"127.0.0.11"}, Profile: ProfileMikrotikAddressList},
		{Name: "mikrotik-rate", NASIP: []string{"127.0.0.12"}, Profile: ProfileMikrotikRateLimit, RateLimit: "128k/128k", ActiveRateLimit: "10M/10M"},
		{Name: "cisco", NASIP: []string{"127.0.0.13"}, Profile: ProfileCiscoAVPair, ActiveService: "internet"},
		{Name: "juniper", NASIP: []string{"127.0.0.14"}, Profile: ProfileJuniperERX, SuspendedService: "walled-garden", ActiveService: "internet(100M)"},
		{Name: "filter", NASIP: []string{"127.0.0.15"}, Profile: ProfileFilterID, ActiveFilter: "internet"},
		{Name: "disconnect", NASIP: []string{"127.0.0.16"}, Profile: ProfileDisconnect},
	}
	e := newEnv(t, radiustest.Options{}, nas...)
	type want struct {
		typ   string
		attrs map[string]string // attribute -> values joined with ","
	}
	coa := func(kv ...string) want {
		w := want{typ: "CoA-Request", attrs: map[string]string{}}
		for i := 0; i < len(kv); i += 2 {
			w.attrs[kv[i]] = kv[i+1]
		}
		return w
	}
	disconnect := want{typ: "Disconnect-Request"}
	cases := []struct {
		nas              string
		suspend, restore []want
	}{
		{"mikrotik", []want{coa("Mikrotik-Address-List", "tollgate-suspended")}, []want{disconnect}},
		{"mikrotik-rate", []want{coa("Mikrotik-Rate-Limit", "128k/128k")}, []want{coa("Mikrotik-Rate-Limit", "10M/10M")}},
		{"cisco",
			[]want{
				coa("Cisco-AVPair", "subscriber:command=deactivate-service,subscriber:service-name=internet"),
				coa("Cisco-AVPair", "subscriber:command=activate-service,subscriber:service-name=tollgate-suspended"),
			},
			[]want{
				coa("Cisco-AVPair", "subscriber:command=deactivate-service,subscriber:service-name=tollgate-suspended"),
				coa("Cisco-AVPair", "subscriber:command=activate-service,subscriber:service-name=internet"),
			}},
		{"juniper",
			[]want{coa("ERX-Service-Deactivate", "internet(100M)", "ERX-Service-Activate", "walled-garden")},
			[]want{coa("ERX-Service-Deactivate", "walled-garden", "ERX-Service-Activate", "internet(100M)")}},
		{"filter", []want{coa("Filter-Id", "tollgate-suspended")}, []want{coa("Filter-Id", "internet")}},
		{"disconnect", []want{disconnect}, nil}, // the session is gone after the Disconnect-ACK: nothing to restore
	}
	ctx := context.Background()
	for i, tc := range cases {
		t.Run(tc.nas, func(t *testing.T) {
			nasIP := nas[i].NASIP[0]
			user, session, framed := "user-"+tc.nas, "sess-"+tc.nas, fmt.Sprintf("100.64.1.%d", i+1)
			e.learn(nasIP, user, session, framed)
			target := enforcement.Target{ServiceID: "svc-" + tc.nas, Binding: enforcement.Binding{Method: "radius", RADIUSUsername: user}}
			check := func(op string, rs []radiustest.Record, ws []want) {
				t.Helper()
				for j, w := range ws {
					r := rs[j]
					if r.Type != w.typ {
						t.Errorf("%s #%d: FreeRADIUS received %s, want %s", op, j+1, r.Type, w.typ)
					}
					for k, v := range w.attrs {
						if got := joinVals(r.Attrs[k]); got != v {
							t.Errorf("%s #%d: %s = %q, want %q (all: %v)", op, j+1, k, got, v, r.Attrs)
						}
					}
					for k, v := range map[string]string{"NAS-IP-Address": nasIP, "User-Name": user, "Acct-Session-Id": session, "Framed-IP-Address": framed} {
						if got := r.Get(k); got != v {
							t.Errorf("%s #%d: %s = %q, want %q", op, j+1, k, got, v)
						}
					}
					if r.Get("Event-Timestamp") == "" || !strings.HasPrefix(r.Get("Message-Authenticator"), "0x") {
						t.Errorf("%s #%d: no Event-Timestamp or Message-Authenticator: %v", op, j+1, r.Attrs)
					}
				}
			}
			if err := e.driver.Suspend(ctx, target); err != nil {
				t.Fatal(err)
			}
			check("suspend", e.recordsFor(t, session, len(tc.suspend)), tc.suspend)
			if st, err := e.driver.Observe(ctx, target); err != nil || st != enforcement.Suspended {
				t.Fatalf("observe after suspend: %q, %v", st, err)
			}
			if err := e.driver.Restore(ctx, target); err != nil {
				t.Fatal(err)
			}
			check("restore", e.recordsFor(t, session, len(tc.suspend)+len(tc.restore))[len(tc.suspend):], tc.restore)
			if st, err := e.driver.Observe(ctx, target); err != nil || st != enforcement.Active {
				t.Fatalf("observe after restore: %q, %v", st, err)
			}
		})
	}
	// The JSON record has no tags; FreeRADIUS's debug output shows the
	// Juniper activation carries tag 1.
	if log := e.fr.Log(t); !strings.Contains(log, `ERX-Service-Activate:1 = "walled-garden"`) {
		t.Error("FreeRADIUS did not decode ERX-Service-Activate with tag 1")
	}
}

// NAKs: Error-Cause 503 means the session is gone (nothing to do, forget
// it); any other NAK is an error naming the cause; no answer is an error
// after the retries.
func TestNAKAndTimeouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, radiustest.Options{},
		NASConfig{Name: "nas", NASIP: []string{"127.0.0.21"}, Profile: ProfileFilterID, ActiveFilter: "internet", Timeout: 200 * time.Millisecond, Retries: 2})
	ctx := context.Background()
	byUser := func(u string) enforcement.Target {
		return enforcement.Target{ServiceID: "svc-" + u, Binding: enforcement.Binding{Method: "radius", RADIUSUsername: u}}
	}

	e.learn("127.0.0.21", "gone-user", "gone-1", "")
	if err := e.driver.Suspend(ctx, byUser("gone-user")); err != nil {
		t.Fatalf("NAK 503: %v", err)
	}
	if n := len(e.sessions.Find("gone-user", nil)); n != 0 {
		t.Fatalf("the gone session is still in the table (%d)", n)
	}

	e.learn("127.0.0.21", "bad-user", "bad-1", "")
	err := e.driver.Suspend(ctx, byUser("bad-user"))
	var nak *NAKError
	if !errors.As(err, &nak) || nak.ErrorCause != 401 || !strings.Contains(err.Error(), "Error-Cause 401 (Unsupported-Attribute)") {
		t.Fatalf("other NAK: %v", err)
	}
	if st, _ := e.driver.Observe(ctx, byUser("bad-user")); st != enforcement.Active {
		t.Fatalf("a NAKed suspend is observed %s", st)
	}

	e.learn("127.0.0.21", "silent-user", "silent-1", "")
	start := time.Now()
	err = e.driver.Suspend(ctx, byUser("silent-user"))
	if err == nil || !strings.Contains(err.Error(), "no answer") || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("no answer: %v", err)
	}
	if took := time.Since(start); took < 550*time.Millisecond || took > 2*time.Second {
		t.Fatalf("3 attempts 200ms apart took %s", took)
	}

	// A cancelled context stops the wait at once.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := e.driver.Suspend(cctx, byUser("silent-user")); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("deadline: %v after %s", err, time.Since(start))
	}
}

// A NAS that does not answer holds only its own requests: the other NAS's
// suspensions go through meanwhile, long before the dead NAS's time out.
func TestDeadNASDoesNotStallOthers(t *testing.T) {
	t.Parallel()
	dead, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	const deadTimeout = time.Second
	e := newEnv(t, radiustest.Options{},
		NASConfig{Name: "dead", Address: dead.LocalAddr().String(), NASIP: []string{"127.0.0.31"}, Profile: ProfileFilterID, Timeout: deadTimeout, Retries: -1, Concurrency: 2},
		NASConfig{Name: "live", NASIP: []string{"127.0.0.32"}, Profile: ProfileFilterID})
	ctx := context.Background()
	var wg sync.WaitGroup
	deadErrs := make(chan error, 4)
	for i := range 4 { // twice the dead NAS's concurrency: some wait for a slot
		u := fmt.Sprintf("dead-%d", i)
		e.learn("127.0.0.31", u, "s-"+u, "")
		wg.Go(func() {
			deadErrs <- e.driver.Suspend(ctx, enforcement.Target{ServiceID: u, Binding: enforcement.Binding{RADIUSUsername: u}})
		})
	}
	time.Sleep(50 * time.Millisecond) // the dead NAS's requests are in flight
	start := time.Now()
	for i := range 10 {
		u := fmt.Sprintf("live-%d", i)
		e.learn("127.0.0.32", u, "s-"+u, "")
		if err := e.driver.Suspend(ctx, enforcement.Target{ServiceID: u, Binding: enforcement.Binding{RADIUSUsername: u}}); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > deadTimeout/2 {
		t.Fatalf("10 suspensions on the live NAS took %s while the dead NAS's requests waited", took)
	}
	if len(deadErrs) != 0 {
		t.Fatal("a request to the dead NAS finished before the live NAS's suspensions")
	}
	wg.Wait()
	close(deadErrs)
	for err := range deadErrs {
		if err == nil || !strings.Contains(err.Error(), "no answer") {
			t.Fatalf("dead NAS: %v", err)
		}
	}
}

// radclient as the NAS sending accounting to the agent's listener.
func TestAccountingFromRadclient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, radiustest.Options{}, NASConfig{Name: "nas", NASIP: []string{"127.0.0.41"}, Profile: ProfileMikrotikAddressList})
	e.sendAcct(t, acctPacket("Start", "127.0.0.41", "alice", "a-1", "100.64.2.1"))
	ss := e.sessions.Find("alice", nil)
	if len(ss) != 1 || ss[0].ID != "a-1" || ss[0].FramedIP.String() != "100.64.2.1" || ss[0].NAS != "127.0.0.41" || ss[0].State != enforcement.Active {
		t.Fatalf("after Start: %+v", ss)
	}
	// Interim-Update: new address; the NAS reports the suspended list.
	e.sendAcct(t, acctPacket("Interim-Update", "127.0.0.41", "alice", "a-1", "100.64.2.9", `Mikrotik-Address-List = "tollgate-suspended"`))
	ss = e.sessions.Find("", mustPrefixes("100.64.2.9"))
	if len(ss) != 1 || ss[0].State != enforcement.Suspended || ss[0].StateSource != radiusproto.SourceAccounting {
		t.Fatalf("after Interim-Update: %+v", ss)
	}
	e.sendAcct(t, acctPacket("Stop", "127.0.0.41", "alice", "a-1", "100.64.2.9"))
	if n := e.sessions.Len(); n != 0 {
		t.Fatalf("%d sessions after Stop", n)
	}
	// Several sessions, then the NAS reboots (Accounting-On).
	e.sendAcct(t,
		acctPacket("Start", "127.0.0.41", "bob", "b-1", "100.64.2.2"),
		acctPacket("Start", "127.0.0.41", "carol", "c-1", "100.64.2.3"),
		acctPacket("Start", "127.0.0.42", "dave", "d-1", "100.64.2.4"))
	if n := e.sessions.Len(); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}
	e.sendAcct(t, []string{"Acct-Status-Type = Accounting-On", "NAS-IP-Address = 127.0.0.41"})
	if n := e.sessions.Len(); n != 1 || len(e.sessions.Find("dave", nil)) != 1 {
		t.Fatalf("after Accounting-On: %d sessions", n)
	}
	// A sender with the wrong secret gets no answer and changes nothing.
	dropped := e.acct.Stats().Dropped.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := radiustest.RadclientWith(ctx, radiustest.RadclientOptions{Tries: 1, Timeout: 1}, e.acct.Addr().String(), "acct", "wrong", acctPacket("Start", "127.0.0.41", "eve", "e-1", "")); err == nil {
		t.Fatalf("accounting with the wrong secret was answered:\n%s", out)
	}
	if e.acct.Stats().Dropped.Load() == dropped || len(e.sessions.Find("eve", nil)) != 0 {
		t.Fatal("accounting with the wrong secret was not dropped")
	}
}

// Accounting copied to the agent by the ISP's FreeRADIUS (rlm_replicate,
// as README.md describes) fills the table like accounting from the NAS.
func TestAccountingReplicatedByFreeRADIUS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, radiustest.Options{}, NASConfig{Name: "nas", NASIP: []string{"127.0.0.61"}, Profile: ProfileFilterID})
	isp := radiustest.Start(t, radiustest.Options{ReplicateTo: e.acct.Addr().String(), ReplicateSecret: e.acctSecret})
	out, err := radiustest.Radclient(t.Context(), isp.AcctAddr, "acct", isp.Secret, acctPacket("Start", "127.0.0.61", "rita", "r-1", "100.64.4.1"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.sessions.Find("rita", nil)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the replicated Start never reached the agent\n%s", isp.Log(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := e.sessions.Find("rita", nil)[0]
	if s.NAS != "127.0.0.61" || s.FramedIP.String() != "100.64.4.1" {
		t.Fatalf("session %+v", s)
	}
	// The session is the NAS's, not the copier's: the driver reaches it.
	if err := e.driver.Suspend(t.Context(), enforcement.Target{ServiceID: "rita", Binding: enforcement.Binding{RADIUSUsername: "rita"}}); err != nil {
		t.Fatal(err)
	}
	e.recordsFor(t, "r-1", 1)
}

// FreeRADIUS as the ISP's RADIUS server calls the authorize endpoint with
// rlm_rest: a suspended user's Access-Accept carries the suspended profile
// of the NAS it comes through; others get nothing extra. The session that
// follows is known to be suspended.
func TestAuthorizeThroughFreeRADIUS(t *testing.T) {
	t.Parallel()
	// The driver's NASes point at a FreeRADIUS that only runs the CoA
	// listener; the authorize endpoint is served by an httptest server that
	// a second FreeRADIUS calls.
	e := newEnv(t, radiustest.Options{},
		NASConfig{Name: "mikrotik", NASIP: []string{"127.0.0.51"}, Profile: ProfileMikrotikAddressList},
		NASConfig{Name: "cisco", NASIP: []string{"127.0.0.52"}, Profile: ProfileCiscoAVPair},
		NASConfig{Name: "juniper", NASIP: []string{"127.0.0.53"}, Profile: ProfileJuniperERX, SuspendedService: "walled(portal)"},
		NASConfig{Name: "custom", NASIP: []string{"127.0.0.54"}, Profile: ProfileDisconnect,
			AuthorizeReply: []ReplyAttr{{"Filter-Id", "walled"}, {"Cisco-AVPair", "ip:inacl#1=deny ip any any"}, {"Cisco-AVPair", "ip:outacl#1=deny ip any any"}}},
	)
	e.driver.Preload(enforcement.Target{ServiceID: "svc-sus", Binding: enforcement.Binding{RADIUSUsername: "sus"}}, enforcement.Suspended)
	e.driver.Preload(enforcement.Target{ServiceID: "svc-fine", Binding: enforcement.Binding{RADIUSUsername: "fine"}}, enforcement.Active)
	h, err := NewAuthorizeHandler(e.driver, AuthorizeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(AuthorizePath, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	aaa := radiustest.Start(t, radiustest.Options{RESTURL: srv.URL})

	auth := func(user, nasIP string) string {
		t.Helper()
		out, err := radiustest.Radclient(t.Context(), aaa.AuthAddr, "auth", aaa.Secret,
			[]string{fmt.Sprintf("User-Name = %q", user), `User-Password = "pw"`, "NAS-IP-Address = " + nasIP, "Message-Authenticator = 0x00"})
		if err != nil || !strings.Contains(out, "Received Access-Accept") {
			t.Fatalf("Access-Request for %s: %v\n%s\n%s", user, err, out, aaa.Log(t))
		}
		return out
	}
	for _, tc := range []struct {
		user, nasIP string
		want        []string
	}{
		{"sus", "127.0.0.51", []string{`Mikrotik-Address-List = "tollgate-suspended"`}},
		{"sus", "127.0.0.52", []string{`Cisco-Account-Info = "Atollgate-suspended"`}},
		{"sus", "127.0.0.53", []string{`ERX-Service-Activate:1 = "walled(portal)"`}},
		{"sus", "127.0.0.54", []string{`Filter-Id = "walled"`, `Cisco-AVPair = "ip:inacl#1=deny ip any any"`, `Cisco-AVPair = "ip:outacl#1=deny ip any any"`}},
		{"sus", "192.0.2.99", []string{`Mikrotik-Address-List = "tollgate-suspended"`}}, // unknown NAS: the first one's profile
	} {
		out := auth(tc.user, tc.nasIP)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s via %s: Access-Accept lacks %s:\n%s", tc.user, tc.nasIP, w, out)
			}
		}
	}
	for _, u := range []string{"fine", "stranger"} {
		out := auth(u, "127.0.0.51")
		if strings.Contains(out, "Mikrotik-Address-List") {
			t.Errorf("%s got the suspended profile:\n%s", u, out)
		}
	}
	// The suspended user's new session starts suspended.
	e.sendAcct(t, acctPacket("Start", "127.0.0.51", "sus", "sus-1", "100.64.3.1"))
	target := enforcement.Target{ServiceID: "svc-sus", Binding: enforcement.Binding{RADIUSUsername: "sus"}}
	if st, err := e.driver.Observe(context.Background(), target); err != nil || st != enforcement.Suspended {
		t.Fatalf("session after a suspended authorize: %q, %v", st, err)
	}
}

func mustPrefixes(ss ...string) (out []netip.Prefix) {
	for _, s := range ss {
		p, err := radiusproto.ParsePrefix(s)
		if err != nil {
			panic(err)
		}
		out = append(out, p)
	}
	return out
}

// FreeRADIUS's rlm_rest calls the authorize endpoint at every login: an
// active subscriber's Access-Accept carries the plan's profile in its
// NAS vendor's attributes, a throttled one's the throttle profile and the
// redirect, a suspended one's the suspended reply; the session that
// follows reads back the speed the login gave it.
func TestAuthorizeProfilesThroughFreeRADIUS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, radiustest.Options{},
		NASConfig{Name: "mikrotik", NASIP: []string{"127.0.3.1"}, Profile: ProfileMikrotikAddressList},
		NASConfig{Name: "cisco", NASIP: []string{"127.0.3.2"}, Profile: ProfileCiscoAVPair},
		NASConfig{Name: "juniper", NASIP: []string{"127.0.3.3"}, Profile: ProfileJuniperERX},
		NASConfig{Name: "generic", NASIP: []string{"127.0.3.4"}, Profile: ProfileFilterID, ThrottleRedirect: "slow-and-walled"},
	)
	plan := enforcement.Profile{Name: "fiber-100.v2", DownloadRate: 100_000_000, UploadRate: 20_000_000,
		DownloadBurstRate: 150_000_000, UploadBurstRate: 30_000_000, BurstTime: 8,
		CiscoService: "FIBER-100", FilterID: "fiber-100"}
	policies := enforcement.Profile{Name: "fiber-50.v1", DownloadRate: 50_000_000, UploadRate: 10_000_000,
		CiscoPolicyIn: "UP-10M", CiscoPolicyOut: "DOWN-50M"}
	throttle := enforcement.Profile{Name: "throttle.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
	target := func(user string, p *enforcement.Profile) enforcement.Target {
		return enforcement.Target{ServiceID: "svc-" + user, Binding: enforcement.Binding{Method: "radius", RADIUSUsername: user}, Profile: p}
	}
	e.driver.Preload(target("fast", &plan), enforcement.Active)
	e.driver.Preload(target("qos", &policies), enforcement.Active)
	e.driver.Preload(target("plain", nil), enforcement.Active)
	e.driver.Preload(target("sus", nil), enforcement.Suspended)
	// Throttled through the driver (no session yet: nothing is sent).
	if err := e.driver.Throttle(t.Context(), target("slow", &throttle)); err != nil {
		t.Fatal(err)
	}
	h, err := NewAuthorizeHandler(e.driver, AuthorizeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(AuthorizePath, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	aaa := radiustest.Start(t, radiustest.Options{RESTURL: srv.URL})

	auth := func(user, nasIP string) string {
		t.Helper()
		out, err := radiustest.Radclient(t.Context(), aaa.AuthAddr, "auth", aaa.Secret,
			[]string{fmt.Sprintf("User-Name = %q", user), `User-Password = "pw"`, "NAS-IP-Address = " + nasIP, "Message-Authenticator = 0x00"})
		if err != nil || !strings.Contains(out, "Received Access-Accept") {
			t.Fatalf("Access-Request for %s: %v\n%s\n%s", user, err, out, aaa.Log(t))
		}
		return out
	}
	for _, tc := range []struct {
		user, nasIP string
		want, not   []string
	}{
		{"fast", "127.0.3.1", []string{`Mikrotik-Rate-Limit = "20M/100M 30M/150M 20M/100M 8/8"`}, []string{"Mikrotik-Address-List"}},
		{"fast", "127.0.3.2", []string{`Cisco-Account-Info = "AFIBER-100"`}, nil},
		{"fast", "127.0.3.3", []string{`ERX-Service-Activate:1 = "tollgate-rate(20000000,100000000)"`}, nil},
		{"fast", "127.0.3.4", []string{`Filter-Id = "fiber-100"`}, nil},
		{"qos", "127.0.3.2", []string{`Cisco-AVPair = "ip:sub-qos-policy-in=UP-10M"`, `Cisco-AVPair = "ip:sub-qos-policy-out=DOWN-50M"`}, nil},
		{"slow", "127.0.3.1", []string{`Mikrotik-Rate-Limit = "1M/1M"`, `Mikrotik-Address-List = "tollgate-throttled"`}, nil},
		{"slow", "127.0.3.2", []string{`Cisco-Account-Info = "Atollgate-throttled"`}, []string{"Cisco-AVPair"}},
		{"slow", "127.0.3.3", []string{`ERX-Service-Activate:1 = "tollgate-rate(1000000,1000000)"`, `ERX-Service-Activate:2 = "tollgate-throttled"`}, nil},
		{"slow", "127.0.3.4", []string{`Filter-Id = "slow-and-walled"`}, nil},
		{"sus", "127.0.3.1", []string{`Mikrotik-Address-List = "tollgate-suspended"`}, []string{"Mikrotik-Rate-Limit"}},
		{"plain", "127.0.3.1", nil, []string{"Mikrotik-Rate-Limit", "Mikrotik-Address-List"}},
	} {
		out := auth(tc.user, tc.nasIP)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s via %s: Access-Accept lacks %s:\n%s", tc.user, tc.nasIP, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("%s via %s: Access-Accept carries %s:\n%s", tc.user, tc.nasIP, w, out)
			}
		}
	}

	// The sessions that follow the logins hold what the logins gave them.
	auth("fast", "127.0.3.1")
	auth("slow", "127.0.3.1")
	e.sendAcct(t, acctPacket("Start", "127.0.3.1", "fast", "fast-1", "100.64.5.1"),
		acctPacket("Start", "127.0.3.1", "slow", "slow-1", "100.64.5.2"))
	ctx := context.Background()
	if got, err := e.driver.ObserveProfile(ctx, target("fast", &plan)); err != nil || !got.Equal(&plan) {
		t.Fatalf("the session after an active login reads back %+v, %v; want the plan", got, err)
	}
	if st, err := e.driver.Observe(ctx, target("slow", &throttle)); err != nil || st != enforcement.Throttled {
		t.Fatalf("the session after a throttled login is observed %q, %v", st, err)
	}
	if got, err := e.driver.ObserveProfile(ctx, target("slow", &throttle)); err != nil || !got.Equal(&throttle) {
		t.Fatalf("the session after a throttled login reads back %+v, %v; want the throttle", got, err)
	}
	// Already at the speed its login gave it: a restore sends nothing.
	if err := e.driver.Restore(ctx, target("fast", &plan)); err != nil {
		t.Fatal(err)
	}
	if rs := e.fr.RecordsFor(t, "fast-1"); len(rs) != 0 {
		t.Fatalf("a restore of a session at its plan's speed sent %d requests: %+v", len(rs), rs)
	}
}

// A Cisco ISG's plan change, throttle and restore, as FreeRADIUS (the
// NAS) receives them: one service command per CoA-Request, the old plan
// service deactivated before the new one is activated, the throttle
// redirect service in and out; a generic NAS's Filter-Id likewise.
func TestSpeedCoAsAgainstFreeRADIUS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, radiustest.Options{},
		NASConfig{Name: "cisco", NASIP: []string{"127.0.4.1"}, Profile: ProfileCiscoAVPair},
		NASConfig{Name: "generic", NASIP: []string{"127.0.4.2"}, Profile: ProfileFilterID, ActiveFilter: "internet"})
	ctx := context.Background()
	plan := enforcement.Profile{Name: "fiber-100.v1", DownloadRate: 100_000_000, UploadRate: 20_000_000, CiscoService: "FIBER-100", FilterID: "fiber-100"}
	upgrade := enforcement.Profile{Name: "fiber-300.v1", DownloadRate: 300_000_000, UploadRate: 50_000_000, CiscoService: "FIBER-300", FilterID: "fiber-300"}
	throttle := enforcement.Profile{Name: "throttle.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
	cmd := func(verb, svc string) string {
		return "CoA-Request Cisco-AVPair=subscriber:command=" + verb + "-service,subscriber:service-name=" + svc
	}
	for _, tc := range []struct {
		nas, nasIP, attr string
		want             []string
	}{
		{"cisco", "127.0.4.1", "Cisco-AVPair", []string{
			// Restore at the plan: the restore action (out of a
			// suspension, idempotent), then the plan's service.
			cmd("deactivate", "tollgate-suspended"), cmd("activate", "FIBER-100"),
			// The upgrade: the old service out, the new one in.
			cmd("deactivate", "tollgate-suspended"), cmd("deactivate", "FIBER-100"), cmd("activate", "FIBER-300"),
			// Throttled: the plan's service out, the redirect service in
			// (the throttle names no Cisco service: the redirect shapes).
			cmd("deactivate", "FIBER-300"), cmd("activate", "tollgate-throttled"),
			// Paid: out of the redirect, back to the plan.
			cmd("deactivate", "tollgate-throttled"), cmd("activate", "FIBER-100"),
		}},
		{"generic", "127.0.4.2", "Filter-Id", []string{
			"CoA-Request Filter-Id=fiber-100", "CoA-Request Filter-Id=fiber-300",
			"CoA-Request Filter-Id=tollgate-throttled", "CoA-Request Filter-Id=fiber-100",
		}},
	} {
		t.Run(tc.nas, func(t *testing.T) {
			session := "speed-" + tc.nas
			e.learn(tc.nasIP, "user-"+tc.nas, session, "")
			target := func(p enforcement.Profile) enforcement.Target {
				return enforcement.Target{ServiceID: "svc-" + tc.nas, Binding: enforcement.Binding{RADIUSUsername: "user-" + tc.nas}, Profile: &p}
			}
			for _, op := range []func() error{
				func() error { return e.driver.Restore(ctx, target(plan)) },
				func() error { return e.driver.Restore(ctx, target(upgrade)) },
				func() error { return e.driver.Throttle(ctx, target(throttle)) },
				func() error { return e.driver.Restore(ctx, target(plan)) },
			} {
				if err := op(); err != nil {
					t.Fatal(err)
				}
			}
			rs := e.recordsFor(t, session, len(tc.want))
			for i, r := range rs {
				if got := r.Type + " " + tc.attr + "=" + joinVals(r.Attrs[tc.attr]); got != tc.want[i] {
					t.Errorf("request #%d: %s, want %s", i+1, got, tc.want[i])
				}
			}
			if p, err := e.driver.ObserveProfile(ctx, target(plan)); err != nil || !p.Equal(&plan) {
				t.Fatalf("read back %+v, %v", p, err)
			}
		})
	}
}
