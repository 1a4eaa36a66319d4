package main

import "testing"

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string][2]int{"12/2030": {12, 2030}, "01/31": {1, 2031}, "7/2029": {7, 2029}} {
		m, y, err := parseExpiry(in)
		if err != nil || m != want[0] || y != want[1] {
			t.Errorf("%q: %d/%d %v", in, m, y, err)
		}
	}
	for _, bad := range []string{"", "13/2030", "0/2030", "12-2030", "ab/cd", "12/"} {
		if _, _, err := parseExpiry(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
