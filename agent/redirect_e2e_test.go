package agent_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/push"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// TestRedirectResponderEndToEnd: the controller hands the agent its POP's
// redirect settings over the stream; a suspended subscriber's HTTP request
// to the responder (over real TCP, from the service's address) is
// redirected to the portal with a token the portal accepts; and after a
// restart with the controller gone, the agent still redirects with the
// settings from its state file.
func TestRedirectResponderEndToEnd(t *testing.T) {
	t.Parallel()
	const pop = "pop-w"
	master := []byte("an example master secret, 32+ bytes long")
	key := captive.DeriveKey(master, pop)
	c := startController(t, push.WithRedirect(func(p string) *pb.Redirect {
		if p != pop {
			return nil
		}
		k := captive.DeriveKey(master, p)
		return &pb.Redirect{PortalUrl: "http://portal.isp.example/p", KeyId: k.ID, Key: k.Secret, TokenTtlSeconds: 300}
	}))
	ctx := context.Background()
	// The test's HTTP client connects from 127.0.0.1: that is the
	// subscriber's address.
	s, err := c.db.CreateService(ctx, billing.NewService{POP: pop, Binding: billing.Binding{Method: "log", Addresses: []string{"127.0.0.1"}}}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s = set(t, c.db, s.ID, billing.StateSuspended)

	stateFile := filepath.Join(t.TempDir(), "state.db")
	dev := newDevice()
	a := runAgent(t, c.addr, pop, stateFile, dev)
	waitConfirmed(t, c.db, s.ID, 10*time.Second)
	checkRedirects(t, a.Agent, s.ID, key)

	// The controller goes away and the agent restarts without it.
	a.stop()
	c.srv.Stop()
	a = runAgent(t, deadAddr(t), pop, stateFile, dev)
	checkRedirects(t, a.Agent, s.ID, key)
}

// checkRedirects serves a's responder on loopback and checks that GET and
// HEAD from 127.0.0.1 are redirected to the portal with a valid token for
// service id.
func checkRedirects(t *testing.T, a *agent.Agent, id int64, key captive.Key) {
	t.Helper()
	srv := httptest.NewServer(agent.NewResponder(a))
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, method := range []string{"GET", "HEAD"} {
		req, err := http.NewRequest(method, srv.URL+"/generate_204", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "connectivitycheck.gstatic.com"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: status %d, Cache-Control %q", method, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		tok, ok := strings.CutPrefix(resp.Header.Get("Location"), "http://portal.isp.example/p/c/")
		if !ok {
			t.Fatalf("%s: Location %q", method, resp.Header.Get("Location"))
		}
		claims, err := captive.Verify(tok, time.Now(), key)
		if err != nil {
			t.Fatalf("%s: the portal would refuse the token: %v", method, err)
		}
		if claims.ServiceID != id || claims.POP != key.POP {
			t.Fatalf("%s: token for service %d of %s, want %d of %s", method, claims.ServiceID, claims.POP, id, key.POP)
		}
		if _, err := captive.Verify(tok, time.Now().Add(301*time.Second), key); !errors.Is(err, captive.ErrExpired) {
			t.Fatalf("%s: the token is still accepted after its 300 s TTL: %v", method, err)
		}
	}
}
