package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

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

// firstLeafValue returns the value of the first element of a leaf page (a
// slice of p), or nil for another page.
func firstLeafValue(p []byte) []byte {
	ne := binary.NativeEndian
	if ne.Uint16(p[8:]) != boltLeafPage || ne.Uint16(p[10:]) == 0 {
		return nil
	}
	e := p[boltPageHeaderSize:]
	pos, ksize, vsize := int(ne.Uint32(e[4:])), int(ne.Uint32(e[8:])), int(ne.Uint32(e[12:]))
	start := boltPageHeaderSize + pos + ksize
	if start+vsize > len(p) {
		return nil
	}
	return p[start : start+vsize]
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
		{"zeroed first page", func() []byte {
			b := clone()
			clear(b[:pageSize]) // one meta page: bbolt's check refuses it
			return b
		}, "consistency check"},
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
		{"flipped header bytes", func() []byte {
			// One byte flipped in the header or first elements of every
			// tree page.
			b := clone()
			for i := 2; i < pages; i++ {
				p := dataPage(b, i)
				p[8+rng.IntN(24)] ^= 0xff
			}
			return b
		}, "page"},
		{"flipped bytes", func() []byte {
			// One byte flipped in a value of every leaf page.
			b := clone()
			for i := 2; i < pages; i++ {
				if v := firstLeafValue(dataPage(b, i)); len(v) > 0 {
					v[rng.IntN(len(v))] ^= byte(1 + rng.IntN(255))
				}
			}
			return b
		}, "is damaged"},
		{"one flipped bit in one record", func() []byte {
			// Service 101234's record follows its key in its leaf page.
			b := clone()
			at := bytes.Index(b, []byte("101234"))
			if at < 0 {
				t.Fatal("no record of service 101234 in the fixture")
			}
			b[at+len("101234")+20] ^= 0x01
			return b
		}, "checksum"},
		{"one flipped bit in the revision", func() []byte {
			b := clone()
			at := bytes.Index(b, []byte("revision"))
			if at < 0 {
				t.Fatal("no revision entry in the fixture")
			}
			b[at+len("revision")+7] ^= 0x01 // its last byte
			return b
		}, "checksum"},
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
// file, many times over: opening it either gives a DamagedError or (the
// flips hit free pages or unused space) the very same contents, and never
// panics or crashes.
func TestOpenStoreNeverPanics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sound, _ := writeStateFixture(t, filepath.Join(dir, "sound.db"), 500)
	rng := rand.New(rand.NewPCG(3, 4))
	path := filepath.Join(dir, "state.db")
	// What an opened file must hold: exactly what the sound one does.
	contents := func(s *Store) string {
		var out strings.Builder
		fmt.Fprintf(&out, "revision %d, redirect %v, awaiting %v\n", s.Revision(), s.redirectSettings(), s.AwaitingSnapshot())
		err := s.ForEach(func(id string, r *Record) error {
			fmt.Fprintf(&out, "%s %v %v %v %d %q\n", id, r.Desired, r.Applied, r.AppliedBinding, r.AppliedRevision, r.Error)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	s, err := OpenStore(filepath.Join(dir, "sound.db"), "pop-d")
	if err != nil {
		t.Fatal(err)
	}
	want := contents(s)
	s.Close()
	// A flip in the newer meta page makes bbolt fall back to the other,
	// the transaction before (its crash recovery): the fixture as it was
	// before its redirect settings were stored.
	wantPrev := fmt.Sprintf("revision %d, redirect %v, awaiting false\n", 500, (*pb.Redirect)(nil)) + want[strings.Index(want, "\n")+1:]
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
			got := contents(s)
			s.Close()
			if got != want && got != wantPrev {
				t.Fatalf("a damaged file opened with other contents:\n%s\nwant:\n%s", got, want)
			}
		case errors.Is(err, ErrStateDamaged):
			refused++
		default:
			t.Fatalf("neither opened nor refused as damaged: %v", err)
		}
	}
	t.Logf("%d opened (the flips hit free pages, unused space or the newer meta page), %d refused", opened, refused)
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

// TestFormat1FileIsSealed: a file written by an agent before records were
// sealed opens with the same contents, and is sealed (format 2) from then
// on, so that damage to it is found at the next start.
func TestFormat1FileIsSealed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	writeStateFixture(t, path, 50)
	// Make it what format 1 wrote: records without seals, no meta sum.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, svcs := tx.Bucket(metaBucket), tx.Bucket(servicesBucket)
		type kv struct{ k, v []byte }
		var old []kv
		if err := svcs.ForEach(func(k, v []byte) error {
			body, err := unsealRecord(v)
			old = append(old, kv{bytes.Clone(k), bytes.Clone(body)})
			return err
		}); err != nil {
			return err
		}
		for _, e := range old {
			if err := svcs.Put(e.k, e.v); err != nil {
				return err
			}
		}
		if err := meta.Delete(keyMetaSum); err != nil {
			return err
		}
		return meta.Put(keyFormat, putInt(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := OpenStore(path, "pop-d")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Get("100007")
	if err != nil || r.Desired.GetDesiredState() != suspended || s.Len() != 50 || s.Revision() != 50 || s.redirectSettings().GetKeyId() != "k1" {
		t.Fatalf("format 1 file: %v %v; %d services, revision %d", r, err, s.Len(), s.Revision())
	}
	s.Close()
	db, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if f := getInt(tx.Bucket(metaBucket).Get(keyFormat)); f != storeFormat {
			t.Errorf("format %d after opening, want %d", f, storeFormat)
		}
		if err := checkMetaSum(tx.Bucket(metaBucket)); err != nil {
			t.Error(err)
		}
		return tx.Bucket(servicesBucket).ForEach(func(k, v []byte) error {
			if _, err := unsealRecord(v); err != nil {
				t.Errorf("service %s: %v", k, err)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
