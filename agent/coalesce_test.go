package agent

import (
	"context"
	"strconv"
	"testing"
	"time"

	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

func delta(rev int64, ids ...string) *pb.WatchResponse {
	d := &pb.Delta{Revision: rev}
	for _, id := range ids {
		d.Changes = append(d.Changes, &pb.Service{ServiceId: id, Revision: rev})
	}
	return &pb.WatchResponse{Message: &pb.WatchResponse_Delta{Delta: d}}
}

// Deltas that queue up while the applier is busy come out as one, in
// order; other messages keep their place and are never merged across.
func TestCoalesceMergesQueuedDeltas(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan *pb.WatchResponse, 16)
	out := make(chan *pb.WatchResponse)
	hb := &pb.WatchResponse{Message: &pb.WatchResponse_Heartbeat{Heartbeat: &pb.Heartbeat{Revision: 3}}}
	for _, m := range []*pb.WatchResponse{delta(1, "a"), delta(2, "b"), delta(3, "a"), hb, delta(4, "c"), delta(5, "d")} {
		in <- m
	}
	go coalesce(ctx, in, out)
	time.Sleep(50 * time.Millisecond) // let it take everything in before the applier reads
	var got []string
	for range 3 {
		select {
		case m := <-out:
			switch x := m.Message.(type) {
			case *pb.WatchResponse_Delta:
				ids := ""
				for _, c := range x.Delta.Changes {
					ids += c.ServiceId
				}
				got = append(got, "delta@"+itoa(x.Delta.Revision)+":"+ids)
			case *pb.WatchResponse_Heartbeat:
				got = append(got, "heartbeat@"+itoa(x.Heartbeat.Revision))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %v came out", got)
		}
	}
	want := []string{"delta@3:aba", "heartbeat@3", "delta@5:cd"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// A delta that would pass chunkSize changes is not merged.
	big := delta(6)
	for range chunkSize {
		big.GetDelta().Changes = append(big.GetDelta().Changes, &pb.Service{ServiceId: "x"})
	}
	if mergeDelta(delta(5, "y"), big) {
		t.Fatal("merged past chunkSize")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
