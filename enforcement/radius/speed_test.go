package radius

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// testNAS resolves a NAS config as NewDriver does, without a socket.
func testNAS(t *testing.T, c NASConfig) *nas {
	t.Helper()
	c.Name, c.Address = "n", "192.0.2.1"
	c, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	prof, err := newProfile(c)
	if err != nil {
		t.Fatal(err)
	}
	return &nas{cfg: c, prof: prof}
}

// stepsString renders steps as "coa A=v,B:2=w; disconnect".
func stepsString(steps []step) string {
	var out []string
	for _, s := range steps {
		if s.disconnect {
			out = append(out, "disconnect")
			continue
		}
		var as []string
		for _, a := range s.attrs {
			n := radiusproto.AttrName(a)
			if a.Tag > 1 {
				n += fmt.Sprintf(":%d", a.Tag)
			}
			as = append(as, n+"="+a.Value)
		}
		out = append(out, "coa "+strings.Join(as, ","))
	}
	return strings.Join(out, "; ")
}

// Which attributes each vendor sends for each transition of state and
// speed.
func TestPlanPerVendor(t *testing.T) {
	plan := &enforcement.Profile{Name: "fiber-100.v1", DownloadRate: 100_000_000, UploadRate: 20_000_000,
		CiscoService: "FIBER-100", FilterID: "fiber-100"}
	plan2 := &enforcement.Profile{Name: "fiber-100.v2", DownloadRate: 100_000_000, UploadRate: 20_000_000,
		CiscoService: "FIBER-100", FilterID: "fiber-100"} // a new version, same speed
	upgrade := &enforcement.Profile{Name: "fiber-300.v1", DownloadRate: 300_000_000, UploadRate: 50_000_000,
		CiscoService: "FIBER-300", FilterID: "fiber-300"}
	bare := &enforcement.Profile{Name: "bare.v1", DownloadRate: 10_000_000, UploadRate: 10_000_000}
	throttle := &enforcement.Profile{Name: "throttle.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
	sess := func(st enforcement.State, p *enforcement.Profile, known bool) radiusproto.Session {
		s := radiusproto.Session{State: st}
		if known {
			s.Speed = encodeSpeed(p)
		}
		return s
	}
	mikrotik := NASConfig{Profile: ProfileMikrotikAddressList}
	mikrotikCoA := NASConfig{Profile: ProfileMikrotikAddressList, ActiveAddressList: "ok", ActiveRateLimit: "1G/1G"}
	cisco := NASConfig{Profile: ProfileCiscoAVPair}
	juniper := NASConfig{Profile: ProfileJuniperERX}
	generic := NASConfig{Profile: ProfileFilterID, ActiveFilter: "internet"}
	cases := []struct {
		name    string
		cfg     NASConfig
		from    radiusproto.Session
		want    enforcement.State
		p       *enforcement.Profile
		steps   string
		errPart string
	}{
		{"mikrotik: unknown speed gets the plan", mikrotik, sess(enforcement.Active, nil, false), enforcement.Active, plan,
			"coa Mikrotik-Rate-Limit=20M/100M", ""},
		{"mikrotik: same speed, new version: nothing", mikrotik, sess(enforcement.Active, plan, true), enforcement.Active, plan2, "", ""},
		{"mikrotik: upgrade", mikrotik, sess(enforcement.Active, plan, true), enforcement.Active, upgrade,
			"coa Mikrotik-Rate-Limit=50M/300M", ""},
		{"mikrotik: profile removed, no active rate: disconnect", mikrotik, sess(enforcement.Active, plan, true), enforcement.Active, nil,
			"disconnect", ""},
		{"mikrotik: profile removed, active rate", mikrotikCoA, sess(enforcement.Active, plan, true), enforcement.Active, nil,
			"coa Mikrotik-Address-List=ok; coa Mikrotik-Rate-Limit=1G/1G", ""},
		{"mikrotik-rate-limit: the plan's rate is the restore", NASConfig{Profile: ProfileMikrotikRateLimit, ActiveRateLimit: "5M/5M"},
			sess(enforcement.Suspended, plan, true), enforcement.Active, plan, "coa Mikrotik-Rate-Limit=20M/100M", ""},
		{"mikrotik-rate-limit: no active rate resent over the plan's", NASConfig{Profile: ProfileMikrotikRateLimit, ActiveRateLimit: "5M/5M"},
			sess(enforcement.Active, plan, true), enforcement.Active, plan, "", ""},
		{"mikrotik: unknown speed, no profile: nothing", mikrotik, sess(enforcement.Active, nil, false), enforcement.Active, nil, "", ""},
		{"mikrotik: throttle in one CoA", mikrotik, sess(enforcement.Active, plan, true), enforcement.Throttled, throttle,
			"coa Mikrotik-Rate-Limit=1M/1M,Mikrotik-Address-List=tollgate-throttled", ""},
		{"mikrotik: throttled again: nothing", mikrotik, sess(enforcement.Throttled, throttle, true), enforcement.Throttled, throttle, "", ""},
		{"mikrotik: restore out of the throttle by disconnect", mikrotik, sess(enforcement.Throttled, throttle, true), enforcement.Active, plan,
			"disconnect", ""},
		{"mikrotik: restore out of the throttle by CoA", mikrotikCoA, sess(enforcement.Throttled, throttle, true), enforcement.Active, plan,
			"coa Mikrotik-Address-List=ok; coa Mikrotik-Rate-Limit=20M/100M", ""},
		{"mikrotik: restore out of a suspension disconnects", mikrotik, sess(enforcement.Suspended, plan, true), enforcement.Active, plan,
			"disconnect", ""},

		{"cisco: upgrade deactivates the old service", cisco, sess(enforcement.Active, plan, true), enforcement.Active, upgrade,
			"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=tollgate-suspended; " +
				"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=FIBER-100; " +
				"coa Cisco-AVPair=subscriber:command=activate-service,Cisco-AVPair=subscriber:service-name=FIBER-300", ""},
		{"cisco: QoS policies", cisco, sess(enforcement.Active, nil, true), enforcement.Active,
			&enforcement.Profile{Name: "q", DownloadRate: 1, UploadRate: 1, CiscoPolicyIn: "IN", CiscoPolicyOut: "OUT"},
			"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=tollgate-suspended; " +
				"coa Cisco-AVPair=ip:sub-qos-policy-in=IN,Cisco-AVPair=ip:sub-qos-policy-out=OUT", ""},
		{"cisco: a service name too long for a packet", cisco, sess(enforcement.Active, nil, true), enforcement.Active,
			&enforcement.Profile{Name: "long", DownloadRate: 1, UploadRate: 1, CiscoService: strings.Repeat("S", 250)}, "",
			"must be 1 to"},
		{"cisco: a profile without names", cisco, sess(enforcement.Active, nil, false), enforcement.Active, bare, "",
			`profile "bare.v1" names no cisco_service or cisco_policy_in/out, which NAS n (vendor cisco) needs`},
		{"cisco: profile removed", cisco, sess(enforcement.Active, plan, true), enforcement.Active, nil,
			"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=tollgate-suspended; " +
				"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=FIBER-100", ""},
		{"cisco: throttle without names: the redirect service shapes, the plan's goes", cisco, sess(enforcement.Active, plan, true), enforcement.Throttled, throttle,
			"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=FIBER-100; " +
				"coa Cisco-AVPair=subscriber:command=activate-service,Cisco-AVPair=subscriber:service-name=tollgate-throttled", ""},
		{"cisco: throttle with its own service", cisco, sess(enforcement.Active, plan, true), enforcement.Throttled,
			&enforcement.Profile{Name: "t", DownloadRate: 1, UploadRate: 1, CiscoService: "SLOW"},
			"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=FIBER-100; " +
				"coa Cisco-AVPair=subscriber:command=activate-service,Cisco-AVPair=subscriber:service-name=SLOW; " +
				"coa Cisco-AVPair=subscriber:command=activate-service,Cisco-AVPair=subscriber:service-name=tollgate-throttled", ""},
		{"cisco: out of the throttle", cisco, sess(enforcement.Throttled, throttle, true), enforcement.Active, plan,
			"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=tollgate-throttled; " +
				"coa Cisco-AVPair=subscriber:command=activate-service,Cisco-AVPair=subscriber:service-name=FIBER-100", ""},
		{"cisco: suspending a throttled session leaves the redirect", cisco, sess(enforcement.Throttled, throttle, true), enforcement.Suspended, nil,
			"coa Cisco-AVPair=subscriber:command=deactivate-service,Cisco-AVPair=subscriber:service-name=tollgate-throttled; " +
				"coa Cisco-AVPair=subscriber:command=activate-service,Cisco-AVPair=subscriber:service-name=tollgate-suspended", ""},

		{"juniper: unknown speed", juniper, sess(enforcement.Active, nil, false), enforcement.Active, bare,
			"coa ERX-Service-Deactivate=tollgate-suspended; coa ERX-Service-Activate=tollgate-rate(10000000,10000000)", ""},
		{"juniper: upgrade re-activates with the new rates", juniper, sess(enforcement.Active, plan, true), enforcement.Active, upgrade,
			"coa ERX-Service-Deactivate=tollgate-suspended; coa ERX-Service-Deactivate=tollgate-rate,ERX-Service-Activate=tollgate-rate(50000000,300000000)", ""},
		{"juniper: the profile's own service", juniper, sess(enforcement.Active, nil, true), enforcement.Active,
			&enforcement.Profile{Name: "j", DownloadRate: 2000, UploadRate: 1000, JuniperService: "svc-j"},
			"coa ERX-Service-Deactivate=tollgate-suspended; coa ERX-Service-Activate=svc-j(1000,2000)", ""},
		{"juniper: throttle", juniper, sess(enforcement.Active, nil, true), enforcement.Throttled, throttle,
			"coa ERX-Service-Activate=tollgate-rate(1000000,1000000); coa ERX-Service-Activate:2=tollgate-throttled", ""},

		{"generic: Filter-Id", generic, sess(enforcement.Active, nil, true), enforcement.Active, plan,
			"coa Filter-Id=fiber-100", ""},
		{"generic: at the plan, no active filter resent over it", generic, sess(enforcement.Active, plan, true), enforcement.Active, plan, "", ""},
		{"generic: out of a suspension", generic, sess(enforcement.Suspended, plan, true), enforcement.Active, plan,
			"coa Filter-Id=fiber-100", ""},
		{"generic: no profile: the active filter", generic, sess(enforcement.Active, nil, false), enforcement.Active, nil,
			"coa Filter-Id=internet", ""},
		{"generic: a profile without a filter", generic, sess(enforcement.Active, nil, true), enforcement.Active, bare, "",
			`profile "bare.v1" names no filter_id`},
		{"disconnect profile: a speed change is a re-login", NASConfig{Profile: ProfileDisconnect}, sess(enforcement.Active, plan, true),
			enforcement.Active, upgrade, "disconnect", ""},
		{"disconnect profile: a throttle is a re-login", NASConfig{Profile: ProfileDisconnect}, sess(enforcement.Active, plan, true),
			enforcement.Throttled, throttle, "disconnect", ""},
		{"disconnect profile: at the plan: nothing", NASConfig{Profile: ProfileDisconnect}, sess(enforcement.Active, plan, true),
			enforcement.Active, plan2, "", ""},
		{"generic: throttle is the redirect filter", generic, sess(enforcement.Active, plan, true), enforcement.Throttled, throttle,
			"coa Filter-Id=tollgate-throttled", ""},
		{"generic: out of the throttle", generic, sess(enforcement.Throttled, throttle, true), enforcement.Active, plan,
			"coa Filter-Id=fiber-100", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := testNAS(t, tc.cfg).plan(tc.from, tc.want, tc.p)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("error %v, want one containing %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := stepsString(steps); got != tc.steps {
				t.Fatalf("steps\n got %s\nwant %s", got, tc.steps)
			}
		})
	}
}

func TestVendorConfig(t *testing.T) {
	for profile, want := range map[string]string{ProfileMikrotikAddressList: VendorMikrotik, ProfileMikrotikRateLimit: VendorMikrotik,
		ProfileCiscoAVPair: VendorCisco, ProfileJuniperERX: VendorJuniper, ProfileFilterID: VendorGeneric, ProfileDisconnect: VendorGeneric} {
		if n := testNAS(t, NASConfig{Profile: profile}); n.cfg.Vendor != want || n.cfg.ThrottleRedirect != DefaultThrottleRedirect || n.cfg.RateService != DefaultRateService {
			t.Errorf("profile %s: vendor %q, redirect %q, rate service %q", profile, n.cfg.Vendor, n.cfg.ThrottleRedirect, n.cfg.RateService)
		}
	}
	for _, tc := range []struct {
		cfg  NASConfig
		want string
	}{
		{NASConfig{Name: "x", Address: "192.0.2.1", Profile: ProfileFilterID, Vendor: "huawei"}, `nas x: vendor "huawei" is not one of mikrotik, cisco, juniper, generic`},
		{NASConfig{Name: "x", Address: "192.0.2.1", Profile: ProfileFilterID, ThrottleRedirect: "a b"}, `nas x: throttle_redirect "a b"`},
		{NASConfig{Name: "x", Address: "192.0.2.1", Profile: ProfileJuniperERX, RateService: "r(1)"}, `nas x: rate_service "r(1)"`},
		{NASConfig{Name: "x", Address: "192.0.2.1", Profile: ProfileCiscoAVPair, ThrottleRedirect: strings.Repeat("x", 201)}, `is longer than 200 characters`},
	} {
		if _, err := tc.cfg.withDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// A MikroTik session's accounting shows its rates (hand-edited ones
// read back as they are); the suspended rate of the mikrotik-rate-limit
// access profile is a state, not a speed; other vendors read nothing.
func TestSpeedFromAccounting(t *testing.T) {
	rate := func(v string) []radiusproto.Attr {
		return []radiusproto.Attr{radiusproto.Named("Mikrotik-Rate-Limit", v)}
	}
	n := testNAS(t, NASConfig{Profile: ProfileMikrotikAddressList})
	got, ok := n.speedFromAccounting(rate("20M/500M"))
	p, known := decodeSpeed(got)
	if !ok || !known || !p.SameSpeed(&enforcement.Profile{DownloadRate: 500_000_000, UploadRate: 20_000_000}) || p.Name != "" {
		t.Fatalf("read %q (%v): %+v", got, ok, p)
	}
	if _, ok := n.speedFromAccounting(rate("nonsense")); ok {
		t.Fatal("an unreadable rate was read")
	}
	if _, ok := testNAS(t, NASConfig{Profile: ProfileMikrotikRateLimit}).speedFromAccounting(rate("64k/64k")); ok {
		t.Fatal("the suspended rate was read as a speed")
	}
	if _, ok := testNAS(t, NASConfig{Profile: ProfileFilterID}).speedFromAccounting(rate("1M/1M")); ok {
		t.Fatal("a generic NAS read a MikroTik rate")
	}
}
