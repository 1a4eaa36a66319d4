package routerossim

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PathSimpleQueue is the simple queue menu: one queue per subscriber, the
// way RouterOS limits a target's speed.
const PathSimpleQueue = "/queue/simple"

// MsgAlreadyHaveName is the trap of an add or set that would give a
// second simple queue the same name. (RouterOS's wording as seen on
// routers; no public reference was found to cite. "failure: target not
// specified" follows the address list's "failure: list not specified".)
const MsgAlreadyHaveName = "failure: already have such name"

// simpleQueueParams are the parameters add and set take. Properties
// RouterOS has beyond these (packet-marks, queue types, bucket-size, …)
// are not simulated.
var simpleQueueParams = map[string]bool{
	"name": true, "target": true, "parent": true, "priority": true, "limit-at": true, "max-limit": true,
	"burst-limit": true, "burst-threshold": true, "burst-time": true, "comment": true, "disabled": true,
}

// simpleQueueDefaults are the values of a new queue's properties, in the
// order print shows them.
var simpleQueueDefaults = []struct{ key, value string }{
	{"name", ""}, {"target", ""}, {"parent", "none"}, {"priority", "8/8"}, {"limit-at", "0/0"},
	{"max-limit", "0/0"}, {"burst-limit", "0/0"}, {"burst-threshold", "0/0"}, {"burst-time", "0s/0s"},
	{"invalid", "false"}, {"dynamic", "false"}, {"disabled", "false"},
}

// addSimpleQueue adds a simple queue. Values are stored as the API prints
// them: rates as upload/download in plain bits per second (max-limit=10M
// prints 10000000/10000000), a host target with its prefix length
// (10.0.0.7 prints 10.0.0.7/32), times with their unit (16 prints
// 16s/16s), priority as upload/download. A queue added without a name is
// called queue1, queue2, … (the first free one), as RouterOS does.
func (t *table) addSimpleQueue(a args) (uint64, *trapError) {
	for _, k := range a.keys {
		if !simpleQueueParams[k] {
			return 0, trapf(categoryArgument, "unknown parameter %s", k)
		}
	}
	if v, ok := a.get("target"); !ok || v == "" {
		return 0, trapf(categoryArgument, "failure: target not specified")
	}
	it := &item{id: t.nextID, vals: map[string]string{}}
	for _, d := range simpleQueueDefaults {
		it.set(d.key, d.value)
	}
	for _, k := range a.keys {
		if err := setQueueParam(it, k, a.vals[k]); err != nil {
			return 0, err
		}
	}
	if it.vals["name"] == "" {
		for n := 1; ; n++ {
			if _, taken := t.uniq["queue"+strconv.Itoa(n)]; !taken {
				it.set("name", "queue"+strconv.Itoa(n))
				break
			}
		}
	}
	if _, dup := t.uniq[it.vals["name"]]; dup {
		return 0, trapf(-1, MsgAlreadyHaveName)
	}
	t.nextID++
	t.insert(it, 0)
	return it.id, nil
}

// setQueueParam sets one parameter of a simple queue, normalised; an
// invalid value is refused as RouterOS refuses it.
func setQueueParam(it *item, k, v string) *trapError {
	bad := trapf(categoryArgument, "invalid value for argument %s", k)
	switch k {
	case "name":
		if v == "" {
			return trapf(categoryArgument, "failure: name not specified")
		}
		it.set(k, v)
	case "target":
		target, ok := normalizeTarget(v)
		if !ok {
			return bad
		}
		it.set(k, target)
	case "parent":
		if v == "" {
			v = "none"
		}
		it.set(k, v)
	case "limit-at", "max-limit", "burst-limit", "burst-threshold":
		r, ok := pairOf(v, parseRate)
		if !ok {
			return bad
		}
		it.set(k, r)
	case "burst-time":
		r, ok := pairOf(v, parseSeconds)
		if !ok {
			return bad
		}
		it.set(k, r)
	case "priority":
		r, ok := pairOf(v, func(s string) (string, bool) {
			n, err := strconv.Atoi(s)
			return strconv.Itoa(n), err == nil && n >= 1 && n <= 8
		})
		if !ok {
			return bad
		}
		it.set(k, r)
	case "disabled":
		b, err := parseBool(k, v)
		if err != nil {
			return err
		}
		it.set(k, b)
	case "comment":
		if v == "" {
			it.unset(k)
		} else {
			it.set(k, v)
		}
	default:
		return trapf(categoryArgument, "unknown parameter %s", k)
	}
	return nil
}

// pairOf parses "up/down" or one value for both, each with parse, into
// "up/down".
func pairOf(v string, parse func(string) (string, bool)) (string, bool) {
	up, down, two := strings.Cut(v, "/")
	if !two {
		down = up
	}
	u, ok1 := parse(up)
	d, ok2 := parse(down)
	return u + "/" + d, ok1 && ok2
}

// parseRate reads a rate as RouterOS does (a number, optionally with k, M
// or G) and writes it in bits per second.
func parseRate(s string) (string, bool) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1_000, s[:n-1]
		case 'M':
			mult, s = 1_000_000, s[:n-1]
		case 'G':
			mult, s = 1_000_000_000, s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return "", false
	}
	return strconv.FormatInt(n*mult, 10), true
}

// parseSeconds reads a time (seconds, or with s, m or h) and writes it as
// RouterOS prints one: 16s, 1m30s, 2h.
func parseSeconds(s string) (string, bool) {
	if s != "" && s[len(s)-1] >= '0' && s[len(s)-1] <= '9' {
		s += "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d%time.Second != 0 || d > 24*time.Hour {
		return "", false
	}
	secs := int64(d / time.Second)
	if secs == 0 {
		return "0s", true
	}
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		unit string
	}{{3600, "h"}, {60, "m"}, {1, "s"}} {
		if secs >= u.n {
			b.WriteString(strconv.FormatInt(secs/u.n, 10) + u.unit)
			secs %= u.n
		}
	}
	return b.String(), true
}

// normalizeTarget stores a queue target the way RouterOS shows it: each
// of its comma-separated addresses as a prefix (a host with /32 or /128,
// host bits cleared); interface names are kept.
func normalizeTarget(v string) (string, bool) {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Zone() == "" {
			out = append(out, p.Masked().String())
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			out = append(out, netip.PrefixFrom(a, a.BitLen()).String())
			continue
		}
		if !isHostname(s) {
			return "", false
		}
		out = append(out, s)
	}
	return strings.Join(out, ","), true
}

// SimpleQueue is one simple queue as print shows it, for tests that look
// at or tamper with the router behind a client's back.
type SimpleQueue struct {
	ID, Name, Target, MaxLimit, BurstLimit, BurstThreshold, BurstTime, Priority, Comment string
	Disabled                                                                             bool
}

// SimpleQueues returns the simple queues in the router's order.
func (s *Server) SimpleQueues() []SimpleQueue {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	var out []SimpleQueue
	s.tables[PathSimpleQueue].each(func(it *item) {
		v := it.vals
		out = append(out, SimpleQueue{ID: formatID(it.id), Name: v["name"], Target: v["target"], MaxLimit: v["max-limit"],
			BurstLimit: v["burst-limit"], BurstThreshold: v["burst-threshold"], BurstTime: v["burst-time"],
			Priority: v["priority"], Comment: v["comment"], Disabled: v["disabled"] == "true"})
	})
	return out
}

// SetSimpleQueue changes the named queue's properties as a technician
// would (say, max-limit by hand, for a drift test); it fails as the
// router's set would, with MsgNoSuchItem for an unknown name.
func (s *Server) SetSimpleQueue(name string, props map[string]string) error {
	var a args
	// Sorted: the same call makes the same change every time.
	for _, k := range slices.Sorted(maps.Keys(props)) {
		a.add(k, props[k])
	}
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	t := s.tables[PathSimpleQueue]
	id, ok := t.uniq[name]
	if !ok {
		return trapf(categoryMissing, MsgNoSuchItem)
	}
	if err := s.changeItemsLocked(t, "set", []uint64{id}, a, false); err != nil {
		return err
	}
	return nil
}
