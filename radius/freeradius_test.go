package radius

import (
	"crypto/md5"
	"net"
	"strings"
	"testing"
	"time"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/tollgate-isp/tollgate/internal/radiustest"
)

// exchangeRaw sends a datagram to addr and returns the answer, or nil if
// none came within wait.
func exchangeRaw(t *testing.T, addr string, b []byte, wait time.Duration) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// FreeRADIUS, told to require Message-Authenticator, accepts ours and
// drops a request without one or with a wrong one: so it does check it,
// and ours is right.
func TestMessageAuthenticatorCheckedByFreeRADIUS(t *testing.T) {
	t.Parallel()
	fr := radiustest.Start(t, radiustest.Options{RequireMessageAuthenticator: true})
	secret := []byte(fr.Secret)
	var attrs rad.Attributes
	attrs.Add(rfc2865.UserName_Type, []byte("bob"))
	attrs.Add(rad.Type(typeAcctSessionID), []byte("ma-1"))

	req, err := encodeRequest(rad.CodeCoARequest, 1, secret, attrs)
	if err != nil {
		t.Fatal(err)
	}
	resp := exchangeRaw(t, fr.CoAAddr, req.wire, 2*time.Second)
	if resp == nil {
		t.Fatalf("no answer to a correctly signed CoA-Request\n%s", fr.Log(t))
	}
	if out, err := parseResponse(resp, req, secret); err != nil || !out.ACK {
		t.Fatalf("answer: %+v, %v", out, err)
	}
	dreq, _ := encodeRequest(rad.CodeDisconnectRequest, 2, secret, attrs)
	if out, err := parseResponse(exchangeRaw(t, fr.CoAAddr, dreq.wire, 2*time.Second), dreq, secret); err != nil || !out.ACK {
		t.Fatalf("Disconnect-Request: %+v, %v", out, err)
	}

	// Without a Message-Authenticator (layeh.com/radius signs the Request
	// Authenticator only).
	p := rad.New(rad.CodeCoARequest, secret)
	p.Attributes = attrs
	plain, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if resp := exchangeRaw(t, fr.CoAAddr, plain, 500*time.Millisecond); resp != nil {
		t.Fatal("FreeRADIUS answered a CoA-Request without Message-Authenticator")
	}
	// With a wrong one, the Request Authenticator recomputed to match.
	bad, _ := encodeRequest(rad.CodeCoARequest, 3, secret, attrs)
	bad.wire[len(bad.wire)-1] ^= 0x55
	reauth(bad.wire, secret)
	if err := checkRequestAuthenticator(bad.wire, secret); err != nil {
		t.Fatal(err)
	}
	if resp := exchangeRaw(t, fr.CoAAddr, bad.wire, 500*time.Millisecond); resp != nil {
		t.Fatal("FreeRADIUS answered a CoA-Request with a wrong Message-Authenticator")
	}
	log := fr.Log(t)
	for _, w := range []string{"does not contain required Message-Authenticator", "Message-Authenticator"} {
		if !strings.Contains(log, w) {
			t.Errorf("FreeRADIUS log does not mention %q", w)
		}
	}
}

// reauth recomputes the Request Authenticator of a request only.
func reauth(b, secret []byte) {
	clear(b[4:20])
	sum := md5.Sum(append(append([]byte(nil), b...), secret...))
	copy(b[4:20], sum[:])
}
