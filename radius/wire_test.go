package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/tollgate-isp/tollgate/enforcement"
)

var testSecret = []byte("s3cret")

// The signing of a request, recomputed independently: the
// Message-Authenticator over the packet with a zero authenticator field
// and a zero Message-Authenticator value, then the Request Authenticator
// over the packet (Message-Authenticator included) and the secret.
func TestEncodeRequestSigning(t *testing.T) {
	var attrs rad.Attributes
	attrs.Add(rfc2865.UserName_Type, []byte("bob"))
	_ = Named("Mikrotik-Address-List", "x").Encode(&attrs)
	req, err := encodeRequest(rad.CodeCoARequest, 7, testSecret, attrs)
	if err != nil {
		t.Fatal(err)
	}
	b := req.wire
	if b[0] != byte(rad.CodeCoARequest) || b[1] != 7 || int(binary.BigEndian.Uint16(b[2:4])) != len(b) {
		t.Fatalf("header % x", b[:4])
	}
	// The Message-Authenticator is the last attribute.
	maOff := len(b) - 16
	if b[maOff-2] != typeMessageAuth || b[maOff-1] != maLen {
		t.Fatalf("no Message-Authenticator at the end: % x", b[maOff-2:])
	}
	tmp := append([]byte(nil), b...)
	clear(tmp[4:20])
	clear(tmp[maOff:])
	mac := hmac.New(md5.New, testSecret)
	mac.Write(tmp)
	if !hmac.Equal(mac.Sum(nil), b[maOff:]) {
		t.Fatal("Message-Authenticator is not HMAC-MD5 over the packet with zero authenticator")
	}
	copy(tmp[maOff:], b[maOff:])
	h := md5.New()
	h.Write(tmp)
	h.Write(testSecret)
	if !hmac.Equal(h.Sum(nil), b[4:20]) {
		t.Fatal("Request Authenticator is not MD5 over the packet (MA included) with zero authenticator, then the secret")
	}
	if !rad.IsAuthenticRequest(b, testSecret) {
		t.Fatal("layeh.com/radius does not find the request authentic")
	}
	// Our own checks agree.
	if err := checkRequestAuthenticator(b, testSecret); err != nil {
		t.Fatal(err)
	}
	_, parsed, err := frame(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMessageAuthenticator(b, parsed, zeroAuth, testSecret, true); err != nil {
		t.Fatal(err)
	}
	if err := checkMessageAuthenticator(b, parsed, zeroAuth, []byte("other"), true); err == nil {
		t.Fatal("Message-Authenticator accepted with the wrong secret")
	}
}

// buildAcct encodes an Accounting-Request like a NAS would.
func buildAcct(t testing.TB, secret []byte, status rfc2866.AcctStatusType, user, session string, nasIP, framed string, extra ...Attr) []byte {
	t.Helper()
	p := rad.New(rad.CodeAccountingRequest, secret)
	if status != 0 {
		_ = rfc2866.AcctStatusType_Set(p, status)
	}
	if user != "" {
		_ = rfc2865.UserName_SetString(p, user)
	}
	if session != "" {
		_ = rfc2866.AcctSessionID_SetString(p, session)
	}
	if nasIP != "" {
		p.Add(rfc2865.NASIPAddress_Type, netip.MustParseAddr(nasIP).AsSlice())
	}
	if framed != "" {
		p.Add(rfc2865.FramedIPAddress_Type, netip.MustParseAddr(framed).AsSlice())
	}
	for _, a := range extra {
		if err := a.Encode(&p.Attributes); err != nil {
			t.Fatal(err)
		}
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseAccountingRequest(t *testing.T) {
	b := buildAcct(t, testSecret, rfc2866.AcctStatusType_Value_Start, "bob", "s1", "10.0.0.1", "100.64.0.5",
		Named("Mikrotik-Address-List", "tollgate-suspended"), Named("ERX-Service-Activate", "svc(1)"), Named("Filter-Id", "f"))
	rec, pkt, err := parseAccountingRequest(append(b, 0, 0, 0), testSecret, false) // trailing padding is ignored
	if err != nil {
		t.Fatal(err)
	}
	if len(pkt) != len(b) {
		t.Fatalf("packet length %d, want %d", len(pkt), len(b))
	}
	if rec.StatusType != acctStatusStart || rec.UserName != "bob" || rec.SessionID != "s1" ||
		rec.NASIP != netip.MustParseAddr("10.0.0.1") || rec.FramedIP != netip.MustParseAddr("100.64.0.5") {
		t.Fatalf("record %+v", rec)
	}
	want := []Attr{
		{Vendor: VendorMikrotik, Type: mikrotikAddressList, Value: "tollgate-suspended"},
		{Vendor: VendorJuniperERX, Type: erxServiceActivate, Tag: 1, Value: "svc(1)"},
		{Type: typeFilterID, Value: "f"},
	}
	if len(rec.Attrs) != len(want) {
		t.Fatalf("attrs %+v", rec.Attrs)
	}
	for i := range want {
		if rec.Attrs[i] != want[i] {
			t.Fatalf("attr %d: %+v, want %+v", i, rec.Attrs[i], want[i])
		}
	}
	// The answer is authentic for the request.
	resp := encodeResponse(rad.CodeAccountingResponse, pkt, testSecret)
	if !rad.IsAuthenticResponse(resp, pkt, testSecret) {
		t.Fatal("Accounting-Response is not authentic")
	}

	for name, tc := range map[string]struct {
		b      []byte
		secret []byte
		want   string
	}{
		"wrong secret":   {b, []byte("nope"), "Request Authenticator"},
		"short":          {b[:19], testSecret, "shorter than a RADIUS header"},
		"truncated":      {b[:len(b)-1], testSecret, "exceeds"},
		"not accounting": {func() []byte { c := append([]byte(nil), b...); c[0] = 1; return c }(), testSecret, "unexpected"},
		"no status":      {buildAcct(t, testSecret, 0, "bob", "s1", "", ""), testSecret, "no Acct-Status-Type"},
	} {
		if _, _, err := parseAccountingRequest(tc.b, tc.secret, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
	// Required Message-Authenticator.
	if _, _, err := parseAccountingRequest(b, testSecret, true); err == nil {
		t.Fatal("accepted without the required Message-Authenticator")
	}
	signed, err := encodeRequest(rad.CodeAccountingRequest, 3, testSecret, mustAttrs(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := parseAccountingRequest(signed.wire, testSecret, true); err != nil {
		t.Fatalf("with a Message-Authenticator: %v", err)
	}
	bad := append([]byte(nil), signed.wire...)
	bad[len(bad)-1] ^= 1
	sign2 := md5.New() // keep the Request Authenticator right so only the MA is wrong
	clear(bad[4:20])
	sign2.Write(bad)
	sign2.Write(testSecret)
	sign2.Sum(bad[4:4])
	if _, _, err := parseAccountingRequest(bad, testSecret, false); err == nil || !strings.Contains(err.Error(), "Message-Authenticator") {
		t.Fatalf("with a bad Message-Authenticator: %v", err)
	}
}

func mustAttrs(t testing.TB, b []byte) rad.Attributes {
	t.Helper()
	_, attrs, err := frame(b)
	if err != nil {
		t.Fatal(err)
	}
	return attrs
}

// respond builds a NAS's answer to req, optionally with an Error-Cause
// and a Message-Authenticator computed over the given authenticator.
func respond(req *request, code rad.Code, secret []byte, cause uint32, maAuth []byte) []byte {
	p := &rad.Packet{Code: code, Identifier: req.id()}
	if cause != 0 {
		p.Add(rad.Type(typeErrorCause), rad.NewInteger(cause))
	}
	if maAuth != nil {
		p.Add(rad.Type(typeMessageAuth), make([]byte, 16))
	}
	b, _ := p.MarshalBinary()
	if maAuth != nil {
		copy(b[4:20], maAuth)
		mac := hmac.New(md5.New, secret)
		mac.Write(b)
		mac.Sum(b[len(b)-16 : len(b)-16])
	}
	copy(b[4:20], req.authenticator())
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
	return b
}

func TestParseResponse(t *testing.T) {
	req, err := encodeRequest(rad.CodeCoARequest, 9, testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		b       []byte
		want    Outcome
		wantErr string
	}{
		"ack":                        {respond(req, rad.CodeCoAACK, testSecret, 0, nil), Outcome{ACK: true}, ""},
		"nak 503":                    {respond(req, rad.CodeCoANAK, testSecret, 503, nil), Outcome{ErrorCause: 503}, ""},
		"ack, MA over request auth":  {respond(req, rad.CodeCoAACK, testSecret, 0, req.authenticator()), Outcome{ACK: true}, ""},
		"ack, MA over zero auth":     {respond(req, rad.CodeCoAACK, testSecret, 0, zeroAuth), Outcome{ACK: true}, ""},
		"ack, MA over other":         {respond(req, rad.CodeCoAACK, testSecret, 0, []byte("0123456789abcdef")), Outcome{}, "Message-Authenticator"},
		"wrong secret":               {respond(req, rad.CodeCoAACK, []byte("x"), 0, nil), Outcome{}, "Response Authenticator"},
		"disconnect-ack to a coa":    {respond(req, rad.CodeDisconnectACK, testSecret, 0, nil), Outcome{}, "unexpected"},
		"wrong identifier":           {func() []byte { b := respond(req, rad.CodeCoAACK, testSecret, 0, nil); b[1]++; return b }(), Outcome{}, "identifier"},
		"garbage":                    {[]byte("not radius at all, not at all"), Outcome{}, "length"},
		"attribute overflows packet": {func() []byte { b := respond(req, rad.CodeCoANAK, testSecret, 503, nil); b[21] = 200; return b }(), Outcome{}, "attributes"},
	} {
		got, err := parseResponse(tc.b, req, testSecret)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: %v, want error containing %q", name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, tc.want)
		}
	}
	if ErrorCauseName(503) != "Session-Context-Not-Found" || ErrorCauseName(407) != "Invalid-Attribute-Value" || ErrorCauseName(999) != "unknown" {
		t.Fatal("ErrorCauseName")
	}
}

func TestSessionsTable(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tab := NewSessions(SessionsConfig{Max: 3, TTL: time.Hour})
	tab.now = func() time.Time { return now }
	src := netip.MustParseAddr("192.0.2.1")
	rec := func(status uint32, user, id, ip string) AccountingRecord {
		r := AccountingRecord{StatusType: status, UserName: user, SessionID: id, NASIP: netip.MustParseAddr("10.0.0.1")}
		if ip != "" {
			r.FramedIP = netip.MustParseAddr(ip)
		}
		return r
	}
	if got := tab.Apply(rec(acctStatusStart, "a", "1", "100.64.0.1"), src); got != Created {
		t.Fatal(got)
	}
	if got := tab.Apply(rec(acctStatusInterim, "a", "1", "100.64.0.2"), src); got != Updated {
		t.Fatal(got)
	}
	if ss := tab.Find("", []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32")}); len(ss) != 0 {
		t.Fatalf("old framed IP still indexed: %+v", ss)
	}
	if ss := tab.Find("", []netip.Prefix{netip.MustParsePrefix("100.64.0.0/24")}); len(ss) != 1 || ss[0].UserName != "a" {
		t.Fatalf("by prefix: %+v", ss)
	}
	// Bounded: the least recently updated goes.
	now = now.Add(time.Second)
	tab.Apply(rec(acctStatusStart, "b", "2", ""), src)
	now = now.Add(time.Second)
	tab.Apply(rec(acctStatusStart, "c", "3", ""), src)
	now = now.Add(time.Second)
	tab.Apply(rec(acctStatusInterim, "a", "1", ""), src) // a is now the most recent
	tab.Apply(rec(acctStatusStart, "d", "4", ""), src)
	if tab.Len() != 3 || len(tab.Find("b", nil)) != 0 || len(tab.Find("a", nil)) != 1 {
		t.Fatalf("eviction: len %d, b %v, a %v", tab.Len(), tab.Find("b", nil), tab.Find("a", nil))
	}
	// Stop removes; a late Interim-Update does not bring it back.
	if got := tab.Apply(rec(acctStatusStop, "c", "3", ""), src); got != Removed {
		t.Fatal(got)
	}
	if got := tab.Apply(rec(acctStatusInterim, "c", "3", ""), src); got != Ignored || len(tab.Find("c", nil)) != 0 {
		t.Fatalf("late interim: %v", got)
	}
	// Accounting-On from the NAS: its sessions are gone.
	if got := tab.Apply(AccountingRecord{StatusType: acctStatusAcctOn, NASIP: netip.MustParseAddr("10.0.0.1")}, src); got != NASReset || tab.Len() != 0 {
		t.Fatalf("accounting-on: %v, %d left", got, tab.Len())
	}
	// TTL.
	tab.Apply(rec(acctStatusStart, "e", "5", ""), src)
	now = now.Add(2 * time.Hour)
	if len(tab.Find("e", nil)) != 0 {
		t.Fatal("a session past its TTL was found")
	}
	// Records without user or session are ignored.
	if got := tab.Apply(rec(acctStatusStart, "", "6", ""), src); got != Ignored {
		t.Fatal(got)
	}
	// An authorize answer just before a session starts gives its state.
	tab.NoteAuthorized("f", "", enforcement.Suspended, "")
	tab.Apply(rec(acctStatusStart, "f", "7", ""), src)
	if ss := tab.Find("f", nil); len(ss) != 1 || ss[0].State != enforcement.Suspended || ss[0].StateSource != SourceAuthorize {
		t.Fatalf("after authorize: %+v", ss)
	}
}

// A session's speed comes from the authorize answer that preceded it, or
// from its accounting when the driver reads one there; a restarted
// session without either has an unknown speed; SetApplied records an
// acknowledged one; the store keeps it, and a throttled state.
func TestSessionsSpeed(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tab := NewSessions(SessionsConfig{})
	tab.now = func() time.Time { return now }
	tab.SetSpeedReader(func(_ *Session, attrs []Attr) (string, bool) {
		for _, a := range attrs {
			if a.Vendor == VendorMikrotik && a.Type == mikrotikRateLimit {
				return "rate:" + a.Value, true
			}
		}
		return "", false
	})
	src := netip.MustParseAddr("192.0.2.1")
	rec := func(status uint32, user, id string, attrs ...Attr) AccountingRecord {
		return AccountingRecord{StatusType: status, UserName: user, SessionID: id, NASIP: netip.MustParseAddr("10.0.0.1"), Attrs: attrs}
	}
	key := func(user, id string) SessionKey { return SessionKey{"10.0.0.1", user, id} }
	speed := func(user, id string) string {
		t.Helper()
		s, ok := tab.Get(key(user, id))
		if !ok {
			t.Fatalf("no session %s/%s", user, id)
		}
		return s.Speed
	}

	tab.NoteAuthorized("a", "", enforcement.Throttled, "throttle.v1")
	tab.Apply(rec(acctStatusStart, "a", "1"), src)
	if s, _ := tab.Get(key("a", "1")); s.State != enforcement.Throttled || s.Speed != "throttle.v1" {
		t.Fatalf("after a throttled authorize answer: %+v", s)
	}
	// The NAS's accounting shows another speed: it wins.
	tab.Apply(rec(acctStatusInterim, "a", "1", Named("Mikrotik-Rate-Limit", "5M/50M")), src)
	if got := speed("a", "1"); got != "rate:5M/50M" {
		t.Fatalf("after an Interim-Update with a rate: %q", got)
	}
	// An Interim-Update whose Event-Timestamp is older than the last
	// acknowledgement does not overwrite it.
	tab.SetApplied(key("a", "1"), enforcement.Active, SourceNAS, "acked")
	late := rec(acctStatusInterim, "a", "1", Named("Mikrotik-Rate-Limit", "1M/1M"))
	late.EventTime = now.Add(-time.Minute)
	tab.Apply(late, src)
	if got := speed("a", "1"); got != "acked" {
		t.Fatalf("after a late Interim-Update: %q", got)
	}
	// Restarted long after the authorize answer: unknown.
	now = now.Add(authorizeWindow)
	tab.Apply(rec(acctStatusStop, "a", "1"), src)
	tab.Apply(rec(acctStatusStart, "a", "2"), src)
	if got := speed("a", "2"); got != "" {
		t.Fatalf("a restarted session's speed is %q, want unknown", got)
	}
	tab.SetApplied(key("a", "2"), enforcement.Active, SourceNAS, "fiber-100.v1")
	if s, _ := tab.Get(key("a", "2")); s.State != enforcement.Active || s.StateSource != SourceNAS || s.Speed != "fiber-100.v1" {
		t.Fatalf("after SetApplied: %+v", s)
	}
	tab.SetApplied(key("a", "3"), enforcement.Active, SourceNAS, "x") // no such session: nothing
	if _, ok := tab.Get(key("a", "3")); ok {
		t.Fatal("SetApplied created a session")
	}

	s, _ := tab.Get(key("a", "2"))
	s.State = enforcement.Throttled
	back, err := decodeSession([]byte(storeKey(s.Key())), encodeSession(&s))
	if err != nil || back.Speed != "fiber-100.v1" || back.State != enforcement.Throttled {
		t.Fatalf("stored and read back: %+v, %v", back, err)
	}
}
