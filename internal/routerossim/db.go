package routerossim

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Menus the simulator implements (command word = menu + "/" + verb).
const (
	PathAddressList   = "/ip/firewall/address-list"
	PathAddressListV6 = "/ipv6/firewall/address-list"
	PathNAT           = "/ip/firewall/nat"
	PathFilter        = "/ip/firewall/filter"
)

// Messages of the traps the simulator sends, as RouterOS words them.
const (
	MsgAlreadyHave   = "failure: already have such entry"
	MsgNoSuchItem    = "no such item"
	MsgNoSuchCommand = "no such command prefix"
	MsgBadLogin      = "invalid user name or password (6)"
)

// Trap categories (RouterOS API documentation).
const (
	categoryMissing  = 0 // missing item or command
	categoryArgument = 1 // argument value failure
	categoryGeneral  = 4 // general failure
)

// trapError is a command failure: a !trap with message and, when it is
// not negative, category.
type trapError struct {
	category int
	message  string
}

func (e *trapError) Error() string { return e.message }

func trapf(category int, msg string, args ...any) *trapError {
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	return &trapError{category: category, message: msg}
}

// item is one row of a menu. Items are immutable once stored: set replaces
// the item, so a print can hand out items after releasing the lock.
type item struct {
	id   uint64
	keys []string // property order for print (without .id)
	vals map[string]string
}

func (it *item) get(name string) (string, bool) {
	if name == ".id" {
		return formatID(it.id), true
	}
	v, ok := it.vals[name]
	return v, ok
}

func (it *item) clone() *item {
	c := &item{id: it.id, keys: slices.Clone(it.keys), vals: make(map[string]string, len(it.vals))}
	for k, v := range it.vals {
		c.vals[k] = v
	}
	return c
}

func (it *item) set(k, v string) {
	if _, ok := it.vals[k]; !ok {
		it.keys = append(it.keys, k)
	}
	it.vals[k] = v
}

func (it *item) unset(k string) {
	if _, ok := it.vals[k]; ok {
		delete(it.vals, k)
		it.keys = slices.DeleteFunc(it.keys, func(x string) bool { return x == k })
	}
}

// formatID renders an internal id the RouterOS way: '*' and upper-case hex.
func formatID(id uint64) string { return "*" + strings.ToUpper(strconv.FormatUint(id, 16)) }

// parseID reads one "*1A" id.
func parseID(s string) (uint64, bool) {
	if len(s) < 2 || s[0] != '*' {
		return 0, false
	}
	id, err := strconv.ParseUint(s[1:], 16, 64)
	return id, err == nil && id > 0
}

type tableKind int

const (
	kindAddressList tableKind = iota
	kindRules
	kindSimpleQueue
)

// table is one menu: its items in order, with removed ones left as nil
// until the next compaction so that a remove is O(1).
type table struct {
	path   string
	kind   tableKind
	v6     bool
	nextID uint64
	items  []*item
	pos    map[uint64]int
	live   int
	uniq   map[string]uint64 // address lists: list + "\x00" + address → id; simple queues: name → id
}

func newTable(path string, kind tableKind, v6 bool) *table {
	return &table{path: path, kind: kind, v6: v6, nextID: 1, pos: map[uint64]int{}, uniq: map[string]uint64{}}
}

func uniqKey(list, address string) string { return list + "\x00" + address }

// uniqueKey is it's key in t.uniq; ok is false for a table without one.
func (t *table) uniqueKey(it *item) (key string, ok bool) {
	switch t.kind {
	case kindAddressList:
		return uniqKey(it.vals["list"], it.vals["address"]), true
	case kindSimpleQueue:
		return it.vals["name"], true
	}
	return "", false
}

func (t *table) get(id uint64) *item {
	if i, ok := t.pos[id]; ok {
		return t.items[i]
	}
	return nil
}

// insert stores it before the item with id before (0: at the end).
func (t *table) insert(it *item, before uint64) {
	t.live++
	if k, ok := t.uniqueKey(it); ok {
		t.uniq[k] = it.id
	}
	if i, ok := t.pos[before]; ok && before != 0 {
		t.items = slices.Insert(t.items, i, it)
		t.reindex()
		return
	}
	t.pos[it.id] = len(t.items)
	t.items = append(t.items, it)
}

func (t *table) replace(it *item) {
	old := t.get(it.id)
	if k, ok := t.uniqueKey(old); ok {
		delete(t.uniq, k)
		k, _ = t.uniqueKey(it)
		t.uniq[k] = it.id
	}
	t.items[t.pos[it.id]] = it
}

func (t *table) remove(id uint64) {
	i, ok := t.pos[id]
	if !ok {
		return
	}
	it := t.items[i]
	if k, ok := t.uniqueKey(it); ok {
		delete(t.uniq, k)
	}
	t.items[i] = nil
	delete(t.pos, id)
	t.live--
	if len(t.items) > 64 && len(t.items) > 2*t.live {
		t.items = slices.DeleteFunc(t.items, func(it *item) bool { return it == nil })
		t.reindex()
	}
}

func (t *table) reindex() {
	clear(t.pos)
	for i, it := range t.items {
		if it != nil {
			t.pos[it.id] = i
		}
	}
}

// find returns the items q matches, in order. A driver's lookup of one
// address goes through the unique index instead of a scan of every entry
// (which made the simulator most of a benchmark's CPU); scan is the
// definition it must agree with.
func (t *table) find(q *query) []*item {
	list, addrs, ok := q.listAddresses()
	if !ok || t.kind != kindAddressList {
		return t.scan(q)
	}
	var found []*item
	for _, a := range addrs {
		if id, ok := t.uniq[uniqKey(list, a)]; ok {
			if it := t.get(id); it != nil && q.match(it.get) && !slices.Contains(found, it) {
				found = append(found, it)
			}
		}
	}
	slices.SortFunc(found, func(x, y *item) int { return cmp.Compare(t.pos[x.id], t.pos[y.id]) })
	return found
}

// scan returns the items q matches, in order, looking at every item.
func (t *table) scan(q *query) []*item {
	var found []*item
	t.each(func(it *item) {
		if q.match(it.get) {
			found = append(found, it)
		}
	})
	return found
}

// each calls fn for every item in order.
func (t *table) each(fn func(*item)) {
	for _, it := range t.items {
		if it != nil {
			fn(it)
		}
	}
}

// args are a command's attribute words in the order given.
type args struct {
	keys []string
	vals map[string]string
}

func (a *args) add(k, v string) {
	if a.vals == nil {
		a.vals = map[string]string{}
	}
	if _, ok := a.vals[k]; !ok {
		a.keys = append(a.keys, k)
	}
	a.vals[k] = v
}

func (a *args) get(k string) (string, bool) {
	v, ok := a.vals[k]
	return v, ok
}

var addressListParams = map[string]bool{"list": true, "address": true, "comment": true, "disabled": true, "timeout": true}

// add creates an item from a's parameters and returns its id.
func (t *table) add(a args, now time.Time) (uint64, *trapError) {
	switch t.kind {
	case kindAddressList:
		return t.addAddress(a, now)
	case kindSimpleQueue:
		return t.addSimpleQueue(a)
	}
	return t.addRule(a)
}

func (t *table) addAddress(a args, now time.Time) (uint64, *trapError) {
	for _, k := range a.keys {
		if !addressListParams[k] {
			return 0, trapf(categoryArgument, "unknown parameter %s", k)
		}
	}
	it := &item{id: t.nextID, vals: map[string]string{}}
	list, ok := a.get("list")
	if !ok || list == "" {
		return 0, trapf(categoryArgument, "failure: list not specified")
	}
	addr, ok := a.get("address")
	if !ok || addr == "" {
		return 0, trapf(categoryArgument, "failure: address not specified")
	}
	addr, err := normalizeAddress(addr, t.v6)
	if err != nil {
		return 0, err
	}
	disabled := "false"
	if v, ok := a.get("disabled"); ok {
		if disabled, err = parseBool("disabled", v); err != nil {
			return 0, err
		}
	}
	if _, dup := t.uniq[uniqKey(list, addr)]; dup {
		return 0, trapf(-1, MsgAlreadyHave)
	}
	it.set("list", list)
	it.set("address", addr)
	it.set("creation-time", now.Format("2006-01-02 15:04:05"))
	it.set("dynamic", "false")
	it.set("disabled", disabled)
	if v, ok := a.get("timeout"); ok && v != "" {
		it.set("timeout", v)
	}
	if v, ok := a.get("comment"); ok && v != "" {
		it.set("comment", v)
	}
	t.nextID++
	t.insert(it, 0)
	return it.id, nil
}

func (t *table) addRule(a args) (uint64, *trapError) {
	chain, ok := a.get("chain")
	if !ok || chain == "" {
		return 0, trapf(categoryArgument, "failure: chain not specified")
	}
	var before uint64
	if v, ok := a.get("place-before"); ok {
		id, ok := parseID(v)
		if !ok || t.get(id) == nil {
			return 0, trapf(categoryMissing, MsgNoSuchItem)
		}
		before = id
	}
	it := &item{id: t.nextID, vals: map[string]string{}}
	it.set("chain", chain)
	action := "accept"
	if v, ok := a.get("action"); ok && v != "" {
		action = v
	}
	it.set("action", action)
	disabled := "false"
	for _, k := range a.keys {
		v := a.vals[k]
		switch k {
		case "chain", "action", "place-before", "comment":
		case "disabled":
			var err *trapError
			if disabled, err = parseBool(k, v); err != nil {
				return 0, err
			}
		default:
			if v != "" {
				it.set(k, v)
			}
		}
	}
	it.set("bytes", "0")
	it.set("packets", "0")
	it.set("invalid", "false")
	it.set("dynamic", "false")
	it.set("disabled", disabled)
	if v, ok := a.get("comment"); ok && v != "" {
		it.set("comment", v)
	}
	t.nextID++
	t.insert(it, before)
	return it.id, nil
}

// change runs remove, set, enable or disable on the items ids: all of
// them or, if one is missing, none.
func (t *table) change(verb string, ids []uint64, a args) *trapError {
	for _, id := range ids {
		if t.get(id) == nil {
			return trapf(categoryMissing, MsgNoSuchItem)
		}
	}
	switch verb {
	case "remove":
		for _, id := range ids {
			t.remove(id)
		}
		return nil
	case "enable", "disable":
		var d args
		d.add("disabled", map[string]string{"enable": "false", "disable": "true"}[verb])
		return t.set(ids, d)
	}
	return t.set(ids, a)
}

// set changes parameters of the items ids.
func (t *table) set(ids []uint64, a args) *trapError {
	var out []*item
	for _, id := range ids {
		old := t.get(id)
		if old == nil {
			return trapf(categoryMissing, MsgNoSuchItem)
		}
		it := old.clone()
		for _, k := range a.keys {
			v := a.vals[k]
			switch {
			case t.kind == kindSimpleQueue:
				if err := setQueueParam(it, k, v); err != nil {
					return err
				}
			case k == "disabled":
				b, err := parseBool(k, v)
				if err != nil {
					return err
				}
				it.set(k, b)
			case k == "comment" && v == "":
				it.unset(k)
			case t.kind == kindAddressList && !addressListParams[k]:
				return trapf(categoryArgument, "unknown parameter %s", k)
			case t.kind == kindAddressList && k == "address":
				addr, err := normalizeAddress(v, t.v6)
				if err != nil {
					return err
				}
				it.set(k, addr)
			case k == "list" || k == "chain":
				if v == "" {
					return trapf(categoryArgument, "failure: %s not specified", k)
				}
				it.set(k, v)
			case k == "place-before", k == "bytes", k == "packets", k == "dynamic", k == "invalid", k == "creation-time":
				return trapf(categoryArgument, "unknown parameter %s", k)
			default:
				if v == "" {
					it.unset(k)
				} else {
					it.set(k, v)
				}
			}
		}
		out = append(out, it)
	}
	// The changed items must not collide with each other or with items
	// left alone.
	seen := map[string]bool{}
	for _, it := range out {
		k, unique := t.uniqueKey(it)
		if !unique {
			break
		}
		if id, ok := t.uniq[k]; ok && !slices.Contains(ids, id) || seen[k] {
			if t.kind == kindSimpleQueue {
				return trapf(-1, MsgAlreadyHaveName)
			}
			return trapf(-1, MsgAlreadyHave)
		}
		seen[k] = true
	}
	for _, it := range out {
		t.replace(it)
	}
	return nil
}

func parseBool(name, v string) (string, *trapError) {
	switch strings.ToLower(v) {
	case "yes", "true":
		return "true", nil
	case "no", "false":
		return "false", nil
	}
	return "", trapf(categoryArgument, "value of %s must be yes or no", name)
}

// normalizeAddress stores an address-list address the way RouterOS shows
// it: an IPv4 host without /32, an IPv6 host with /128, a prefix with its
// host bits cleared; ranges and DNS names are kept as they are.
func normalizeAddress(s string, v6 bool) (string, *trapError) {
	bad := trapf(categoryArgument, "invalid value for argument address")
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Is4() == v6 || p.Addr().Zone() != "" {
			return "", bad
		}
		p = p.Masked()
		if !v6 && p.Bits() == 32 {
			return p.Addr().String(), nil
		}
		return p.String(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Is4() == v6 || a.Zone() != "" {
			return "", bad
		}
		if v6 {
			return netip.PrefixFrom(a, 128).String(), nil
		}
		return a.String(), nil
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(lo)
		b, err2 := netip.ParseAddr(hi)
		if err1 == nil && err2 == nil && a.Is4() != v6 && b.Is4() != v6 && a.Compare(b) <= 0 {
			return s, nil
		}
	}
	if isHostname(s) {
		return s, nil
	}
	return "", bad
}

func isHostname(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, "..") {
		return false
	}
	letter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return letter
}
