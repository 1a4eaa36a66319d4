package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tollgate-isp/tollgate/internal/clock"
)

// fakeApplier records the times it is asked to apply dated enforcement at.
type fakeApplier struct {
	at  []time.Time
	err error
}

func (f *fakeApplier) ApplyDueEnforcement(_ context.Context, now time.Time) (int, error) {
	f.at = append(f.at, now)
	return 1, f.err
}

// TestLifecycleEnforcementWorkerAppliesAtTheClocksTime: the periodic job
// applies the changes due at the injected clock's time, and a store error
// fails the job (River retries it).
func TestLifecycleEnforcementWorkerAppliesAtTheClocksTime(t *testing.T) {
	now := time.Date(2027, 3, 20, 5, 30, 0, 0, time.UTC)
	store := &fakeApplier{}
	w := &lifecycleEnforcementWorker{r: &Runner{clock: clock.NewFixed(now), log: slog.New(slog.NewTextHandler(io.Discard, nil))}, store: store}
	if err := w.Work(context.Background(), &river.Job[LifecycleEnforcementArgs]{}); err != nil {
		t.Fatal(err)
	}
	if len(store.at) != 1 || !store.at[0].Equal(now) {
		t.Fatalf("applied at %v, want once at %v", store.at, now)
	}
	store.err = errors.New("database gone")
	if err := w.Work(context.Background(), &river.Job[LifecycleEnforcementArgs]{}); err == nil {
		t.Fatal("a store error did not fail the job")
	}
}
