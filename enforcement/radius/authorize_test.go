package radius

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"layeh.com/radius/rfc2866"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// noAnswerNAS is a UDP socket that reads requests and never answers.
func noAnswerNAS(t *testing.T) (addr string, got <-chan struct{}) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan struct{}, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return c.LocalAddr().String(), ch
}

// TestAuthorizeFollowsTheDriverAtOnce: the authorize endpoint answers from
// the driver's own record, which changes before the first request reaches
// a NAS: while a restore's Disconnect-Request is still unanswered, the
// subscriber's re-authentication already gets the normal answer (and a
// suspension's CoA, the walled one). Framed-IP-Address and, when
// configured, Calling-Station-Id match too; Observe reads the same answer,
// and a suspension with no session is pending, a restore is not.
func TestAuthorizeFollowsTheDriverAtOnce(t *testing.T) {
	nasAddr, sent := noAnswerNAS(t)
	tab := radiusproto.NewSessions(radiusproto.SessionsConfig{})
	d, err := NewDriver([]NASConfig{{Name: "bras", Address: nasAddr, NASIP: []string{"10.0.0.1"}, Profile: ProfileMikrotikAddressList,
		Secret: radiusproto.Secret{SecretFile: writeSecret(t, "x")}, Timeout: 500 * time.Millisecond, Retries: -1}}, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h, err := NewAuthorizeHandler(d, AuthorizeConfig{MatchCallingStationID: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ask := func(body string) int {
		t.Helper()
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	alice := enforcement.Target{ServiceID: "1", Binding: enforcement.Binding{RADIUSUsername: "alice"}}
	ipoe := enforcement.Target{ServiceID: "2", Binding: enforcement.Binding{Addresses: []string{"100.64.0.9"}}}
	mac := enforcement.Target{ServiceID: "3", Binding: enforcement.Binding{RADIUSUsername: "00-11-22-33-44-55"}}
	d.Preload(alice, enforcement.Suspended) // as the agent does at start
	tab.Apply(radiusproto.AccountingRecord{StatusType: uint32(rfc2866.AcctStatusType_Value_Start), UserName: "alice", SessionID: "a-1", NASIP: netip.MustParseAddr("10.0.0.1")}, netip.MustParseAddr("10.0.0.1"))
	tab.SetState(radiusproto.SessionKey{NAS: "10.0.0.1", UserName: "alice", ID: "a-1"}, enforcement.Suspended, radiusproto.SourceNAS)
	if code := ask(`{"User-Name":{"value":["alice"]}}`); code != 200 {
		t.Fatalf("preloaded suspended user: %d", code)
	}

	// Restore: the Disconnect-Request goes unanswered for 500 ms; while it
	// waits, re-auth is already normal.
	done := make(chan error, 1)
	go func() { done <- d.Restore(context.Background(), alice) }()
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Fatal("the NAS got no request")
	}
	if code := ask(`{"User-Name":{"value":["alice"]}}`); code != http.StatusNoContent {
		t.Fatalf("re-auth while the restore's Disconnect-Request is in flight: %d, want 204", code)
	}
	if err := <-done; err == nil {
		t.Fatal("restore against a NAS that never answers succeeded")
	}

	// Framed address, no User-Name, and Calling-Station-Id.
	if err := d.Suspend(context.Background(), ipoe); err != nil {
		t.Fatal(err)
	}
	if err := d.Suspend(context.Background(), mac); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]int{
		`{"Framed-IP-Address":{"value":["100.64.0.9"]}}`:                                     200,
		`{"User-Name":{"value":["aa:bb"]},"Framed-IP-Address":{"value":["100.64.0.9"]}}`:     200,
		`{"Framed-IP-Address":{"value":["100.64.0.10"]}}`:                                    204,
		`{"User-Name":{"value":["x"]},"Calling-Station-Id":{"value":["00:11:22:33:44:55"]}}`: 200,
		`{"Calling-Station-Id":{"value":["00:11:22:33:44:56"]}}`:                             204,
		`{"NAS-IP-Address":{"value":["10.0.0.1"]}}`:                                          400,
		`{"Framed-IP-Address":{"value":["not-an-ip"]}}`:                                      400,
	} {
		if code := ask(body); code != want {
			t.Errorf("%s: %d, want %d", body, code, want)
		}
	}

	// Observe and Pending: no session, suspended → suspended and pending;
	// restored → active, not pending.
	if st, err := d.Observe(context.Background(), ipoe); err != nil || st != enforcement.Suspended {
		t.Fatalf("observe ipoe: %s %v", st, err)
	}
	if why := d.Pending(ipoe, enforcement.Suspended); why != PendingReason {
		t.Fatalf("pending of a suspension with no session: %q", why)
	}
	if err := d.Restore(context.Background(), ipoe); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Observe(context.Background(), ipoe); st != enforcement.Active || d.Pending(ipoe, enforcement.Active) != "" {
		t.Fatalf("restored ipoe: %s, pending %q", st, d.Pending(ipoe, enforcement.Active))
	}
	if code := ask(`{"Framed-IP-Address":{"value":["100.64.0.9"]}}`); code != 204 {
		t.Fatalf("restored framed address: %d", code)
	}
}

// FuzzParseAuthorizeRequest: rlm_rest bodies (JSON, form) and query
// strings never panic the parser; a user name it returns is never empty.
func FuzzParseAuthorizeRequest(f *testing.F) {
	f.Add("application/json", []byte(`{"User-Name":{"type":"string","value":["bob"]},"NAS-IP-Address":{"type":"ipaddr","value":["10.0.0.1"]}}`), "")
	f.Add("application/x-www-form-urlencoded", []byte(`User-Name=bob&NAS-IP-Address=10.0.0.1`), "")
	f.Add("", []byte(nil), "User-Name=bob")
	f.Add("application/json", []byte(`{"User-Name":"bob","NAS-Identifier":{"value":[1]}}`), "")
	f.Fuzz(func(t *testing.T, ct string, body []byte, query string) {
		q, _ := url.ParseQuery(query)
		req, err := parseAuthorizeRequest(ct, body, q)
		if err == nil && req.UserName == "" {
			t.Fatal("accepted a request without a user name")
		}
	})
}

// The endpoint answers by state and profile: a service matched by its
// User-Name and another by its address for the same request give the
// suspended one's answer, then the throttled one's; Juniper's rate service
// and redirect travel under two tags, both added (+=, since := would let
// the second replace the first); Preload fills it with profiles; a
// throttle with no session is pending and reads back its profile.
func TestAuthorizeAnswersStateAndSpeed(t *testing.T) {
	tab := radiusproto.NewSessions(radiusproto.SessionsConfig{})
	d, err := NewDriver([]NASConfig{{Name: "mx", Address: "127.0.0.1:1", NASIP: []string{"10.0.0.3"}, Profile: ProfileJuniperERX,
		Secret: radiusproto.Secret{SecretFile: writeSecret(t, "x")}}}, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h, err := NewAuthorizeHandler(d, AuthorizeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ask := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := http.PostForm(srv.URL, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	plan := &enforcement.Profile{Name: "p.v1", DownloadRate: 100_000_000, UploadRate: 20_000_000}
	throttle := &enforcement.Profile{Name: "t.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
	byUser := enforcement.Target{ServiceID: "a", Binding: enforcement.Binding{RADIUSUsername: "ann"}, Profile: plan}
	byIP := enforcement.Target{ServiceID: "b", Binding: enforcement.Binding{Addresses: []string{"100.64.0.0/30"}}, Profile: throttle}
	d.Preload(byUser, enforcement.Active)
	d.Preload(byIP, enforcement.Throttled)

	code, body := ask(url.Values{"User-Name": {"ann"}})
	if code != http.StatusOK || body != `{"reply:ERX-Service-Activate:1":{"op":":=","do_xlat":false,"is_json":false,"value":["tollgate-rate(20000000,100000000)"]}}` {
		t.Fatalf("active with a profile: %d %s", code, body)
	}
	code, body = ask(url.Values{"User-Name": {"ann"}, "Framed-IP-Address": {"100.64.0.2"}})
	if code != http.StatusOK || !strings.Contains(body, `"reply:ERX-Service-Activate:1":{"op":"+=","do_xlat":false,"is_json":false,"value":["tollgate-rate(1000000,1000000)"]}`) ||
		!strings.Contains(body, `"reply:ERX-Service-Activate:2":{"op":"+=","do_xlat":false,"is_json":false,"value":["tollgate-throttled"]}`) {
		t.Fatalf("the throttled service wins over the active one: %d %s", code, body)
	}
	if err := d.Suspend(t.Context(), byUser); err != nil { // no session: nothing sent
		t.Fatal(err)
	}
	if code, body = ask(url.Values{"User-Name": {"ann"}, "Framed-IP-Address": {"100.64.0.2"}}); code != http.StatusOK || body != `{"reply:ERX-Service-Activate:1":{"op":":=","do_xlat":false,"is_json":false,"value":["tollgate-suspended"]}}` {
		t.Fatalf("the suspended service wins: %d %s", code, body)
	}
	// Restored without a profile: nothing to add.
	byUser.Profile = nil
	if err := d.Restore(t.Context(), byUser); err != nil {
		t.Fatal(err)
	}
	if code, _ = ask(url.Values{"User-Name": {"ann"}}); code != http.StatusNoContent {
		t.Fatalf("active without a profile: %d", code)
	}

	if got := d.Pending(byIP, enforcement.Throttled); got != PendingReason {
		t.Fatalf("a throttle with no session: pending %q", got)
	}
	if st, err := d.Observe(t.Context(), byIP); err != nil || st != enforcement.Throttled {
		t.Fatalf("observe: %q, %v", st, err)
	}
	if p, err := d.ObserveProfile(t.Context(), byIP); err != nil || !p.Equal(throttle) {
		t.Fatalf("observe profile: %+v, %v", p, err)
	}
	if err := d.Throttle(t.Context(), enforcement.Target{ServiceID: "c", Binding: enforcement.Binding{RADIUSUsername: "c"}}); err == nil {
		t.Fatal("a throttle without a profile was accepted")
	}
}
