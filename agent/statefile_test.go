package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// writeStateFixture writes a sound state file of n services (several
// levels of pages) with redirect settings, and returns its bytes and page
// size.
func writeStateFixture(t *testing.T, path string, n int) ([]byte, int) {
	t.Helper()
	s, err := OpenStore(path, "pop-d")
	if err != nil {
		t.Fatal(err)
	}
	b := &batch{}
	for i := range n {
		st := active
		if i%7 == 0 {
			st = suspended
		}
		d := svc(strconv.Itoa(100000+i), st, int64(i+1), "100.64."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250))
		b.puts = append(b.puts, &Record{Desired: d, Applied: st, AppliedBinding: d.Binding, AppliedRevision: d.Revision})
	}
	if err := s.commit(b, setRevision, int64(n), time.Unix(1_800_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.setRedirect(&pb.Redirect{PortalUrl: "https://pay.example/", KeyId: "k1", Key: bytes.Repeat([]byte{7}, 32)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, int(binary.NativeEndian.Uint32(data[boltPageHeaderSize+8:]))
}

// TestOpenStoreRefusesDamagedFiles damages a sound state file in each way
// a disk, a copy or a person can, and opens it: each gives a
// [DamagedError] naming the file and the recovery, never a panic (a panic
// inside bbolt, even in its own goroutine, would end this test binary) and
// never a store that starts empty.
func TestOpenStoreRefusesDamagedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sound, pageSize := writeStateFixture(t, filepath.Join(dir, "sound.db"), 3000)
	pages := len(sound) / pageSize
	if pages < 20 {
		t.Fatalf("the fixture has %d pages; want a tree of several levels", pages)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	clone := func() []byte { return bytes.Clone(sound) }
	// dataPage returns the bytes of page i of b.
	dataPage := func(b []byte, i int) []byte { return b[i*pageSize : (i+1)*pageSize] }

	cases := []struct {
		name   string
		damage func() []byte
		reason string // in the message
	}{
		{"zeroed header", func() []byte {
			b := clone()
			clear(b[:2*pageSize]) // both meta pages
			return b
		}, "not a bbolt database"},
		{"random bytes", func() []byte {
			b := make([]byte, len(sound))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}, "not a bbolt database"},
		{"text", func() []byte {
			return []byte(strings.Repeat("pop: north-tower-1\nstate_file: /var/lib/tollgate-agent/state.db\n", 200))
		}, "not a bbolt database"},
		{"XORed pages", func() []byte {
			b := clone()
			for i := 2; i < pages; i++ {
				for j, p := 0, dataPage(b, i); j < len(p); j++ {
					p[j] ^= 0x5a
				}
			}
			return b
		}, "page"},
		{"zero length", func() []byte { return nil }, "empty"},
		{"truncated", func() []byte { return clone()[:len(sound)/2] }, "cut short"},
		{"truncated inside the meta pages", func() []byte { return clone()[:pageSize+100] }, "cut short"},
		{"flipped bytes", func() []byte {
			// One byte flipped in the header or first elements of every
			// tree page.
			b := clone()
			for i := 2; i < pages; i++ {
				p := dataPage(b, i)
				p[8+rng.IntN(24)] ^= 0xff
			}
			return b
		}, "page"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, c.damage(), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := OpenStore(path, "pop-d")
			if err == nil {
				s.Close()
				t.Fatalf("a damaged file opened: %d services, revision %d", s.Len(), s.Revision())
			}
			var de *DamagedError
			if !errors.Is(err, ErrStateDamaged) || !errors.As(err, &de) || de.Path != path {
				t.Fatalf("got %v; want a DamagedError for %s", err, path)
			}
			msg := err.Error()
			for _, want := range []string{path, "--reset-state", c.reason} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not mention %q", msg, want)
				}
			}
		})
	}

	// The sound file still opens whole.
	path := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(path, sound, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(path, "pop-d")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 3000 || s.Revision() != 3000 || s.AwaitingSnapshot() || s.redirectSettings().GetKeyId() != "k1" {
		t.Fatalf("sound file: %d services, revision %d, awaiting %v", s.Len(), s.Revision(), s.AwaitingSnapshot())
	}
}

// TestOpenStoreNeverPanics flips random bytes anywhere in a sound state
// file, many times over: opening it either works or gives a DamagedError,
// and never panics or crashes.
func TestOpenStoreNeverPanics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sound, _ := writeStateFixture(t, filepath.Join(dir, "sound.db"), 500)
	rng := rand.New(rand.NewPCG(3, 4))
	path := filepath.Join(dir, "state.db")
	opened, refused := 0, 0
	for range 300 {
		b := bytes.Clone(sound)
		for range 1 + rng.IntN(16) {
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenStore(path, "pop-d")
		switch {
		case err == nil:
			opened++
			s.Close()
		case errors.Is(err, ErrStateDamaged):
			refused++
		default:
			t.Fatalf("neither opened nor refused as damaged: %v", err)
		}
	}
	t.Logf("%d opened (the flips hit unused space or values), %d refused", opened, refused)
	if refused == 0 {
		t.Fatal("no damage was detected")
	}
}

// TestResetStateFile: the old file is kept aside, the new one asks for a
// snapshot and awaits it, and a file in use is not moved.
func TestResetStateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	if kept, err := ResetStateFile(path, time.Now()); err != nil || kept != "" {
		t.Fatalf("no file: %q, %v", kept, err)
	}
	writeStateFixture(t, path, 10)
	s, err := OpenStore(path, "pop-d")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ResetStateFile(path, time.Now()); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a file in use: %v, want it refused as locked", err)
	}
	s.Close()
	at := time.Date(2027, 3, 10, 6, 0, 0, 0, time.UTC)
	kept, err := ResetStateFile(path, at)
	if err != nil || kept != path+".reset-20270310T060000Z" {
		t.Fatalf("reset: %q, %v", kept, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the state file is still there: %v", err)
	}
	if old, err := OpenStore(kept, "pop-d"); err != nil || old.Len() != 10 {
		t.Fatalf("the kept file: %v", err)
	} else {
		old.Close()
	}
	s, err = OpenStore(path, "pop-d")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 0 || s.Revision() != 0 || !s.AwaitingSnapshot() {
		t.Fatalf("after reset: %d services, revision %d, awaiting snapshot %v", s.Len(), s.Revision(), s.AwaitingSnapshot())
	}
}
