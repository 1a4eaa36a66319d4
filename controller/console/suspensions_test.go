package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// heldBatch stores a suspension batch the blast-radius guard held, with
// the accounts subs waiting in it (as a sweep would), and returns its id.
func (e *env) heldBatch(typ billing.AccountType, subs ...subscriber) int64 {
	e.t.Helper()
	ctx := context.Background()
	var sweep, batch int64
	if err := e.db.Pool.QueryRow(ctx, `INSERT INTO delinquency_sweeps (account_type_id, trigger, local_date, started_at)
		VALUES ($1, 'schedule', '2026-12-15', $2) RETURNING id`, typ.ID, testNow).Scan(&sweep); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Pool.QueryRow(ctx, `INSERT INTO suspension_batches (sweep_id, reasons, created_at)
		VALUES ($1, ARRAY['POP north-1: 2 suspensions exceed the limit of 1 per sweep'], $2) RETURNING id`, sweep, testNow).Scan(&batch); err != nil {
		e.t.Fatal(err)
	}
	for _, s := range subs {
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO suspension_batch_items (batch_id, account_id, service_ids, pops, why)
			VALUES ($1, $2, (SELECT array_agg(id) FROM services WHERE account_id = $2), ARRAY['north-1'],
			ARRAY['Invoice INV-1 for USD 50.00 was due on 2026-12-01 and is 14 days past due'])`, batch, s.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return batch
}

// TestSuspensionsApproveSomeAfterConfirmation: held batches are listed
// with their reasons; a batch shows each account with its POPs, services
// and why; approving the ticked account first shows what will happen for
// exactly it, and acts (once, though posted twice) only when confirmed;
// cancelling the rest does the same and the batch is then decided and
// listed as such. A reader sees no checkboxes or buttons, and a reader's
// post is refused with nothing decided.
func TestSuspensionsApproveSomeAfterConfirmation(t *testing.T) {
	e := newEnv(t)
	typ := e.residentialType()
	jane := e.addSubscriber(typ, "Jane Prairie", "jane@example.net")
	joe := e.addSubscriber(typ, "Joe Prairie", "joe@example.net")
	batch := e.heldBatch(typ, jane, joe)
	batchPath := fmt.Sprintf("/suspensions/%d", batch)
	pending := func() int {
		return e.countRows(`SELECT count(*) FROM suspension_batch_items WHERE batch_id = $1 AND status = 'pending'`, batch)
	}

	reader := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	pageHas(t, "reader's list", reader.get("/suspensions"), fmt.Sprintf(`href="/staff/suspensions/%d"`, batch), "exceed the limit", "No decided batches yet.")
	rp := reader.get(batchPath)
	pageHas(t, "reader's batch", rp, jane.Number, joe.Number, "north-1", "14 days past due")
	mustNotContain(t, "reader's batch", rp, `type="checkbox"`, "Approve all", "Cancel all")
	refused := reader.do(http.MethodPost, batchPath, url2(t, rp, "action", "approve-all", "confirm", "yes"))
	if refused.status != http.StatusForbidden || pending() != 2 {
		t.Fatalf("a reader's approval: %d, %d pending; want 403 and 2", refused.status, pending())
	}

	clerk := e.signIn(e.addStaff("bill", staff.RoleBilling, false))
	p := clerk.get(batchPath)
	pageHas(t, "batch", p, `name="account" value="`+fmt.Sprint(jane.ID)+`"`, "Approve all 2", "Cancel ticked")

	none := clerk.do(http.MethodPost, batchPath, form(t, p, "action", "approve"))
	if none.status != http.StatusUnprocessableEntity || !strings.Contains(none.body, "Accounts: tick at least one") {
		t.Fatalf("approving nothing ticked: %d\n%s", none.status, none.body)
	}

	confirm := clerk.do(http.MethodPost, batchPath, form(t, p, "action", "approve", "account", fmt.Sprint(jane.ID)))
	pageHas(t, "approval confirmation", confirm, "Approve 1 held suspensions?", "are suspended now if they are still delinquent", "Yes, approve 1",
		`<input type="hidden" name="account" value="`+fmt.Sprint(jane.ID)+`">`)
	confirmSection := confirm.body[strings.Index(confirm.body, `id="confirm-h"`):strings.Index(confirm.body, `id="accounts-h"`)]
	if !strings.Contains(confirmSection, jane.Number) || strings.Contains(confirmSection, joe.Number) {
		t.Fatalf("the confirmation should list Jane only:\n%s", confirmSection)
	}
	if pending() != 2 {
		t.Fatal("the confirmation decided something")
	}
	f := form(t, confirm, "action", "approve", "account", fmt.Sprint(jane.ID), "confirm", "yes")
	done := clerk.do(http.MethodPost, batchPath, f)
	again := clerk.do(http.MethodPost, batchPath, f)
	if done.status != http.StatusSeeOther || again.status != http.StatusSeeOther || again.location != done.location {
		t.Fatalf("approve: %d %q; again %d %q\n%s", done.status, done.location, again.status, again.location, again.body)
	}
	if n := e.countRows(`SELECT count(*) FROM suspension_batch_items WHERE batch_id = $1 AND account_id = $2 AND status <> 'pending'
		AND decided_by = 'user:bill'`, batch, jane.ID); n != 1 || pending() != 1 {
		t.Fatalf("after approving Jane: decided by bill %d, pending %d; want 1 and 1", n, pending())
	}
	p = clerk.get(strings.TrimPrefix(done.location, "/staff"))
	pageHas(t, "after approving", p, "Approved: 1 accounts", "Approve all 1")

	confirm = clerk.do(http.MethodPost, batchPath, form(t, p, "action", "cancel-all"))
	pageHas(t, "cancel confirmation", confirm, "Cancel 1 held suspensions?", "will not be suspended by this batch", "Yes, cancel 1")
	if done := clerk.do(http.MethodPost, batchPath, form(t, confirm, "action", "cancel-all", "confirm", "yes")); done.status != http.StatusSeeOther {
		t.Fatalf("cancel the rest: %d\n%s", done.status, done.body)
	}
	if e.countRows(`SELECT count(*) FROM suspension_batch_items WHERE batch_id = $1 AND account_id = $2 AND status = 'cancelled'`, batch, joe.ID) != 1 ||
		e.countRows(`SELECT count(*) FROM suspension_batches WHERE id = $1 AND status = 'decided'`, batch) != 1 {
		t.Fatal("cancelling the rest did not cancel Joe and decide the batch")
	}
	list := clerk.get("/suspensions")
	pageHas(t, "list after deciding", list, "None: nothing is held", fmt.Sprintf("Batch #%d", batch), "user:bill")
	mustNotContain(t, "decided batch", clerk.get(batchPath), "Approve all", `type="checkbox"`)
}
