package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	req := billing.IdempotentRequest{Principal: "alice", Key: "k1", Method: "POST", Path: "/api/v1/services", RequestHash: []byte{1, 2, 3}}

	if stored, err := db.BeginIdempotent(ctx, req, t0, time.Minute); err != nil || stored != nil {
		t.Fatalf("first use: %v %v", stored, err)
	}
	if _, err := db.BeginIdempotent(ctx, req, t0.Add(time.Second), time.Minute); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("duplicate while in flight: got %v, want conflict", err)
	}
	other := req
	other.Principal = "bob"
	if stored, err := db.BeginIdempotent(ctx, other, t0, time.Minute); err != nil || stored != nil {
		t.Fatalf("keys are per caller: %v %v", stored, err)
	}
	if err := db.CompleteIdempotent(ctx, "alice", "k1", billing.StoredResponse{StatusCode: 200, ContentType: "application/json", Body: []byte(`{"id":1}`)}); err != nil {
		t.Fatal(err)
	}
	stored, err := db.BeginIdempotent(ctx, req, t0.Add(time.Hour), time.Minute)
	if err != nil || stored == nil || stored.StatusCode != 200 || string(stored.Body) != `{"id":1}` {
		t.Fatalf("replay: %+v %v", stored, err)
	}
	changed := req
	changed.RequestHash = []byte{9}
	if _, err := db.BeginIdempotent(ctx, changed, t0, time.Minute); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("same key, other body: got %v, want invalid", err)
	}

	// A claim whose holder died is taken over after the lock timeout.
	dead := billing.IdempotentRequest{Principal: "alice", Key: "k2", Method: "POST", Path: "/x", RequestHash: []byte{1}}
	if _, err := db.BeginIdempotent(ctx, dead, t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if stored, err := db.BeginIdempotent(ctx, dead, t0.Add(2*time.Minute), time.Minute); err != nil || stored != nil {
		t.Fatalf("take-over after the lock timeout: %v %v", stored, err)
	}
	// Released keys run again.
	if err := db.ReleaseIdempotent(ctx, "alice", "k2"); err != nil {
		t.Fatal(err)
	}
	if stored, err := db.BeginIdempotent(ctx, dead, t0.Add(2*time.Minute), time.Minute); err != nil || stored != nil {
		t.Fatalf("after release: %v %v", stored, err)
	}
	// Retention: keys older than the cutoff go, newer ones stay.
	if n, err := db.PurgeIdempotencyKeys(ctx, t0.Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("purge: %d %v (want the 2 keys created at t0; k2 was claimed again later)", n, err)
	}
}
