package routeros

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-routeros/routeros/v3/proto"
)

// The driver encodes words itself (see README); go-routeros's writer is the
// reference.
func TestEncodingMatchesGoRouterOS(t *testing.T) {
	for _, n := range []int{0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000} {
		w := strings.Repeat("x", n)
		var ref bytes.Buffer
		pw := proto.NewWriter(&ref)
		pw.BeginSentence()
		pw.WriteWord("/ip/firewall/address-list/add")
		pw.WriteWord(w)
		if err := pw.EndSentence(); err != nil {
			t.Fatal(err)
		}
		ours := append(appendWord(appendWord(nil, "/ip/firewall/address-list/add"), w), 0)
		if !bytes.Equal(ours, ref.Bytes()) {
			t.Fatalf("a %#x-byte word encodes differently from go-routeros", n)
		}
	}
}

// readReply reads what go-routeros's reader reads, and !fatal's bare
// reason word too.
func TestReadReplyMatchesGoRouterOS(t *testing.T) {
	var raw []byte
	for _, s := range [][]string{
		{"!re", ".tag=7", "=.id=*1A", "=address=10.0.0.1", "=comment=a=b", "=disabled=false"},
		{"!trap", ".tag=8", "=category=1", "=message=failure: already have such entry"},
		{"!done", ".tag=8"},
		{"!done", "=ret=" + strings.Repeat("f", 300)},
	} {
		for _, w := range s {
			raw = appendWord(raw, w)
		}
		raw = append(raw, 0)
	}
	ref := proto.NewReader(bytes.NewReader(raw))
	r := bufio.NewReader(bytes.NewReader(raw))
	for range 4 {
		want, err := ref.ReadSentence()
		if err != nil {
			t.Fatal(err)
		}
		got, err := readReply(r)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("read %s, go-routeros reads %s", got, want)
		}
	}
	fatal := append(appendWord(appendWord([]byte{0, 0}, "!fatal"), "session terminated on request"), 0)
	got, err := readReply(bufio.NewReader(bytes.NewReader(fatal)))
	if err != nil || got.Word != "!fatal" || got.Map["message"] != "session terminated on request" {
		t.Fatalf("!fatal: %v, %v", got, err)
	}
	// A word announcing 4 GiB is refused without allocating it.
	if _, err := readReply(bufio.NewReader(bytes.NewReader([]byte{5, '!', 'd', 'o', 'n', 'e', 0xF0, 0xFF, 0xFF, 0xFF, 0xFF}))); err == nil {
		t.Fatal("a 4 GiB word was accepted")
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":            "10.0.0.1",
		"10.0.0.1/32":         "10.0.0.1",
		"10.0.0.0/24":         "10.0.0.0/24",
		"::ffff:10.0.0.1":     "10.0.0.1",
		"::ffff:10.0.0.0/120": "10.0.0.0/24",
		"2001:DB8::1":         "2001:db8::1",
		"2001:db8::1/128":     "2001:db8::1",
		"2001:db8::/48":       "2001:db8::/48",
	} {
		a, err := parseAddress(in)
		if err != nil || a.key != want {
			t.Errorf("parseAddress(%q) = %q, %v; want %q", in, a.key, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.1/24", "10.0.0.300", "host.example", "10.0.0.1-10.0.0.5", "fe80::1%eth0"} {
		if _, err := parseAddress(bad); err == nil {
			t.Errorf("parseAddress(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{"10.0.0.1": "10.0.0.1", "2001:db8::1/128": "2001:db8::1", "10.0.0.5/24": "10.0.0.0/24", "a.example": "a.example"} {
		if got := entryKey(in); got != want {
			t.Errorf("entryKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommentsAndOwnership(t *testing.T) {
	c := comment("tollgate:", "svc-1", "non\npayment \"late\"")
	if c != "tollgate:svc=svc-1 reason=non payment late" {
		t.Fatalf("comment %q", c)
	}
	for cm, want := range map[string]struct {
		id    string
		owned bool
	}{
		c:                        {"svc-1", true},
		"tollgate:svc=9":         {"9", true},
		"tollgate:":              {"", true},
		"tollgate:walled-garden": {"", true},
		"Tollgate:svc=9":         {"", false},
		"by hand tollgate:svc=9": {"", false},
		"":                       {"", false},
	} {
		id, owned := owner(cm, "tollgate:")
		if id != want.id || owned != want.owned {
			t.Errorf("owner(%q) = %q, %v; want %q, %v", cm, id, owned, want.id, want.owned)
		}
	}
	if err := checkServiceID("a b"); err == nil {
		t.Fatal("a service id with a space was accepted")
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(1000) // burst 1000, then one per millisecond
	start := time.Now()
	for range 1100 {
		if err := l.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 90*time.Millisecond {
		t.Fatalf("1100 tokens at 1000/s with a burst of 1000 in %s", took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newLimiter(0.001).wait(ctx); err != nil {
		t.Fatal("the burst token should not wait")
	}
	if newLimiter(-1) != nil || newLimiter(-1).wait(context.Background()) != nil {
		t.Fatal("a negative rate must not limit")
	}
}

// deploy/routeros/walled-garden.rsc installs the same rules as the
// bootstrap: each rule's comment is there, on a line with its parameters.
func TestWalledGardenScriptMatchesTheBootstrap(t *testing.T) {
	script, err := os.ReadFile("../../deploy/routeros/walled-garden.rsc")
	if err != nil {
		t.Fatal(err)
	}
	s, err := RouterConfig{Name: "r", Address: "192.0.2.1", Username: "u",
		WalledGarden: WalledGardenConfig{Bootstrap: true, Redirect: "192.0.2.10:8080"}}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	r := &router{cfg: s}
	lines := strings.Split(string(script), "\n")
	for _, rule := range r.gardenRules() {
		name := rule.name
		// The rule's add commands: on a line with its comment, or under
		// its `:if ($name = "...")`.
		var found []string
		cur := ""
		for _, l := range lines {
			if i := strings.Index(l, `($name = "`); i >= 0 {
				cur, _, _ = strings.Cut(l[i+len(`($name = "`):], `"`)
			}
			if strings.Contains(l, `"tollgate:walled-garden `+name+`"`) {
				cur = name
			}
			if cur == name && strings.Contains(l, strings.ReplaceAll(rule.menu[1:], "/", " ")+" add") {
				found = append(found, l)
			}
		}
		if len(found) == 0 {
			t.Errorf("rule %q is not in the script", name)
			continue
		}
		for _, w := range rule.words {
			kv := strings.TrimPrefix(w, "=")
			if strings.Contains(kv, "tollgate-") || strings.Contains(kv, "192.0.2.10") || strings.Contains(kv, "8080") {
				continue // the script's variables
			}
			for _, l := range found {
				if !strings.Contains(l, " "+kv+" ") {
					t.Errorf("rule %q: %s missing from %q", name, kv, strings.TrimSpace(l))
				}
			}
		}
	}
}
