package routeros

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

func sentenceBytes(words ...string) []byte {
	var b []byte
	for _, w := range words {
		b = appendWord(b, w)
	}
	return append(b, 0)
}

// FuzzReadReply: reading replies never panics, never returns a word over
// the limit, and stops at the first error.
func FuzzReadReply(f *testing.F) {
	f.Add(sentenceBytes("!re", ".tag=1", "=.id=*1", "=address=10.0.0.1", "=comment=tollgate:svc=1"))
	f.Add(sentenceBytes("!trap", "=message=failure: already have such entry"))
	f.Add(sentenceBytes("!fatal", "not logged in"))
	f.Add([]byte{0x80, 0x05, '!', 'd', 'o', 'n', 'e', 0xC0, 0, 0, 0xE0, 0, 0, 0, 0xF0, 0, 0, 0, 0})
	f.Add([]byte{0xF8, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			sen, err := readReply(r)
			if err != nil {
				return
			}
			if sen.Word == "" {
				t.Fatal("a sentence without a reply word")
			}
			e := parseEntry(sen)
			if e.key != entryKey(e.address) {
				t.Fatal("entry key")
			}
		}
	})
}

// FuzzAddress: an address the driver accepts has a canonical key that
// parses back to itself, and the router's forms of it lead back to it.
func FuzzAddress(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "10.0.0.0/24", "2001:db8::1/128", "::ffff:1.2.3.4", "10.0.0.1/33", "x", "1.2.3.4-1.2.3.9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAddress(s)
		if err != nil {
			_ = entryKey(s)
			return
		}
		b, err := parseAddress(a.key)
		if err != nil || b.key != a.key {
			t.Fatalf("%q → %q → %q, %v", s, a.key, b.key, err)
		}
		for _, form := range a.forms() {
			if entryKey(form) != a.key {
				t.Fatalf("%q: the router's form %q reads back as %q", s, form, entryKey(form))
			}
		}
	})
}

// FuzzComment: the service id written into a comment is read back.
func FuzzComment(f *testing.F) {
	f.Add("tollgate:", "svc-1", "nonpayment")
	f.Add("x", "42", "a\nb")
	f.Add("p:", "ü", "reason=evil svc=other")
	f.Fuzz(func(t *testing.T, prefix, id, reason string) {
		if prefix == "" || checkServiceID(id) != nil {
			return
		}
		got, owned := owner(comment(prefix, id, reason), prefix)
		if !owned || got != id {
			t.Fatalf("comment(%q, %q, %q) read back as %q, %v", prefix, id, reason, got, owned)
		}
	})
}

// FuzzSession: whatever a router sends back, a command ends (answered,
// failed, or given up when the router stays silent) without a panic.
func FuzzSession(f *testing.F) {
	f.Add(sentenceBytes("!re", ".tag=1", "=.id=*1", "=address=10.0.0.1", "=disabled=true"), sentenceBytes("!done", ".tag=1"))
	f.Add(sentenceBytes("!trap", ".tag=1", "=message=no such item"), sentenceBytes("!done", ".tag=1"))
	f.Add(sentenceBytes("!done", ".tag=2"), sentenceBytes("!fatal", "session terminated on request"))
	f.Add(sentenceBytes("!weird", ".tag=1"), []byte{0xF7})
	f.Add([]byte{}, sentenceBytes("!empty", ".tag=1"))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		client, router := net.Pipe()
		defer router.Close()
		go func() {
			// Answer the command (tag "1") with the fuzzer's bytes.
			br := bufio.NewReader(router)
			if _, err := readReply(br); err != nil {
				return
			}
			_, _ = router.Write(first)
			_, _ = router.Write(second)
			_, _ = io.Copy(io.Discard, br)
		}()
		s := newSession("fuzz", client, 10*time.Millisecond, 4, nil)
		defer s.close(ErrClosed)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := s.run(ctx, "/ip/firewall/address-list/print", "?list=x")
		if ctx.Err() != nil {
			t.Fatal("the command neither ended nor was given up by the watchdog")
		}
		if err == nil {
			for _, sen := range c.re {
				parseEntry(sen)
			}
		}
	})
}
