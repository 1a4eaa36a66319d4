package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestPaymentRestoresBecomeVisibleInOrder: payments that restore services
// at one POP write their changes at commit; a reader that has seen revision
// N has still seen every revision below N, and every change is in the
// outbox at the revision its service has.
func TestPaymentRestoresBecomeVisibleInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, residential())
	const payers, perPayer = 8, 6
	var accounts [payers][perPayer]int64
	for p := range payers {
		for i := range perPayer {
			pop := "pop-a"
			if i%3 == 2 {
				pop = "pop-b"
			}
			a, _ := c.account(pop)
			c.owe(a, billing.NewDate(2026, 11, 20), 5000)
			accounts[p][i] = a
		}
	}
	if res := c.sweep(local(12, 14, 6), billing.SuspensionGuard{Disabled: true}); res.Suspended != payers*perPayer {
		t.Fatalf("sweep suspended %d accounts, want %d", res.Suspended, payers*perPayer)
	}
	base, _, _, err := c.db.ChangesSince(ctx, "pop-a", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	since := base[len(base)-1].Revision
	want := since + payers*perPayer*2/3

	var wg sync.WaitGroup
	for p := range payers {
		wg.Go(func() {
			for _, a := range accounts[p] {
				if _, err := c.db.PostPayment(ctx, billing.NewPayment{AccountID: a, Method: billing.PayCash, Amount: 5000}, "test", local(12, 14, 10)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for since < want && time.Now().Before(deadline) {
		changes, _, snap, err := c.db.ChangesSince(ctx, "pop-a", since, 3)
		if err != nil || snap {
			t.Fatalf("ChangesSince(%d): snap=%v err=%v", since, snap, err)
		}
		for _, ch := range changes {
			if ch.Revision != since+1 {
				t.Fatalf("saw revision %d right after %d: a revision was skipped", ch.Revision, since)
			}
			if ch.DesiredState != billing.StateActive {
				t.Fatalf("revision %d: %s, want active", ch.Revision, ch.DesiredState)
			}
			since = ch.Revision
		}
	}
	wg.Wait()
	if since != want {
		t.Fatalf("followed pop-a up to revision %d, want %d", since, want)
	}
	var bad int
	if err := c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM services s
		WHERE s.desired_state <> 'active' OR s.revision > (SELECT revision FROM pops WHERE id = s.pop_id)
			OR NOT EXISTS (SELECT 1 FROM enforcement_changes e WHERE e.pop_id = s.pop_id AND e.revision = s.revision
				AND e.service_id = s.id AND e.desired_state = 'active')`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d services not active at an outbox revision of theirs (%v)", bad, err)
	}
	var dup int
	if err := c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM enforcement_changes
		GROUP BY pop_id, revision HAVING count(*) > 1) d`).Scan(&dup); err != nil || dup != 0 {
		t.Fatalf("%d revisions taken twice (%v)", dup, err)
	}
	for p := range payers {
		for _, a := range accounts[p] {
			c.want(a, billing.AccountCurrent, "after paying")
		}
	}
}
