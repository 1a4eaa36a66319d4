package snmptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/enforcementtest"
	"github.com/tollgate-isp/tollgate/enforcement/snmp"
)

// Options configure an [Agent].
type Options struct {
	// Ports is how many subscriber ports (veth pairs, up) to create.
	// Default 32.
	Ports int
	// Users are SNMPv3 USM users to create, with read-write access at
	// authPriv.
	Users []User
	// ReadOnlyCommunity, if set, is a v2c community that may only read.
	ReadOnlyCommunity string
}

// User is an SNMPv3 USM user of the agent.
type User struct {
	Name string
	// AuthProtocol and PrivProtocol in net-snmp's spelling, which the
	// driver's config accepts too: "SHA-256", "SHA", "SHA-512"; "AES",
	// "AES-256". Defaults SHA-256 and AES.
	AuthProtocol, PrivProtocol string
	// AuthPassword and PrivPassword: at least 8 characters, no spaces.
	// Default: random.
	AuthPassword, PrivPassword string
}

// Port is a subscriber port of the agent: a veth in its namespace.
type Port struct {
	Name    string
	IfIndex int32
}

// Agent is a running snmpd in its namespace.
type Agent struct {
	// Namespace is the network namespace (`ip -n Namespace ...`).
	Namespace string
	// Address is host:port of snmpd, reachable from the test process.
	Address string
	// Community is the agent's read-write v2c community; the helpers that
	// change ports "by hand" use it.
	Community string
	// Users are the v3 users, with their defaults filled in.
	Users []User
	// Ports are the subscriber ports, all up at the start.
	Ports []Port

	dir         string
	ip          string
	subscribers string // namespace of the ports' other ends

	mu   sync.Mutex
	next int // Ports handed out by TakePorts
}

const (
	nsPrefix   = "tgsnmp-"
	lockFile   = "tollgate-snmptest.lock"
	subnetBase = 0x0a800000 // 10.128.0.0/9
	subnetBits = 21         // /30s in a /9
)

var counter atomic.Int64

// Start starts snmpd in a new namespace and stops it, removing the
// namespace and its links, when t ends.
func Start(t testing.TB, opts Options) *Agent {
	t.Helper()
	if opts.Ports == 0 {
		opts.Ports = 32
	}
	if uid := os.Geteuid(); uid != 0 {
		t.Fatalf("snmptest: the snmp driver's tests run net-snmp's snmpd as root in a network namespace; this test runs as uid %d (run the tests as root)", uid)
	}
	ipPath := lookPath(t, "ip", "iproute2")
	snmpdPath := lookPath(t, "snmpd", "snmpd")

	pid := os.Getpid()
	n := counter.Add(1)
	a := &Agent{
		Namespace:   fmt.Sprintf("%s%d-%d", nsPrefix, pid, n),
		Community:   "rw-" + randomString(t),
		subscribers: fmt.Sprintf("%s%d-%d-sub", nsPrefix, pid, n),
		dir:         t.TempDir(),
		ip:          ipPath,
	}
	hostVeth := "tgs" + strconv.FormatInt(int64(pid), 36) + "x" + strconv.FormatInt(n, 36)
	nsVeth := "uplink"

	// Namespace, uplink and its addresses, under the lock so that two
	// processes do not take the same /30.
	var hostIP, nsIP net.IP
	withLock(t, func() {
		sweep(a.ip)
		// A leftover of a dead process with our pid cannot be in use.
		_ = exec.Command(a.ip, "netns", "del", a.Namespace).Run()
		_ = exec.Command(a.ip, "netns", "del", a.subscribers).Run()
		_ = exec.Command(a.ip, "link", "del", hostVeth).Run()
		a.run(t, "", "netns", "add", a.Namespace)
		t.Cleanup(func() { a.removeNamespace(t, hostVeth) })
		hostIP, nsIP = freeSubnet(t, fmt.Sprintf("%d-%d", pid, n))
		a.run(t, "", "link", "add", hostVeth, "type", "veth", "peer", "name", nsVeth, "netns", a.Namespace)
		a.run(t, "", "addr", "add", hostIP.String()+"/30", "dev", hostVeth)
	})
	a.run(t, "", "link", "set", hostVeth, "up")

	// The subscribers' ends of the ports live in a namespace of their own,
	// so that snmpd's ifTable holds only the device's interfaces. No IPv6
	// in either: bringing a link up is quicker without addrconf.
	a.run(t, "", "netns", "add", a.subscribers)
	t.Cleanup(func() {
		if out, err := exec.Command(a.ip, "netns", "del", a.subscribers).CombinedOutput(); err != nil {
			t.Errorf("snmptest: ip netns del %s: %v: %s", a.subscribers, err, out)
		}
	})
	for _, ns := range []string{a.Namespace, a.subscribers} {
		a.run(t, "", "netns", "exec", ns, "sh", "-c",
			"echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6")
	}
	var batch, subBatch strings.Builder
	fmt.Fprintf(&batch, "addr add %s/30 dev %s\nlink set %s up\nlink set lo up\n", nsIP, nsVeth, nsVeth)
	for i := range opts.Ports {
		fmt.Fprintf(&batch, "link add name sub%d type veth peer name sub%dp netns %s\nlink set sub%d up\n", i, i, a.subscribers, i)
		fmt.Fprintf(&subBatch, "link set sub%dp up\n", i)
	}
	a.run(t, batch.String(), "-n", a.Namespace, "-batch", "-")
	if opts.Ports > 0 {
		a.run(t, subBatch.String(), "-n", a.subscribers, "-batch", "-")
	}
	links := a.links(t)
	for i := range opts.Ports {
		name := fmt.Sprintf("sub%d", i)
		l, ok := links[name]
		if !ok {
			t.Fatalf("snmptest: port %s is missing in namespace %s", name, a.Namespace)
		}
		a.Ports = append(a.Ports, Port{Name: name, IfIndex: l.IfIndex})
	}

	// snmpd.
	var conf strings.Builder
	fmt.Fprintf(&conf, "rwcommunity %s %s\n", a.Community, hostIP)
	if opts.ReadOnlyCommunity != "" {
		fmt.Fprintf(&conf, "rocommunity %s %s\n", opts.ReadOnlyCommunity, hostIP)
	}
	for _, u := range opts.Users {
		if u.AuthProtocol == "" {
			u.AuthProtocol = "SHA-256"
		}
		if u.PrivProtocol == "" {
			u.PrivProtocol = "AES"
		}
		if u.AuthPassword == "" {
			u.AuthPassword = "auth-" + randomString(t)
		}
		if u.PrivPassword == "" {
			u.PrivPassword = "priv-" + randomString(t)
		}
		fmt.Fprintf(&conf, "createUser %s %s %s %s %s\nrwuser %s priv\n",
			u.Name, u.AuthProtocol, u.AuthPassword, u.PrivProtocol, u.PrivPassword, u.Name)
		a.Users = append(a.Users, u)
	}
	confPath := filepath.Join(a.dir, "snmpd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	persist := filepath.Join(a.dir, "persist")
	if err := os.Mkdir(persist, 0o700); err != nil {
		t.Fatal(err)
	}
	a.Address = net.JoinHostPort(nsIP.String(), "161")
	out := &syncBuffer{}
	cmd := exec.Command(a.ip, "netns", "exec", a.Namespace, snmpdPath,
		"-f", "-Lo", "-C", "-c", confPath, "-p", filepath.Join(a.dir, "snmpd.pid"), "udp:"+a.Address)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+persist, "MIBS=")
	cmd.Stdout, cmd.Stderr = out, out
	// If the test process dies, snmpd dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("snmptest: start snmpd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// Wait until it answers, then make its ifTable cache live: snmpd caches
	// the table for 3 s, so a link changed with `ip link` would read stale.
	// NET-SNMP-AGENT-MIB::nsCacheTimeout.<ifTable> = 0.
	g := &gosnmp.GoSNMP{Target: nsIP.String(), Port: 161, Community: a.Community, Version: gosnmp.Version2c,
		Timeout: 200 * time.Millisecond, Retries: 0}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		pkt, err := g.Set([]gosnmp.SnmpPDU{{Name: "1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2", Type: gosnmp.Integer, Value: 0}})
		if err == nil && pkt.Error == gosnmp.NoError {
			break
		}
		select {
		case <-exited:
			t.Fatalf("snmptest: snmpd exited at start (%v); its output:\n%s", cmd.ProcessState, out)
		default:
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("error-status %d", pkt.Error)
			}
			t.Fatalf("snmptest: snmpd in namespace %s does not answer on %s after 15s (last: %v); its output:\n%s", a.Namespace, a.Address, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return a
}

// TakePorts hands out n ports no earlier call took; the test fails when
// there are not enough (raise Options.Ports).
func (a *Agent) TakePorts(t testing.TB, n int) []Port {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next+n > len(a.Ports) {
		t.Fatalf("snmptest: %d more ports wanted, %d of %d left (raise Options.Ports)", n, len(a.Ports)-a.next, len(a.Ports))
	}
	ps := a.Ports[a.next : a.next+n]
	a.next += n
	return ps
}

// PortByIfIndex returns the port with the ifIndex.
func (a *Agent) PortByIfIndex(t testing.TB, ifIndex int32) Port {
	t.Helper()
	for _, p := range a.Ports {
		if p.IfIndex == ifIndex {
			return p
		}
	}
	t.Fatalf("snmptest: no port with ifIndex %d", ifIndex)
	return Port{}
}

// LinkUp reports whether the link is administratively up (IFF_UP), from
// `ip -n NS link show`.
func (a *Agent) LinkUp(t testing.TB, name string) bool {
	t.Helper()
	up, err := a.LinkIsUp(name)
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// LinkIsUp is LinkUp for callers without a testing.TB at hand.
func (a *Agent) LinkIsUp(name string) (bool, error) {
	out, err := exec.Command(a.ip, "-n", a.Namespace, "-j", "link", "show", "dev", name).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return false, fmt.Errorf("snmptest: ip -n %s link show dev %s: %w", a.Namespace, name, err)
	}
	var ls []link
	if err := json.Unmarshal(out, &ls); err != nil || len(ls) != 1 {
		return false, fmt.Errorf("snmptest: ip -j link show dev %s: %v: %s", name, err, out)
	}
	return slices.Contains(ls[0].Flags, "UP"), nil
}

// SetLink brings a link administratively up or down with `ip link set`, as
// a technician on the device would.
func (a *Agent) SetLink(t testing.TB, name string, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	a.run(t, "", "-n", a.Namespace, "link", "set", name, state)
}

// SNMPSet sets ifAdminStatus.<ifIndex> with net-snmp's snmpset and the
// read-write community, as a technician at a terminal would.
func (a *Agent) SNMPSet(t testing.TB, ifIndex int32, value int) {
	t.Helper()
	snmpset := lookPath(t, "snmpset", "snmp")
	host, _, _ := net.SplitHostPort(a.Address)
	cmd := exec.Command(snmpset, "-v2c", "-c", a.Community, "-t", "2", "-r", "1", host,
		fmt.Sprintf("%s.%d", snmp.IfAdminStatusOID, ifIndex), "i", strconv.Itoa(value))
	cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+filepath.Join(a.dir, "client"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snmptest: snmpset ifAdminStatus.%d = %d: %v\n%s", ifIndex, value, err, out)
	}
}

// SecretFile writes a secret into a file (mode 0600) in the test's
// temporary directory and returns its path.
func (a *Agent) SecretFile(t testing.TB, name, secret string) string {
	t.Helper()
	p := filepath.Join(a.dir, name)
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// V2CDevice is a driver config for this agent over v2c with the read-write
// community (from a file).
func (a *Agent) V2CDevice(t testing.TB, name string) snmp.DeviceConfig {
	t.Helper()
	return snmp.DeviceConfig{
		Name:          name,
		Address:       a.Address,
		Version:       "v2c",
		CommunityFile: a.SecretFile(t, name+".community", a.Community),
	}
}

// V3Device is a driver config for this agent over v3 as user u (one of
// a.Users), with the passwords in files.
func (a *Agent) V3Device(t testing.TB, name string, u User) snmp.DeviceConfig {
	t.Helper()
	return snmp.DeviceConfig{
		Name:             name,
		Address:          a.Address,
		Version:          "v3",
		User:             u.Name,
		AuthProtocol:     u.AuthProtocol,
		AuthPasswordFile: a.SecretFile(t, name+".auth", u.AuthPassword),
		PrivProtocol:     u.PrivProtocol,
		PrivPasswordFile: a.SecretFile(t, name+".priv", u.PrivPassword),
	}
}

// Tamper says how a [Peer] changes ports behind the driver's back.
type Tamper int

const (
	// TamperSNMPSet sets ifAdminStatus with net-snmp's snmpset.
	TamperSNMPSet Tamper = iota
	// TamperIPLink sets the link up or down with `ip link set`.
	TamperIPLink
)

// Peer is the agent as the conformance suite's peer for a driver that knows
// it as device.
func (a *Agent) Peer(device string, tamper Tamper) enforcementtest.Peer {
	return &peer{a: a, device: device, tamper: tamper}
}

type peer struct {
	a      *Agent
	device string
	tamper Tamper
}

func (p *peer) Targets(t *testing.T, n int) []enforcement.Target {
	t.Helper()
	var ts []enforcement.Target
	for _, port := range p.a.TakePorts(t, n) {
		ts = append(ts, enforcement.Target{
			ServiceID: fmt.Sprintf("svc-%s-%s", p.device, port.Name),
			Binding:   enforcement.Binding{Method: snmp.Method, Device: p.device, IfIndex: port.IfIndex},
		})
	}
	return ts
}

func (p *peer) Tamper(t *testing.T, target enforcement.Target, state enforcement.State) {
	t.Helper()
	up := state == enforcement.Active
	switch p.tamper {
	case TamperSNMPSet:
		v := snmp.AdminDown
		if up {
			v = snmp.AdminUp
		}
		p.a.SNMPSet(t, target.Binding.IfIndex, v)
	case TamperIPLink:
		p.a.SetLink(t, p.a.PortByIfIndex(t, target.Binding.IfIndex).Name, up)
	}
}

type link struct {
	IfIndex int32    `json:"ifindex"`
	Name    string   `json:"ifname"`
	Flags   []string `json:"flags"`
}

func (a *Agent) links(t testing.TB) map[string]link {
	t.Helper()
	out := a.run(t, "", "-n", a.Namespace, "-j", "link", "show")
	var ls []link
	if err := json.Unmarshal(out, &ls); err != nil {
		t.Fatalf("snmptest: ip -j link show: %v\n%s", err, out)
	}
	m := make(map[string]link, len(ls))
	for _, l := range ls {
		m[l.Name] = l
	}
	return m
}

func (a *Agent) run(t testing.TB, stdin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(a.ip, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("snmptest: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out
}

func (a *Agent) removeNamespace(t testing.TB, hostVeth string) {
	// Deleting the namespace deletes the veths in it and so their peers,
	// the host end of the uplink too (once snmpd, which keeps the namespace
	// alive, has exited: this cleanup runs after snmpd's).
	if out, err := exec.Command(a.ip, "netns", "del", a.Namespace).CombinedOutput(); err != nil {
		t.Errorf("snmptest: ip netns del %s: %v: %s", a.Namespace, err, out)
	}
	_ = exec.Command(a.ip, "link", "del", hostVeth).Run() // usually gone already
}

// sweep removes namespaces (and the snmpd in them) that a test process
// that has died left behind.
func sweep(ipPath string) {
	out, err := exec.Command(ipPath, "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		owner, err := strconv.Atoi(pidStr)
		if err != nil || owner == os.Getpid() || syscall.Kill(owner, 0) != syscall.ESRCH {
			continue // not ours, or its test process is alive
		}
		if pids, err := exec.Command(ipPath, "netns", "pids", name).Output(); err == nil {
			for _, f := range strings.Fields(string(pids)) {
				if p, err := strconv.Atoi(f); err == nil && p > 1 {
					_ = syscall.Kill(p, syscall.SIGKILL) // an orphaned snmpd of the dead test
				}
			}
		}
		_ = exec.Command(ipPath, "netns", "del", name).Run()
	}
}

// freeSubnet picks a /30 of 10.128.0.0/9 that overlaps no address or route
// of the host namespace, starting from a slot derived from seed.
func freeSubnet(t testing.TB, seed string) (host, ns net.IP) {
	t.Helper()
	var used []*net.IPNet
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("snmptest: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			used = append(used, n)
		}
	}
	used = append(used, routes()...)
	h := fnv.New32a()
	h.Write([]byte(seed))
	start := h.Sum32()
	for i := range uint32(4096) {
		slot := (start + i*7919) % (1 << subnetBits)
		base := uint32(subnetBase) + slot*4
		cand := &net.IPNet{IP: ipv4(base), Mask: net.CIDRMask(30, 32)}
		free := true
		for _, u := range used {
			if u.Contains(cand.IP) || cand.Contains(u.IP) {
				free = false
				break
			}
		}
		if free {
			return ipv4(base + 1), ipv4(base + 2)
		}
	}
	t.Fatal("snmptest: no free /30 in 10.128.0.0/9")
	return nil, nil
}

// routes are the host's IPv4 routes other than default routes.
func routes() []*net.IPNet {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil
	}
	var rs []*net.IPNet
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		dst, err1 := hex.DecodeString(f[1])
		mask, err2 := hex.DecodeString(f[7])
		if err1 != nil || err2 != nil || len(dst) != 4 || len(mask) != 4 {
			continue
		}
		// Little-endian in /proc.
		dst[0], dst[1], dst[2], dst[3] = dst[3], dst[2], dst[1], dst[0]
		mask[0], mask[1], mask[2], mask[3] = mask[3], mask[2], mask[1], mask[0]
		if ones, _ := net.IPMask(mask).Size(); ones == 0 {
			continue
		}
		rs = append(rs, &net.IPNet{IP: net.IP(dst), Mask: net.IPMask(mask)})
	}
	return rs
}

func ipv4(n uint32) net.IP { return net.IPv4(byte(n>>24), byte(n>>16), byte(n>>8), byte(n)).To4() }

// withLock runs fn holding an exclusive lock shared by every process using
// this package on the machine.
func withLock(t testing.TB, fn func()) {
	t.Helper()
	// A fixed directory, not os.TempDir: processes with different TMPDIRs
	// must share the lock.
	f, err := os.OpenFile(filepath.Join("/tmp", lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("snmptest: lock: %v", err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Fatalf("snmptest: lock %s: %v", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("snmptest: lock %s held by another process for 30s", f.Name())
		case <-time.After(10 * time.Millisecond):
		}
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	fn()
}

func lookPath(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("snmptest: %s not found; install Debian's %s package (scripts/setup.sh does)", name, pkg)
	return ""
}

func randomString(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
