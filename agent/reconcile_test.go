package agent_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/enforcement/snmp"
	"github.com/tollgate-isp/tollgate/enforcement/snmp/snmptest"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// TestReconcileRepairsDriftOnRealPeers: an address-list entry removed on the
// RouterOS simulator and a port brought up by hand with snmpset (on real
// snmpd, a real veth) are put back by the agent's next full reconcile, and
// the read-backs reach the controller as observed state.
func TestReconcileRepairsDriftOnRealPeers(t *testing.T) {
	sim, err := routerossim.Start(routerossim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	ros, err := routeros.New(routeros.Config{Routers: []routeros.RouterConfig{{Name: "edge-router", Address: sim.Addr(), Username: "admin"}}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ros.Close() })
	snmpd := snmptest.Start(t, snmptest.Options{Ports: 2})
	sw, err := snmp.New(snmp.Config{Devices: []snmp.DeviceConfig{snmpd.V2CDevice(t, "olt-1")}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	port := snmpd.TakePorts(t, 1)[0]

	fake := startFake(t, deadAddr(t))
	conn, err := grpc.NewClient(fake.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	a, err := agent.New(agent.Config{POP: "p1", AgentID: "test", StateFile: t.TempDir() + "/state.db", ReconcileInterval: -1},
		conn, map[string]enforcement.Driver{"routeros": ros, "snmp": sw}, quiet, clock.Real{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	fake.waitWatch(t)
	fake.out <- snapshot(2,
		&pb.Service{ServiceId: "1", DesiredState: pbSuspended, Revision: 1, Binding: &pb.Binding{Method: "routeros", Addresses: []string{"100.64.0.9"}, Device: "edge-router"}},
		&pb.Service{ServiceId: "2", DesiredState: pbSuspended, Revision: 2, Binding: &pb.Binding{Method: "snmp", Device: "olt-1", IfIndex: port.IfIndex}})
	waitFor(t, "both services applied", func() bool { return a.AppliedRevision() == 2 })
	if len(sim.Entries("tollgate-suspended")) != 1 || snmpd.LinkUp(t, port.Name) {
		t.Fatal("the snapshot was not enforced on the devices")
	}

	// Hands on the devices.
	if !sim.RemoveEntry("tollgate-suspended", "100.64.0.9") {
		t.Fatal("the simulator had no entry to remove")
	}
	snmpd.SNMPSet(t, port.IfIndex, 1)
	if !snmpd.LinkUp(t, port.Name) {
		t.Fatal("snmpset did not bring the port up")
	}

	r, err := a.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Checked != 2 || r.Drifted != 2 || r.Repaired != 2 || r.Errors != 0 {
		t.Fatalf("reconcile report %+v, want both drifted and repaired", r)
	}
	if len(sim.Entries("tollgate-suspended")) != 1 {
		t.Fatal("the address-list entry is still missing after reconcile")
	}
	if snmpd.LinkUp(t, port.Name) {
		t.Fatal("the port is still up after reconcile")
	}
	// A reconcile with nothing to repair repairs nothing, and the
	// controller hears the read-backs.
	if r, err := a.Reconcile(ctx); err != nil || r.Checked != 2 || r.Drifted != 0 {
		t.Fatalf("second reconcile %+v %v", r, err)
	}
	waitFor(t, "observed state reported", func() bool {
		res := fake.results("2")
		return len(res) >= 2 && res[len(res)-1].ObservedState == pbSuspended
	})
}
