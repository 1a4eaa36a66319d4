package routerossim

import "testing"

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
