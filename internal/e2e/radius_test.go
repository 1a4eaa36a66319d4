package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	"github.com/tollgate-isp/tollgate/internal/radiustest"
)

// radiusPOP is a POP whose agent enforces through RADIUS against real
// FreeRADIUS: one FreeRADIUS is the NAS (it receives the agent's CoA and
// Disconnect-Requests and records them), another is the ISP's RADIUS
// server, whose authorize section calls the real agent's authorize
// endpoint through rlm_rest. Accounting reaches the agent from radclient,
// as a NAS would send it.
type radiusPOP struct {
	t         *testing.T
	pop       string
	ctrl      *fsController
	nas       *radiustest.Server
	aaa       *radiustest.Server
	acctAddr  string
	agentCfg  string
	metrics   string
	agentProc *process
}

const (
	radiusNASIP  = "127.0.0.51"
	radiusSecret = "e2e-radius-secret"
)

func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func startRADIUSPOP(t *testing.T, pop string) *radiusPOP {
	t.Helper()
	r := &radiusPOP{t: t, pop: pop}
	r.ctrl = newFSController(t, pop+"-controller", pgtest.NewDatabase(t))
	r.ctrl.start()
	r.nas = radiustest.Start(t, radiustest.Options{Secret: radiusSecret})

	dir := t.TempDir()
	secret := filepath.Join(dir, "radius.secret")
	if err := os.WriteFile(secret, []byte(radiusSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	authorizeAddr := freeAddr(t)
	r.acctAddr = freeUDP(t)
	r.metrics = freeAddr(t)
	r.agentCfg = filepath.Join(dir, "agent.yaml")
	err := os.WriteFile(r.agentCfg, []byte(fmt.Sprintf(`
pop: %q
agent_id: %q
controller: {address: %q, insecure_plaintext: true}
metrics: {listen: %q}
state_file: %q
retry_interval: 1s
reconcile_interval: 1s
reconnect: {backoff_min: 100ms, backoff_max: 1s}
log: {level: debug}
radius:
  nas:
    - name: bras-1
      address: %q
      nas_ip: [%s]
      secret_file: %q
      profile: mikrotik-address-list
      timeout: 1s
  accounting:
    listen: %q
    secret_file: %q
  authorize:
    listen: %q
`, pop, "agent-"+pop, r.ctrl.grpcAddr, r.metrics, filepath.Join(dir, "state.db"),
		r.nas.CoAAddr, radiusNASIP, secret, r.acctAddr, secret, authorizeAddr)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r.startAgent()
	r.aaa = radiustest.Start(t, radiustest.Options{Secret: radiusSecret, RESTURL: "http://" + authorizeAddr})
	return r
}

func (r *radiusPOP) startAgent() {
	r.t.Helper()
	r.agentProc = start(r.t, "tollgate-agent", nil, "--config", r.agentCfg, "--init-state")
	waitHTTP(r.t, "http://"+r.metrics+"/healthz", 200, 10*time.Second)
}

func (r *radiusPOP) stopAgent() { r.t.Helper(); stopProcess(r.t, r.agentProc) }

// accounting sends one Accounting-Request to the agent and fails the test
// unless the agent answers it.
func (r *radiusPOP) accounting(status, user, session, framed string) {
	r.t.Helper()
	p := []string{"Acct-Status-Type = " + status, "NAS-IP-Address = " + radiusNASIP, fmt.Sprintf("Acct-Session-Id = %q", session)}
	if user != "" {
		p = append(p, fmt.Sprintf("User-Name = %q", user))
	}
	if framed != "" {
		p = append(p, "Framed-IP-Address = "+framed)
	}
	if out, err := radiustest.Radclient(context.Background(), r.acctAddr, "acct", radiusSecret, p); err != nil {
		r.t.Fatalf("accounting %s for %s/%s: %v\n%s\nagent log:\n%s", status, user, session, err, out, r.agentProc.logText())
	}
}

// authorize sends an Access-Request through the ISP's FreeRADIUS (which
// asks the agent) and returns FreeRADIUS's Access-Accept as radclient
// printed it. attrs are extra attributes (Framed-IP-Address, ...).
func (r *radiusPOP) authorize(user string, attrs ...string) string {
	r.t.Helper()
	p := []string{`User-Password = "pw"`, "NAS-IP-Address = " + radiusNASIP, "Message-Authenticator = 0x00"}
	if user != "" {
		p = append(p, fmt.Sprintf("User-Name = %q", user))
	}
	p = append(p, attrs...)
	out, err := radiustest.Radclient(context.Background(), r.aaa.AuthAddr, "auth", radiusSecret, p)
	if err != nil || !strings.Contains(out, "Received Access-Accept") {
		r.t.Fatalf("Access-Request for %q: %v\n%s\n%s", user, err, out, r.aaa.Log(r.t))
	}
	return out
}

const walledReply = `Mikrotik-Address-List = "tollgate-suspended"`

func (r *radiusPOP) create(name string, b billing.Binding) billing.Service {
	r.t.Helper()
	s, err := r.ctrl.api.CreateService(context.Background(), client.NewIdempotencyKey(), billing.NewService{POP: r.pop, Name: name, Binding: b})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// waitSettled waits until the agent has confirmed the service's current
// desired state (pending false) or reported it pending (pending true).
func (r *radiusPOP) waitSettled(id int64, pending bool) billing.Service {
	r.t.Helper()
	var s billing.Service
	waitFor(r.t, 15*time.Second, fmt.Sprintf("service %d settled (pending %v)", id, pending), func() bool {
		var err error
		if s, err = r.ctrl.api.Service(context.Background(), id); err != nil {
			r.t.Fatal(err)
		}
		if pending {
			return s.Confirmation.Pending != ""
		}
		return s.Confirmed()
	})
	return s
}

func (r *radiusPOP) coaCount(session, typ string) int {
	n := 0
	for _, rec := range r.nas.RecordsFor(r.t, session) {
		if rec.Type == typ {
			n++
		}
	}
	return n
}

// TestRADIUSReauthFollowsDesiredState runs the real agent with real
// FreeRADIUS on both sides: a suspended subscriber's Access-Request gets
// the walled reply from the agent's authorize endpoint; once a restore is
// confirmed, the very next Access-Request gets the normal reply (the
// endpoint changes before the Disconnect-Request leaves, so a PPPoE client
// that re-dials at once is not walled again); a suspension of a service
// with no session is reported pending, not confirmed, and confirmed once
// the subscriber logs in walled; and after an agent restart the sessions
// are still known, so a suspension reaches the NAS.
func TestRADIUSReauthFollowsDesiredState(t *testing.T) {
	r := startRADIUSPOP(t, "rad-1")
	api := r.ctrl.api

	alice := r.create("alice", billing.Binding{Method: billing.MethodRADIUS, RADIUSUsername: "alice"})
	r.waitSettled(alice.ID, false)
	r.accounting("Start", "alice", "alice-1", "100.64.1.10")
	if out := r.authorize("alice"); strings.Contains(out, walledReply) {
		t.Fatalf("an active subscriber got the walled reply:\n%s", out)
	}

	// Suspend: CoA to the NAS, and re-auth answers walled.
	setState(t, api, alice.ID, billing.StateSuspended, "e2e suspend")
	s := r.waitSettled(alice.ID, false)
	if s.Confirmation.ObservedState != billing.StateSuspended || s.Confirmation.Pending != "" {
		t.Fatalf("suspended with a session: %+v", s.Confirmation)
	}
	if n := r.coaCount("alice-1", "CoA-Request"); n != 1 {
		t.Fatalf("NAS received %d CoA-Requests for alice-1, want 1", n)
	}
	if out := r.authorize("alice"); !strings.Contains(out, walledReply) {
		t.Fatalf("a suspended subscriber's re-auth lacks the walled reply:\n%s", out)
	}

	// Restore: the agent disconnects the session (mikrotik-address-list
	// without active_address_list). Re-dial as soon as the NAS has the
	// Disconnect-Request, as a PPPoE client does: not walled.
	var wg sync.WaitGroup
	var redial string
	wg.Go(func() {
		deadline := time.Now().Add(15 * time.Second)
		for r.coaCount("alice-1", "Disconnect-Request") == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		redial = r.authorize("alice")
	})
	setState(t, api, alice.ID, billing.StateActive, "e2e restore")
	wg.Wait()
	if r.coaCount("alice-1", "Disconnect-Request") != 1 {
		t.Fatalf("the NAS got no Disconnect-Request for alice-1 on restore")
	}
	if strings.Contains(redial, walledReply) {
		t.Fatalf("re-dial right after the restore's Disconnect-Request was walled again:\n%s", redial)
	}
	s = r.waitSettled(alice.ID, false)
	if out := r.authorize("alice"); strings.Contains(out, walledReply) {
		t.Fatalf("the next Access-Request after a confirmed restore got the walled reply:\n%s", out)
	}
	if s.Confirmation.ObservedState != billing.StateActive {
		t.Fatalf("restore: %+v", s.Confirmation)
	}

	// Suspending a service with no session: pending, not confirmed, not
	// failing; walled at its next login, then confirmed.
	bob := r.create("bob", billing.Binding{Method: billing.MethodRADIUS, RADIUSUsername: "bob"})
	r.waitSettled(bob.ID, false)
	setState(t, api, bob.ID, billing.StateSuspended, "e2e suspend without a session")
	s = r.waitSettled(bob.ID, true)
	if s.Confirmed() || s.Confirmation.LastError != "" || s.Confirmation.Pending != "no active session; applies at next login" {
		t.Fatalf("suspension with no session: confirmed=%v %+v", s.Confirmed(), s.Confirmation)
	}
	show := ctlAs(t, "--server", r.ctrl.base, "service", "show", strconv.FormatInt(bob.ID, 10))
	if !strings.Contains(show, "pending: no active session; applies at next login") {
		t.Fatalf("tollgatectl service show does not say pending:\n%s", show)
	}
	waitMetric(t, r.ctrl.base+"/metrics", `tollgate_push_unconfirmed_services{pop="rad-1",state="pending"}`, 1, 5*time.Second)
	waitMetric(t, r.ctrl.base+"/metrics", `tollgate_push_unconfirmed_services{pop="rad-1",state="unconfirmed"}`, 0, 5*time.Second)
	if out := r.authorize("bob"); !strings.Contains(out, walledReply) {
		t.Fatalf("pending suspension: bob's login is not walled:\n%s", out)
	}
	r.accounting("Start", "bob", "bob-1", "100.64.1.11") // the walled login's session
	s = r.waitSettled(bob.ID, false)                     // the reconcile confirms it
	if s.Confirmation.ObservedState != billing.StateSuspended || s.Confirmation.Pending != "" {
		t.Fatalf("bob after a walled login: %+v", s.Confirmation)
	}
	waitMetric(t, r.ctrl.base+"/metrics", `tollgate_push_unconfirmed_services{pop="rad-1",state="pending"}`, 0, 5*time.Second)

	// A restore with no session is confirmed at once.
	carol := r.create("carol", billing.Binding{Method: billing.MethodRADIUS, RADIUSUsername: "carol"})
	setState(t, api, carol.ID, billing.StateSuspended, "e2e")
	r.waitSettled(carol.ID, true)
	setState(t, api, carol.ID, billing.StateActive, "e2e")
	if s := r.waitSettled(carol.ID, false); s.Confirmation.Pending != "" {
		t.Fatalf("restore with no session: %+v", s.Confirmation)
	}

	// Sessions survive an agent restart: alice logs in again, the agent
	// restarts, and suspending her sends a CoA to her session.
	r.accounting("Start", "alice", "alice-2", "100.64.1.10")
	r.stopAgent()
	r.startAgent()
	if out := r.authorize("bob"); !strings.Contains(out, walledReply) {
		t.Fatalf("after a restart, bob's login is not walled (the authorize index was not preloaded):\n%s", out)
	}
	setState(t, api, alice.ID, billing.StateSuspended, "e2e suspend after restart")
	s = r.waitSettled(alice.ID, false)
	if n := r.coaCount("alice-2", "CoA-Request"); n != 1 || s.Confirmation.Pending != "" {
		t.Fatalf("after an agent restart, the NAS got %d CoA-Requests for alice-2 (want 1); confirmation %+v\nagent log:\n%s",
			n, s.Confirmation, r.agentProc.logText())
	}
}

// TestRADIUSIPoEByFramedAddress: an IPoE subscriber bound by framed
// address (no radius_username) whose accounting carries no User-Name: the
// suspension's CoA names the session by Framed-IP-Address, and the ISP's
// RADIUS server's Access-Request carrying that Framed-IP-Address is
// answered walled.
func TestRADIUSIPoEByFramedAddress(t *testing.T) {
	r := startRADIUSPOP(t, "rad-2")
	api := r.ctrl.api
	svc := r.create("ipoe", billing.Binding{Method: billing.MethodRADIUS, Addresses: []string{"100.64.50.5"}})
	r.waitSettled(svc.ID, false)
	r.accounting("Start", "", "ipoe-1", "100.64.50.5")

	setState(t, api, svc.ID, billing.StateSuspended, "e2e ipoe")
	s := r.waitSettled(svc.ID, false)
	if s.Confirmation.ObservedState != billing.StateSuspended {
		t.Fatalf("ipoe suspension: %+v", s.Confirmation)
	}
	recs := r.nas.RecordsFor(t, "ipoe-1")
	if len(recs) != 1 || recs[0].Type != "CoA-Request" || recs[0].Get("Framed-IP-Address") != "100.64.50.5" ||
		recs[0].Get("User-Name") != "" || recs[0].Get("Mikrotik-Address-List") != "tollgate-suspended" {
		t.Fatalf("NAS records for ipoe-1: %+v", recs)
	}
	// The DHCP subscriber's Access-Request: the MAC as User-Name (unknown to
	// the agent) and the Framed-IP-Address.
	if out := r.authorize("00:11:22:33:44:55", "Framed-IP-Address = 100.64.50.5"); !strings.Contains(out, walledReply) {
		t.Fatalf("ipoe Access-Request with the suspended Framed-IP-Address is not walled:\n%s", out)
	}
	if out := r.authorize("00:11:22:33:44:66", "Framed-IP-Address = 100.64.50.6"); strings.Contains(out, walledReply) {
		t.Fatalf("another address was walled:\n%s", out)
	}
	setState(t, api, svc.ID, billing.StateActive, "e2e ipoe restore")
	r.waitSettled(svc.ID, false)
	if out := r.authorize("00:11:22:33:44:55", "Framed-IP-Address = 100.64.50.5"); strings.Contains(out, walledReply) {
		t.Fatalf("restored ipoe subscriber still walled:\n%s", out)
	}
}

// ctlAs runs tollgatectl with the admin token.
func ctlAs(t *testing.T, args ...string) string {
	t.Helper()
	t.Setenv("TOLLGATE_TOKEN", adminToken)
	return ctl(t, args...)
}
