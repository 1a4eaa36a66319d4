package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// The store is the agent's memory. It is a bbolt file with two buckets:
//
//	meta      format, pop, revision, last_contact, redirect,
//	          awaiting_snapshot, sum (a CRC-32C of the others: see metaSum)
//	services  service id -> record (see encodeRecord; sealed by sealRecord)
//
// The file is checked whole before it is used (see [OpenStore] and
// verifyBolt): a damaged file stops the agent rather than start it empty.
//
// The agent keeps no per-service copy of it in memory: a message's services
// are looked up in the file (memory-mapped, so a lookup costs about a
// microsecond), and only counters and the set of failed services live on the
// heap. That keeps an agent holding 100,000 services small. (The redirect
// responder, once asked, adds an index of the services' addresses: see
// [Responder].)
//
// The meta bucket's redirect entry holds the POP's token-signing key, so
// the file is created readable by its owner only.
//
// Every message from the controller is stored in one transaction (bbolt
// fsyncs each commit): the services' new desired state and results, and with
// them the revision. A message that changes more than chunkSize services is
// stored in several transactions of chunkSize services each, and the revision
// only with the last, so a crash never records a revision whose changes were
// not all stored, and re-applies at most one chunk's worth of work.
var (
	metaBucket     = []byte("meta")
	servicesBucket = []byte("services")

	keyFormat      = []byte("format")
	keyPOP         = []byte("pop")
	keyRevision    = []byte("revision")
	keyLastContact = []byte("last_contact")
	keyRedirect    = []byte("redirect") // tollgate.v1.Redirect; absent: none received
	// keyAwaitingSnapshot is present from a file's creation until the
	// controller's first snapshot is stored (see [Store.AwaitingSnapshot]).
	keyAwaitingSnapshot = []byte("awaiting_snapshot")
)

// storeFormat is the version of the file's layout. Format 2 seals every
// record and the meta entries with a CRC-32C (see sealRecord, metaSum);
// a format 1 file is sealed when it is opened.
const storeFormat = 2

// ErrOtherPOP is returned by [OpenStore] for a state file that belongs to
// another POP.
var ErrOtherPOP = errors.New("the state file belongs to another POP")

// Record is what the store holds for one service.
type Record struct {
	// Desired is the desired state and binding last received from the
	// controller. Desired.Removed marks a service the controller removed
	// whose restore has not succeeded yet.
	Desired *pb.Service
	// Applied is the state last applied successfully (UNSPECIFIED: never),
	// with AppliedBinding, for the desired state at AppliedRevision.
	Applied         pb.DesiredState
	AppliedBinding  *pb.Binding
	AppliedRevision int64
	// Error is the driver error of the last attempt; empty when it
	// succeeded.
	Error string
	// Observed is the state read back from the device at ObservedAt.
	Observed   pb.DesiredState
	ObservedAt time.Time
	// AppliedProfile is the profile (name and speed) last applied through
	// a [enforcement.Shaper] with Applied; nil when none was (the driver
	// is not a Shaper, the service is suspended or has no profile, or the
	// record predates profiles).
	AppliedProfile *pb.ServiceProfile
	// ObservedProfile is the name of the profile read back at ObservedAt
	// ("" when the device holds no speed set by Tollgate).
	ObservedProfile string
}

// Outcome is the result of the last attempt to apply the service.
func (r *Record) Outcome() pb.Outcome {
	switch {
	case r.Error != "":
		return pb.Outcome_OUTCOME_FAILED
	case r.Applied != pb.DesiredState_DESIRED_STATE_UNSPECIFIED:
		return pb.Outcome_OUTCOME_APPLIED
	}
	return pb.Outcome_OUTCOME_UNSPECIFIED
}

// class is what the store counts services by: their desired state, or
// classRemoving for a removed service not yet released.
type class uint8

const (
	classNone      class = 0
	classActive    class = class(pb.DesiredState_DESIRED_STATE_ACTIVE)
	classSuspended class = class(pb.DesiredState_DESIRED_STATE_SUSPENDED)
	classRemoving  class = 3
	// classThrottled is not DESIRED_STATE_THROTTLED (3, taken by
	// classRemoving before throttling existed).
	classThrottled class = 4
)

// numClasses is the number of classes.
const numClasses = 5

var classNames = [numClasses]string{"unspecified", "active", "suspended", "removing", "throttled"}

func classOf(s *pb.Service) class {
	if s.GetRemoved() {
		return classRemoving
	}
	switch s.GetDesiredState() {
	case pb.DesiredState_DESIRED_STATE_ACTIVE:
		return classActive
	case pb.DesiredState_DESIRED_STATE_SUSPENDED:
		return classSuspended
	case pb.DesiredState_DESIRED_STATE_THROTTLED:
		return classThrottled
	}
	return classNone
}

// Store is the agent's durable state. Open it with [OpenStore]; it is safe
// for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	pop  string

	mu          sync.Mutex
	revision    int64
	counts      [numClasses]int
	failed      map[string]struct{}
	lastContact time.Time // as stored; zero if never

	// awaitingSnapshot is set while the file has not yet held a snapshot
	// from the controller (new or reset).
	awaitingSnapshot atomic.Bool

	// gen counts the commits that changed a service, so that in-memory
	// indexes of the services (the redirect responder's) know when to
	// rebuild. It is raised after the change is committed.
	gen atomic.Uint64
	// redirect is the controller's redirect settings as stored (nil: none).
	// They hold the POP's token-signing key: never log them.
	redirect atomic.Pointer[pb.Redirect]
}

// OpenStore opens (creating it if needed) the state file at path for pop.
// A file that belongs to another POP is refused with an error wrapping
// [ErrOtherPOP]. A file in use by another process is refused after a second.
// An existing file that cannot be trusted (empty, not a bbolt file, cut
// short, failing bbolt's consistency check, holding records that do not
// decode, or making bbolt panic) is refused with a [*DamagedError]
// (wrapping [ErrStateDamaged]) that names the file and the recovery; it is
// checked with plain reads before bbolt maps it, so no damage can crash the
// process. Whether a missing file may be created is the caller's decision
// (tollgate-agent's --init-state).
func OpenStore(path, pop string) (*Store, error) {
	if path == "" {
		return nil, errors.New("state file: no path")
	}
	if pop == "" {
		return nil, errors.New("state file: no POP")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if err := verifyExisting(path); err != nil {
		return nil, err
	}
	s := &Store{path: path, pop: pop, failed: make(map[string]struct{})}
	if err := s.open(); err != nil {
		if s.db != nil {
			s.db.Close()
		}
		return nil, err
	}
	return s, nil
}

// verifyExisting checks the file at path, if there is one, with
// [verifyBolt] under a shared lock, so that a file another agent is
// writing is reported as locked, not as damaged.
func verifyExisting(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer f.Close()
	for deadline := time.Now().Add(time.Second); ; {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return fmt.Errorf("state file %s is locked by another process (is another tollgate-agent running with it?)", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return verifyBolt(f, path)
}

// open opens the file with bbolt, runs bbolt's consistency check and loads
// the counters. A panic inside bbolt (or a fault reading its mapping) is
// recovered and reported as damage.
func (s *Store) open() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = damaged(s.path, "bbolt failed reading it: %v", p)
		}
	}()
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: time.Second})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("state file %s is locked by another process (is another tollgate-agent running with it?)", s.path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return damaged(s.path, "%v", err)
	case err != nil:
		return fmt.Errorf("state file %s: %w", s.path, err)
	}
	s.db = db
	var problems []string
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			if len(problems) < 5 {
				problems = append(problems, err.Error())
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state file %s: %w", s.path, err)
	}
	if len(problems) > 0 {
		return damaged(s.path, "bbolt's consistency check failed: %s", strings.Join(problems, "; "))
	}
	return s.load()
}

func (s *Store) load() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		svcs, err := tx.CreateBucketIfNotExists(servicesBucket)
		if err != nil {
			return err
		}
		format := getInt(meta.Get(keyFormat))
		switch {
		case meta.Get(keyFormat) == nil:
			if k, _ := svcs.Cursor().First(); k != nil || meta.Get(keyRevision) != nil {
				return damaged(s.path, "it holds services but no format entry")
			}
			// A new file: it knows nothing until the controller's snapshot.
			if err := meta.Put(keyFormat, putInt(storeFormat)); err != nil {
				return err
			}
			if err := meta.Put(keyAwaitingSnapshot, []byte{1}); err != nil {
				return err
			}
		case format == 1:
			if err := sealFormat1(meta, svcs); err != nil {
				return damaged(s.path, "%v", err)
			}
		case format == storeFormat:
			if err := checkMetaSum(meta); err != nil {
				return damaged(s.path, "%v", err)
			}
		default:
			return fmt.Errorf("state file %s has format %d; this agent reads formats 1 and %d (was it written by a newer agent?)", s.path, format, storeFormat)
		}
		s.awaitingSnapshot.Store(meta.Get(keyAwaitingSnapshot) != nil)
		switch stored := string(meta.Get(keyPOP)); stored {
		case s.pop:
		case "":
			if err := meta.Put(keyPOP, []byte(s.pop)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: %s holds the state of POP %q, not %q; give each POP's agent its own state_file "+
				"(or move this file away to start afresh: the agent then enforces nothing until it gets a snapshot from the controller)",
				ErrOtherPOP, s.path, stored, s.pop)
		}
		s.revision = getInt(meta.Get(keyRevision))
		if v := meta.Get(keyLastContact); v != nil {
			s.lastContact = time.Unix(0, getInt(v))
		}
		if v := meta.Get(keyRedirect); v != nil {
			r := &pb.Redirect{}
			if err := proto.Unmarshal(v, r); err != nil {
				return damaged(s.path, "its redirect settings do not decode: %v", err)
			}
			s.redirect.Store(r)
		}
		err = svcs.ForEach(func(k, v []byte) error {
			// Every record is decoded whole, and its class checked against
			// its desired state, so that damage inside a record stops the
			// agent here rather than misleading it later.
			r, err := decodeRecord(v)
			if err != nil {
				return damaged(s.path, "service %q does not decode: %v", k, err)
			}
			c := classOf(r.Desired)
			if stored, _, _ := scanRecord(v); stored != c || r.Desired.GetServiceId() != string(k) {
				return damaged(s.path, "service %q's record contradicts itself", k)
			}
			s.counts[c]++
			if r.Error != "" {
				s.failed[string(k)] = struct{}{}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return putMetaSum(meta)
	})
}

// AwaitingSnapshot reports whether the file has not yet held a snapshot
// from the controller: it was created (--init-state) or reset
// (--reset-state) and the controller's first snapshot has not been stored
// whole. Until then the agent knows nothing of the POP's services, and the
// redirect responder redirects no one.
func (s *Store) AwaitingSnapshot() bool { return s.awaitingSnapshot.Load() }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// POP is the POP the file belongs to.
func (s *Store) POP() string { return s.pop }

// Revision is the controller's revision the agent has applied: every change
// up to it has been applied (or failed and is retried) and stored.
func (s *Store) Revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revision
}

// Len is the number of services held.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// Counts returns the number of services held by desired state: "active",
// "suspended", "throttled", and "removing" (removed by the controller,
// release pending).
func (s *Store) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, numClasses)
	for c := classActive; c < numClasses; c++ {
		out[classNames[c]] = s.counts[c]
	}
	return out
}

// Failed returns the ids of the services whose last apply failed, sorted.
func (s *Store) Failed() []string {
	s.mu.Lock()
	out := make([]string, 0, len(s.failed))
	for id := range s.failed {
		out = append(out, id)
	}
	s.mu.Unlock()
	sort.Strings(out)
	return out
}

// FailedCount is the number of services whose last apply failed.
func (s *Store) FailedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.failed)
}

// LastContact is when the agent last heard from the controller, as stored
// (zero if never).
func (s *Store) LastContact() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastContact
}

// Get returns the record of one service, or nil.
func (s *Store) Get(id string) (*Record, error) {
	m, err := s.lookup([]string{id})
	return m[id], err
}

// ForEach calls fn for every record, in key order, in one read transaction.
func (s *Store) ForEach(fn func(id string, r *Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(servicesBucket).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("service %q: %w", k, err)
			}
			return fn(string(k), r)
		})
	})
}

// scanAddresses calls fn for every stored service, in key order and in one
// read transaction, with its id, what it is counted as, and its binding's
// addresses, decoding nothing else (so that indexing 100,000 services is
// cheap). The byte slices are valid only during the call.
func (s *Store) scanAddresses(fn func(id []byte, c class, addrs [][]byte) error) error {
	var addrs [][]byte
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(servicesBucket).ForEach(func(k, v []byte) error {
			var c class
			var desired []byte
			err := walkRecord(v, func(n protowire.Number, v uint64, raw []byte) error {
				switch n {
				case fClass:
					if v < numClasses {
						c = class(v)
					}
				case fDesired:
					desired = raw
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("service %q: %w", k, err)
			}
			addrs = addrs[:0]
			err = walkRecord(desired, func(n protowire.Number, _ uint64, raw []byte) error {
				if n != fServiceBinding {
					return nil
				}
				return walkRecord(raw, func(n protowire.Number, _ uint64, raw []byte) error {
					if n == fBindingAddresses {
						addrs = append(addrs, raw)
					}
					return nil
				})
			})
			if err != nil {
				return fmt.Errorf("service %q: %w", k, err)
			}
			return fn(k, c, addrs)
		})
	})
}

// Field numbers of tollgate.v1.Service.binding and Binding.addresses, for
// scanAddresses.
const (
	fServiceBinding   protowire.Number = 5
	fBindingAddresses protowire.Number = 2
)

// lookup reads the records of ids in one read transaction; ids not stored
// are absent from the map.
func (s *Store) lookup(ids []string) (map[string]*Record, error) {
	out := make(map[string]*Record, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(servicesBucket)
		for _, id := range ids {
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("state file: service %q: %w", id, err)
			}
			out[id] = r
		}
		return nil
	})
	return out, err
}

// absent returns the records of the services not in keep.
func (s *Store) absent(keep map[string]struct{}) ([]*Record, error) {
	var out []*Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(servicesBucket).ForEach(func(k, v []byte) error {
			if _, ok := keep[string(k)]; ok {
				return nil
			}
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("state file: service %q: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// revisionMode says what a commit does with the store's revision.
type revisionMode uint8

const (
	keepRevision    revisionMode = iota // leave it (retries, a message's first chunks)
	advanceRevision                     // raise it to the given one (deltas)
	setRevision                         // set it to the given one (snapshots: the controller's word)
)

// batch is the writes of one transaction.
type batch struct {
	puts    []*Record
	deletes []string
}

func (b *batch) empty() bool { return len(b.puts) == 0 && len(b.deletes) == 0 }

// commit stores b and, per mode, rev in one fsync'd transaction. contact,
// when not zero, is stored as the last time the controller was heard from,
// unless the commit has nothing else to write and the stored contact is less
// than contactInterval old. A commit that would change nothing writes
// nothing.
func (s *Store) commit(b *batch, mode revisionMode, rev int64, contact time.Time) error {
	s.mu.Lock()
	cur := s.revision
	s.mu.Unlock()
	newRev := cur
	switch mode {
	case advanceRevision:
		newRev = max(cur, rev)
	case setRevision:
		newRev = rev
	}
	if !contact.IsZero() && b.empty() && newRev == cur && contact.Sub(s.LastContact()) < contactInterval {
		contact = time.Time{} // nothing else to write, and the stored contact is recent
	}
	snapshotArrived := mode == setRevision && s.awaitingSnapshot.Load()
	if b.empty() && newRev == cur && contact.IsZero() && !snapshotArrived {
		return nil
	}
	var counts [numClasses]int
	failed := make(map[string]bool)
	err := s.db.Update(func(tx *bolt.Tx) error {
		svcs, meta := tx.Bucket(servicesBucket), tx.Bucket(metaBucket)
		forget := func(k []byte) error {
			if old := svcs.Get(k); old != nil {
				c, _, err := scanRecord(old)
				if err != nil {
					return err
				}
				counts[c]--
			}
			return nil
		}
		for _, r := range b.puts {
			k := []byte(r.Desired.GetServiceId())
			if err := forget(k); err != nil {
				return err
			}
			if err := svcs.Put(k, encodeRecord(r)); err != nil {
				return err
			}
			counts[classOf(r.Desired)]++
			failed[string(k)] = r.Error != ""
		}
		for _, id := range b.deletes {
			k := []byte(id)
			if err := forget(k); err != nil {
				return err
			}
			if err := svcs.Delete(k); err != nil {
				return err
			}
			failed[id] = false
		}
		if newRev != cur {
			if err := meta.Put(keyRevision, putInt(newRev)); err != nil {
				return err
			}
		}
		if snapshotArrived {
			if err := meta.Delete(keyAwaitingSnapshot); err != nil {
				return err
			}
		}
		if !contact.IsZero() {
			if err := meta.Put(keyLastContact, putInt(contact.UnixNano())); err != nil {
				return err
			}
		}
		return putMetaSum(meta)
	})
	if err != nil {
		return fmt.Errorf("state file %s: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mode != keepRevision {
		s.revision = newRev
	}
	for c, n := range counts {
		s.counts[c] += n
	}
	for id, f := range failed {
		if f {
			s.failed[id] = struct{}{}
		} else {
			delete(s.failed, id)
		}
	}
	if !contact.IsZero() {
		s.lastContact = contact
	}
	if !b.empty() {
		s.gen.Add(1)
	}
	if snapshotArrived {
		s.awaitingSnapshot.Store(false)
	}
	return nil
}

// generation changes (after the commit) whenever a commit changes a service.
func (s *Store) generation() uint64 { return s.gen.Load() }

// redirectSettings returns the redirect settings last stored, or nil. The
// result is shared: do not modify it.
func (s *Store) redirectSettings() *pb.Redirect { return s.redirect.Load() }

// setRedirect stores r as the redirect settings (nil removes them) in one
// fsync'd transaction, unless they are stored already. They are in use
// (redirectSettings) even when the write fails, until the agent stops. It
// must not be called concurrently with itself.
func (s *Store) setRedirect(r *pb.Redirect) error {
	if proto.Equal(s.redirect.Load(), r) {
		return nil
	}
	s.redirect.Store(r)
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if r == nil {
			if err := meta.Delete(keyRedirect); err != nil {
				return err
			}
			return putMetaSum(meta)
		}
		v, err := marshal.Marshal(r)
		if err != nil {
			return err
		}
		if err := meta.Put(keyRedirect, v); err != nil {
			return err
		}
		return putMetaSum(meta)
	})
	if err != nil {
		return fmt.Errorf("state file %s: storing the redirect settings: %w", s.path, err)
	}
	return nil
}

// noteContact stores t as the last time the controller was heard from, at
// most once per contactInterval (heartbeats would otherwise write every few
// seconds).
func (s *Store) noteContact(t time.Time) error {
	return s.commit(&batch{}, keepRevision, 0, t)
}

// A record is encoded in the protobuf wire format, so fields can be added
// later without breaking files already written:
//
//	1 desired          bytes   (tollgate.v1.Service)
//	2 applied          varint  (DesiredState; absent: never applied)
//	3 applied_binding  bytes   (tollgate.v1.Binding; absent: same as desired's)
//	4 applied_revision varint
//	5 error            bytes
//	6 observed         varint  (DesiredState)
//	7 observed_at      varint  (Unix nanoseconds)
//	8 class            varint  (what the service is counted as; for loading fast)
//	9 applied_profile  bytes   (tollgate.v1.ServiceProfile; absent: none applied)
//	10 observed_profile bytes  (name of the profile read back)
//
// Fields 9 and 10 came with service profiles; a file written before them
// loads with no profile applied, so the first message that carries one
// applies it. applied_profile is written whenever one was applied, never
// elided as "same as desired's": a record written by an agent that
// predates profiles may hold a desired state whose profile (kept as an
// unknown field) it never applied.
const (
	fDesired protowire.Number = iota + 1
	fApplied
	fAppliedBinding
	fAppliedRevision
	fError
	fObserved
	fObservedAt
	fClass
	fAppliedProfile
	fObservedProfile
)

var marshal = proto.MarshalOptions{Deterministic: true}

func encodeRecord(r *Record) []byte {
	desired, err := marshal.Marshal(r.Desired)
	if err != nil {
		panic(fmt.Sprintf("agent: marshal service: %v", err)) // cannot happen for a valid message
	}
	b := make([]byte, 0, len(desired)+48+len(r.Error))
	b = protowire.AppendTag(b, fDesired, protowire.BytesType)
	b = protowire.AppendBytes(b, desired)
	if r.Applied != pb.DesiredState_DESIRED_STATE_UNSPECIFIED {
		b = appendVarint(b, fApplied, uint64(r.Applied))
		if !sameBinding(r.AppliedBinding, r.Desired.GetBinding()) {
			ab, err := marshal.Marshal(r.AppliedBinding)
			if err != nil {
				panic(fmt.Sprintf("agent: marshal binding: %v", err))
			}
			b = protowire.AppendTag(b, fAppliedBinding, protowire.BytesType)
			b = protowire.AppendBytes(b, ab)
		}
		b = appendVarint(b, fAppliedRevision, uint64(r.AppliedRevision))
	}
	if r.Error != "" {
		b = protowire.AppendTag(b, fError, protowire.BytesType)
		b = protowire.AppendString(b, r.Error)
	}
	if r.Observed != pb.DesiredState_DESIRED_STATE_UNSPECIFIED {
		b = appendVarint(b, fObserved, uint64(r.Observed))
	}
	if !r.ObservedAt.IsZero() {
		b = appendVarint(b, fObservedAt, uint64(r.ObservedAt.UnixNano()))
	}
	if r.AppliedProfile != nil {
		ap, err := marshal.Marshal(r.AppliedProfile)
		if err != nil {
			panic(fmt.Sprintf("agent: marshal profile: %v", err))
		}
		b = protowire.AppendTag(b, fAppliedProfile, protowire.BytesType)
		b = protowire.AppendBytes(b, ap)
	}
	if r.ObservedProfile != "" {
		b = protowire.AppendTag(b, fObservedProfile, protowire.BytesType)
		b = protowire.AppendString(b, r.ObservedProfile)
	}
	return sealRecord(appendVarint(b, fClass, uint64(classOf(r.Desired))))
}

func appendVarint(b []byte, n protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// decodeRecord decodes a sealed record (see sealRecord); a record whose
// seal is missing or wrong is an error.
func decodeRecord(b []byte) (*Record, error) {
	body, err := unsealRecord(b)
	if err != nil {
		return nil, err
	}
	return decodeRecordBody(body)
}

func decodeRecordBody(b []byte) (*Record, error) {
	r := &Record{}
	var appliedBinding []byte
	hasAppliedBinding := false
	err := walkRecord(b, func(n protowire.Number, v uint64, raw []byte) error {
		switch n {
		case fDesired:
			r.Desired = &pb.Service{}
			return proto.Unmarshal(raw, r.Desired)
		case fApplied:
			r.Applied = pb.DesiredState(v)
		case fAppliedBinding:
			appliedBinding, hasAppliedBinding = raw, true
		case fAppliedRevision:
			r.AppliedRevision = int64(v)
		case fError:
			r.Error = string(raw)
		case fObserved:
			r.Observed = pb.DesiredState(v)
		case fObservedAt:
			r.ObservedAt = time.Unix(0, int64(v))
		case fAppliedProfile:
			r.AppliedProfile = &pb.ServiceProfile{}
			return proto.Unmarshal(raw, r.AppliedProfile)
		case fObservedProfile:
			r.ObservedProfile = string(raw)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.Desired == nil {
		return nil, errors.New("record has no desired state")
	}
	if r.Applied != pb.DesiredState_DESIRED_STATE_UNSPECIFIED {
		r.AppliedBinding = r.Desired.GetBinding()
		if hasAppliedBinding {
			r.AppliedBinding = &pb.Binding{}
			if err := proto.Unmarshal(appliedBinding, r.AppliedBinding); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// scanRecord reads only what loading needs: the class and whether the last
// apply failed.
func scanRecord(b []byte) (c class, failed bool, err error) {
	err = walkRecord(b, func(n protowire.Number, v uint64, raw []byte) error {
		switch n {
		case fClass:
			if v < numClasses {
				c = class(v)
			}
		case fError:
			failed = len(raw) > 0
		}
		return nil
	})
	return c, failed, err
}

// walkRecord calls fn with each field: v for varints, raw for bytes.
func walkRecord(b []byte, fn func(n protowire.Number, v uint64, raw []byte) error) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		var v uint64
		var raw []byte
		switch typ {
		case protowire.VarintType:
			v, l = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			raw, l = protowire.ConsumeBytes(b)
		default:
			l = protowire.ConsumeFieldValue(n, typ, b)
		}
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if err := fn(n, v, raw); err != nil {
			return err
		}
	}
	return nil
}

func putInt(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func getInt(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}
