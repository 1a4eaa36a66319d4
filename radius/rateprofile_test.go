package radius

import (
	"bytes"
	"strings"
	"testing"

	rad "layeh.com/radius"
)

func TestFormatRate(t *testing.T) {
	for bps, want := range map[int64]string{
		0: "0", -5: "0", 1: "1", 999: "999", 1000: "1k", 1500: "1500", 64_000: "64k", 1_000_000: "1M",
		1_500_000: "1500k", 100_000_000: "100M", 1_000_000_000: "1000M", 100_000_000_000: "100000M", 1_000_001: "1000001",
	} {
		if got := FormatRate(bps); got != want {
			t.Errorf("FormatRate(%d) = %q, want %q", bps, got, want)
		}
	}
}

func TestMikrotikRateLimit(t *testing.T) {
	const M, k = 1_000_000, 1_000
	tests := []struct {
		name string
		p    RateProfile
		want string
	}{
		{"rates: upload (rx) first", RateProfile{UploadRate: 20 * M, DownloadRate: 100 * M}, "20M/100M"},
		{"odd rates", RateProfile{UploadRate: 512 * k, DownloadRate: 1_500_500}, "512k/1500500"},
		// MikroTik's own example: 64k/64k 256k/256k 128k/128k 10/10.
		{"documented example", RateProfile{UploadRate: 64 * k, DownloadRate: 64 * k, UploadBurstRate: 256 * k, DownloadBurstRate: 256 * k,
			UploadBurstThreshold: 128 * k, DownloadBurstThreshold: 128 * k, BurstTime: 10}, "64k/64k 256k/256k 128k/128k 10/10"},
		{"burst only", RateProfile{UploadRate: 2 * M, DownloadRate: 10 * M, UploadBurstRate: 4 * M, DownloadBurstRate: 20 * M}, "2M/10M 4M/20M"},
		{"download burst only", RateProfile{UploadRate: 2 * M, DownloadRate: 10 * M, DownloadBurstRate: 20 * M}, "2M/10M 0/20M"},
		{"burst time, threshold defaulted to the rate", RateProfile{UploadRate: 2 * M, DownloadRate: 10 * M, UploadBurstRate: 4 * M,
			DownloadBurstRate: 20 * M, BurstTime: 16}, "2M/10M 4M/20M 2M/10M 16/16"},
		{"one threshold, the other direction without burst", RateProfile{UploadRate: 2 * M, DownloadRate: 10 * M,
			DownloadBurstRate: 20 * M, DownloadBurstThreshold: 8 * M}, "2M/10M 0/20M 0/8M"},
		{"priority alone", RateProfile{UploadRate: 10 * M, DownloadRate: 100 * M, Priority: 8}, "10M/100M 0/0 0/0 0/0 8"},
		{"priority with burst, time defaulted to 1s", RateProfile{UploadRate: 2 * M, DownloadRate: 10 * M, UploadBurstRate: 4 * M,
			DownloadBurstRate: 20 * M, Priority: 3}, "2M/10M 4M/20M 2M/10M 1/1 3"},
		{"everything", RateProfile{UploadRate: 2 * M, DownloadRate: 10 * M, UploadBurstRate: 4 * M, DownloadBurstRate: 20 * M,
			UploadBurstThreshold: 1500 * k, DownloadBurstThreshold: 8 * M, BurstTime: 30, Priority: 1}, "2M/10M 4M/20M 1500k/8M 30/30 1"},
		{"burst time without burst, written as given", RateProfile{UploadRate: M, DownloadRate: M, BurstTime: 9}, "1M/1M 0/0 0/0 9/9"},
		{"threshold without burst, written as given", RateProfile{UploadRate: M, DownloadRate: M, UploadBurstThreshold: 5 * M}, "1M/1M 0/0 5M/0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MikrotikRateLimit(tc.p); got != tc.want {
				t.Errorf("MikrotikRateLimit = %q, want %q", got, tc.want)
			}
		})
	}
}

// encoded returns the wire form of attrs.
func encoded(t *testing.T, attrs ...Attr) []byte {
	t.Helper()
	var as rad.Attributes
	for _, a := range attrs {
		if err := a.Encode(&as); err != nil {
			t.Fatal(err)
		}
	}
	var out []byte
	for _, avp := range as {
		out = append(out, byte(avp.Type), byte(2+len(avp.Attribute)))
		out = append(out, avp.Attribute...)
	}
	return out
}

func vsa(vendor uint32, typ byte, tag byte, value string) []byte {
	v := []byte(value)
	if tag != 0 {
		v = append([]byte{tag}, v...)
	}
	b := []byte{26, byte(8 + len(v)), byte(vendor >> 24), byte(vendor >> 16), byte(vendor >> 8), byte(vendor), typ, byte(2 + len(v))}
	return append(b, v...)
}

func TestMikrotikRateLimitAttrBytes(t *testing.T) {
	got := encoded(t, MikrotikRateLimitAttr(RateProfile{UploadRate: 20_000_000, DownloadRate: 100_000_000}))
	// 26, len 16, vendor 14988 = 0x00003a8c, type 8, len 10, "20M/100M".
	want := []byte{26, 16, 0x00, 0x00, 0x3a, 0x8c, 8, 10, '2', '0', 'M', '/', '1', '0', '0', 'M'}
	if !bytes.Equal(got, want) {
		t.Errorf("wire = % x\nwant   % x", got, want)
	}
}

func TestCiscoServiceCommand(t *testing.T) {
	on, err := CiscoServiceCommand(true, "FIBER-100")
	if err != nil {
		t.Fatal(err)
	}
	got := encoded(t, on...)
	want := append(vsa(VendorCisco, 1, 0, "subscriber:command=activate-service"), vsa(VendorCisco, 1, 0, "subscriber:service-name=FIBER-100")...)
	if !bytes.Equal(got, want) {
		t.Errorf("activate wire = % x\nwant            % x", got, want)
	}
	off, err := CiscoServiceCommand(false, "FIBER-100")
	if err != nil || len(off) != 2 || off[0].Value != "subscriber:command=deactivate-service" || off[1].Value != "subscriber:service-name=FIBER-100" {
		t.Errorf("deactivate = %+v, %v", off, err)
	}
	for _, bad := range []string{"", "a b", "x=y", "svc,2", "s\x00"} {
		if _, err := CiscoServiceCommand(true, bad); err == nil {
			t.Errorf("CiscoServiceCommand(%q) accepted", bad)
		}
	}
}

func TestCiscoQoSPolicies(t *testing.T) {
	tests := []struct {
		in, out string
		want    []string
	}{
		{"UP-20M", "DOWN-100M", []string{"ip:sub-qos-policy-in=UP-20M", "ip:sub-qos-policy-out=DOWN-100M"}},
		{"", "DOWN-100M", []string{"ip:sub-qos-policy-out=DOWN-100M"}},
		{"UP-20M", "", []string{"ip:sub-qos-policy-in=UP-20M"}},
	}
	for _, tc := range tests {
		got, err := CiscoQoSPolicies(tc.in, tc.out)
		if err != nil {
			t.Fatalf("%q/%q: %v", tc.in, tc.out, err)
		}
		var vals []string
		for _, a := range got {
			if a.Vendor != VendorCisco || a.Type != 1 {
				t.Errorf("%+v is not Cisco-AVPair", a)
			}
			vals = append(vals, a.Value)
		}
		if strings.Join(vals, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q/%q = %q, want %q", tc.in, tc.out, vals, tc.want)
		}
	}
	if _, err := CiscoQoSPolicies("", ""); err == nil {
		t.Error("no policy accepted")
	}
	if _, err := CiscoQoSPolicies("a=b", "ok"); err == nil {
		t.Error("policy name with '=' accepted")
	}
}

func TestJuniperServiceActivate(t *testing.T) {
	a, err := JuniperServiceActivate("svc-rate", RateProfile{UploadRate: 20_000_000, DownloadRate: 100_000_000})
	if err != nil {
		t.Fatal(err)
	}
	got := encoded(t, a)
	// vendor 4874 = 0x0000130a, type 65, tag 1, then name(up,down) in bit/s.
	want := vsa(VendorJuniperERX, 65, 1, "svc-rate(20000000,100000000)")
	if !bytes.Equal(got, want) {
		t.Errorf("wire = % x\nwant   % x", got, want)
	}
	if want[2] != 0 || want[3] != 0 || want[4] != 0x13 || want[5] != 0x0a {
		t.Fatalf("vendor bytes % x, want 00 00 13 0a", want[2:6])
	}
	d, err := JuniperServiceDeactivate("svc-rate")
	if err != nil || !bytes.Equal(encoded(t, d), vsa(VendorJuniperERX, 66, 0, "svc-rate")) {
		t.Errorf("deactivate = %+v, %v", d, err)
	}
	for _, bad := range []string{"", "svc(1)", "s v"} {
		if _, err := JuniperServiceActivate(bad, RateProfile{UploadRate: 1, DownloadRate: 1}); err == nil {
			t.Errorf("JuniperServiceActivate(%q) accepted", bad)
		}
	}
	if _, err := JuniperServiceActivate("svc", RateProfile{UploadRate: 0, DownloadRate: 1}); err == nil {
		t.Error("zero upload rate accepted")
	}
}

func TestFilterIDAttr(t *testing.T) {
	a, err := FilterIDAttr("fiber100")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := encoded(t, a), append([]byte{11, 10}, "fiber100"...); !bytes.Equal(got, want) {
		t.Errorf("wire = % x, want % x", got, want)
	}
	if _, err := FilterIDAttr(""); err == nil {
		t.Error("empty Filter-Id accepted")
	}
}

func TestParseMikrotikRateLimit(t *testing.T) {
	const M, k = 1_000_000, 1_000
	tests := []struct {
		in   string
		want RateProfile
	}{
		{"128k", RateProfile{UploadRate: 128 * k, DownloadRate: 128 * k}},
		{"64k/128M", RateProfile{UploadRate: 64 * k, DownloadRate: 128 * M}},
		{"64k 256k", RateProfile{UploadRate: 64 * k, DownloadRate: 64 * k, UploadBurstRate: 256 * k, DownloadBurstRate: 256 * k}},
		{"64k/64k 256k/256k 128k/128k 10/10", RateProfile{UploadRate: 64 * k, DownloadRate: 64 * k, UploadBurstRate: 256 * k,
			DownloadBurstRate: 256 * k, UploadBurstThreshold: 128 * k, DownloadBurstThreshold: 128 * k, BurstTime: 10}},
		{"  10M/100M   0/0 0/0 0s/0s 8 ", RateProfile{UploadRate: 10 * M, DownloadRate: 100 * M, Priority: 8}},
		{"1500500/2", RateProfile{UploadRate: 1_500_500, DownloadRate: 2}},
	}
	for _, tc := range tests {
		got, err := ParseMikrotikRateLimit(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMikrotikRateLimit(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "  ", "fast", "1G", "10m", "1M/", "/1M", "1M/1M/1M", "-1M", "1M 2M 3M 4/5", "1M 0 0 0 9",
		"1M 0 0 0 0", "1M 0 0 0 8 512k", "1M 0 0 1.5", "99999999999999M", "1M 0 0 100000"} {
		if p, err := ParseMikrotikRateLimit(bad); err == nil {
			t.Errorf("ParseMikrotikRateLimit(%q) = %+v, want an error", bad, p)
		}
	}
}

// effective fills in what RouterOS assumes for a field left unset: a
// bursting direction's threshold is its rate; a burst lasts 1 s.
func effective(p RateProfile) RateProfile {
	if p.UploadBurstRate > 0 && p.UploadBurstThreshold == 0 {
		p.UploadBurstThreshold = p.UploadRate
	}
	if p.DownloadBurstRate > 0 && p.DownloadBurstThreshold == 0 {
		p.DownloadBurstThreshold = p.DownloadRate
	}
	if p.hasBurst() && p.BurstTime == 0 {
		p.BurstTime = 1
	}
	return p
}

// FuzzMikrotikRateLimit: parsing never panics, and whatever parses is
// rendered into a value that parses back to the same effective profile.
func FuzzMikrotikRateLimit(f *testing.F) {
	for _, s := range []string{"128k", "64k/128M", "64k 256k", "64k/64k 256k/256k 128k/128k 10/10", "10M/100M 0/0 0/0 0/0 8",
		"1M 0 5M", "1M 0 0 10", "2M/10M 4M/20M 0/0 0/0 3", "0", "1M 2M 3M 4s/4 5 6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseMikrotikRateLimit(s)
		if err != nil {
			return
		}
		out := MikrotikRateLimit(p)
		back, err := ParseMikrotikRateLimit(out)
		if err != nil {
			t.Fatalf("%q parsed to %+v, rendered %q, which does not parse: %v", s, p, out, err)
		}
		if effective(back) != effective(p) {
			t.Fatalf("%q parsed to %+v, rendered %q, which parses to %+v", s, p, out, back)
		}
	})
}
