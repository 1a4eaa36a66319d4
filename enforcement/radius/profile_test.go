package radius

import (
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

func TestProfiles(t *testing.T) {
	p := func(c NASConfig) *profile {
		t.Helper()
		c.Name, c.Address = "n", "127.0.0.1"
		pr, err := newProfile(c)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	cisco := p(NASConfig{Profile: ProfileCiscoAVPair, ActiveService: "internet"})
	if len(cisco.suspend.coas) != 2 || cisco.suspend.coas[1][0].Value != "subscriber:command=activate-service" ||
		cisco.suspend.coas[1][1].Value != "subscriber:service-name=tollgate-suspended" {
		t.Fatalf("cisco suspend %+v", cisco.suspend)
	}
	// Other AVPairs in accounting say nothing; the service-name one does.
	if _, ok := cisco.classify([]radiusproto.Attr{radiusproto.Named("Cisco-AVPair", "connect-progress=LAN Ses Up")}); ok {
		t.Fatal("an unrelated AVPair classified the session")
	}
	if st, ok := cisco.classify([]radiusproto.Attr{radiusproto.Named("Cisco-AVPair", "subscriber:service-name=internet")}); !ok || st != enforcement.Active {
		t.Fatal("another service should read as active")
	}
	if st, _ := cisco.classify([]radiusproto.Attr{radiusproto.Named("Cisco-AVPair", "subscriber:service-name=tollgate-suspended")}); st != enforcement.Suspended {
		t.Fatal("the suspended service should read as suspended")
	}
	erx := p(NASConfig{Profile: ProfileJuniperERX, SuspendedService: "walled(portal)"})
	if st, _ := erx.classify([]radiusproto.Attr{radiusproto.Named("ERX-Service-Activate", "walled(other)")}); st != enforcement.Suspended {
		t.Fatal("juniper services match by name, whatever the parameters")
	}
	ml := p(NASConfig{Profile: ProfileMikrotikAddressList})
	if !ml.restore.disconnect || ml.suspend.coas[0][0].Value != DefaultSuspendedName {
		t.Fatalf("mikrotik defaults %+v", ml)
	}
	if _, ok := ml.classify(nil); ok {
		t.Fatal("no attributes classified the session")
	}
	disc := p(NASConfig{Profile: ProfileDisconnect, AuthorizeReply: []ReplyAttr{{"Mikrotik-Rate-Limit", "1k/1k"}}})
	if st, _ := disc.classify([]radiusproto.Attr{radiusproto.Named("Mikrotik-Rate-Limit", "1k/1k")}); st != enforcement.Suspended {
		t.Fatal("disconnect profile: the authorize reply marks a suspended session")
	}
	for _, bad := range []NASConfig{
		{Profile: "nope"},
		{Profile: ProfileFilterID, AuthorizeReply: []ReplyAttr{{"Session-Timeout", "1"}}},
		{Profile: ProfileFilterID, SuspendedFilter: strings.Repeat("x", 300)},
	} {
		bad.Name = "n"
		if _, err := newProfile(bad); err == nil {
			t.Errorf("profile %+v accepted", bad)
		}
	}
}
