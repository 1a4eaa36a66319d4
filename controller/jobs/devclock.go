package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// DevClock drives a settable clock forward for development and demos: it
// moves time in steps of at most an hour and, after each step, opens the
// billing runs that fell due and waits until they have finished, so a month
// of billing happens in order, in seconds.
type DevClock struct {
	r     *Runner
	clock *clock.Offset
	// Step is the largest single move. Default 1h.
	Step time.Duration
	// Wait bounds how long one step's runs may take. Default 10m.
	Wait time.Duration
}

// NewDevClock returns a dev clock over clk; the runner must use clk too.
func NewDevClock(r *Runner, clk *clock.Offset) *DevClock {
	return &DevClock{r: r, clock: clk, Step: time.Hour, Wait: 10 * time.Minute}
}

// RestoreDevClock sets clk to the dev clock stored in db, so a restart
// continues where the clock was (it kept running at real speed meanwhile).
// Only with no clock stored does it start clk at start (unless zero; it may
// be in the past) and store it. restored reports that the stored clock was
// used (start, if any, was then ignored). Errors: db's.
func RestoreDevClock(ctx context.Context, db DevClockStore, clk *clock.Offset, start time.Time) (restored bool, err error) {
	offset, ok, err := db.DevClockOffset(ctx)
	if err != nil {
		return false, fmt.Errorf("dev clock: %w", err)
	}
	if ok {
		clk.SetOffset(offset)
		return true, nil
	}
	if !start.IsZero() {
		clk.SetOffset(clk.Offset() + start.Sub(clk.Now()))
	}
	if err := db.SaveDevClockOffset(ctx, clk.Offset(), clk.Now()); err != nil {
		return false, fmt.Errorf("dev clock: %w", err)
	}
	return false, nil
}

// Advance implements the API's DevClock.
func (c *DevClock) Advance(ctx context.Context, d time.Duration) (time.Time, []billing.BillingRun, error) {
	target := c.clock.Now().Add(d)
	var opened []billing.BillingRun
	for {
		remaining := target.Sub(c.clock.Now())
		if remaining <= 0 {
			break
		}
		now := c.clock.Advance(min(remaining, c.Step))
		// Stored before the step's runs, so a restart never goes back to
		// a date whose runs have begun.
		if err := c.r.store.DevClock.SaveDevClockOffset(ctx, c.clock.Offset(), now); err != nil {
			return now, opened, fmt.Errorf("dev clock: %w", err)
		}
		// Dated lifecycle changes (a cancel, a pause, a resume) take effect
		// at local midnight before the day's billing, as the minute job
		// would apply them on a real clock.
		if _, err := c.r.store.Lifecycle.ApplyDueEnforcement(ctx, now); err != nil {
			return now, opened, fmt.Errorf("dev clock: %w", err)
		}
		runs, err := c.r.tick(ctx, now, billing.TriggerClock)
		if err != nil {
			return now, opened, err
		}
		for _, run := range runs {
			done, err := c.waitRun(ctx, run.ID)
			if err != nil {
				return now, opened, err
			}
			opened = append(opened, done)
		}
		if len(runs) > 0 {
			// The day's autopay and late-fee jobs happen before time moves on.
			if err := c.waitJobs(ctx); err != nil {
				return now, opened, err
			}
		}
		if err := c.r.DeliverNotices(ctx); err != nil {
			return now, opened, err
		}
	}
	c.r.log.Info("dev clock advanced", "by", d, "now", c.clock.Now(), "runs", len(opened))
	return c.clock.Now(), opened, nil
}

func (c *DevClock) waitRun(ctx context.Context, id int64) (billing.BillingRun, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Wait)
	defer cancel()
	for {
		run, err := c.r.store.Runs.BillingRun(ctx, id)
		if err != nil {
			return run, err
		}
		if run.Status != billing.RunRunning {
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, fmt.Errorf("billing run %d did not finish within %s", id, c.Wait)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitJobs waits until no autopay or late-fee job is waiting or running
// (asking River's client). Errors: River's, or the wait's timeout.
func (c *DevClock) waitJobs(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.Wait)
	defer cancel()
	busy := river.NewJobListParams().Kinds(AutopayArgs{}.Kind(), LateFeesArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStatePending).First(1)
	for {
		res, err := c.r.river.JobList(ctx, busy)
		if err != nil {
			return fmt.Errorf("dev clock: listing autopay and late-fee jobs: %w", err)
		}
		if len(res.Jobs) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("autopay and late-fee jobs did not finish within %s", c.Wait)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
