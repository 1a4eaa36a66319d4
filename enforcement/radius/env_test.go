package radius

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/tollgate-isp/tollgate/internal/radiustest"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// env is a test bed: FreeRADIUS 3 as the stand-in NAS (every NAS of the
// test points at its CoA listener; they differ by the NAS-IP-Address
// their sessions carry), the accounting listener fed by radclient, and
// the driver.
type env struct {
	fr         *radiustest.Server
	sessions   *radiusproto.Sessions
	acct       *radiusproto.AccountingServer
	acctSecret string
	driver     *Driver
}

const testAcctSecret = "acct-s3cret"

func writeSecret(t testing.TB, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// newEnv starts FreeRADIUS (requiring Message-Authenticator) and the
// accounting listener, and a driver for nas, whose Address and secret
// are filled in to point at FreeRADIUS unless set.
func newEnv(t testing.TB, o radiustest.Options, nas ...NASConfig) *env {
	t.Helper()
	o.RequireMessageAuthenticator = true
	e := &env{fr: radiustest.Start(t, o), acctSecret: testAcctSecret}
	e.sessions = radiusproto.NewSessions(radiusproto.SessionsConfig{})
	var err error
	e.acct, err = radiusproto.ListenAccounting(radiusproto.AccountingConfig{
		Listen: "127.0.0.1:0",
		Secret: radiusproto.Secret{SecretFile: writeSecret(t, e.acctSecret)},
	}, e.sessions, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.acct.Close() })
	frSecret := writeSecret(t, e.fr.Secret)
	for i := range nas {
		if nas[i].Address == "" {
			nas[i].Address = e.fr.CoAAddr
		}
		if nas[i].SecretFile == "" && nas[i].SecretEnv == "" {
			nas[i].SecretFile = frSecret
		}
	}
	e.driver, err = NewDriver(nas, e.sessions, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.driver.Close() })
	return e
}

// sendAcct sends accounting packets to the listener with radclient, as a NAS
// would, and fails the test unless every one is answered.
func (e *env) sendAcct(t testing.TB, packets ...[]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := radiustest.Radclient(ctx, e.acct.Addr().String(), "acct", e.acctSecret, packets...); err != nil {
		t.Fatalf("radclient accounting: %v\n%s", err, out)
	}
}

// acctPacket is an accounting packet in radclient's input format.
func acctPacket(status, nasIP, user, session, framed string, extra ...string) []string {
	p := []string{
		"Acct-Status-Type = " + status,
		fmt.Sprintf("NAS-IP-Address = %s", nasIP),
		fmt.Sprintf("User-Name = %q", user),
		fmt.Sprintf("Acct-Session-Id = %q", session),
	}
	if framed != "" {
		p = append(p, "Framed-IP-Address = "+framed)
	}
	return append(p, extra...)
}

// learn puts a session straight into the table (no radclient).
func (e *env) learn(nasIP, user, session, framed string) radiusproto.Session {
	rec := radiusproto.AccountingRecord{StatusType: uint32(rfc2866.AcctStatusType_Value_Start), UserName: user, SessionID: session, NASIP: netip.MustParseAddr(nasIP)}
	if framed != "" {
		rec.FramedIP = netip.MustParseAddr(framed)
	}
	e.sessions.Apply(rec, netip.MustParseAddr("127.0.0.1"))
	s, ok := e.sessions.Get(radiusproto.SessionKey{NAS: nasIP, UserName: user, ID: session})
	if !ok {
		panic("session not learned")
	}
	return s
}

// recordsFor waits until FreeRADIUS recorded n requests for a session,
// and returns them.
func (e *env) recordsFor(t testing.TB, session string, n int) []radiustest.Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rs := e.fr.RecordsFor(t, session)
		if len(rs) >= n || time.Now().After(deadline) {
			if len(rs) != n {
				t.Fatalf("FreeRADIUS recorded %d requests for session %s, want %d: %+v", len(rs), session, n, rs)
			}
			return rs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func joinVals(v []string) string { return strings.Join(v, ",") }

// buildAcct encodes an Accounting-Request like a NAS would (the
// protocol package's tests have the full version, with vendor attributes).
func buildAcct(t testing.TB, secret []byte, status rfc2866.AcctStatusType, user, session string, nasIP, framed string) []byte {
	t.Helper()
	p := rad.New(rad.CodeAccountingRequest, secret)
	_ = rfc2866.AcctStatusType_Set(p, status)
	_ = rfc2865.UserName_SetString(p, user)
	_ = rfc2866.AcctSessionID_SetString(p, session)
	p.Add(rfc2865.NASIPAddress_Type, netip.MustParseAddr(nasIP).AsSlice())
	if framed != "" {
		p.Add(rfc2865.FramedIPAddress_Type, netip.MustParseAddr(framed).AsSlice())
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
