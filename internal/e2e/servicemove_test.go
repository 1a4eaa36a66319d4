package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// routerPOP is a POP with its own RouterOS simulator and agent.
type routerPOP struct {
	sim         *routerossim.Server
	metricsAddr string
}

func startRouterPOP(t *testing.T, pop, controllerAddr string) routerPOP {
	t.Helper()
	return startRouterPOPWith(t, pop, controllerAddr, "")
}

// startRouterPOPWith is startRouterPOP with extra top-level lines for the
// agent's configuration (say, "reconcile_interval: 1s").
func startRouterPOPWith(t *testing.T, pop, controllerAddr, extraConfig string) routerPOP {
	t.Helper()
	sim, err := routerossim.Start(routerossim.Config{Users: map[string]string{"tollgate": "router-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dir := t.TempDir()
	pw, cfg, metricsAddr := filepath.Join(dir, "router.pw"), filepath.Join(dir, "agent.yaml"), freeAddr(t)
	write(t, pw, "router-secret\n")
	write(t, cfg, fmt.Sprintf(`
pop: %q
agent_id: %q
controller: {address: %q, insecure_plaintext: true}
metrics: {listen: %q}
state_file: %q
retry_interval: 1s
reconnect: {backoff_min: 100ms, backoff_max: 1s}
%s
routeros:
  routers:
    - {name: edge, address: %q, username: tollgate, password_file: %q, address_list: %s}
`, pop, "e2e-"+pop, controllerAddr, metricsAddr, filepath.Join(dir, "state.db"), extraConfig, sim.Addr(), pw, suspendedList))
	start(t, "tollgate-agent", nil, "--config", cfg, "--init-state")
	waitHTTP(t, "http://"+metricsAddr+"/healthz", 200, 10*time.Second)
	return routerPOP{sim: sim, metricsAddr: metricsAddr}
}

// listed reports whether addr is on the router's suspended list.
func (p routerPOP) listed(addr string) bool {
	return slices.ContainsFunc(p.sim.Entries(suspendedList), func(e routerossim.Entry) bool { return e.Address == addr || e.Address == addr+"/32" })
}

// TestSuspendedServiceMovesToAnotherPOP: a suspended service enforced on
// one RouterOS router is moved (tollgatectl service move) to a POP with
// another router: its address-list entry disappears from the first router
// (the first POP's agent applies and acknowledges the removal) and appears
// on the second, which the second POP's agent reads back and confirms —
// the service's "last confirmed" is at its new place.
func TestSuspendedServiceMovesToAnotherPOP(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "controller.yaml")
	write(t, cfg, fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 500ms}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
`, dbURL, httpAddr, grpcAddr, adminToken))
	start(t, "tollgate-controller", nil, "--config", cfg)
	base := "http://" + httpAddr
	waitHTTP(t, base+"/readyz", 200, 60*time.Second)
	api := client.New(base, adminToken)
	north, south := startRouterPOP(t, "north-1", grpcAddr), startRouterPOP(t, "south-1", grpcAddr)

	const oldAddr, newAddr = "100.64.1.20", "100.64.9.20"
	svc, err := api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north-1", Name: "fiber 100", State: billing.StateSuspended,
		Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge", Addresses: []string{oldAddr}}})
	must(t, err)
	_, err = api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "south-1", Name: "neighbour",
		Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge", Addresses: []string{"100.64.9.99"}}})
	must(t, err)
	waitFor(t, 15*time.Second, "the suspension confirmed at north-1", func() bool {
		s, err := api.Service(ctx, svc.ID)
		return err == nil && s.Confirmed() && north.listed(oldAddr)
	})

	// The move, through the real CLI.
	movedAt := time.Now()
	ctl := exec.Command(filepath.Join(binDir, "tollgatectl"), "--server", base, "-o", "json", "service", "move", strconv.FormatInt(svc.ID, 10),
		"--pop", "south-1", "--address", newAddr, "--reason", "subscriber moved house", "--wait", "15s")
	ctl.Env = append(ctl.Environ(), "TOLLGATE_TOKEN="+adminToken)
	out, err := ctl.CombinedOutput()
	if err != nil {
		t.Fatalf("tollgatectl service move: %v\n%s", err, out)
	}
	var moved client.ServiceChange
	if err := json.Unmarshal(out, &moved); err != nil {
		t.Fatalf("tollgatectl -o json: %v\n%s", err, out)
	}
	s := moved.Service
	if !moved.Changed || moved.RemovedFrom != "north-1" || s.POP != "south-1" || s.DesiredState != billing.StateSuspended || s.Version != 2 {
		t.Fatalf("move answered %s", out)
	}
	// --wait returned once south-1's agent read the entry back: confirmed
	// at the new place, at south-1's revision, after the move.
	if !s.Confirmed() || s.Confirmation.LastConfirmedAt == nil || s.Confirmation.LastConfirmedAt.Before(movedAt) || s.Confirmation.ObservedState != billing.StateSuspended {
		t.Errorf("after the move: %+v, want confirmed suspended at south-1 since the move", s.Confirmation)
	}
	if !south.listed(newAddr) {
		t.Errorf("south-1's router lists %+v, want %s", south.sim.Entries(suspendedList), newAddr)
	}
	// north-1's agent removed the old entry, read the router back and
	// acknowledged the removal's revision (2: the creation was 1).
	waitFor(t, 15*time.Second, "the old entry gone from north-1's router and the removal acknowledged", func() bool {
		return !north.listed(oldAddr) && metricOr0(t, "http://"+north.metricsAddr+"/metrics", "tollgate_agent_applied_revision") >= 2
	})
	if north.listed(newAddr) || south.listed(oldAddr) {
		t.Errorf("an address is on the wrong router: north %+v, south %+v", north.sim.Entries(suspendedList), south.sim.Entries(suspendedList))
	}
	// The removal stays removed: north-1's next snapshot and reconcile
	// leave its router alone, and the service stays confirmed at south-1.
	time.Sleep(1500 * time.Millisecond)
	if north.listed(oldAddr) || !south.listed(newAddr) {
		t.Errorf("after a while: north %+v, south %+v", north.sim.Entries(suspendedList), south.sim.Entries(suspendedList))
	}
	if got, err := api.Service(ctx, svc.ID); err != nil || !got.Confirmed() || got.POP != "south-1" {
		t.Errorf("service after a while: %+v %v", got, err)
	}

	// A typo in the new address, fixed in place: south-1's agent releases
	// the old entry and lists the right one, and confirms it.
	const fixedAddr = "100.64.9.21"
	fixed, err := api.EditService(ctx, client.NewIdempotencyKey(), svc.ID, s.Version, billing.ServiceEdit{
		Binding: &billing.BindingEdit{Addresses: &[]string{fixedAddr}}, Reason: "address typo"})
	if err != nil || !fixed.Changed || fixed.RemovedFrom != "" || fixed.Service.Version != 3 {
		t.Fatalf("edit-binding: %+v %v", fixed, err)
	}
	waitFor(t, 15*time.Second, "the fixed address confirmed on south-1's router", func() bool {
		got, err := api.Service(ctx, svc.ID)
		return err == nil && got.Confirmed() && got.Revision == fixed.Service.Revision && south.listed(fixedAddr) && !south.listed(newAddr)
	})
	// The service's history names both changes, who made them and why.
	history := exec.Command(filepath.Join(binDir, "tollgatectl"), "--server", base, "service", "history", strconv.FormatInt(svc.ID, 10))
	history.Env = ctl.Env
	if out, err := history.CombinedOutput(); err != nil || !strings.Contains(string(out), "subscriber moved house") ||
		!strings.Contains(string(out), "address typo") || !strings.Contains(string(out), "binding, pop") {
		t.Errorf("tollgatectl service history: %v\n%s", err, out)
	}
	// A stale version is refused (412) and changes nothing.
	_, err = api.MoveService(ctx, client.NewIdempotencyKey(), svc.ID, s.Version, billing.ServiceMove{POP: "north-1", Binding: s.Binding})
	if p, ok := err.(*client.Problem); !ok || p.Status != 412 {
		t.Errorf("a move from a stale version: %v, want 412", err)
	}
}
