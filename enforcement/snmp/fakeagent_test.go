package snmp_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/snmp"
)

// fakeAgent is an in-process SNMPv2c agent on 127.0.0.1 whose answers a
// test chooses: for what snmpd will not say (testing(3), wrong types, odd
// PDUs) and for timing (silence, slowness).
type fakeAgent struct {
	addr string
	// handle answers a decoded request; nil means no answer.
	handle func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket
	delay  time.Duration

	requests    atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
	mu          sync.Mutex
	sources     map[string]bool
}

func startFake(t *testing.T, delay time.Duration, handle func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket) *fakeAgent {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{addr: conn.LocalAddr().String(), handle: handle, delay: delay, sources: map[string]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	wg.Go(func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(append([]byte(nil), buf[:n]...))
			if err != nil {
				t.Errorf("fake agent: undecodable request: %v", err)
				continue
			}
			f.requests.Add(1)
			f.mu.Lock()
			f.sources[from.String()] = true
			f.mu.Unlock()
			wg.Go(func() {
				cur := f.inflight.Add(1)
				for {
					m := f.maxInflight.Load()
					if cur <= m || f.maxInflight.CompareAndSwap(m, cur) {
						break
					}
				}
				time.Sleep(f.delay)
				f.inflight.Add(-1)
				resp := f.handle(req)
				if resp == nil {
					return
				}
				resp.Version = gosnmp.Version2c
				resp.Community = req.Community
				resp.RequestID = req.RequestID
				b, err := resp.MarshalMsg()
				if err != nil {
					t.Errorf("fake agent: marshal: %v", err)
					return
				}
				_, _ = conn.WriteToUDP(b, from)
			})
		}
	})
	return f
}

// echo answers like a well-behaved agent holding every ifAdminStatus at
// value: a GET gets value, a SET gets its own varbind back.
func echo(value int) func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
	return func(req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		vars := req.Variables
		if req.PDUType == gosnmp.GetRequest {
			vars = []gosnmp.SnmpPDU{{Name: req.Variables[0].Name, Type: gosnmp.Integer, Value: value}}
		}
		return &gosnmp.SnmpPacket{PDUType: gosnmp.GetResponse, Variables: vars}
	}
}

func fakeDevice(name string, f *fakeAgent) snmp.DeviceConfig {
	return snmp.DeviceConfig{Name: name, Address: f.addr, Version: "v2c"}
}

// newFakeDriver builds a driver whose devices all use the community
// "public".
func newFakeDriver(t *testing.T, devs ...snmp.DeviceConfig) *snmp.Driver {
	t.Helper()
	p := filepath.Join(t.TempDir(), "community")
	if err := os.WriteFile(p, []byte("public\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range devs {
		devs[i].CommunityFile = p
	}
	return newDriver(t, nil, devs...)
}

func fakeTarget(device string) enforcement.Target {
	return enforcement.Target{ServiceID: "svc-7", Binding: enforcement.Binding{Method: snmp.Method, Device: device, IfIndex: 7}}
}

const oid7 = ".1.3.6.1.2.1.2.2.1.7.7"

func TestFakeAgentAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	get := func(d *snmp.Driver) error {
		s, err := d.Observe(ctx, fakeTarget("dev"))
		if err == nil {
			t.Logf("observed %q", s)
		}
		return err
	}
	suspend := func(d *snmp.Driver) error { return d.Suspend(ctx, fakeTarget("dev")) }
	resp := func(pdu gosnmp.PDUType, status gosnmp.SNMPError, index uint8, vars ...gosnmp.SnmpPDU) func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
		return func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
			return &gosnmp.SnmpPacket{PDUType: pdu, Error: status, ErrorIndex: index, Variables: vars}
		}
	}
	for _, tc := range []struct {
		name   string
		handle func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket
		call   func(*snmp.Driver) error
		want   string // "" for success
		is     error
	}{
		{"ObserveUp", echo(1), get, "", nil},
		{"ObserveDown", echo(2), get, "", nil},
		{"SuspendEchoed", echo(0), suspend, "", nil},
		{"ObserveTesting", echo(3), get, "ifAdminStatus is testing(3), neither up(1) nor down(2)", nil},
		{"ObserveUnknownValue", echo(7), get, "ifAdminStatus has value 7, neither up(1) nor down(2)", nil},
		{"ObserveNegativeValue", echo(-1), get, "ifAdminStatus has value -1", nil},
		{"ObserveString", resp(gosnmp.GetResponse, 0, 0, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.OctetString, Value: []byte("up")}), get, "device answered OCTET STRING for 1.3.6.1.2.1.2.2.1.7.7, want an INTEGER", nil},
		{"ObserveNull", resp(gosnmp.GetResponse, 0, 0, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Null}), get, "device answered NULL", nil},
		{"ObserveOtherOID", resp(gosnmp.GetResponse, 0, 0, gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.7.8", Type: gosnmp.Integer, Value: 1}), get, `device answered for 1.3.6.1.2.1.2.2.1.7.8, not for the requested 1.3.6.1.2.1.2.2.1.7.7`, nil},
		{"ObserveNoSuchObject", resp(gosnmp.GetResponse, 0, 0, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.NoSuchObject}), get, "noSuchObject for 1.3.6.1.2.1.2.2.1.7.7", snmp.ErrNoSuchInterface},
		{"ObserveEndOfMibView", resp(gosnmp.GetResponse, 0, 0, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.EndOfMibView}), get, "endOfMibView", nil},
		{"ObserveTwoBindings", resp(gosnmp.GetResponse, 0, 0, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Integer, Value: 1}, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Integer, Value: 2}), get, "2 variable bindings, want 1", nil},
		{"ObserveNoSuchNameV1Style", resp(gosnmp.GetResponse, gosnmp.NoSuchName, 1, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Null}), get, "device answered noSuchName(2) for 1.3.6.1.2.1.2.2.1.7.7", snmp.ErrNoSuchInterface},
		{"SuspendGenErr", resp(gosnmp.GetResponse, gosnmp.GenErr, 1, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Integer, Value: 2}), suspend, "device answered genErr(5) for 1.3.6.1.2.1.2.2.1.7.7 (the device failed to carry out the request)", nil},
		{"SuspendNotWritable", resp(gosnmp.GetResponse, gosnmp.NotWritable, 1, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Integer, Value: 2}), suspend, "notWritable(17)", nil},
		{"SuspendErrorIndexOutOfRange", resp(gosnmp.GetResponse, gosnmp.CommitFailed, 9, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Integer, Value: 2}), suspend, "commitFailed(14) for 1.3.6.1.2.1.2.2.1.7.7", nil},
		{"SuspendUnknownStatus", resp(gosnmp.GetResponse, 99, 0, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Integer, Value: 2}), suspend, "device answered unknown error-status 99", nil},
		{"SuspendEchoOtherValue", resp(gosnmp.GetResponse, 0, 0, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Integer, Value: 1}), suspend, "device answered the set of ifAdminStatus to 2 with 1", nil},
		{"SuspendAnsweredWithReport", resp(gosnmp.Report, 0, 0, gosnmp.SnmpPDU{Name: oid7, Type: gosnmp.Integer, Value: 2}), suspend, "device answered with a Report PDU, not a Response", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, 0, tc.handle)
			d := newFakeDriver(t, fakeDevice("dev", f))
			err := tc.call(d)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `device "dev" ifIndex 7`) {
				t.Errorf("error %q\ndoes not say %q and name the device and ifIndex", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
		})
	}
}

// A cancelled context aborts a request that waits for a response at once,
// not after the device's timeout.
func TestCancelAbortsAWaitingRequest(t *testing.T) {
	t.Parallel()
	f := startFake(t, 0, func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket { return nil })
	dc := fakeDevice("dev", f)
	dc.Timeout = 30 * time.Second
	d := newFakeDriver(t, dc)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := d.Suspend(ctx, fakeTarget("dev"))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s", took)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	if f.requests.Load() == 0 {
		t.Error("the request was never sent")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = d.Observe(ctx, fakeTarget("dev"))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want context.DeadlineExceeded", err)
	}
}

// Timeout and retries: a silent device gets 1+retries attempts, then the
// call fails with ErrNoResponse.
func TestSilentDevice(t *testing.T) {
	t.Parallel()
	f := startFake(t, 0, func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket { return nil })
	dc := fakeDevice("dev", f)
	dc.Timeout = 100 * time.Millisecond
	dc.Retries = new(2)
	d := newFakeDriver(t, dc)
	start := time.Now()
	err := d.Restore(context.Background(), fakeTarget("dev"))
	took := time.Since(start)
	if !errors.Is(err, snmp.ErrNoResponse) || !strings.Contains(err.Error(), "3 attempt(s) of 100ms") {
		t.Fatalf("%v, want ErrNoResponse after 3 attempts", err)
	}
	if n := f.requests.Load(); n != 3 {
		t.Errorf("device got %d requests, want 3", n)
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %s, want about 300ms", took)
	}
}

// Concurrency bounds the requests in flight to one device, and sockets are
// reused rather than opened per request.
func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	f := startFake(t, 30*time.Millisecond, echo(1))
	dc := fakeDevice("dev", f)
	dc.Concurrency = 3
	d := newFakeDriver(t, dc)
	var wg sync.WaitGroup
	for range 4 {
		for range 6 {
			wg.Go(func() {
				if _, err := d.Observe(context.Background(), fakeTarget("dev")); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if m := f.maxInflight.Load(); m > 3 || m < 2 {
		t.Errorf("at most %d requests were in flight at once, want 3 (2 at least)", m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.sources); n > 3 {
		t.Errorf("requests came from %d sockets, want at most 3", n)
	}
}

// A device that does not answer holds only its own slots: the other devices
// of the POP go on, and a call waiting for one of its slots gives up when
// its context ends.
func TestSilentDeviceDoesNotStallOthers(t *testing.T) {
	t.Parallel()
	silent := startFake(t, 0, func(*gosnmp.SnmpPacket) *gosnmp.SnmpPacket { return nil })
	good := startFake(t, 0, echo(2))
	dcSilent := fakeDevice("silent", silent)
	dcSilent.Concurrency = 1
	dcSilent.Timeout = 10 * time.Second
	d := newFakeDriver(t, dcSilent, fakeDevice("good", good))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stuck := make(chan error, 1)
	go func() { stuck <- d.Suspend(ctx, fakeTarget("silent")) }()
	for silent.requests.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}

	start := time.Now()
	if s, err := d.Observe(context.Background(), fakeTarget("good")); err != nil || s != enforcement.Suspended {
		t.Fatalf("good device: %q, %v", s, err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the good device took %s", took)
	}

	wctx, wcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer wcancel()
	if err := d.Suspend(wctx, fakeTarget("silent")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a slot: %v, want context.DeadlineExceeded", err)
	}
	cancel()
	if err := <-stuck; !errors.Is(err, context.Canceled) {
		t.Errorf("stuck call: %v", err)
	}
}
