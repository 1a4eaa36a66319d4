package radiustest

import (
	"strings"
	"testing"
)

// The stand-in NAS answers as documented, in both modes.
func TestStandInNAS(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		s := Start(t, Options{Quiet: quiet})
		packet := func(session string) []string {
			return []string{`User-Name = "bob"`, `Acct-Session-Id = "` + session + `"`, `Message-Authenticator = 0x00`, `Cisco-AVPair = "a=b"`, `Cisco-AVPair = "c=d"`, `Filter-Id = "in/out \"x\""`}
		}
		if out, err := Radclient(t.Context(), s.CoAAddr, "coa", s.Secret, packet("s1")); err != nil || !strings.Contains(out, "Received CoA-ACK") {
			t.Fatalf("quiet=%v: CoA-Request: %v\n%s", quiet, err, out)
		}
		out, err := Radclient(t.Context(), s.CoAAddr, "disconnect", s.Secret, packet("gone-1"))
		if err == nil || !strings.Contains(out, "Disconnect-NAK") || !strings.Contains(out, "Session-Context-Not-Found") {
			t.Fatalf("quiet=%v: Disconnect-Request for a gone session: %v\n%s", quiet, err, out)
		}
		recs := s.Records(t)
		if quiet {
			if len(recs) != 0 {
				t.Fatalf("quiet server recorded %v", recs)
			}
			continue
		}
		if len(recs) != 1 || recs[0].Type != "CoA-Request" || recs[0].Get("User-Name") != "bob" ||
			strings.Join(recs[0].Attrs["Cisco-AVPair"], ",") != "a=b,c=d" || recs[0].Get("Message-Authenticator") == "" || recs[0].Get("Filter-Id") != `in/out "x"` {
			t.Fatalf("records: %+v", recs)
		}
	}
}
