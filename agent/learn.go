package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/agent/leases"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// LeaseConfig points the agent at the POP's DHCP server's lease file, from
// which it learns the addresses of services that have none of their own
// (see package leases and ReportRequest.learned_addresses).
type LeaseConfig struct {
	// File is the lease file: ISC dhcpd.leases, or Kea's memfile CSV.
	// Empty: nothing is learned.
	File string `yaml:"file"`
	// Format is isc or kea.
	Format leases.Format `yaml:"format"`
	// Match is the lease field that names the service: its RADIUS user
	// name, or "service-ID" (hwaddr, client-id, hostname, circuit-id,
	// remote-id). Default remote-id.
	Match leases.MatchField `yaml:"match"`
	// Interval is how often the file is read when it changed. Default 30s.
	Interval time.Duration `yaml:"interval"`
}

// Check validates the config and fills its defaults.
func (c *LeaseConfig) Check() error {
	if c.File == "" {
		return nil
	}
	if c.Format != leases.FormatISC && c.Format != leases.FormatKea {
		return fmt.Errorf("leases.format %q is not one of isc, kea", c.Format)
	}
	if c.Match == "" {
		c.Match = leases.MatchRemoteID
	}
	if _, err := leases.ParseMatchField(string(c.Match)); err != nil {
		return fmt.Errorf("leases.%w", err)
	}
	if c.Interval <= 0 {
		c.Interval = 30 * time.Second
	}
	return nil
}

// learnedChunk bounds the learned addresses in one report message (well
// under gRPC's 4 MiB).
const learnedChunk = 20000

// learnState is what the agent learned last from one source and whether
// the controller has it (guarded by Agent.mu).
type learnState struct {
	// The lease file's size and modification time when last read, and
	// the store's generation: the file is read again when one changes.
	size    int64
	modTime time.Time
	gen     uint64
	learned []*pb.LearnedAddress
	known   bool   // learned holds a successful read
	unsent  bool   // the controller may not have learned yet
	seq     uint64 // counts changes of learned
}

// FramedAddresses returns the addresses of a RADIUS user's sessions, as the
// accounting listener learned them: Framed-IP-Address (as a /32),
// Framed-IPv6-Prefix, Delegated-IPv6-Prefix.
type FramedAddresses func(user string) []netip.Prefix

// LearnFromRADIUS makes the agent report, every interval, the framed
// addresses of the RADIUS sessions of its services that have a RADIUS user
// name (source "radius"). Call it before Run.
func (a *Agent) LearnFromRADIUS(framed FramedAddresses, interval time.Duration) {
	a.radiusFramed, a.radiusInterval = framed, cmp.Or(interval, 30*time.Second)
}

// radiusLoop learns from RADIUS accounting every interval while the agent
// runs.
func (a *Agent) radiusLoop(ctx context.Context) {
	t := time.NewTicker(a.radiusInterval)
	defer t.Stop()
	for {
		if err := a.LearnRADIUS(); err != nil {
			a.log.Warn("learning addresses from RADIUS accounting", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LearnRADIUS matches the RADIUS sessions' framed addresses to the
// services with their user name and, when the bindings changed, queues
// them for the controller.
func (a *Agent) LearnRADIUS() error {
	if a.radiusFramed == nil {
		return errors.New("no RADIUS session table")
	}
	var learned []*pb.LearnedAddress
	if err := a.store.ForEach(func(id string, r *Record) error {
		if d := r.Desired; d != nil && !d.GetRemoved() && d.GetBinding().GetRadiusUsername() != "" {
			for _, p := range a.radiusFramed(d.GetBinding().GetRadiusUsername()) {
				addr := p.String()
				if p.IsSingleIP() {
					addr = p.Addr().String()
				}
				learned = append(learned, &pb.LearnedAddress{ServiceId: id, Address: addr, Source: "radius"})
			}
		}
		return nil
	}); err != nil {
		return err
	}
	a.setLearned(&a.learnRADIUS, learned, learnState{})
	return nil
}

// leaseLoop reads the lease file every interval while the agent runs.
func (a *Agent) leaseLoop(ctx context.Context) {
	c := a.cfg.Leases
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		if err := a.LearnLeases(); err != nil {
			a.log.Warn("reading the DHCP lease file; keeping what was learned before", "file", c.File, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LearnLeases reads the lease file (when it, or the services the agent
// holds, changed since the last read), matches the bound leases to the
// services and, when the bindings changed, queues them for the controller.
func (a *Agent) LearnLeases() error {
	c := a.cfg.Leases
	if c.File == "" {
		return errors.New("no lease file configured")
	}
	st, err := os.Stat(c.File)
	if err != nil {
		return err
	}
	gen := a.store.generation()
	a.mu.Lock()
	d := &a.learnDHCP
	same := d.known && d.size == st.Size() && d.modTime.Equal(st.ModTime()) && d.gen == gen
	a.mu.Unlock()
	if same {
		return nil
	}
	ls, err := leases.ParseFile(c.File, c.Format)
	if err != nil {
		return err
	}
	services := map[string]string{}
	if err := a.store.ForEach(func(id string, r *Record) error {
		if d := r.Desired; d != nil && !d.GetRemoved() {
			services[id] = d.GetBinding().GetRadiusUsername()
		}
		return nil
	}); err != nil {
		return err
	}
	var learned []*pb.LearnedAddress
	for _, b := range leases.Learn(ls, leases.NewMatcher(c.Match, services), a.clock.Now()) {
		l := &pb.LearnedAddress{ServiceId: b.ServiceID, Address: b.Address.String(), Source: "dhcp"}
		if b.Address.IsSingleIP() {
			l.Address = b.Address.Addr().String()
		}
		if !b.Ends.IsZero() {
			l.ExpiresAtUnixNano = b.Ends.UnixNano()
		}
		learned = append(learned, l)
	}
	if a.setLearned(&a.learnDHCP, learned, learnState{size: st.Size(), modTime: st.ModTime(), gen: gen}) {
		a.log.Info("learned addresses from the DHCP lease file", "file", c.File, "leases", len(ls), "bindings", len(learned))
	}
	return nil
}

// setLearned records what a source learned now (with file, the file's
// state it was read from) and, when it changed, queues it for the
// controller and wakes the report loop. It reports whether it changed.
func (a *Agent) setLearned(st *learnState, learned []*pb.LearnedAddress, file learnState) bool {
	slices.SortFunc(learned, func(x, y *pb.LearnedAddress) int {
		return cmp.Or(compareIDs(x.ServiceId, y.ServiceId), strings.Compare(x.Address, y.Address))
	})
	learned = slices.CompactFunc(learned, func(x, y *pb.LearnedAddress) bool { return x.ServiceId == y.ServiceId && x.Address == y.Address })
	a.mu.Lock()
	changed := !st.known || !slices.EqualFunc(learned, st.learned, func(x, y *pb.LearnedAddress) bool {
		return x.ServiceId == y.ServiceId && x.Address == y.Address
	})
	seq := st.seq
	if changed {
		seq++
	}
	*st = learnState{size: file.size, modTime: file.modTime, gen: file.gen, learned: learned, known: true, unsent: st.unsent || changed, seq: seq}
	a.mu.Unlock()
	if changed {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
	return changed
}

// resendLearned makes the next flush send what was learned (a new report
// stream: the controller may have missed the last one).
func (a *Agent) resendLearned() {
	a.mu.Lock()
	a.learnDHCP.unsent, a.learnRADIUS.unsent = a.learnDHCP.known, a.learnRADIUS.known
	a.mu.Unlock()
}

// flushLearned sends each source's learned addresses if the controller
// does not have them yet: the first message names the source complete,
// later ones (of a list longer than learnedChunk) add to it.
func (a *Agent) flushLearned(report pb.Enforcement_ReportClient, rev int64) error {
	for _, src := range []struct {
		name string
		st   *learnState
	}{{"dhcp", &a.learnDHCP}, {"radius", &a.learnRADIUS}} {
		a.mu.Lock()
		learned, unsent, seq := src.st.learned, src.st.unsent, src.st.seq
		a.mu.Unlock()
		if !unsent {
			continue
		}
		for i := 0; i == 0 || i < len(learned); i += learnedChunk {
			m := &pb.ReportRequest{Pop: a.cfg.POP, AgentId: a.cfg.AgentID, AppliedRevision: rev,
				LearnedAddresses: learned[i:min(i+learnedChunk, len(learned))]}
			if i == 0 {
				m.LearnedComplete = []string{src.name}
			}
			if err := report.Send(m); err != nil {
				return fmt.Errorf("send learned addresses: %w", err)
			}
		}
		a.mu.Lock()
		if src.st.seq == seq { // nothing newer was learned meanwhile
			src.st.unsent = false
		}
		a.mu.Unlock()
	}
	return nil
}
