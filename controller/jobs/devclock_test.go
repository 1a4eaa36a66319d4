package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestDevClockSurvivesRestartAndMayStartInThePast starts a dev clock in the
// past (dev.clock_start a year and more ago), advances it 30 days, then
// "restarts" (a fresh clock, same database, same config): the restarted
// clock continues from the stored one (30 days after the start, not the
// start again), and a different clock_start does not move it either.
func TestDevClockSurvivesRestartAndMayStartInThePast(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	near := func(got, want time.Time) bool { d := got.Sub(want); return d > -time.Minute && d < time.Minute }

	first := &clock.Offset{}
	restored, err := RestoreDevClock(ctx, db, first, start)
	if err != nil || restored {
		t.Fatalf("first start: restored %v, %v", restored, err)
	}
	if !near(first.Now(), start) {
		t.Fatalf("clock starts at %s, want dev.clock_start %s (in the past)", first.Now(), start)
	}
	r := newRunner(t, Config{DisableSchedule: true}, db, first, quiet)
	dev := NewDevClock(r, first)
	dev.Step = 24 * time.Hour
	if _, _, err := dev.Advance(ctx, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}

	for _, cfgStart := range []time.Time{start, start.AddDate(2, 0, 0), {}} {
		again := &clock.Offset{}
		restored, err := RestoreDevClock(ctx, db, again, cfgStart)
		if err != nil || !restored {
			t.Fatalf("restart with clock_start %s: restored %v, %v", cfgStart, restored, err)
		}
		if want := start.AddDate(0, 0, 30); !near(again.Now(), want) {
			t.Fatalf("after a restart (clock_start %s) the clock is at %s, want where it was, %s", cfgStart, again.Now(), want)
		}
	}
}

// TestDevClockWaitsForAutopayAndLateFeeJobs: before the dev clock moves on
// it waits, asking River's client, while an autopay or late-fee job is
// still to run; other jobs, and those that are done, do not hold it up.
// The runner is not started, so a job inserted stays available.
func TestDevClockWaitsForAutopayAndLateFeeJobs(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	clk := &clock.Offset{}
	r := newRunner(t, Config{DisableSchedule: true}, db, clk, quiet)
	dev := NewDevClock(r, clk)
	dev.Wait = 200 * time.Millisecond
	if err := dev.waitJobs(ctx); err != nil {
		t.Fatalf("no jobs at all: %v", err)
	}
	date := billing.NewDate(2026, 12, 1)
	for _, args := range []river.JobArgs{LateFeesArgs{AccountTypeID: 1, Date: date}, AutopayArgs{AccountTypeID: 1, Date: date}} {
		res, err := r.river.Insert(ctx, args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := dev.waitJobs(ctx); err == nil {
			t.Fatalf("the dev clock did not wait for a waiting %s job", args.Kind())
		}
		if _, err := r.river.JobCancel(ctx, res.Job.ID); err != nil {
			t.Fatal(err)
		}
		if err := dev.waitJobs(ctx); err != nil {
			t.Fatalf("the dev clock waits for a cancelled %s job: %v", args.Kind(), err)
		}
	}
	if _, err := r.river.Insert(ctx, PurgeArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := dev.waitJobs(ctx); err != nil {
		t.Fatalf("the dev clock waits for a housekeeping job: %v", err)
	}
}

// recordingApplier counts the times the dev clock asks for due lifecycle
// enforcement, and when.
type recordingApplier struct{ at []time.Time }

func (a *recordingApplier) ApplyDueEnforcement(_ context.Context, now time.Time) (int, error) {
	a.at = append(a.at, now)
	return 0, nil
}

// TestDevClockAppliesDatedLifecycleChanges: each step of the dev clock
// applies the lifecycle changes due by then (a dated cancel or pause), as
// the minute job does on a real clock, so `dev advance` shows them.
func TestDevClockAppliesDatedLifecycleChanges(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	clk := &clock.Offset{}
	stores := storesOf(db)
	applier := &recordingApplier{}
	stores.Lifecycle = applier
	r, err := New(Config{DisableSchedule: true}, db.Pool, stores, clk, quiet)
	if err != nil {
		t.Fatal(err)
	}
	dev := NewDevClock(r, clk)
	dev.Step = 24 * time.Hour
	start := clk.Now()
	if _, _, err := dev.Advance(ctx, 3*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(applier.at) != 3 {
		t.Fatalf("due lifecycle enforcement applied %d times in a 3-day advance, want once a day: %v", len(applier.at), applier.at)
	}
	for i, at := range applier.at {
		if want := start.Add(time.Duration(i+1) * 24 * time.Hour); at.Sub(want).Abs() > time.Minute {
			t.Errorf("step %d applied what was due by %s, want %s", i+1, at, want)
		}
	}
}
