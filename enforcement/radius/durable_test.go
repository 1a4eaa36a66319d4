package radius

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/enforcement"
)

// exchangeAcct sends an Accounting-Request and waits for its answer.
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

func storedSessions(t *testing.T, st SessionStore) map[string]*Session {
	t.Helper()
	out := map[string]*Session{}
	if err := st.LoadSessions(func(k, v []byte) error {
		s, err := decodeSession(k, v)
		if err != nil {
			return err
		}
		out[s.UserName+"/"+s.ID] = s
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// failingStore fails its writes while fail is set.
type failingStore struct {
	SessionStore
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
	tab := NewSessions(SessionsConfig{})
	if n, err := tab.Attach(store); err != nil || n != 0 {
		t.Fatalf("attach an empty file: %d %v", n, err)
	}
	srv, err := ListenAccounting(AccountingConfig{Listen: "127.0.0.1:0", Secret: Secret{SecretFile: writeSecret(t, "s")}}, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()

	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	if exchangeAcct(t, addr, buildAcct(t, []byte("s"), rfc2866.AcctStatusType_Value_Start, "alice", "a-1", "10.0.0.1", "100.64.0.1")) {
		t.Fatal("answered an Accounting-Request whose record could not be written")
	}
	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	// The NAS resends; now it is written before the answer.
	if !exchangeAcct(t, addr, buildAcct(t, []byte("s"), rfc2866.AcctStatusType_Value_Start, "alice", "a-1", "10.0.0.1", "100.64.0.1")) {
		t.Fatal("no answer")
	}
	if got := storedSessions(t, st); got["alice/a-1"] == nil || got["alice/a-1"].FramedIP != netip.MustParseAddr("100.64.0.1") {
		t.Fatalf("answered before the session was in the state file: %v", got)
	}
	// An IPoE session with no User-Name, and one more to stop.
	for _, req := range [][]byte{
		buildAcct(t, []byte("s"), rfc2866.AcctStatusType_Value_Start, "", "ipoe-1", "10.0.0.1", "100.64.0.9"),
		buildAcct(t, []byte("s"), rfc2866.AcctStatusType_Value_Start, "bob", "b-1", "10.0.0.1", ""),
		buildAcct(t, []byte("s"), rfc2866.AcctStatusType_Value_Stop, "bob", "b-1", "10.0.0.1", ""),
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
	tab.setState(SessionKey{"10.0.0.1", "alice", "a-1"}, enforcement.Suspended, SourceNAS)
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
	again := NewSessions(SessionsConfig{})
	if n, err := again.Attach(st); err != nil || n != 2 {
		t.Fatalf("attach after a restart: %d sessions, %v", n, err)
	}
	s, ok := again.Get(SessionKey{"10.0.0.1", "alice", "a-1"})
	if !ok || s.State != enforcement.Suspended || s.StateSource != SourceNAS || s.FramedIP != netip.MustParseAddr("100.64.0.1") {
		t.Fatalf("alice after a restart: %+v %v", s, ok)
	}
	if ss := again.Find("", []netip.Prefix{netip.MustParsePrefix("100.64.0.9/32")}); len(ss) != 1 || ss[0].ID != "ipoe-1" || ss[0].UserName != "" {
		t.Fatalf("IPoE session by framed address after a restart: %+v", ss)
	}
}

// noAnswerNAS is a UDP socket that reads requests and never answers.
func noAnswerNAS(t *testing.T) (addr string, got <-chan struct{}) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan struct{}, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return c.LocalAddr().String(), ch
}

// TestAuthorizeFollowsTheDriverAtOnce: the authorize endpoint answers from
// the driver's own record, which changes before the first request reaches
// a NAS: while a restore's Disconnect-Request is still unanswered, the
// subscriber's re-authentication already gets the normal answer (and a
// suspension's CoA, the walled one). Framed-IP-Address and, when
// configured, Calling-Station-Id match too; Observe reads the same answer,
// and a suspension with no session is pending, a restore is not.
func TestAuthorizeFollowsTheDriverAtOnce(t *testing.T) {
	nasAddr, sent := noAnswerNAS(t)
	tab := NewSessions(SessionsConfig{})
	d, err := NewDriver([]NASConfig{{Name: "bras", Address: nasAddr, NASIP: []string{"10.0.0.1"}, Profile: ProfileMikrotikAddressList,
		Secret: Secret{SecretFile: writeSecret(t, "x")}, Timeout: 500 * time.Millisecond, Retries: -1}}, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h, err := NewAuthorizeHandler(d, AuthorizeConfig{MatchCallingStationID: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ask := func(body string) int {
		t.Helper()
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	alice := enforcement.Target{ServiceID: "1", Binding: enforcement.Binding{RADIUSUsername: "alice"}}
	ipoe := enforcement.Target{ServiceID: "2", Binding: enforcement.Binding{Addresses: []string{"100.64.0.9"}}}
	mac := enforcement.Target{ServiceID: "3", Binding: enforcement.Binding{RADIUSUsername: "00-11-22-33-44-55"}}
	d.Preload(alice, enforcement.Suspended) // as the agent does at start
	tab.Apply(AccountingRecord{StatusType: acctStatusStart, UserName: "alice", SessionID: "a-1", NASIP: netip.MustParseAddr("10.0.0.1")}, netip.MustParseAddr("10.0.0.1"))
	tab.setState(SessionKey{"10.0.0.1", "alice", "a-1"}, enforcement.Suspended, SourceNAS)
	if code := ask(`{"User-Name":{"value":["alice"]}}`); code != 200 {
		t.Fatalf("preloaded suspended user: %d", code)
	}

	// Restore: the Disconnect-Request goes unanswered for 500 ms; while it
	// waits, re-auth is already normal.
	done := make(chan error, 1)
	go func() { done <- d.Restore(context.Background(), alice) }()
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Fatal("the NAS got no request")
	}
	if code := ask(`{"User-Name":{"value":["alice"]}}`); code != http.StatusNoContent {
		t.Fatalf("re-auth while the restore's Disconnect-Request is in flight: %d, want 204", code)
	}
	if err := <-done; err == nil {
		t.Fatal("restore against a NAS that never answers succeeded")
	}

	// Framed address, no User-Name, and Calling-Station-Id.
	if err := d.Suspend(context.Background(), ipoe); err != nil {
		t.Fatal(err)
	}
	if err := d.Suspend(context.Background(), mac); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]int{
		`{"Framed-IP-Address":{"value":["100.64.0.9"]}}`:                                     200,
		`{"User-Name":{"value":["aa:bb"]},"Framed-IP-Address":{"value":["100.64.0.9"]}}`:     200,
		`{"Framed-IP-Address":{"value":["100.64.0.10"]}}`:                                    204,
		`{"User-Name":{"value":["x"]},"Calling-Station-Id":{"value":["00:11:22:33:44:55"]}}`: 200,
		`{"Calling-Station-Id":{"value":["00:11:22:33:44:56"]}}`:                             204,
		`{"NAS-IP-Address":{"value":["10.0.0.1"]}}`:                                          400,
		`{"Framed-IP-Address":{"value":["not-an-ip"]}}`:                                      400,
	} {
		if code := ask(body); code != want {
			t.Errorf("%s: %d, want %d", body, code, want)
		}
	}

	// Observe and Pending: no session, suspended → suspended and pending;
	// restored → active, not pending.
	if st, err := d.Observe(context.Background(), ipoe); err != nil || st != enforcement.Suspended {
		t.Fatalf("observe ipoe: %s %v", st, err)
	}
	if why := d.Pending(ipoe, enforcement.Suspended); why != PendingReason {
		t.Fatalf("pending of a suspension with no session: %q", why)
	}
	if err := d.Restore(context.Background(), ipoe); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Observe(context.Background(), ipoe); st != enforcement.Active || d.Pending(ipoe, enforcement.Active) != "" {
		t.Fatalf("restored ipoe: %s, pending %q", st, d.Pending(ipoe, enforcement.Active))
	}
	if code := ask(`{"Framed-IP-Address":{"value":["100.64.0.9"]}}`); code != 204 {
		t.Fatalf("restored framed address: %d", code)
	}
}
