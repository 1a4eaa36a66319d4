package agent

import (
	"errors"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

func svc(id string, state pb.DesiredState, rev int64, addr string) *pb.Service {
	return &pb.Service{ServiceId: id, DesiredState: state, Revision: rev, Reason: "reason " + id,
		Binding: &pb.Binding{Method: "log", Addresses: []string{addr}}}
}

const (
	active    = pb.DesiredState_DESIRED_STATE_ACTIVE
	suspended = pb.DesiredState_DESIRED_STATE_SUSPENDED
)

func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenStore(path, "pop-a")
	if err != nil {
		t.Fatal(err)
	}
	if s.Revision() != 0 || s.Len() != 0 {
		t.Fatalf("new store: revision %d, %d services", s.Revision(), s.Len())
	}
	at := time.Unix(1_800_000_000, 123456789)
	recs := []*Record{
		// Applied as desired.
		{Desired: svc("1", suspended, 7, "100.64.0.1"), Applied: suspended, AppliedBinding: svc("1", 0, 0, "100.64.0.1").Binding,
			AppliedRevision: 7, Observed: suspended, ObservedAt: at},
		// Binding changed, and applying the new one failed: the old binding
		// is kept for release.
		{Desired: svc("2", suspended, 9, "100.64.0.22"), Applied: suspended, AppliedBinding: svc("2", 0, 0, "100.64.0.2").Binding,
			AppliedRevision: 5, Error: "router said no", ObservedAt: at},
		// Never applied: the first attempt failed.
		{Desired: svc("3", active, 3, "100.64.0.3"), Error: "no route to device"},
		// Removed, restore pending.
		{Desired: &pb.Service{ServiceId: "4", Removed: true, DesiredState: active, Revision: 10,
			Binding: &pb.Binding{Method: "snmp", Device: "olt-1", IfIndex: 12}}, Error: "timeout"},
	}
	contact := time.Unix(1_800_000_100, 0)
	if err := s.commit(&batch{puts: recs}, advanceRevision, 10, contact); err != nil {
		t.Fatal(err)
	}
	// One more message: service 3 applied, a new one deleted before it was
	// ever stored is a no-op.
	r3 := *recs[2]
	r3.Error, r3.Applied, r3.AppliedBinding, r3.AppliedRevision, r3.Observed = "", active, r3.Desired.Binding, 3, active
	if err := s.commit(&batch{puts: []*Record{&r3}, deletes: []string{"99"}}, advanceRevision, 11, contact); err != nil {
		t.Fatal(err)
	}
	recs[2] = &r3
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenStore(path, "pop-a")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Revision() != 11 || s.Len() != 4 || !s.LastContact().Equal(contact) {
		t.Fatalf("reopened: revision %d, %d services, last contact %s", s.Revision(), s.Len(), s.LastContact())
	}
	if got := s.Counts(); got["active"] != 1 || got["suspended"] != 2 || got["removing"] != 1 {
		t.Fatalf("counts %v", got)
	}
	if got := s.Failed(); strings.Join(got, ",") != "2,4" {
		t.Fatalf("failed %v, want 2,4", got)
	}
	for _, want := range recs {
		got, err := s.Get(want.Desired.ServiceId)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || !proto.Equal(got.Desired, want.Desired) || got.Applied != want.Applied ||
			!proto.Equal(got.AppliedBinding, want.AppliedBinding) || got.AppliedRevision != want.AppliedRevision ||
			got.Error != want.Error || got.Observed != want.Observed || !got.ObservedAt.Equal(want.ObservedAt) {
			t.Errorf("service %s: got %+v, want %+v", want.Desired.ServiceId, got, want)
		}
	}
	if got := recs[1].Outcome(); got != pb.Outcome_OUTCOME_FAILED {
		t.Errorf("outcome %v", got)
	}

	// A snapshot sets the revision, even backwards (a controller restored
	// from a backup is the authority), and deletes what it no longer lists.
	if err := s.commit(&batch{deletes: []string{"4"}}, setRevision, 2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if s.Revision() != 2 || s.Len() != 3 || strings.Join(s.Failed(), ",") != "2" {
		t.Fatalf("after snapshot: revision %d, %d services, failed %v", s.Revision(), s.Len(), s.Failed())
	}
	if r, _ := s.Get("4"); r != nil {
		t.Fatalf("removed service still stored: %+v", r)
	}
}

func TestStoreRefusesAnotherPOPsFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenStore(path, "north-tower-1")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = OpenStore(path, "south-olt-2")
	if !errors.Is(err, ErrOtherPOP) || !strings.Contains(err.Error(), `"north-tower-1"`) || !strings.Contains(err.Error(), `"south-olt-2"`) {
		t.Fatalf("opening north-tower-1's file for south-olt-2: %v", err)
	}
	t.Log(err)
}

func TestStoreRefusesASecondUser(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenStore(path, "pop-a")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := OpenStore(path, "pop-a"); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: %v", err)
	}
}

// TestStoreOf100kServicesLoadsFastAndSmall: loading reads every record but
// keeps only counters and the failed set on the heap.
func TestStoreOf100kServicesLoadsFastAndSmall(t *testing.T) {
	// Not parallel: it measures the heap.
	if testing.Short() {
		t.Skip("writes 100,000 services")
	}
	const n = 100_000
	path := filepath.Join(t.TempDir(), "state.db")
	writeBigStore(t, path, n)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	s, err := OpenStore(path, "big-pop")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("loaded %d services in %s; heap held: %d KiB", s.Len(), took, heap/1024)
	if s.Len() != n || s.Revision() != n || s.Counts()["suspended"] != n/10 || s.FailedCount() != n/1000 {
		t.Fatalf("loaded %d services at revision %d, counts %v, %d failed", s.Len(), s.Revision(), s.Counts(), s.FailedCount())
	}
	if took > time.Second {
		t.Errorf("loading took %s, want well under a second", took)
	}
	if heap > 4<<20 {
		t.Errorf("the loaded store holds %d KiB of heap, want under 4 MiB", heap/1024)
	}
	r, err := s.Get("54321")
	if err != nil || r == nil || r.Desired.Revision != 54321 {
		t.Fatalf("Get: %+v %v", r, err)
	}
}

func writeBigStore(t *testing.T, path string, n int) {
	t.Helper()
	s, err := OpenStore(path, "big-pop")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Now()
	for i := 0; i < n; i += 10_000 {
		b := &batch{}
		for j := i; j < i+10_000; j++ {
			id := strconv.Itoa(j + 1)
			st := active
			if j%10 == 0 {
				st = suspended
			}
			d := svc(id, st, int64(j+1), "100.64."+strconv.Itoa(j/250)+"."+strconv.Itoa(j%250))
			r := &Record{Desired: d, Applied: st, AppliedBinding: d.Binding, AppliedRevision: d.Revision, Observed: st, ObservedAt: at}
			if j%1000 == 0 {
				r.Error = "device unreachable"
			}
			b.puts = append(b.puts, r)
		}
		if err := s.commit(b, advanceRevision, int64(i+10_000), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreKeepsProfiles: the profile applied and the one read back
// survive a reopen, a throttled service is counted as throttled, and a
// record written before profiles (no applied_profile field; its desired
// state may carry a profile the old agent never applied) loads with no
// profile applied, so the next message applies it.
func TestStoreKeepsProfiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenStore(path, "pop-p")
	if err != nil {
		t.Fatal(err)
	}
	plan := &pb.ServiceProfile{Name: "fiber-100.v2", DownloadRate: 100_000_000, UploadRate: 20_000_000, Priority: 3}
	slow := &pb.ServiceProfile{Name: "throttle.v1", DownloadRate: 1_000_000, UploadRate: 1_000_000}
	d1 := svc("1", active, 4, "100.64.0.1")
	d1.Profile = plan
	d2 := svc("2", pb.DesiredState_DESIRED_STATE_THROTTLED, 5, "100.64.0.2")
	d2.Profile = slow
	recs := []*Record{
		{Desired: d1, Applied: active, AppliedBinding: d1.Binding, AppliedRevision: 4, Observed: active,
			AppliedProfile: plan, ObservedProfile: "fiber-100.v2"},
		{Desired: d2, Applied: pb.DesiredState_DESIRED_STATE_THROTTLED, AppliedBinding: d2.Binding, AppliedRevision: 5,
			Observed: pb.DesiredState_DESIRED_STATE_THROTTLED, AppliedProfile: slow, ObservedProfile: "throttle.v1"},
	}
	if err := s.commit(&batch{puts: recs}, advanceRevision, 5, time.Time{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenStore(path, "pop-p")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Counts(); got["throttled"] != 1 || got["active"] != 1 || got["suspended"] != 0 {
		t.Fatalf("counts %v", got)
	}
	for _, want := range recs {
		got, err := s.Get(want.Desired.ServiceId)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got.AppliedProfile, want.AppliedProfile) || got.ObservedProfile != want.ObservedProfile || got.Applied != want.Applied {
			t.Errorf("service %s: applied profile %v observed %q, want %v %q", want.Desired.ServiceId,
				got.AppliedProfile, got.ObservedProfile, want.AppliedProfile, want.ObservedProfile)
		}
	}

	// A record as an agent before profiles wrote it: fields 1 to 8 only.
	desired, err := proto.Marshal(d1)
	if err != nil {
		t.Fatal(err)
	}
	var old []byte
	old = protowire.AppendTag(old, fDesired, protowire.BytesType)
	old = protowire.AppendBytes(old, desired)
	old = appendVarint(old, fApplied, uint64(active))
	old = appendVarint(old, fAppliedRevision, 4)
	old = appendVarint(old, fObserved, uint64(active))
	old = appendVarint(old, fClass, uint64(classActive))
	r, err := decodeRecord(sealRecord(old))
	if err != nil {
		t.Fatal(err)
	}
	if r.AppliedProfile != nil || r.ObservedProfile != "" || r.Applied != active || r.Desired.GetProfile().GetName() != "fiber-100.v2" {
		t.Fatalf("an old record decodes as %+v", r)
	}
}
