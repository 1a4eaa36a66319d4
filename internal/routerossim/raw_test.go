package routerossim_test

import (
	"bufio"
	"crypto/md5" //nolint:gosec // the pre-6.43 login is MD5
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// The tests in this file talk to the simulator byte by byte, with their own
// encoder and decoder, to pin the wire format down independently of any
// client library.

// enc encodes a word with its length in exactly size bytes (1–5), the
// longer forms padding the length with zero bits as the API allows.
func enc(size int, w string) []byte {
	n := len(w)
	var b []byte
	switch size {
	case 1:
		b = []byte{byte(n)}
	case 2:
		b = []byte{0x80 | byte(n>>8), byte(n)}
	case 3:
		b = []byte{0xC0 | byte(n>>16), byte(n >> 8), byte(n)}
	case 4:
		b = []byte{0xE0 | byte(n>>24), byte(n >> 16), byte(n >> 8), byte(n)}
	case 5:
		b = []byte{0xF0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(b, w...)
}

func sentence(size int, words ...string) []byte {
	var b []byte
	for _, w := range words {
		b = append(b, enc(size, w)...)
	}
	return append(b, enc(size, "")...)
}

type rawClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, s *routerossim.Server) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, c: c, r: bufio.NewReader(c)}
}

func (rc *rawClient) send(b []byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatal(err)
	}
}

// word reads one word and returns it with the raw bytes of its length.
func (rc *rawClient) word() (string, []byte, error) {
	first, err := rc.r.ReadByte()
	if err != nil {
		return "", nil, err
	}
	prefix := []byte{first}
	var n, extra int
	switch {
	case first < 0x80:
		n = int(first)
	case first < 0xC0:
		n, extra = int(first&0x3F), 1
	case first < 0xE0:
		n, extra = int(first&0x1F), 2
	case first < 0xF0:
		n, extra = int(first&0x0F), 3
	case first == 0xF0:
		extra = 4
	default:
		return "", prefix, errors.New("control byte")
	}
	for range extra {
		b, err := rc.r.ReadByte()
		if err != nil {
			return "", prefix, err
		}
		prefix = append(prefix, b)
		n = n<<8 | int(b)
	}
	buf := make([]byte, n)
	_, err = io.ReadFull(rc.r, buf)
	return string(buf), prefix, err
}

// reply reads one reply sentence.
func (rc *rawClient) reply() []string {
	rc.t.Helper()
	var words []string
	for {
		w, _, err := rc.word()
		if err != nil {
			rc.t.Fatalf("reading a reply after %q: %v", words, err)
		}
		if w == "" {
			return words
		}
		words = append(words, w)
	}
}

func (rc *rawClient) expect(want ...string) {
	rc.t.Helper()
	if got := rc.reply(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		rc.t.Fatalf("reply %q, want %q", got, want)
	}
}

func (rc *rawClient) expectClosed() {
	rc.t.Helper()
	if _, _, err := rc.word(); err == nil {
		rc.t.Fatal("the connection is still open")
	}
}

func TestRawEveryLengthForm(t *testing.T) {
	s := start(t, routerossim.Config{Users: map[string]string{"admin": "pw"}})
	for size := 1; size <= 5; size++ {
		rc := dialRaw(t, s)
		rc.send(sentence(size, "/login", "=name=admin", "=password=pw"))
		rc.expect("!done")
		address := []string{"", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}[size]
		rc.send(sentence(size, "/ip/firewall/address-list/add", "=list=l", "=address="+address, ".tag=t"))
		w := rc.reply()
		if len(w) != 3 || w[0] != "!done" || w[1] != ".tag=t" || !strings.HasPrefix(w[2], "=ret=*") {
			t.Fatalf("%d-byte lengths: add answered %q", size, w)
		}
		rc.send(sentence(size, "/ip/firewall/address-list/print", "?address="+address, "=.proplist=address,list"))
		rc.expect("!re", "=address="+address, "=list=l")
		rc.expect("!done")
	}
	if n := s.Count("l"); n != 5 {
		t.Fatalf("%d entries, want 5", n)
	}
}

func TestRawLongWordsUseTheShortestPrefix(t *testing.T) {
	s := start(t, routerossim.Config{})
	rc := dialRaw(t, s)
	rc.send(sentence(1, "/login", "=name=admin", "=password="))
	rc.expect("!done")
	for _, tc := range []struct {
		n      int
		prefix int // bytes of the reply word's length
		first  byte
	}{
		{0x7F - len("=comment="), 1, 0x7F},
		{0x80 - len("=comment="), 2, 0x80},
		{0x3FFF - len("=comment="), 2, 0xBF},
		{0x4000 - len("=comment="), 3, 0xC0},
		{0x200000 - len("=comment="), 4, 0xE0},
	} {
		comment := strings.Repeat("c", tc.n)
		rc.send(sentence(tc.prefix, "/ip/firewall/address-list/add", "=list=long", "=address=192.0.2.1", "=comment="+comment))
		rc.reply()
		rc.send(sentence(1, "/ip/firewall/address-list/print", "?list=long", "=.proplist=comment"))
		if w, _, _ := rc.word(); w != "!re" {
			t.Fatalf("print: %q", w)
		}
		w, prefix, err := rc.word()
		if err != nil || w != "=comment="+comment {
			t.Fatalf("a %d-byte comment came back as %d bytes: %v", tc.n, len(w)-len("=comment="), err)
		}
		if len(prefix) != tc.prefix || prefix[0] != tc.first {
			t.Errorf("a word of %#x bytes was prefixed % X, want %d bytes starting %#x", len(w), prefix, tc.prefix, tc.first)
		}
		rc.expect() // end of !re
		rc.expect("!done")
		rc.send(sentence(1, "/ip/firewall/address-list/remove", "=.id="+s.Entries("long")[0].ID))
		rc.expect("!done")
	}
}

func TestRawTagsAndPipelining(t *testing.T) {
	s := start(t, routerossim.Config{})
	rc := dialRaw(t, s)
	// Everything in one write: login, two empty sentences, four tagged
	// commands.
	var b []byte
	b = append(b, sentence(1, "/login", "=name=admin", "=password=")...)
	b = append(b, 0, 0)
	b = append(b, sentence(2, "/ip/firewall/address-list/add", ".tag=a", "=list=x", "=address=10.1.1.1")...)
	b = append(b, sentence(3, "/ip/firewall/address-list/add", "=list=x", "=address=10.1.1.1/32", ".tag=b")...)
	b = append(b, sentence(1, "/ip/firewall/address-list/print", ".tag=c", "?list=x", "=.proplist=.id,address")...)
	b = append(b, sentence(1, "/ip/firewall/address-list/remove", "=.id=*99", ".tag=d")...)
	b = append(b, sentence(1, "/nope/print")...)
	rc.send(b)
	rc.expect("!done")
	rc.expect("!done", ".tag=a", "=ret=*1")
	rc.expect("!trap", ".tag=b", "=message="+routerossim.MsgAlreadyHave)
	rc.expect("!done", ".tag=b")
	rc.expect("!re", ".tag=c", "=.id=*1", "=address=10.1.1.1")
	rc.expect("!done", ".tag=c")
	rc.expect("!trap", ".tag=d", "=category=0", "=message="+routerossim.MsgNoSuchItem)
	rc.expect("!done", ".tag=d")
	rc.expect("!trap", "=category=0", "=message="+routerossim.MsgNoSuchCommand)
	rc.expect("!done")
	if st := s.Stats(); st.Sentences != 6 || st.Logins != 1 {
		t.Fatalf("stats %+v: want 6 sentences (empty ones ignored) and 1 login", st)
	}
}

func TestRawFatal(t *testing.T) {
	s := start(t, routerossim.Config{})

	rc := dialRaw(t, s)
	rc.send(sentence(1, "/ip/firewall/address-list/print"))
	rc.expect("!fatal", "not logged in")
	rc.expectClosed()

	rc = dialRaw(t, s)
	rc.send(sentence(1, "/login", "=name=admin", "=password="))
	rc.expect("!done")
	rc.send(sentence(1, "/quit"))
	rc.expect("!fatal", "session terminated on request")
	rc.expectClosed()

	rc = dialRaw(t, s)
	rc.send([]byte{0xF8, 1, 2, 3})
	if w := rc.reply(); len(w) != 2 || w[0] != "!fatal" {
		t.Fatalf("after a control byte: %q", w)
	}
	rc.expectClosed()

	// Before login a sentence may not be long.
	rc = dialRaw(t, s)
	rc.send(sentence(1, "/login", "=name="+strings.Repeat("a", 5000), "=password="))
	if w := rc.reply(); len(w) != 2 || w[0] != "!fatal" {
		t.Fatalf("after a long sentence before login: %q", w)
	}
	rc.expectClosed()

	s.SetFaults(routerossim.Faults{RefuseLogins: true})
	rc = dialRaw(t, s)
	rc.send(sentence(1, "/login", "=name=admin", "=password="))
	rc.expect("!fatal", "login refused")
	rc.expectClosed()
}

func TestRawLogins(t *testing.T) {
	s := start(t, routerossim.Config{Users: map[string]string{"ops": "s3cret"}})
	rc := dialRaw(t, s)
	rc.send(sentence(1, "/login", "=name=ops", "=password=wrong"))
	rc.expect("!trap", "=message="+routerossim.MsgBadLogin)
	rc.expect("!done")
	rc.send(sentence(1, "/login", "=name=nobody", "=password=s3cret"))
	rc.expect("!trap", "=message="+routerossim.MsgBadLogin)
	rc.expect("!done")
	// The session stays open: a correct login now works.
	rc.send(sentence(1, "/login", "=name=ops", "=password=s3cret"))
	rc.expect("!done")

	// Pre-6.43 challenge login.
	for _, pw := range []string{"wrong", "s3cret"} {
		rc = dialRaw(t, s)
		rc.send(sentence(1, "/login"))
		w := rc.reply()
		if len(w) != 2 || w[0] != "!done" || !strings.HasPrefix(w[1], "=ret=") {
			t.Fatalf("challenge: %q", w)
		}
		challenge, err := hex.DecodeString(strings.TrimPrefix(w[1], "=ret="))
		if err != nil {
			t.Fatal(err)
		}
		h := md5.New() //nolint:gosec
		h.Write([]byte{0})
		h.Write([]byte(pw))
		h.Write(challenge)
		rc.send(sentence(1, "/login", "=name=ops", "=response=00"+hex.EncodeToString(h.Sum(nil))))
		if pw == "s3cret" {
			rc.expect("!done")
			rc.send(sentence(1, "/system/identity/print"))
			rc.expect("!re", "=name=MikroTik")
			rc.expect("!done")
		} else {
			rc.expect("!trap", "=message="+routerossim.MsgBadLogin)
			rc.expect("!done")
		}
	}
}

func TestRawEmptyReplies(t *testing.T) {
	s := start(t, routerossim.Config{EmptyReplies: true})
	rc := dialRaw(t, s)
	rc.send(sentence(1, "/login", "=name=admin", "=password="))
	rc.expect("!done")
	rc.send(sentence(1, "/ip/firewall/address-list/print", "?list=none", ".tag=1"))
	rc.expect("!empty", ".tag=1")
	rc.expect("!done", ".tag=1")
	rc.send(sentence(1, "/ip/firewall/address-list/print", "=count-only="))
	rc.expect("!done", "=ret=0")
}
