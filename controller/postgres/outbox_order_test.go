package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/push"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/logdriver"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// TestOutboxRevisionsGapFreeUnderConcurrentWriters runs, at once on one POP,
// every kind of desired-state change: single-service changes (the API's
// SetDesiredState), an import creating services, a sweep suspending
// delinquent accounts and payments restoring suspended ones. Meanwhile a
// reader follows the POP's feed (ChangesSince) as the push service does,
// and a real agent (push server, gRPC, log driver) applies it. It asserts:
//   - every revision the reader sees is the one after the last it saw: the
//     revisions are gap-free and become visible in order (an agent that has
//     seen N has seen everything below N), ending at the POP's revision;
//   - the revision SetDesiredState returns is the feed's change of that
//     service to that state, and one caller's successive changes have
//     increasing revisions (commit order);
//   - every service's row holds its last change's revision and state;
//   - the agent's applied revision never goes back, reaches the POP's
//     revision, and its last action on each service is that service's
//     final desired state.
func TestOutboxRevisionsGapFreeUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	typ, err := db.CreateAccountType(ctx, residential(), t0)
	if err != nil {
		t.Fatal(err)
	}
	c := &collections{t: t, db: db, typ: typ}
	const pop = "pop-order"
	noGuard := billing.SuspensionGuard{Disabled: true}

	// Suspended before the race, to be restored by payments during it: due
	// Tue Dec 1, delinquent from Tue Dec 8.
	const nPay, nSweep, nSingle, nImport, toggles = 25, 25, 8, 20, 6
	paying := make([]int64, nPay)
	for i := range paying {
		paying[i], _ = c.account(pop)
		c.owe(paying[i], billing.NewDate(2026, 12, 1), 5000)
	}
	if res := c.sweep(local(12, 9, 6), noGuard); res.Suspended != nPay {
		t.Fatalf("setup sweep suspended %d, want %d", res.Suspended, nPay)
	}
	// Delinquent, to be suspended by the sweep during the race.
	for range nSweep {
		a, _ := c.account(pop)
		c.owe(a, billing.NewDate(2026, 12, 1), 5000)
	}
	// Unbilled services changed one at a time.
	single := make([]int64, nSingle)
	for i := range single {
		s, err := db.CreateService(ctx, billing.NewService{POP: pop, Name: fmt.Sprintf("single %d", i), Binding: billing.Binding{Method: "log"}}, "test", t0)
		if err != nil {
			t.Fatal(err)
		}
		single[i] = s.ID
	}
	importFile := "external_id,name,email,account_type,currency,service_name,pop,method\n"
	for i := range nImport {
		importFile += fmt.Sprintf("imp-%d,Imported,imp@example.net,%s,USD,fiber,%s,log\n", i, typ.Name, pop)
	}

	// The push service and an agent of the POP.
	hub := push.NewHub()
	go hub.Listen(ctx, url, postgres.NotifyChannel, quiet)
	<-hub.Ready()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterEnforcementServer(srv, push.NewServer(db, hub, clock.Real{}, quiet, push.Config{HeartbeatInterval: 200 * time.Millisecond}, push.NewMetrics(nil)))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	drv := logdriver.New(quiet)
	ag, err := agent.New(agent.Config{POP: pop, AgentID: "order-agent", BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond},
		conn, map[string]enforcement.Driver{"log": drv}, quiet, clock.Real{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan struct{})
	go func() { _ = ag.Run(ctx); close(agentDone) }()
	t.Cleanup(func() { cancel(); <-agentDone })

	// The feed reader: from revision 0, every change must be the next one.
	type seen struct {
		service int64
		state   billing.DesiredState
	}
	feed := map[int64]seen{} // revision → change
	var last int64
	read := func() error {
		changes, latest, needSnapshot, err := db.ChangesSince(ctx, pop, last, 500)
		if err != nil || needSnapshot {
			return fmt.Errorf("ChangesSince(%d): needSnapshot %v, %v", last, needSnapshot, err)
		}
		for _, ch := range changes {
			if ch.Revision != last+1 {
				return fmt.Errorf("after revision %d the feed shows %d (latest %d): a gap, or a revision visible before an earlier one", last, ch.Revision, latest)
			}
			last = ch.Revision
			feed[ch.Revision] = seen{ch.ServiceID, ch.DesiredState}
		}
		return nil
	}
	writersDone := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-writersDone:
				readerErr <- nil
				return
			default:
			}
			if err := read(); err != nil {
				readerErr <- err
				return
			}
		}
	}()
	var appliedBack []string
	var appliedMu sync.Mutex
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		var prev int64
		for {
			select {
			case <-writersDone:
				return
			case <-time.After(time.Millisecond):
			}
			if r := ag.AppliedRevision(); r < prev {
				appliedMu.Lock()
				appliedBack = append(appliedBack, fmt.Sprintf("%d after %d", r, prev))
				appliedMu.Unlock()
			} else {
				prev = r
			}
		}
	}()

	// The race.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	type got struct {
		service, revision int64
		state             billing.DesiredState
	}
	results := make([][]got, nSingle)
	for i, id := range single {
		wg.Go(func() {
			for k := range toggles {
				state := billing.StateSuspended
				if k%2 == 1 {
					state = billing.StateActive
				}
				s, changed, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: id, State: state, Reason: "by hand", Actor: "staff", At: t0})
				if err != nil || !changed || s.DesiredState != state {
					errs <- fmt.Errorf("service %d to %s: changed %v, %+v, %v", id, state, changed, s, err)
					return
				}
				results[i] = append(results[i], got{id, s.Revision, state})
			}
		})
	}
	wg.Go(func() {
		out, err := db.ImportAccountsCSV(ctx, strings.NewReader(importFile), false, false, t0)
		if err != nil || out.Refused || out.Result.ServicesCreated != nImport {
			errs <- fmt.Errorf("import: %+v, %v", out, err)
		}
	})
	wg.Go(func() {
		if _, err := db.Sweep(ctx, billing.SweepRequest{AccountTypeID: typ.ID, Trigger: billing.SweepManual, Actor: "test", Guard: noGuard}, local(12, 10, 6)); err != nil {
			errs <- fmt.Errorf("sweep: %w", err)
		}
	})
	for _, a := range paying {
		wg.Go(func() {
			if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a, Method: billing.PayCash, Amount: 5000,
				ReceivedDate: billing.NewDate(2026, 12, 10)}, "test", local(12, 10, 7)); err != nil {
				errs <- fmt.Errorf("payment of account %d: %w", a, err)
			}
		})
	}
	wg.Wait()
	close(writersDone)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	<-watchDone
	if err := read(); err != nil { // the rest, after the writers
		t.Fatal(err)
	}

	var popRevision int64
	if err := db.Pool.QueryRow(ctx, `SELECT revision FROM pops WHERE id = $1`, pop).Scan(&popRevision); err != nil {
		t.Fatal(err)
	}
	if last != popRevision || int64(len(feed)) != popRevision {
		t.Fatalf("the feed ends at revision %d with %d changes; the POP is at %d", last, len(feed), popRevision)
	}
	// Each single change's revision is its change in the feed, in order.
	for _, rs := range results {
		for k, r := range rs {
			if f := feed[r.revision]; f.service != r.service || f.state != r.state {
				t.Errorf("SetDesiredState gave service %d (%s) revision %d; the feed has service %d (%s) there", r.service, r.state, r.revision, f.service, f.state)
			}
			if k > 0 && r.revision <= rs[k-1].revision {
				t.Errorf("service %d: revision %d after %d", r.service, r.revision, rs[k-1].revision)
			}
		}
	}
	// Every service holds its last change.
	lastChange := map[int64]int64{}
	for rev, f := range feed {
		lastChange[f.service] = max(lastChange[f.service], rev)
	}
	services, err := db.Services(ctx, billing.ServiceFilter{POP: pop})
	if err != nil {
		t.Fatal(err)
	}
	if want := nPay + nSweep + nSingle + nImport; len(services) != want {
		t.Fatalf("%d services at the POP, want %d", len(services), want)
	}
	suspended := 0
	for _, s := range services {
		if s.Revision != lastChange[s.ID] || feed[s.Revision].state != s.DesiredState {
			t.Errorf("service %d: revision %d (%s); its last change in the feed is %d (%s)", s.ID, s.Revision, s.DesiredState, lastChange[s.ID], feed[lastChange[s.ID]].state)
		}
		if s.DesiredState == billing.StateSuspended {
			suspended++
		}
	}
	// The sweep suspended its accounts; the payments restored theirs; the
	// single services end active (an even number of toggles).
	if suspended != nSweep {
		t.Errorf("%d services suspended at the end, want the sweep's %d", suspended, nSweep)
	}

	// The agent applies everything, in order.
	deadline := time.Now().Add(30 * time.Second)
	for ag.AppliedRevision() < popRevision {
		if time.Now().After(deadline) {
			t.Fatalf("the agent applied revision %d, the POP is at %d", ag.AppliedRevision(), popRevision)
		}
		time.Sleep(5 * time.Millisecond)
	}
	appliedMu.Lock()
	if len(appliedBack) > 0 {
		t.Errorf("the agent's applied revision went back: %v", appliedBack)
	}
	appliedMu.Unlock()
	lastOp := map[string]string{}
	for _, a := range drv.Actions() {
		lastOp[a.ServiceID] = a.Op
	}
	for _, s := range services {
		want := map[billing.DesiredState]string{billing.StateSuspended: "suspend", billing.StateActive: "restore"}[s.DesiredState]
		if op := lastOp[strconv.FormatInt(s.ID, 10)]; op != want {
			t.Errorf("service %d is %s; the agent's last action on it is %q", s.ID, s.DesiredState, op)
		}
	}
	t.Logf("%d revisions at %s, %d driver actions", popRevision, pop, len(drv.Actions()))
}
