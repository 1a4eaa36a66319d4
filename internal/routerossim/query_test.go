package routerossim

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestQuery(t *testing.T) {
	items := map[string]map[string]string{
		"ether1": {"name": "ether1", "type": "ether", "mtu": "1500", "comment": "uplink"},
		"ether2": {"name": "ether2", "type": "ether", "mtu": "9000"},
		"vlan10": {"name": "vlan10", "type": "vlan", "mtu": "1500", "comment": ""},
		"wg0":    {"name": "wg0", "type": "wg", "mtu": "1420"},
	}
	for _, tc := range []struct {
		words []string
		want  string // matching names, in ether1 ether2 vlan10 wg0 order
	}{
		{nil, "ether1 ether2 vlan10 wg0"},
		{[]string{"type=ether"}, "ether1 ether2"},
		{[]string{"=type=ether"}, "ether1 ether2"},
		{[]string{"type=ether", "mtu=1500"}, "ether1"},
		// The documentation's examples.
		{[]string{"type=ether", "type=vlan", "#|"}, "ether1 ether2 vlan10"},
		{[]string{"type=ether", "type=vlan", "#|!"}, "wg0"},
		{[]string{">comment="}, "ether1"},
		{[]string{"comment"}, "ether1 vlan10"},
		{[]string{"-comment"}, "ether2 wg0"},
		{[]string{"<mtu=1500"}, "wg0"},
		{[]string{">mtu=1500"}, "ether2"},
		{[]string{">mtu=999"}, "ether1 ether2 vlan10 wg0"}, // numbers compare as numbers
		{[]string{".id=*1"}, "ether1"},
		// Stack operations: '.' duplicates the top, an index pushes a copy,
		// an index at the end replaces the whole stack.
		{[]string{"type=wg", "#.|"}, "wg0"},
		{[]string{"type=wg", "type=vlan", "#1"}, "wg0"},
		{[]string{"type=wg", "type=vlan", "#0"}, "vlan10"},
		// Values left below the result still count: [wg vlan] → #1.| →
		// [wg vlan|wg].
		{[]string{"type=wg", "type=vlan", "#1.|"}, "wg0"},
		{[]string{"type=wg", "type=vlan", "#01|"}, "wg0"},
		{[]string{"type=wg", "type=vlan", "#1|0"}, "vlan10 wg0"},
		{[]string{"type=ether", "mtu=9000", "#&!"}, "ether1 vlan10 wg0"},
		// Popping below the explicit values yields 'true'.
		{[]string{"#!"}, ""},
		{[]string{"#&&|"}, "ether1 ether2 vlan10 wg0"},
	} {
		q, err := compileQuery(tc.words)
		if err != nil {
			t.Errorf("%q: %v", tc.words, err)
			continue
		}
		var got []byte
		for i, name := range []string{"ether1", "ether2", "vlan10", "wg0"} {
			it := &item{id: uint64(i + 1), vals: items[name]}
			if q.match(it.get) {
				if len(got) > 0 {
					got = append(got, ' ')
				}
				got = append(got, name...)
			}
		}
		if string(got) != tc.want {
			t.Errorf("%q matched %q, want %q", tc.words, got, tc.want)
		}
	}
	for _, bad := range []string{"#x", "-", "-a=b", "<a", "=", "=x", ""} {
		if _, err := compileQuery([]string{bad}); err == nil {
			t.Errorf("?%s compiled", bad)
		}
	}
}

// The address lookup a driver sends goes through the address list's unique
// index; it finds exactly what a scan of every entry finds, in the same
// order, whatever was added, set and removed before.
func TestAddressLookupThroughTheIndexAgreesWithAScan(t *testing.T) {
	tb := newTable("/ip/firewall/address-list", kindAddressList, false)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	add := func(list, addr string) uint64 {
		t.Helper()
		var a args
		a.add("list", list)
		a.add("address", addr)
		id, err := tb.add(a, now)
		if err != nil {
			t.Fatalf("add %s %s: %v", list, addr, err)
		}
		return id
	}
	for i := range 200 {
		add("suspended", fmt.Sprintf("10.0.%d.%d", i/100, i%100))
		if i%3 == 0 {
			add("walled", fmt.Sprintf("10.0.%d.%d", i/100, i%100))
		}
	}
	tb.remove(add("suspended", "192.0.2.1"))
	var moved args
	moved.add("address", "10.9.9.9")
	if err := tb.set([]uint64{tb.uniq[uniqKey("suspended", "10.0.0.5")]}, moved); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		words []string
		want  int
	}{
		{[]string{"list=suspended", "address=10.0.1.7"}, 1},
		{[]string{"list=suspended", "address=10.0.1.7", "address=10.0.1.7/32", "#|"}, 1},
		{[]string{"list=walled", "address=10.0.0.3", "address=10.0.0.6", "#|"}, 2},
		{[]string{"list=suspended", "address=10.0.0.5"}, 0},  // set away
		{[]string{"list=suspended", "address=10.9.9.9"}, 1},  // set to
		{[]string{"list=suspended", "address=192.0.2.1"}, 0}, // removed
		{[]string{"list=nope", "address=10.0.0.1"}, 0},
	} {
		words := tc.words
		q, err := compileQuery(words)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := q.listAddresses(); !ok {
			t.Fatalf("%v is not recognised as an address lookup", words)
		}
		if got, want := tb.find(q), tb.scan(q); !slices.Equal(got, want) || len(got) != tc.want {
			t.Errorf("%v: the index finds %d items, a scan %d; want %d", words, len(got), len(want), tc.want)
		}
	}
	// Anything else is a scan.
	for _, words := range [][]string{{"address=10.0.0.1"}, {"list=suspended", "address=10.0.0.1", "address=10.0.0.2", "#&"}, {"list=suspended", "disabled=false"}} {
		q, _ := compileQuery(words)
		if _, _, ok := q.listAddresses(); ok {
			t.Errorf("%v taken for an address lookup", words)
		}
	}
}
