package agent_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/radius"
)

// The agent's state file keeps the RADIUS session table: the radius
// package persists it through radius.SessionStore, which the store
// implements (radius imports neither this package nor bbolt).
var _ radius.SessionStore = (*agent.Store)(nil)

// storedSessions returns the sessions in the state file, as a table
// attached to it afresh reads them, by user name and session id.
func storedSessions(t *testing.T, st radius.SessionStore) map[string]*radius.Session {
	t.Helper()
	tab := radius.NewSessions(radius.SessionsConfig{})
	if _, err := tab.Attach(readOnlyStore{st}); err != nil {
		t.Fatal(err)
	}
	out := map[string]*radius.Session{}
	// The test's sessions: alice's and bob's by user name, IPoE ones (no
	// User-Name) by their framed address.
	for _, s := range tab.Find("", []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}) {
		out[s.UserName+"/"+s.ID] = &s
	}
	for _, user := range []string{"alice", "bob"} {
		for _, s := range tab.Find(user, nil) {
			out[s.UserName+"/"+s.ID] = &s
		}
	}
	if n, want := len(out), tab.Len(); n != want {
		t.Fatalf("found %d of the %d stored sessions", n, want)
	}
	return out
}

// readOnlyStore lets a test read a store without writing to it: a write
// (Attach removing an unreadable session) fails the read.
type readOnlyStore struct{ radius.SessionStore }

func (readOnlyStore) SaveSessions(map[string][]byte, []string) error {
	return errors.New("the state file holds a session the radius package cannot read")
}

// failingStore fails its writes while fail is set.
type failingStore struct {
	radius.SessionStore
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) SaveSessions(puts map[string][]byte, deletes []string) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return f.SessionStore.SaveSessions(puts, deletes)
}

// TestSessionsDurableInTheStateFile: with the session table attached to
// the agent's state file, an Accounting-Response is sent only once its
// record is written (a write that fails leaves the request unanswered, so
// the NAS resends); a table opened afresh on the same file (an agent
// restart) knows the sessions and their states; a Stop removes it from
// the file; a CoA's acknowledgement reaches the file with the next flush.
func TestSessionsDurableInTheStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := agent.OpenStore(path, "pop-1")
	if err != nil {
		t.Fatal(err)
	}
	store := &failingStore{SessionStore: st}
	tab := radius.NewSessions(radius.SessionsConfig{})
	if n, err := tab.Attach(store); err != nil || n != 0 {
		t.Fatalf("attach an empty file: %d %v", n, err)
	}
	srv, err := radius.ListenAccounting(radius.AccountingConfig{Listen: "127.0.0.1:0", Secret: radius.Secret{SecretFile: writeSecretFile(t, "s")}}, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()

	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	if exchangeAcct(t, addr, accountingRequest(t, []byte("s"), rfc2866.AcctStatusType_Value_Start, "alice", "a-1", "10.0.0.1", "100.64.0.1")) {
		t.Fatal("answered an Accounting-Request whose record could not be written")
	}
	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	// The NAS resends; now it is written before the answer.
	if !exchangeAcct(t, addr, accountingRequest(t, []byte("s"), rfc2866.AcctStatusType_Value_Start, "alice", "a-1", "10.0.0.1", "100.64.0.1")) {
		t.Fatal("no answer")
	}
	if got := storedSessions(t, st); got["alice/a-1"] == nil || got["alice/a-1"].FramedIP != netip.MustParseAddr("100.64.0.1") {
		t.Fatalf("answered before the session was in the state file: %v", got)
	}
	// An IPoE session with no User-Name, and one more to stop.
	for _, req := range [][]byte{
		accountingRequest(t, []byte("s"), rfc2866.AcctStatusType_Value_Start, "", "ipoe-1", "10.0.0.1", "100.64.0.9"),
		accountingRequest(t, []byte("s"), rfc2866.AcctStatusType_Value_Start, "bob", "b-1", "10.0.0.1", ""),
		accountingRequest(t, []byte("s"), rfc2866.AcctStatusType_Value_Stop, "bob", "b-1", "10.0.0.1", ""),
	} {
		if !exchangeAcct(t, addr, req) {
			t.Fatal("no answer")
		}
	}
	got := storedSessions(t, st)
	if got["/ipoe-1"] == nil || got["bob/b-1"] != nil || len(got) != 2 {
		t.Fatalf("stored sessions after IPoE start and bob's stop: %v", got)
	}
	// A CoA's acknowledgement changes the state; Flush writes it.
	tab.SetState(radius.SessionKey{NAS: "10.0.0.1", UserName: "alice", ID: "a-1"}, enforcement.Suspended, radius.SourceNAS)
	if err := tab.Flush(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	st.Close()

	// The agent restarts.
	st, err = agent.OpenStore(path, "pop-1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	again := radius.NewSessions(radius.SessionsConfig{})
	if n, err := again.Attach(st); err != nil || n != 2 {
		t.Fatalf("attach after a restart: %d sessions, %v", n, err)
	}
	s, ok := again.Get(radius.SessionKey{NAS: "10.0.0.1", UserName: "alice", ID: "a-1"})
	if !ok || s.State != enforcement.Suspended || s.StateSource != radius.SourceNAS || s.FramedIP != netip.MustParseAddr("100.64.0.1") {
		t.Fatalf("alice after a restart: %+v %v", s, ok)
	}
	if ss := again.Find("", []netip.Prefix{netip.MustParsePrefix("100.64.0.9/32")}); len(ss) != 1 || ss[0].ID != "ipoe-1" || ss[0].UserName != "" {
		t.Fatalf("IPoE session by framed address after a restart: %+v", ss)
	}
}

// exchangeAcct sends an Accounting-Request and says whether an authentic
// Accounting-Response came back.
func exchangeAcct(t *testing.T, addr string, req []byte) bool {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return false
	}
	return buf[0] == byte(rad.CodeAccountingResponse) && rad.IsAuthenticResponse(buf[:n], req, []byte("s"))
}

// accountingRequest encodes an Accounting-Request like a NAS would.
func accountingRequest(t *testing.T, secret []byte, status rfc2866.AcctStatusType, user, session, nasIP, framed string) []byte {
	t.Helper()
	p := rad.New(rad.CodeAccountingRequest, secret)
	_ = rfc2866.AcctStatusType_Set(p, status)
	if user != "" {
		_ = rfc2865.UserName_SetString(p, user)
	}
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

func writeSecretFile(t *testing.T, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
