package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// learnedAddr is the address the DHCP server leased to the subscriber: in
// 127/8, so that the test can open a connection from it (as the router's
// dst-nat would, from the subscriber's address) without network set-up.
const learnedAddr = "127.0.77.30"

// TestLearnedAddressIsSuspendedAndRedirected: a suspended RouterOS-bound
// service created with allocate: learned has no address of its own, so
// nothing of it is on the router; the POP's agent is pointed at a Kea
// lease file (memfile CSV, match: hostname) and, once the lease naming
// the service ("service-<id>") is in the file, the agent reports the
// address, the controller puts it in the service's binding, and the
// subscriber's learned address appears on the simulator's suspended
// list. The agent's redirect responder then recognises a plain HTTP
// request from that address (the TCP source) and sends it to the portal
// with a token.
func TestLearnedAddressIsSuspendedAndRedirected(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	portalURL := "http://" + httpAddr + "/portal"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "controller.yaml")
	write(t, cfg, fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 500ms}
dev: {clock_api: true, clock_start: "2027-02-20T12:00:00Z"}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
company: {name: "Prairie Fiber"}
portal:
  public_url: %q
`, dbURL, httpAddr, grpcAddr, adminToken, portalURL))
	start(t, "tollgate-controller", []string{"TOLLGATE_PORTAL_SECRETS=" + strings.Repeat("e2e-portal-secret-", 3)}, "--config", cfg)
	base := "http://" + httpAddr
	waitHTTP(t, base+"/readyz", 200, 60*time.Second)
	api := client.New(base, adminToken)

	// The lease file starts with its header only: the DHCP server has
	// leased nothing yet.
	const keaHeader = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n"
	leaseFile := filepath.Join(dir, "kea-leases4.csv")
	write(t, leaseFile, keaHeader)
	responderAddr := freeAddr(t)
	pop := startRouterPOPWith(t, "north-1", grpcAddr, fmt.Sprintf(`redirect: {listen: %q}
leases: {file: %q, format: kea, match: hostname, interval: 200ms}`, responderAddr, leaseFile))

	svc, err := api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north-1", Name: "dynamic fiber",
		State: billing.StateSuspended, Allocate: billing.AllocateLearned,
		Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge"}})
	must(t, err)
	if len(svc.Binding.Addresses) != 0 {
		t.Fatalf("a learned service was created with addresses %v", svc.Binding.Addresses)
	}
	// Nothing to list yet: the agent applied the service and listed no
	// address for it.
	waitFor(t, 15*time.Second, "the agent to apply the address-less service", func() bool {
		return metricOr0(t, "http://"+pop.metricsAddr+"/metrics", "tollgate_agent_applied_revision") >= 1
	})
	if n := pop.sim.Count(suspendedList); n != 0 {
		t.Fatalf("before any lease the router lists %+v", pop.sim.Entries(suspendedList))
	}
	// Before the lease, the responder does not know the address.
	if res := getFrom(t, learnedAddr, responderAddr); res.StatusCode == http.StatusFound {
		t.Fatalf("the responder redirected an address nobody holds to %s", res.Header.Get("Location"))
	}

	// The DHCP server leases the subscriber an address (Kea appends).
	f, err := os.OpenFile(leaseFile, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = fmt.Fprintf(f, "%s,00:1a:2b:3c:4d:61,,3600,4102444800,1,0,0,service-%d,0,,0\n", learnedAddr, svc.ID)
	must(t, err)
	must(t, f.Close())

	waitFor(t, 15*time.Second, "the learned address on the router's suspended list", func() bool { return pop.listed(learnedAddr) })
	s, err := api.Service(ctx, svc.ID)
	must(t, err)
	if !slices.Contains(s.LearnedAddresses, learnedAddr) && !slices.Contains(s.LearnedAddresses, learnedAddr+"/32") {
		t.Errorf("the service's learned addresses are %v, want %s", s.LearnedAddresses, learnedAddr)
	}
	waitFor(t, 15*time.Second, "the suspension with the learned address confirmed", func() bool {
		s, err := api.Service(ctx, svc.ID)
		return err == nil && s.Confirmed()
	})

	// The router dst-nats the subscriber's plain HTTP to the responder,
	// from the learned address: a redirect to the portal.
	res := getFrom(t, learnedAddr, responderAddr)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, portalURL+"/c/") {
		t.Fatalf("the responder answered the learned address %d, Location %q; want 302 to %s/c/<token>", res.StatusCode, loc, portalURL)
	}
	// A neighbour's address without a lease is still not redirected.
	if res := getFrom(t, "127.0.77.31", responderAddr); res.StatusCode == http.StatusFound {
		t.Errorf("the responder redirected an unknown address to %s", res.Header.Get("Location"))
	}
}

// getFrom makes a plain HTTP request for a web page, as a subscriber's
// browser would, to the responder at addr from the source address src
// (the router's dst-nat keeps the subscriber's address); it does not
// follow redirects.
func getFrom(t *testing.T, src, addr string) *http.Response {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr) // dst-nat
			}}}
	res, err := c.Get("http://news.example.com/today")
	if err != nil {
		t.Fatalf("GET from %s through the responder: %v", src, err)
	}
	res.Body.Close()
	return res
}
