package routerossim

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// FuzzReadSentence: whatever the bytes, reading never panics nor reads past
// its limits, and every sentence read encodes back to words that read the
// same.
func FuzzReadSentence(f *testing.F) {
	f.Add(AppendSentence(nil, "/login", "=name=admin", "=password="))
	f.Add(AppendSentence(nil, "/ip/firewall/address-list/print", "?list=x", "?#|!", ".tag=1", "=.proplist=.id,address"))
	f.Add([]byte{0x80, 0x03, 'a', 'b', 'c', 0xC0, 0, 1, 'x', 0xE0, 0, 0, 0, 0xF0, 0, 0, 0, 2, 'h', 'i', 0})
	f.Add([]byte{0xF8})
	f.Add([]byte{0xF0, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxWord, maxSentence = 1 << 12, 1 << 14
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			words, err := ReadSentence(r, maxWord, maxSentence)
			if err != nil {
				return
			}
			total := 0
			for _, w := range words {
				if w == "" || len(w) > maxWord {
					t.Fatalf("word of %d bytes", len(w))
				}
				total += len(w)
			}
			if total > maxSentence {
				t.Fatalf("sentence of %d bytes", total)
			}
			again, err := ReadSentence(bufio.NewReader(bytes.NewReader(AppendSentence(nil, words...))), maxWord, maxSentence)
			if err != nil || !slices.Equal(again, words) {
				t.Fatalf("round trip: %q became %q (%v)", words, again, err)
			}
		}
	})
}

// FuzzQuery: any query words compile or are refused, and never panic when
// evaluated.
func FuzzQuery(f *testing.F) {
	f.Add("type=ether", "type=vlan", "#|")
	f.Add("-comment", ">mtu=1500", "#0!1&")
	f.Add("#99", "#.", "#..!")
	f.Add("=name=x=y", "<a=", "#12345678901234567890")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		q, err := compileQuery([]string{a, b, c})
		if err != nil {
			return
		}
		it := &item{id: 1, vals: map[string]string{"type": "ether", "mtu": "1500", "name": "x=y", "comment": ""}}
		q.match(it.get)
	})
}

// FuzzConn feeds arbitrary bytes to a server connection (after a valid
// login, or instead of one): the session must end without panicking or
// hanging once the client goes away.
func FuzzConn(f *testing.F) {
	login := AppendSentence(nil, "/login", "=name=admin", "=password=")
	f.Add(true, AppendSentence(nil, "/ip/firewall/address-list/add", "=list=l", "=address=10.0.0.1", ".tag=1"))
	f.Add(true, AppendSentence(nil, "/ip/firewall/address-list/print", "?list=l", "?#|!", "=.proplist=.id"))
	f.Add(true, AppendSentence(nil, "/ip/firewall/filter/add", "=chain=forward", "=place-before=*1"))
	f.Add(true, AppendSentence(nil, "/ip/firewall/address-list/remove", "=.id=*1,*2,*zz"))
	f.Add(true, AppendSentence(nil, "/ipv6/firewall/address-list/set", "=.id=*1", "=address=::1"))
	f.Add(true, AppendSentence(nil, "/queue/simple/add", "=name=q", "=target=10.0.0.7,ether1", "=max-limit=20M/100M", "=burst-time=1m30s", "=priority=4"))
	f.Add(true, AppendSentence(nil, "/queue/simple/set", "=numbers=q,*1", "=burst-limit=9999999999G", "=name=r"))
	f.Add(false, AppendSentence(nil, "/login"))
	f.Add(false, []byte{0xF0, 0x7F, 0xFF, 0xFF, 0xFF})
	f.Add(true, AppendSentence(nil, "/quit"))
	s, err := Start(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, loggedIn bool, data []byte) {
		client, server := net.Pipe()
		c := s.serveConn(server)
		go func() { _, _ = io.Copy(io.Discard, client) }()
		if loggedIn {
			data = append(slices.Clone(login), data...)
		}
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(data)
		client.Close()
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the session did not end")
		}
	})
}
