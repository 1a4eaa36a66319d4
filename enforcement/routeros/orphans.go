package routeros

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// RemoveOrphans is [Driver.ReconcileOrphans] without the report (which
// the driver logs): the agent's OrphanRemover.
func (d *Driver) RemoveOrphans(ctx context.Context, known func(serviceID string) bool) error {
	_, err := d.ReconcileOrphans(ctx, known)
	return err
}

// ReconcileOrphans removes from every configured router what the driver put
// there for services that no longer exist: its own simple queues and its
// own entries of the suspended and throttle address lists whose service
// is not one known reports (a service removed while the agent was away, a
// queue left by a crash between the router's change and the agent's
// record). Everything of a known service is left as it is (its state and
// speed are the per-service reconcile's work), and so is everything whose
// comment lacks the driver's prefix, or that names no service. One print
// per list and address family and one of the queues per router; the
// removals are pipelined. The routers are swept concurrently; a router
// whose connection fails starts over on a new one until ctx ends.
//
// Pass known as of the call, and make no Suspend, Restore or Throttle of
// a service that known does not report meanwhile: its queue or entries
// would be taken for orphans. (The agent holds its apply lock.)
//
// The error is Report.Err().
func (d *Driver) ReconcileOrphans(ctx context.Context, known func(serviceID string) bool) (Report, error) {
	var rep Report
	rep.Routers = make([]RouterReport, len(d.names))
	var wg sync.WaitGroup
	for i, name := range d.names {
		wg.Go(func() {
			r := d.routers[name]
			rr := RouterReport{Router: name}
			r.changing(nil, "")
			start := time.Now()
			rr.Err = r.do(ctx, func(ctx context.Context, s *session) error {
				rr.Attempts++
				rr.Listed, rr.Kept, rr.Foreign, rr.Failed, rr.Problems = 0, 0, 0, 0, nil
				problem := func(format string, args ...any) {
					if len(rr.Problems) < maxProblems {
						rr.Problems = append(rr.Problems, fmt.Sprintf(format, args...))
					}
				}
				var removes []action
				// orphan says whether a comment marks the driver's own
				// item of an unknown service.
				orphan := func(comment, fallback string) bool {
					svc, owned := owner(comment, r.cfg.CommentPrefix)
					if !owned {
						rr.Foreign++
						return false
					}
					if svc == "" {
						svc = fallback
					}
					if svc == "" || known(svc) {
						rr.Kept++
						return false
					}
					return true
				}
				queues, err := r.readQueues(ctx, s)
				if err != nil {
					return err
				}
				for _, q := range queues {
					rr.Listed++
					id, _ := strings.CutPrefix(q.name, r.cfg.QueuePrefix)
					if id == q.name {
						id = ""
					}
					if orphan(q.comment, id) {
						removes = append(removes, action{actRemove, q.name, []string{queueMenu + "/remove", "=.id=" + q.id}})
					}
				}
				for _, list := range []string{r.cfg.AddressList, r.cfg.ThrottleList} {
					lists, _, err := r.readLists(ctx, s, list)
					if err != nil {
						return err
					}
					for i, fam := range []*family{familyV4, familyV6} {
						for _, e := range lists[i] {
							rr.Listed++
							if orphan(e.comment, "") {
								removes = append(removes, action{actRemove, list + " " + e.key, []string{fam.menu + "/remove", "=.id=" + e.id}})
							}
						}
					}
				}
				if len(removes) == 0 {
					return nil
				}
				return r.apply(ctx, s, removes, &rr, problem)
			})
			rr.Duration = time.Since(start)
			switch {
			case rr.Err != nil:
				r.log.Warn("removing orphans did not finish", "err", rr.Err, "attempts", rr.Attempts)
			case rr.Removed > 0 || rr.Failed > 0:
				r.log.Info("orphans removed", "removed", rr.Removed, "failed", rr.Failed, "kept", rr.Kept, "foreign", rr.Foreign,
					"took", rr.Duration.Round(time.Millisecond).String())
			}
			rep.Routers[i] = rr
		})
	}
	wg.Wait()
	return rep, rep.Err()
}
