package routeros_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement/enforcementtest"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// The conformance suite against the simulator over the plain API, with two
// routers configured (bindings name theirs) and the other router checked
// untouched.
func TestConformanceAPI(t *testing.T) {
	a := startSim(t, routerossim.Config{})
	b := startSim(t, routerossim.Config{})
	d := newDriver(t, routerConfig(t, "pop-a", a), routerConfig(t, "pop-b", b))
	p := &peer{sim: b, device: "pop-b"}
	enforcementtest.Run(t, d, p)
	enforcementtest.RunShaper(t, d, p)
	if n := a.Count(""); n != 0 {
		t.Fatalf("the other router has %d entries", n)
	}
	if q := a.SimpleQueues(); len(q) != 0 {
		t.Fatalf("the other router has %d simple queues", len(q))
	}
}

// The suite over API-SSL, the router's certificate trusted through
// tls.ca_file, and a binding with no Device going to the only router.
func TestConformanceAPISSL(t *testing.T) {
	srvTLS, caPEM, err := routerossim.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	sim := startSim(t, routerossim.Config{TLS: srvTLS, EmptyReplies: true})
	caFile := filepath.Join(t.TempDir(), "router-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	rc := routerConfig(t, "core", sim)
	rc.TLS = routeros.TLSConfig{Enabled: true, CAFile: caFile}
	d := newDriver(t, rc)
	enforcementtest.Run(t, d, &peer{sim: sim})
	enforcementtest.RunShaper(t, d, &peer{sim: sim})
	if st := sim.Stats(); st.Logins != 1 {
		t.Fatalf("%d logins: the driver should keep one connection", st.Logins)
	}
}
