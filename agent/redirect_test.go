package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/logdriver"
	"github.com/tollgate-isp/tollgate/internal/clock"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

const testPOP = "pop-r"

var testMaster = []byte("0123456789abcdef0123456789abcdef")

// newTestAgent returns an agent for testPOP with its state in a temporary
// file, not connected to any controller, on clk.
func newTestAgent(t testing.TB, clk clock.Clock) *Agent {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(Config{POP: testPOP, StateFile: filepath.Join(t.TempDir(), "state.db")}, nil,
		map[string]enforcement.Driver{"log": logdriver.New(log)}, log, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	// As if the controller's first snapshot (empty) had arrived: a new
	// file serves no redirects until then.
	if err := a.store.commit(&batch{}, setRevision, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return a
}

// put stores services as the controller's desired state.
func put(t testing.TB, a *Agent, services ...*pb.Service) {
	t.Helper()
	var b batch
	for _, s := range services {
		b.puts = append(b.puts, &Record{Desired: s})
	}
	if err := a.store.commit(&b, keepRevision, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
}

func bound(id string, state pb.DesiredState, addrs ...string) *pb.Service {
	return &pb.Service{ServiceId: id, DesiredState: state, Revision: 1, Binding: &pb.Binding{Method: "log", Addresses: addrs}}
}

func testSettings(ttl int64) *pb.Redirect {
	k := captive.DeriveKey(testMaster, testPOP)
	// The trailing slash must not double in the Location.
	return &pb.Redirect{PortalUrl: "https://pay.isp.example/portal/", KeyId: k.ID, Key: k.Secret, TokenTtlSeconds: ttl}
}

// get sends a request from remote to rs for target.
func get(rs http.Handler, method, remote, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	rs.ServeHTTP(w, r)
	return w
}

// tokenOf checks that w is a redirect to the portal and returns the token's
// verified claims at now.
func tokenOf(t *testing.T, w *httptest.ResponseRecorder, now time.Time) captive.Claims {
	t.Helper()
	if w.Code != http.StatusFound {
		t.Fatalf("status %d, want 302; body %q", w.Code, w.Body)
	}
	tok, ok := strings.CutPrefix(w.Header().Get("Location"), "https://pay.isp.example/portal/c/")
	if !ok {
		t.Fatalf("Location %q is not the portal's /c/ URL", w.Header().Get("Location"))
	}
	c, err := captive.Verify(tok, now, captive.DeriveKey(testMaster, testPOP))
	if err != nil {
		t.Fatalf("the portal would refuse the token: %v", err)
	}
	return c
}

var serviceIDs = regexp.MustCompile(`\b(1[1-9]|2[0-9])\b`)

func TestResponder(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	a := newTestAgent(t, clk)
	rs := NewResponder(a)
	put(t, a,
		bound("11", suspended, "100.64.0.11"),
		bound("12", suspended, "10.0.0.12/29"), // not masked: 10.0.0.8/29
		bound("13", suspended, "2001:db8:13::/56"),
		bound("14", active, "100.64.0.14", "2001:db8:14::1"),
		bound("15", suspended, "10.0.0.9"), // an exact address inside 12's prefix
		bound("16", active, "10.0.0.0/24"), // a shorter prefix around 12's
		bound("17", suspended, "100.64.0.77"),
		bound("18", active, "100.64.0.77", "100.64.0.18"), // shares .77 with 17
		bound("abc", suspended, "100.64.0.99"),            // not a service id
		bound("20", suspended, "2001:db8::20", "100.64.0.20/32"),
		bound("21", pb.DesiredState_DESIRED_STATE_UNSPECIFIED, "100.64.0.21"),
		&pb.Service{ServiceId: "19", Removed: true, DesiredState: active, Binding: &pb.Binding{Method: "log", Addresses: []string{"100.64.0.19"}}},
	)
	a.applyRedirect(testSettings(120))
	neutral := get(rs, "GET", "192.0.2.1:1", "/").Body.String()

	cases := []struct {
		name, method, remote, target string
		want                         string // "redirect", "active", "neutral"
		service                      int64  // redirect: the token's service
		retry                        string // active: the "try again" link
	}{
		{"suspended, exact, captive probe", "GET", "100.64.0.11:40000", "http://captive.apple.com/hotspot-detect.html", "redirect", 11, ""},
		{"suspended, POST", "POST", "100.64.0.11:40000", "http://example.com/form", "redirect", 11, ""},
		{"suspended, IPv4-mapped peer", "GET", "[::ffff:100.64.0.11]:40000", "/", "redirect", 11, ""},
		{"suspended, in prefix", "GET", "10.0.0.14:5000", "http://example.com/", "redirect", 12, ""},
		{"exact beats prefix", "GET", "10.0.0.9:5000", "http://example.com/", "redirect", 15, ""},
		{"longest prefix wins", "GET", "10.0.0.8:5000", "/", "redirect", 12, ""},
		{"suspended, IPv6 prefix", "GET", "[2001:db8:13:ff::1]:5000", "http://example.com/", "redirect", 13, ""},
		{"suspended, IPv6 exact", "GET", "[2001:db8::20]:5000", "/", "redirect", 20, ""},
		{"suspended, /32", "GET", "100.64.0.20:5000", "/", "redirect", 20, ""},
		{"active, exact", "GET", "100.64.0.14:1234", "http://example.com/news?id=7", "active", 0, "http://example.com/news?id=7"},
		{"active, IPv6", "GET", "[2001:db8:14::1]:1234", "http://example.com:8000/a%20b", "active", 0, "http://example.com:8000/a%20b"},
		{"active, outer prefix", "GET", "10.0.0.200:1234", "http://example.com/", "active", 0, "http://example.com/"},
		{"active, HEAD", "HEAD", "100.64.0.18:1234", "http://example.com/", "active", 0, ""},
		{"active, https absolute-form", "GET", "100.64.0.14:1234", "https://bank.example/", "active", 0, ""},
		{"unknown address", "GET", "100.64.0.200:1234", "http://example.com/", "neutral", 0, ""},
		{"outside every prefix", "GET", "10.0.1.1:1234", "/", "neutral", 0, ""},
		{"unknown IPv6", "GET", "[2001:db8:14::2]:1234", "/", "neutral", 0, ""},
		{"shared by two services", "GET", "100.64.0.77:1234", "/", "neutral", 0, ""},
		{"non-numeric service id", "GET", "100.64.0.99:1234", "/", "neutral", 0, ""},
		{"removed service", "GET", "100.64.0.19:1234", "/", "neutral", 0, ""},
		{"no desired state", "GET", "100.64.0.21:1234", "/", "neutral", 0, ""},
		{"X-Forwarded-For is not trusted", "GET", "192.0.2.1:1234", "/", "neutral", 0, ""},
		{"unparsable peer", "GET", "pipe", "/", "neutral", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			r.RemoteAddr = tc.remote
			r.Header.Set("X-Forwarded-For", "100.64.0.11")
			r.Header.Set("Forwarded", "for=100.64.0.11")
			w := httptest.NewRecorder()
			rs.ServeHTTP(w, r)
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			body := w.Body.String()
			if len(body) > 1024 {
				t.Errorf("%d-byte body; responses are meant to be tiny", len(body))
			}
			switch tc.want {
			case "redirect":
				c := tokenOf(t, w, now)
				if c.ServiceID != tc.service || c.POP != testPOP || !c.Expires.Equal(now.Add(2*time.Minute)) {
					t.Fatalf("token claims %+v, want service %d of %s expiring at %s", c, tc.service, testPOP, now.Add(2*time.Minute))
				}
			case "active":
				if w.Code != http.StatusOK || w.Header().Get("Location") != "" {
					t.Fatalf("status %d, Location %q", w.Code, w.Header().Get("Location"))
				}
				if tc.method == "HEAD" {
					if body != "" || w.Header().Get("Content-Length") == "0" {
						t.Fatalf("HEAD: body %q, Content-Length %q", body, w.Header().Get("Content-Length"))
					}
					return
				}
				if !strings.Contains(body, "service is active") {
					t.Fatalf("active page: %q", body)
				}
				link := regexp.MustCompile(`href="([^"]*)"`).FindStringSubmatch(body)
				switch {
				case tc.retry == "" && link != nil:
					t.Fatalf("a retry link %q for %s", link[1], tc.target)
				case tc.retry != "" && (link == nil || link[1] != tc.retry):
					t.Fatalf("retry link %v, want %q", link, tc.retry)
				}
			case "neutral":
				if w.Code != http.StatusOK || w.Header().Get("Location") != "" {
					t.Fatalf("status %d, Location %q", w.Code, w.Header().Get("Location"))
				}
				if body != neutral {
					t.Fatalf("body differs from the neutral page: %q", body)
				}
				if m := serviceIDs.FindString(body); m != "" || strings.Contains(body, testPOP) {
					t.Fatalf("the neutral page names a service or the POP (%q): %q", m, body)
				}
			}
		})
	}
	want := map[string]float64{resultRedirected: 9, resultActive: 5, resultUnknown: 9 + 1} // +1: the reference neutral page
	for result, n := range want {
		if got := testutil.ToFloat64(a.metrics.redirects.WithLabelValues(result)); got != n {
			t.Errorf("tollgate_agent_redirects_total{result=%q} = %v, want %v", result, got, n)
		}
	}
}

// TestResponderFollowsTheStore: a restore or a suspension stored after the
// index was built is seen by the next request.
func TestResponderFollowsTheStore(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a := newTestAgent(t, clock.NewFixed(now))
	rs := NewResponder(a)
	a.applyRedirect(testSettings(60))
	put(t, a, bound("11", suspended, "100.64.0.11"), bound("12", active, "100.64.0.12"))
	if c := tokenOf(t, get(rs, "GET", "100.64.0.11:1", "/"), now); c.ServiceID != 11 {
		t.Fatalf("token for %d", c.ServiceID)
	}
	put(t, a, bound("11", active, "100.64.0.11"), bound("12", suspended, "100.64.0.12"), bound("13", suspended, "100.64.0.13"))
	if w := get(rs, "GET", "100.64.0.11:1", "/"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "service is active") {
		t.Fatalf("restored service: %d %q", w.Code, w.Body)
	}
	for _, id := range []int64{12, 13} {
		if c := tokenOf(t, get(rs, "GET", fmt.Sprintf("100.64.0.%d:1", id), "/"), now); c.ServiceID != id {
			t.Fatalf("token for %d, want %d", c.ServiceID, id)
		}
	}
	// A service that moves to another address is found at the new one only.
	put(t, a, bound("13", suspended, "100.64.1.13"))
	if w := get(rs, "GET", "100.64.0.13:1", "/"); w.Code != http.StatusOK {
		t.Fatalf("old address: %d", w.Code)
	}
	if c := tokenOf(t, get(rs, "GET", "100.64.1.13:1", "/"), now); c.ServiceID != 13 {
		t.Fatalf("token for %d", c.ServiceID)
	}
}

// TestResponderSettings: without settings a suspended subscriber gets the
// neutral page; settings take effect at once, invalid ones are ignored, and
// empty ones clear them.
func TestResponderSettings(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a := newTestAgent(t, clock.NewFixed(now))
	rs := NewResponder(a)
	put(t, a, bound("11", suspended, "100.64.0.11"))
	neutral := func(what string) {
		t.Helper()
		w := get(rs, "GET", "100.64.0.11:1", "/")
		if w.Code != http.StatusOK || w.Header().Get("Location") != "" || !strings.Contains(w.Body.String(), "contact your Internet provider") {
			t.Fatalf("%s: %d %q", what, w.Code, w.Body)
		}
	}
	neutral("no settings")
	if got := testutil.ToFloat64(a.metrics.redirects.WithLabelValues(resultNoConfig)); got != 1 {
		t.Fatalf("no_config counted %v times", got)
	}

	a.applyRedirect(testSettings(0))
	if c := tokenOf(t, get(rs, "GET", "100.64.0.11:1", "/"), now); !c.Expires.Equal(now.Add(defaultTokenTTL)) {
		t.Fatalf("no TTL in the settings: token expires %s, want the default %s later", c.Expires, defaultTokenTTL)
	}
	for _, bad := range []*pb.Redirect{
		{PortalUrl: "javascript:alert(1)", KeyId: "k", Key: make([]byte, 32)},
		{PortalUrl: "https://pay.isp.example/?x=1", KeyId: "k", Key: make([]byte, 32)},
		{PortalUrl: "https://pay.isp.example/", KeyId: "k", Key: []byte("short")},
		{PortalUrl: "https://pay.isp.example/", Key: make([]byte, 32)},
	} {
		a.applyRedirect(bad)
		tokenOf(t, get(rs, "GET", "100.64.0.11:1", "/"), now) // still the valid settings
	}
	a.applyRedirect(&pb.Redirect{})
	neutral("cleared settings")
}

// TestResponderTokenTTL: tokens expire the settings' TTL after the agent's
// clock says they were minted.
func TestResponderTokenTTL(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(start)
	a := newTestAgent(t, clk)
	rs := NewResponder(a)
	put(t, a, bound("11", suspended, "100.64.0.11"))
	a.applyRedirect(testSettings(90))
	w := get(rs, "GET", "100.64.0.11:1", "/")
	tokenOf(t, w, start.Add(89*time.Second))
	tok := strings.TrimPrefix(w.Header().Get("Location"), "https://pay.isp.example/portal/c/")
	if _, err := captive.Verify(tok, start.Add(90*time.Second), captive.DeriveKey(testMaster, testPOP)); !errors.Is(err, captive.ErrExpired) {
		t.Fatalf("verify at expiry: %v, want ErrExpired", err)
	}
	clk.Add(time.Hour)
	if c := tokenOf(t, get(rs, "GET", "100.64.0.11:1", "/"), start.Add(time.Hour)); !c.Expires.Equal(start.Add(time.Hour + 90*time.Second)) {
		t.Fatalf("an hour later the token expires %s", c.Expires)
	}
	// Another POP's key cannot verify it.
	if _, err := captive.Verify(tok, start, captive.DeriveKey(testMaster, "pop-other")); !errors.Is(err, captive.ErrUnknownKey) {
		t.Fatalf("verify with another POP's key: %v", err)
	}
}

// TestRedirectSettingsSurviveReopen: the settings are in the state file.
func TestRedirectSettingsSurviveReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenStore(path, testPOP)
	if err != nil {
		t.Fatal(err)
	}
	want := testSettings(60)
	if err := s.setRedirect(want); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenStore(path, testPOP)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.redirectSettings(); got.GetKeyId() != want.KeyId || string(got.GetKey()) != string(want.Key) || got.GetPortalUrl() != want.PortalUrl {
		t.Fatalf("reopened: %v", got)
	}
	if err := s.setRedirect(nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenStore(path, testPOP)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.redirectSettings(); got != nil {
		t.Fatalf("cleared settings came back: %v", got)
	}
}

// BenchmarkResponder measures a request against 100,000 services (half of
// them suspended, a tenth bound by prefix), and the index rebuild that the
// first request after a change pays.
func BenchmarkResponder(b *testing.B) {
	const n = 100_000
	a := newTestAgent(b, clock.Real{})
	rs := NewResponder(a)
	a.applyRedirect(testSettings(60))
	for i := 0; i < n; i += chunkSize {
		var svcs []*pb.Service
		for j := i; j < min(i+chunkSize, n); j++ {
			state, addr := active, fmt.Sprintf("100.%d.%d.%d", 64+j>>16, j>>8&255, j&255)
			if j%2 == 0 {
				state = suspended
			}
			if j%10 == 0 {
				addr = fmt.Sprintf("2001:db8:%x::/48", j)
			}
			svcs = append(svcs, bound(strconv.Itoa(j+1), state, addr))
		}
		put(b, a, svcs...)
	}
	b.Run("request", func(b *testing.B) {
		get(rs, "GET", "100.64.0.1:1", "/") // build the index
		for i := 0; b.Loop(); i++ {
			j := i % n
			if w := get(rs, "GET", fmt.Sprintf("100.%d.%d.%d:1", 64+j>>16, j>>8&255, j&255), "/"); w.Code == 0 {
				b.Fatal("no answer")
			}
		}
	})
	b.Run("rebuild", func(b *testing.B) {
		for b.Loop() {
			if _, err := buildIndex(a.store, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestResponderConcurrent: requests racing changes to the store and to the
// settings each get a consistent answer (run with -race).
func TestResponderConcurrent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a := newTestAgent(t, clock.NewFixed(now))
	rs := NewResponder(a)
	a.applyRedirect(testSettings(60))
	put(t, a, bound("11", suspended, "100.64.0.11"))
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				w := get(rs, "GET", "100.64.0.11:1", "/")
				switch w.Code {
				case http.StatusFound:
					tok := strings.TrimPrefix(w.Header().Get("Location"), "https://pay.isp.example/portal/c/")
					if c, err := captive.Verify(tok, now, captive.DeriveKey(testMaster, testPOP)); err != nil || c.ServiceID != 11 {
						errs <- fmt.Errorf("token %+v, %v", c, err)
						return
					}
				case http.StatusOK:
				default:
					errs <- fmt.Errorf("status %d", w.Code)
					return
				}
			}
		}()
	}
	for i := range 30 {
		state := active
		if i%2 == 1 {
			state = suspended
		}
		put(t, a, bound("11", state, "100.64.0.11"))
		a.applyRedirect(testSettings(int64(60 + i%2)))
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// The last change is seen.
	if c := tokenOf(t, get(rs, "GET", "100.64.0.11:1", "/"), now); c.ServiceID != 11 {
		t.Fatalf("token for %d", c.ServiceID)
	}
}

// TestResponderRedirectsThrottled: a throttled subscriber's plain HTTP
// (which the router sends to the responder for the throttle list) lands
// on their account, as a suspended subscriber's does.
func TestResponderRedirectsThrottled(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a := newTestAgent(t, clock.NewFixed(now))
	rs := NewResponder(a)
	put(t, a, bound("31", pb.DesiredState_DESIRED_STATE_THROTTLED, "100.64.3.31"), bound("32", active, "100.64.3.32"))
	a.applyRedirect(testSettings(120))
	if c := tokenOf(t, get(rs, "GET", "100.64.3.31:4000", "http://example.com/"), now); c.ServiceID != 31 {
		t.Fatalf("token names service %d, want 31", c.ServiceID)
	}
	if w := get(rs, "GET", "100.64.3.32:4000", "http://example.com/"); w.Code != http.StatusOK {
		t.Fatalf("an active neighbour got %d", w.Code)
	}
}
