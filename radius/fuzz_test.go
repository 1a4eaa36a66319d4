package radius

import (
	"bytes"
	"crypto/md5"
	"net/netip"
	"testing"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// Fuzz tests for every parser of wire input: accounting packets (framing,
// authenticators, attributes, vendor-specific attributes), the NAS's
// answers to CoA and Disconnect requests, and the authorize endpoint's
// request bodies. Run one with, e.g.:
//
//	go test ./radius -run '^$' -fuzz FuzzParseAccountingRequest -fuzztime 1m

// FuzzParseAccountingRequest: any datagram is either rejected or gives a
// record that re-encodes to a packet with the same meaning; the session
// table takes whatever it gets.
func FuzzParseAccountingRequest(f *testing.F) {
	f.Add(buildAcct(f, testSecret, rfc2866.AcctStatusType_Value_Start, "bob", "s1", "10.0.0.1", "100.64.0.5",
		Named("Mikrotik-Address-List", "tollgate-suspended"), Named("ERX-Service-Activate", "svc(1)")), false)
	f.Add(buildAcct(f, testSecret, rfc2866.AcctStatusType_Value_InterimUpdate, "bob", "s1", "", "",
		Named("Cisco-AVPair", "subscriber:service-name=x"), Named("Filter-Id", "f")), false)
	f.Add(buildAcct(f, testSecret, rfc2866.AcctStatusType_Value_AccountingOn, "", "", "10.0.0.1", ""), false)
	signed, _ := encodeRequest(rad.CodeAccountingRequest, 1, testSecret, mustAttrs(f, buildAcct(f, testSecret, rfc2866.AcctStatusType_Value_Stop, "a", "b", "", "")))
	f.Add(signed.wire, true)
	f.Add([]byte{4, 0, 0, 20}, false)
	f.Fuzz(func(t *testing.T, b []byte, requireMA bool) {
		// Most random input fails the authenticator check; also parse with
		// the authenticator made right, to reach the attribute code.
		for _, pkt := range [][]byte{b, resigned(b)} {
			rec, framed, err := parseAccountingRequest(pkt, testSecret, requireMA)
			if err != nil {
				continue
			}
			if len(framed) < headerLen || len(framed) > len(pkt) {
				t.Fatalf("framed packet of %d octets from %d", len(framed), len(pkt))
			}
			// Re-encode the record's attributes and read them back.
			p := rad.New(rad.CodeAccountingRequest, testSecret)
			_ = rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType(rec.StatusType))
			if rec.UserName != "" {
				p.Add(rad.Type(typeUserName), []byte(rec.UserName))
			}
			if rec.SessionID != "" {
				p.Add(rad.Type(typeAcctSessionID), []byte(rec.SessionID))
			}
			if rec.NASIP.IsValid() {
				p.Add(rad.Type(typeNASIPAddress), rec.NASIP.AsSlice())
			}
			if rec.FramedIP.IsValid() {
				p.Add(rad.Type(typeFramedIPAddress), rec.FramedIP.AsSlice())
			}
			tooLong := false
			for _, a := range rec.Attrs {
				if a.Encode(&p.Attributes) != nil {
					tooLong = true
				}
			}
			enc, err := p.Encode()
			if err != nil || tooLong {
				continue // the original was larger than one attribute each: fine
			}
			rec2, _, err := parseAccountingRequest(enc, testSecret, false)
			if err != nil {
				t.Fatalf("re-encoded record does not parse: %v", err)
			}
			if rec2.StatusType != rec.StatusType || rec2.UserName != rec.UserName || rec2.SessionID != rec.SessionID ||
				rec2.NASIP != rec.NASIP || rec2.FramedIP != rec.FramedIP || len(rec2.Attrs) != len(rec.Attrs) {
				t.Fatalf("round trip: %+v\nbecame %+v", rec, rec2)
			}
			for i := range rec.Attrs {
				if rec2.Attrs[i] != rec.Attrs[i] {
					t.Fatalf("attribute %d: %+v became %+v", i, rec.Attrs[i], rec2.Attrs[i])
				}
			}
			tab := NewSessions(SessionsConfig{Max: 4})
			tab.SetClassifier(filterIDClassifier)
			tab.Apply(rec, netip.MustParseAddr("192.0.2.1"))
			if tab.Len() > 1 {
				t.Fatalf("one record made %d sessions", tab.Len())
			}
		}
	})
}

// resigned returns b with a correct Request Authenticator for testSecret,
// when b is long enough to have one and its length field is in range.
func resigned(b []byte) []byte {
	b, _, err := frame(b)
	if err != nil {
		return nil
	}
	c := bytes.Clone(b)
	reauth(c, testSecret)
	return c
}

// FuzzParseVSA: vendor-specific attribute values never panic the parser,
// and what it reads encodes back to the same bytes.
func FuzzParseVSA(f *testing.F) {
	for _, a := range []Attr{Named("Mikrotik-Address-List", "x"), Named("ERX-Service-Activate", "s(1)"), Named("Cisco-AVPair", "a=b")} {
		var attrs rad.Attributes
		_ = a.Encode(&attrs)
		f.Add([]byte(attrs[0].Attribute))
	}
	f.Add([]byte{0, 0, 0x12, 0x8c, 19, 2})
	f.Add([]byte{0, 0, 0, 9, 1, 3, 'x', 1, 2})
	f.Fuzz(func(t *testing.T, v []byte) {
		attrs, err := parseVSA(v)
		if err != nil {
			return
		}
		var enc rad.Attributes
		for _, a := range attrs {
			if err := a.Encode(&enc); err != nil {
				t.Fatalf("re-encoding %+v: %v", a, err)
			}
		}
		// A VSA holding several sub-attributes re-encodes as one VSA each.
		var joined []byte
		for i, e := range enc {
			if i == 0 {
				joined = append(joined, e.Attribute...)
			} else {
				joined = append(joined, e.Attribute[4:]...)
			}
		}
		if len(attrs) > 0 && !bytes.Equal(joined, v) {
			t.Fatalf("round trip % x became % x", v, joined)
		}
	})
}

// FuzzParseResponse: any datagram in answer to a CoA-Request is either
// rejected or read as an ACK or NAK; an authentic answer is never
// rejected for its attributes' sake.
func FuzzParseResponse(f *testing.F) {
	req, _ := encodeRequest(rad.CodeCoARequest, 9, testSecret, nil)
	f.Add(respond(req, rad.CodeCoAACK, testSecret, 0, nil))
	f.Add(respond(req, rad.CodeCoANAK, testSecret, 503, nil))
	f.Add(respond(req, rad.CodeCoANAK, testSecret, 401, req.authenticator()))
	f.Add(respond(req, rad.CodeCoAACK, testSecret, 0, zeroAuth))
	f.Add([]byte{44, 9, 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := parseResponse(b, req, testSecret)
		if err == nil && out.ACK && b[0] != byte(rad.CodeCoAACK) {
			t.Fatalf("code %d read as an ACK", b[0])
		}
		// The same bytes with a correct Response Authenticator.
		fb, _, err := frame(b)
		if err != nil || fb[1] != req.id() {
			return
		}
		c := bytes.Clone(fb)
		copy(c[4:20], req.authenticator())
		sum := md5.Sum(append(bytes.Clone(c), testSecret...))
		copy(c[4:20], sum[:])
		out, err = parseResponse(c, req, testSecret)
		if err == nil && !out.ACK && c[0] != byte(rad.CodeCoANAK) {
			t.Fatalf("code %d read as a NAK", c[0])
		}
	})
}

// filterIDClassifier reads a session as suspended when its accounting
// carries Filter-Id "f", active when it carries another Filter-Id.
func filterIDClassifier(_ *Session, attrs []Attr) (enforcement.State, bool) {
	for _, a := range attrs {
		if a.Vendor == 0 && a.Type == typeFilterID {
			if a.Value == "f" {
				return enforcement.Suspended, true
			}
			return enforcement.Active, true
		}
	}
	return "", false
}
