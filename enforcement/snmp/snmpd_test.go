package snmp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/enforcementtest"
	"github.com/tollgate-isp/tollgate/enforcement/snmp"
	"github.com/tollgate-isp/tollgate/enforcement/snmp/snmptest"
)

// These tests run the driver against net-snmp's snmpd in a network
// namespace (package snmptest), where ifAdminStatus is a veth's IFF_UP.

func newDriver(t *testing.T, log *slog.Logger, devs ...snmp.DeviceConfig) *snmp.Driver {
	t.Helper()
	d, err := snmp.New(snmp.Config{Devices: devs}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// linkChecker checks after every successful Suspend and Restore that the
// link really is down or up in the namespace, per `ip link`.
type linkChecker struct {
	*snmp.Driver
	a *snmptest.Agent
}

func (c linkChecker) Suspend(ctx context.Context, t enforcement.Target) error {
	if err := c.Driver.Suspend(ctx, t); err != nil {
		return err
	}
	return c.check(t, false)
}

func (c linkChecker) Restore(ctx context.Context, t enforcement.Target) error {
	if err := c.Driver.Restore(ctx, t); err != nil {
		return err
	}
	return c.check(t, true)
}

func (c linkChecker) check(t enforcement.Target, wantUp bool) error {
	var name string
	for _, p := range c.a.Ports {
		if p.IfIndex == t.Binding.IfIndex {
			name = p.Name
		}
	}
	up, err := c.a.LinkIsUp(name)
	if err != nil {
		return err
	}
	if up != wantUp {
		return fmt.Errorf("the driver reported success, but ip link shows %s (ifIndex %d) with IFF_UP=%v", name, t.Binding.IfIndex, up)
	}
	return nil
}

func TestConformanceV2C(t *testing.T) {
	t.Parallel()
	a := snmptest.Start(t, snmptest.Options{})
	var logs bytes.Buffer
	d := newDriver(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), a.V2CDevice(t, "sw1"))
	enforcementtest.Run(t, linkChecker{d, a}, a.Peer("sw1", snmptest.TamperSNMPSet))
	if strings.Contains(logs.String(), a.Community) {
		t.Errorf("the community appears in the driver's log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "sw1") {
		t.Errorf("the driver logged nothing about its sets at debug level:\n%s", logs.String())
	}
}

func TestConformanceV3(t *testing.T) {
	t.Parallel()
	a := snmptest.Start(t, snmptest.Options{Users: []snmptest.User{{Name: "tollgate"}}}) // SHA-256/AES
	var logs bytes.Buffer
	d := newDriver(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), a.V3Device(t, "olt1", a.Users[0]))
	enforcementtest.Run(t, linkChecker{d, a}, a.Peer("olt1", snmptest.TamperIPLink))
	for _, s := range []string{a.Users[0].AuthPassword, a.Users[0].PrivPassword} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("a v3 password appears in the driver's log:\n%s", logs.String())
		}
	}
}

// TestV3Protocols: each supported auth/priv pair suspends and restores a
// port for real.
func TestV3Protocols(t *testing.T) {
	t.Parallel()
	users := []snmptest.User{
		{Name: "sha256aes", AuthProtocol: "SHA-256", PrivProtocol: "AES"},
		{Name: "sha512aes256", AuthProtocol: "SHA-512", PrivProtocol: "AES-256"},
		{Name: "shaaes", AuthProtocol: "SHA", PrivProtocol: "AES"},
		{Name: "sha512aes", AuthProtocol: "SHA-512", PrivProtocol: "AES"},
	}
	a := snmptest.Start(t, snmptest.Options{Ports: len(users), Users: users})
	var devs []snmp.DeviceConfig
	for _, u := range a.Users {
		devs = append(devs, a.V3Device(t, u.Name, u))
	}
	d := newDriver(t, nil, devs...)
	ctx := context.Background()
	for i, u := range a.Users {
		port := a.Ports[i]
		target := enforcement.Target{ServiceID: "svc-" + u.Name, Binding: enforcement.Binding{Method: snmp.Method, Device: u.Name, IfIndex: port.IfIndex}}
		t.Run(u.Name, func(t *testing.T) {
			if err := d.Suspend(ctx, target); err != nil {
				t.Fatal(err)
			}
			if a.LinkUp(t, port.Name) {
				t.Fatalf("%s still up after suspend", port.Name)
			}
			if s, err := d.Observe(ctx, target); err != nil || s != enforcement.Suspended {
				t.Fatalf("observe after suspend: %q, %v", s, err)
			}
			if err := d.Restore(ctx, target); err != nil {
				t.Fatal(err)
			}
			if !a.LinkUp(t, port.Name) {
				t.Fatalf("%s still down after restore", port.Name)
			}
			if s, err := d.Observe(ctx, target); err != nil || s != enforcement.Active {
				t.Fatalf("observe after restore: %q, %v", s, err)
			}
		})
	}
}

// TestDeviceErrors: what the driver says when snmpd refuses.
func TestDeviceErrors(t *testing.T) {
	t.Parallel()
	a := snmptest.Start(t, snmptest.Options{Ports: 2, ReadOnlyCommunity: "ro-community", Users: []snmptest.User{{Name: "tollgate"}}})
	short := func(dc snmp.DeviceConfig) snmp.DeviceConfig {
		dc.Timeout = 300 * time.Millisecond
		dc.Retries = new(0)
		return dc
	}
	ro := short(a.V2CDevice(t, "ro"))
	ro.CommunityFile = a.SecretFile(t, "ro.community", "ro-community")
	wrongCommunity := short(a.V2CDevice(t, "wrong-community"))
	wrongCommunity.CommunityFile = a.SecretFile(t, "wrong.community", "not-the-community")
	wrongAuth := short(a.V3Device(t, "wrong-auth", a.Users[0]))
	wrongAuth.AuthPasswordFile = a.SecretFile(t, "wrong.auth", "wrong-password")
	wrongPriv := short(a.V3Device(t, "wrong-priv", a.Users[0]))
	wrongPriv.PrivPasswordFile = a.SecretFile(t, "wrong.priv", "wrong-password")
	wrongPrivProto := short(a.V3Device(t, "wrong-priv-protocol", a.Users[0]))
	wrongPrivProto.PrivProtocol = "AES-256"
	unknownUser := short(a.V3Device(t, "unknown-user", a.Users[0]))
	unknownUser.User = "nobody"
	d := newDriver(t, nil, a.V2CDevice(t, "sw1"), a.V3Device(t, "v3", a.Users[0]), ro, wrongCommunity, wrongAuth, wrongPriv, wrongPrivProto, unknownUser)
	ctx := context.Background()
	port := a.Ports[0]
	target := func(device string, ifIndex int32) enforcement.Target {
		return enforcement.Target{ServiceID: "svc-1", Binding: enforcement.Binding{Method: snmp.Method, Device: device, IfIndex: ifIndex}}
	}
	const missing = 999999

	for _, tc := range []struct {
		name   string
		err    func() error
		is     error
		status gosnmp.SNMPError
		says   []string
	}{
		{
			name:   "SuspendMissingInterfaceV2C",
			err:    func() error { return d.Suspend(ctx, target("sw1", missing)) },
			is:     snmp.ErrNoSuchInterface,
			status: gosnmp.NoCreation,
			says:   []string{`device "sw1" ifIndex 999999`, "noCreation(11)", "1.3.6.1.2.1.2.2.1.7.999999"},
		},
		{
			name: "ObserveMissingInterfaceV2C",
			err:  func() error { _, err := d.Observe(ctx, target("sw1", missing)); return err },
			is:   snmp.ErrNoSuchInterface,
			says: []string{`device "sw1" ifIndex 999999`, "noSuchInstance"},
		},
		{
			name: "ObserveMissingInterfaceV3",
			err:  func() error { _, err := d.Observe(ctx, target("v3", missing)); return err },
			is:   snmp.ErrNoSuchInterface,
			says: []string{`device "v3" ifIndex 999999`, "noSuchInstance"},
		},
		{
			name:   "ReadOnlyCommunity",
			err:    func() error { return d.Suspend(ctx, target("ro", port.IfIndex)) },
			status: gosnmp.NoAccess,
			says:   []string{`device "ro"`, "noAccess(6)", "write view"},
		},
		{
			name: "WrongCommunity",
			err:  func() error { return d.Suspend(ctx, target("wrong-community", port.IfIndex)) },
			is:   snmp.ErrNoResponse,
			says: []string{`device "wrong-community"`, "no response", "1 attempt(s) of 300ms", "community"},
		},
		{
			name: "WrongAuthPassword",
			err:  func() error { return d.Suspend(ctx, target("wrong-auth", port.IfIndex)) },
			is:   gosnmp.ErrWrongDigest,
			says: []string{`device "wrong-auth"`, "wrong auth password"},
		},
		{
			name: "WrongPrivPassword",
			err:  func() error { return d.Suspend(ctx, target("wrong-priv", port.IfIndex)) },
			is:   snmp.ErrNoResponse, // net-snmp does not answer what it cannot decrypt
			says: []string{`device "wrong-priv"`, "wrong priv password"},
		},
		{
			name: "WrongPrivProtocol",
			err:  func() error { _, err := d.Observe(ctx, target("wrong-priv-protocol", port.IfIndex)); return err },
			is:   snmp.ErrNoResponse,
			says: []string{`device "wrong-priv-protocol"`, "priv_protocol"},
		},
		{
			name: "UnknownUser",
			err:  func() error { return d.Suspend(ctx, target("unknown-user", port.IfIndex)) },
			is:   gosnmp.ErrUnknownUsername,
			says: []string{`device "unknown-user"`, `USM user "nobody"`},
		},
		{
			name: "UnknownDevice",
			err:  func() error { return d.Suspend(ctx, target("nope", port.IfIndex)) },
			is:   snmp.ErrUnknownDevice,
			says: []string{`device "nope"`, "configured: ro, sw1, unknown-user, v3, wrong-auth"},
		},
		{
			name: "NoIfIndex",
			err:  func() error { return d.Restore(ctx, target("sw1", 0)) },
			says: []string{`device "sw1" ifIndex 0`, "no ifIndex"},
		},
		{
			name: "OtherMethod",
			err: func() error {
				tg := target("sw1", port.IfIndex)
				tg.Binding.Method = "routeros"
				return d.Suspend(ctx, tg)
			},
			says: []string{`binding method is "routeros"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			var de *snmp.Error
			if !errors.As(err, &de) {
				t.Errorf("%T is not a *snmp.Error", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v", tc.is)
			}
			if tc.status != gosnmp.NoError {
				var se *snmp.StatusError
				if !errors.As(err, &se) || se.Status != tc.status {
					t.Errorf("error does not wrap a StatusError %d: %#v", tc.status, se)
				}
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q", s)
				}
			}
			for _, secret := range []string{a.Community, "ro-community", "not-the-community", a.Users[0].AuthPassword, a.Users[0].PrivPassword, "wrong-password"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a secret")
				}
			}
		})
	}
	// None of that changed the port.
	if !a.LinkUp(t, port.Name) {
		t.Errorf("%s went down", port.Name)
	}
	// And the driver still works for the good devices.
	if err := d.Suspend(ctx, target("v3", port.IfIndex)); err != nil {
		t.Fatal(err)
	}
	if a.LinkUp(t, port.Name) {
		t.Errorf("%s still up", port.Name)
	}
}

// TestCloseThenUse: after Close every call fails with ErrClosed.
func TestCloseThenUse(t *testing.T) {
	t.Parallel()
	a := snmptest.Start(t, snmptest.Options{Ports: 1})
	d, err := snmp.New(snmp.Config{Devices: []snmp.DeviceConfig{a.V2CDevice(t, "sw1")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := enforcement.Target{ServiceID: "s", Binding: enforcement.Binding{Device: "sw1", IfIndex: a.Ports[0].IfIndex}}
	if _, err := d.Observe(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := d.Suspend(context.Background(), target); !errors.Is(err, snmp.ErrClosed) {
		t.Fatalf("suspend after close: %v, want ErrClosed", err)
	}
}

// TestAgentCleansUp: when a test ends, its snmpd, namespaces and host veth
// are gone.
func TestAgentCleansUp(t *testing.T) {
	t.Parallel()
	var a *snmptest.Agent
	t.Run("agent", func(t *testing.T) {
		a = snmptest.Start(t, snmptest.Options{Ports: 1})
	})
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	if strings.Contains(string(out), a.Namespace) {
		t.Errorf("namespace %s is still there:\n%s", a.Namespace, out)
	}
	host, _, _ := net.SplitHostPort(a.Address)
	out, err = exec.Command("ip", "-o", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr: %v: %s", err, out)
	}
	// The host end had the address just below snmpd's.
	ip := net.ParseIP(host).To4()
	ip[3]--
	if strings.Contains(string(out), " "+ip.String()+"/30") {
		t.Errorf("the host end of the uplink (%s) is still there:\n%s", ip, out)
	}
}
