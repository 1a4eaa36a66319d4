package billing

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestServiceProfileValidateAccepts(t *testing.T) {
	for _, p := range []ServiceProfile{
		{DownloadRate: 100_000_000, UploadRate: 20_000_000},
		{DownloadRate: 1, UploadRate: 1},
		{DownloadRate: MaxProfileRate, UploadRate: MaxProfileRate, DownloadBurstRate: MaxProfileRate},
		{DownloadRate: 10_000_000, UploadRate: 2_000_000, DownloadBurstRate: 20_000_000, UploadBurstRate: 4_000_000,
			DownloadBurstThreshold: 8_000_000, UploadBurstThreshold: 4_000_000, BurstTime: 16, Priority: 8},
		{DownloadRate: 10_000_000, UploadRate: 2_000_000, DownloadBurstRate: 10_000_000}, // burst == rate is allowed
		{DownloadRate: 1_000_000, UploadRate: 1_000_000, Priority: 1},
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

func TestServiceProfileValidateTrimsVendorNames(t *testing.T) {
	p := ServiceProfile{DownloadRate: 1000, UploadRate: 1000, Vendor: VendorOverrides{
		CiscoService: " FIBER-100 ", JuniperService: "\tcos-svc\n", FilterID: " fiber100"}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := VendorOverrides{CiscoService: "FIBER-100", JuniperService: "cos-svc", FilterID: "fiber100"}
	if p.Vendor != want {
		t.Errorf("vendor = %+v, want %+v", p.Vendor, want)
	}
}

func TestServiceProfileValidateErrors(t *testing.T) {
	base := func(f func(*ServiceProfile)) ServiceProfile {
		p := ServiceProfile{DownloadRate: 10_000_000, UploadRate: 2_000_000}
		f(&p)
		return p
	}
	tests := []struct {
		name string
		p    ServiceProfile
		want []string
	}{
		{"zero download", base(func(p *ServiceProfile) { p.DownloadRate = 0 }), []string{"download_rate 0", "positive"}},
		{"zero upload", base(func(p *ServiceProfile) { p.UploadRate = 0 }), []string{"upload_rate 0"}},
		{"negative download", base(func(p *ServiceProfile) { p.DownloadRate = -5 }), []string{"download_rate -5"}},
		{"absurd download", base(func(p *ServiceProfile) { p.DownloadRate = MaxProfileRate + 1 }), []string{"download_rate 100000000001", "100 Gbit/s"}},
		{"absurd upload", base(func(p *ServiceProfile) { p.UploadRate = 1 << 62 }), []string{"upload_rate", "100 Gbit/s"}},
		{"absurd burst", base(func(p *ServiceProfile) { p.DownloadBurstRate = MaxProfileRate * 2 }), []string{"download_burst_rate", "100 Gbit/s"}},
		{"negative burst", base(func(p *ServiceProfile) { p.UploadBurstRate = -1 }), []string{"upload_burst_rate -1"}},
		{"burst below rate", base(func(p *ServiceProfile) { p.DownloadBurstRate = 9_999_999 }), []string{"download_burst_rate 9999999", "below download_rate 10000000"}},
		{"upload burst below rate", base(func(p *ServiceProfile) { p.UploadBurstRate = 1_000_000 }), []string{"upload_burst_rate 1000000", "below upload_rate"}},
		{"threshold above burst", base(func(p *ServiceProfile) { p.DownloadBurstRate = 20_000_000; p.DownloadBurstThreshold = 20_000_001 }),
			[]string{"download_burst_threshold 20000001", "above download_burst_rate 20000000"}},
		{"threshold without burst", base(func(p *ServiceProfile) { p.UploadBurstThreshold = 1_000_000 }), []string{"upload_burst_threshold 1000000", "upload_burst_rate is not"}},
		{"negative threshold", base(func(p *ServiceProfile) { p.DownloadBurstRate = 20_000_000; p.DownloadBurstThreshold = -1 }), []string{"download_burst_threshold -1"}},
		{"burst time without burst", base(func(p *ServiceProfile) { p.BurstTime = 10 }), []string{"burst_time 10", "neither"}},
		{"burst time too long", base(func(p *ServiceProfile) { p.DownloadBurstRate = 20_000_000; p.BurstTime = 3601 }), []string{"burst_time 3601", "0-3600"}},
		{"negative burst time", base(func(p *ServiceProfile) { p.BurstTime = -1 }), []string{"burst_time -1"}},
		{"priority 9", base(func(p *ServiceProfile) { p.Priority = 9 }), []string{"priority 9", "1-8"}},
		{"priority -1", base(func(p *ServiceProfile) { p.Priority = -1 }), []string{"priority -1"}},
		{"long cisco service", base(func(p *ServiceProfile) { p.Vendor.CiscoService = strings.Repeat("x", 65) }), []string{"vendor.cisco_service", "65 characters"}},
		{"space in juniper service", base(func(p *ServiceProfile) { p.Vendor.JuniperService = "cos svc" }), []string{"vendor.juniper_service", `' '`}},
		{"paren in juniper service", base(func(p *ServiceProfile) { p.Vendor.JuniperService = "svc(1)" }), []string{"vendor.juniper_service", `'('`}},
		{"equals in cisco policy", base(func(p *ServiceProfile) { p.Vendor.CiscoPolicyIn = "a=b" }), []string{"vendor.cisco_policy_in", `'='`}},
		{"control in filter", base(func(p *ServiceProfile) { p.Vendor.FilterID = "f\x00" }), []string{"vendor.filter_id"}},
		{"invalid utf-8 in policy out", base(func(p *ServiceProfile) { p.Vendor.CiscoPolicyOut = "p\xff" }), []string{"vendor.cisco_policy_out"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantInvalid(t, tc.p.Validate(), tc.want...) })
	}
}

func TestServiceProfileJSON(t *testing.T) {
	p := ServiceProfile{DownloadRate: 100_000_000, UploadRate: 20_000_000, DownloadBurstRate: 200_000_000,
		BurstTime: 8, Priority: 4, Vendor: VendorOverrides{CiscoService: "FIBER-100"}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"download_rate":100000000,"upload_rate":20000000,"download_burst_rate":200000000,"burst_time":8,"priority":4,"vendor":{"cisco_service":"FIBER-100"}}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
	plain, _ := json.Marshal(ServiceProfile{DownloadRate: 1, UploadRate: 2})
	if string(plain) != `{"download_rate":1,"upload_rate":2}` {
		t.Errorf("unset fields are written: %s", plain)
	}
	var back ServiceProfile
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, p)
	}
}

// TestServiceProfileFieldsSnakeCase: every JSON field is snake_case, the
// API's convention.
func TestServiceProfileFieldsSnakeCase(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[ServiceProfile](), reflect.TypeFor[VendorOverrides]()} {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || strings.ToLower(name) != name || strings.ContainsAny(name, "- ") {
				t.Errorf("%s.%s has json name %q, want snake_case", typ.Name(), f.Name, name)
			}
		}
	}
}
