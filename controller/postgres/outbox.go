package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Desired-state changes and the POP revision lock: the one outbox writer.
//
// A POP's revisions must become visible in the order they were taken (an
// agent that has seen revision N has seen everything below it), so the
// UPDATE of the POP row that takes them holds its lock until the
// transaction ends. Taken early, that lock serialised every payment that
// restores service at a POP behind the dozen statements (each a round trip)
// that followed it. So every desired-state change — a service created, a
// single change through the API, an import, a sweep, a payment's restore —
// is collected by the transaction of inTx that makes it (changeStates) and
// written at commit by stateChangesSQL, the only statement that advances a
// POP's revision and the only one that inserts into enforcement_changes:
// the POP bump, the services update, the enforcement_changes rows and the
// NOTIFY go in one pipelined batch with the COMMIT, and the lock is held for
// the time the server takes to run them, not for round trips. The services
// themselves are locked early (accountServices, setDesiredStateTx), as
// before; only the POP rows are locked late, in POP order.

// stateChange is one service's desired-state change, waiting for commit.
type stateChange struct {
	service int64
	pop     string
	account int64
	state   billing.DesiredState
	// remove takes the service off its POP (a cancel with on_cancel
	// remove): the change is sent with removed set, the services row is
	// marked removed and later snapshots leave the service out.
	remove bool
	reason string
	actor  string
	at     time.Time
	// departed, with its binding, is the removal of the service from pop,
	// which it has left (a move): the outbox row tells pop's agent to
	// release binding and forget the service; the services row, which is
	// at another POP now, is not touched. state is then "active" (what a
	// released binding is).
	departed bool
	binding  billing.Binding
}

// outboxTx is the transaction inTx gives its function: a pgx.Tx that also
// collects desired-state changes to write at commit.
type outboxTx struct {
	pgx.Tx
	changes   []stateChange
	index     map[int64]int   // service id → its change in changes
	byAccount map[int64][]int // account id → service ids with a change
	// removals: services removed from a POP they left (removed changes),
	// written with the changes; not seen by pendingChange(s).
	removals []stateChange
	// wantRevisions: the commit reads back the revisions it gives the
	// services (see inOutboxTx), for callers that return a service.
	wantRevisions bool
}

// errNotOutboxTx is returned by changeStates for a transaction that inTx did
// not begin: a programming error, since no other transaction may change a
// desired state.
var errNotOutboxTx = errors.New("postgres: desired-state change in a transaction not begun by inTx")

// outboxOf returns the outbox of tx, a transaction of inTx; nil for any
// other transaction (which can change no desired state).
func outboxOf(tx pgx.Tx) *outboxTx {
	o, _ := tx.(*outboxTx)
	return o
}

// changeStates queues desired-state changes in tx, a transaction of inTx,
// to be written at its commit by the outbox writer (see inOutboxTx); a
// later change of a service replaces an earlier one. With wantRevisions,
// inOutboxTx returns the revisions the commit gives the services. It
// returns errNotOutboxTx for any other transaction and queues nothing.
func changeStates(tx pgx.Tx, cs []stateChange, wantRevisions bool) error {
	o := outboxOf(tx)
	if o == nil {
		return errNotOutboxTx
	}
	o.add(cs)
	o.wantRevisions = o.wantRevisions || wantRevisions
	return nil
}

// add records changes; a later change of a service replaces an earlier one.
// Removals are kept apart: a moved service has one at the POP it left
// besides its change at the POP it moved to.
func (o *outboxTx) add(cs []stateChange) {
	if o.index == nil {
		o.index, o.byAccount = make(map[int64]int, len(cs)), make(map[int64][]int, len(cs))
	}
	o.changes = slices.Grow(o.changes, len(cs))
	for _, c := range cs {
		if c.departed {
			o.removals = append(o.removals, c)
			continue
		}
		if i, ok := o.index[c.service]; ok {
			o.changes[i] = c
			continue
		}
		o.index[c.service] = len(o.changes)
		o.byAccount[c.account] = append(o.byAccount[c.account], len(o.changes))
		o.changes = append(o.changes, c)
	}
}

// pending returns the changes waiting for commit of the accounts' services.
func (o *outboxTx) pending(accounts []int64) []stateChange {
	if len(o.byAccount) == 0 {
		return nil
	}
	var out []stateChange
	for _, a := range accounts {
		for _, i := range o.byAccount[a] {
			out = append(out, o.changes[i])
		}
	}
	return out
}

// pendingChanges returns the desired-state changes tx holds for the
// accounts' services (none unless tx is a transaction of inTx).
func pendingChanges(tx pgx.Tx, accounts []int64) []stateChange {
	if o := outboxOf(tx); o != nil {
		return o.pending(accounts)
	}
	return nil
}

// pendingChange returns the desired-state change tx holds for a service,
// if any.
func pendingChange(tx pgx.Tx, service int64) (stateChange, bool) {
	if o := outboxOf(tx); o != nil {
		if i, ok := o.index[service]; ok {
			return o.changes[i], true
		}
	}
	return stateChange{}, false
}

// inOutboxTx runs fn in a transaction on a connection of pool and commits
// it if fn returns nil, writing the desired-state changes fn collected
// (changeStates) in the same pipelined batch as the COMMIT. If fn asked for
// them (wantRevisions), it returns the revision the commit gave each changed
// service; otherwise nil. It returns fn's error (the transaction rolled
// back), or the error of the begin, the writes or the commit.
func inOutboxTx(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(pgx.Tx) error) (revisions map[int64]int64, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			// As pgx.BeginTxFunc: fn's error (or panic) is what counts.
			_ = tx.Rollback(ctx)
		}
	}()
	o := &outboxTx{Tx: tx}
	if err := fn(o); err != nil {
		return nil, err
	}
	if len(o.changes) == 0 && len(o.removals) == 0 {
		committed = true
		return nil, tx.Commit(ctx)
	}
	// No row-count checks here: they would come after the COMMIT. Each
	// service was locked by the caller (accountServices) and its POP
	// exists (a foreign key), so each is written.
	var w writeBatch
	if len(o.changes) <= 1000 {
		// A few services: the generic plans are the custom ones, without
		// planning each time (see genericPlans).
		w.queue(nil, genericPlans)
	}
	if o.wantRevisions {
		revisions = make(map[int64]int64, len(o.changes))
	}
	queueStateChanges(&w, append(slices.Clip(o.changes), o.removals...), revisions)
	w.queue(nil, `COMMIT`)
	if err := w.run(ctx, tx, true); err != nil {
		return nil, err
	}
	// The server committed: the connection is idle again. (tx, pgx's
	// view of it, is left as is: its Commit would send a second COMMIT.)
	committed = true
	return revisions, nil
}

// batchCheck checks the command tag of one statement of a writeBatch.
type batchCheck func(tag string, rows int64) error

// writeBatch is a pgx.Batch of writes whose results are checked, not read.
type writeBatch struct {
	b      pgx.Batch
	checks []batchCheck // one per queued statement; nil accepts any result
	// readers: a statement whose rows are read (queueRows), by index.
	readers map[int]func(pgx.Rows) error
}

// queueRows queues one statement whose rows read reads.
func (w *writeBatch) queueRows(read func(pgx.Rows) error, sql string, args ...any) {
	if w.readers == nil {
		w.readers = map[int]func(pgx.Rows) error{}
	}
	w.readers[w.len()] = read
	w.queue(nil, sql, args...)
}

// queue queues one statement with its check (nil: any result).
func (w *writeBatch) queue(check batchCheck, sql string, args ...any) {
	w.b.Queue(sql, args...)
	w.checks = append(w.checks, check)
}

// len is how many statements are queued.
func (w *writeBatch) len() int { return w.b.Len() }

// rowsCheck wants a statement to affect n rows; what names it in the error.
func rowsCheck(n int64, what string) batchCheck {
	return func(_ string, rows int64) error {
		if rows != n {
			return fmt.Errorf("%s: %d of %d rows written", what, rows, n)
		}
		return nil
	}
}

// run sends w in tx, in one round trip, and checks each statement's
// result: the first error is returned. With commit, w's last statement is
// a COMMIT and must have committed.
func (w *writeBatch) run(ctx context.Context, tx pgx.Tx, commit bool) error {
	if w.len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &w.b)
	var first error
	for i, check := range w.checks {
		if read, ok := w.readers[i]; ok {
			rows, err := br.Query()
			if err == nil {
				err = read(rows)
				rows.Close()
				err = cmp.Or(err, rows.Err())
			}
			if err != nil && first == nil {
				first = err
			}
			continue
		}
		tag, err := br.Exec()
		switch {
		case err != nil:
		case commit && i == len(w.checks)-1:
			if tag.String() != "COMMIT" {
				err = pgx.ErrTxCommitRollback
			}
		case check != nil:
			err = check(tag.String(), tag.RowsAffected())
		}
		if err != nil && first == nil {
			first = err
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

// exec runs w's statements in tx one round trip each, checking each: for
// a few big statements, where a round trip is nothing and each one's time
// shows in traces. (Statements queued with queueRows are not for exec.)
func (w *writeBatch) exec(ctx context.Context, tx pgx.Tx) error {
	for i, q := range w.b.QueuedQueries {
		tag, err := tx.Exec(ctx, q.SQL, q.Arguments...)
		if err == nil && w.checks[i] != nil {
			err = w.checks[i](tag.String(), tag.RowsAffected())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stateChangesSQL writes one POP's desired-state changes ($2…$7, one
// element per service, in revision order; $7 holds the departures' old
// bindings, $8 marks a removal, $9 is each change's profile source): it
// advances the POP's revision by their number, holding the POP row's lock
// until commit, gives the services consecutive revisions ending at the new
// one, and appends them to the outbox. It inserts one enforcement_changes
// row per service. It is the only statement that advances a POP's revision
// or inserts into enforcement_changes.
//
// Every record carries the service's profile, looked up by its source
// (billing.ProfileSourceFor decides it from the state): "plan" is the
// current profile version of the plan whose speed the service has
// (plans.profile of speed_plan_id while a plan change waits for its
// effective date, else of plan_id), "throttle"
// the throttle profile of its account's type, "" none. A service whose
// binding method is not in $10 (billing.ShapingMethods: SNMP cannot shape)
// carries none. The services row keeps the profile of its current revision
// for snapshots.
//
// An element of $7 (a JSON array) that is a binding object makes that
// change a removal: the service has left the POP (a move), so its services
// row, at its new POP, is left alone, and the outbox row, marked removed,
// carries the binding the POP's agent is to release (and no profile).
// Other elements are null (or missing: $7 is '[]' when the POP has no
// removals).
const stateChangesSQL = `WITH p AS (
		UPDATE pops SET revision = revision + cardinality($2::bigint[]) WHERE id = $1 RETURNING revision
	), c AS (
		SELECT u.id, u.state, u.reason, u.actor, u.at, u.removed, u.source, p.revision - cardinality($2::bigint[]) + u.n AS rev,
			nullif(($7::jsonb) -> (u.n::int - 1), 'null') AS gone
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $8::boolean[], $9::text[])
			WITH ORDINALITY AS u(id, state, reason, actor, at, removed, source, n), p
	), s AS (
		UPDATE services s SET desired_state = c.state, state_reason = c.reason, revision = c.rev, updated_at = c.at,
			removed = s.removed OR c.removed,
			profile = CASE WHEN s.method <> ALL($10::text[]) THEN NULL
				WHEN c.source = 'plan' THEN (SELECT pl.profile FROM plans pl WHERE pl.id = coalesce(s.speed_plan_id, s.plan_id))
				WHEN c.source = 'throttle' THEN (SELECT t.settings -> 'throttle_profile' FROM accounts a
					JOIN account_types t ON t.id = a.account_type_id WHERE a.id = s.account_id) END
		FROM c WHERE s.id = c.id AND c.gone IS NULL
		RETURNING s.pop_id, s.revision, s.id, s.desired_state, s.state_reason, s.method, s.addresses,
			s.radius_username, s.device, s.if_index, c.removed, c.actor, c.at, s.profile
	)
	INSERT INTO enforcement_changes (pop_id, revision, service_id, desired_state, reason,
		method, addresses, radius_username, device, if_index, removed, actor, created_at, profile)
	SELECT pop_id, revision, id, desired_state, state_reason, method, addresses, radius_username, device, if_index, removed, actor, at, profile
	FROM s
	UNION ALL
	SELECT $1, c.rev, c.id, c.state, c.reason, c.gone->>'method',
		ARRAY(SELECT jsonb_array_elements_text(coalesce(c.gone->'addresses', '[]'))),
		coalesce(c.gone->>'radius_username', ''), coalesce(c.gone->>'device', ''), coalesce((c.gone->>'if_index')::integer, 0),
		true, c.actor, c.at, NULL
	FROM c WHERE c.gone IS NOT NULL`

// queueStateChanges queues on w the statements that write cs: per POP, in
// POP order (so concurrent writers lock POP rows in one order), one
// stateChangesSQL, the services in id order; then one NOTIFY per POP
// (delivered at commit). With a non-nil revisions, each POP's statement
// returns the revisions it gave its services and they go into revisions.
func queueStateChanges(w *writeBatch, cs []stateChange, revisions map[int64]int64) {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(x, y stateChange) int {
		return cmp.Or(cmp.Compare(x.pop, y.pop), cmp.Compare(x.service, y.service))
	})
	var pops []string
	shapingMethods := billing.ShapingMethods() // stateChangesSQL's $10
	for start := 0; start < len(cs); {
		end := start
		for end < len(cs) && cs[end].pop == cs[start].pop {
			end++
		}
		group := cs[start:end]
		start = end
		n := len(group)
		ids, states, reasons, actors, ats := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
		removes, sources := make([]bool, n), make([]string, n)
		var gone []*billing.Binding // nil: no departures from this POP
		for i, c := range group {
			ids[i], states[i], reasons[i], actors[i], ats[i], removes[i] = c.service, string(c.state), c.reason, c.actor, c.at, c.remove
			sources[i] = string(billing.ProfileSourceFor(c.state))
			if c.departed {
				if gone == nil {
					gone = make([]*billing.Binding, n)
				}
				gone[i] = &c.binding
			}
		}
		departures := []byte("[]")
		if gone != nil {
			departures, _ = json.Marshal(gone) // a Binding always marshals
		}
		pop := group[0].pop
		pops = append(pops, pop)
		if revisions == nil {
			w.queue(nil, stateChangesSQL, pop, ids, states, reasons, actors, ats, string(departures), removes, sources, shapingMethods)
			continue
		}
		// A departure's revision is its old POP's: the service's own is the
		// one at its new POP.
		departedIDs := map[int64]bool{}
		for i := range gone {
			if gone[i] != nil {
				departedIDs[ids[i]] = true
			}
		}
		w.queueRows(func(rows pgx.Rows) error {
			var id, rev int64
			_, err := pgx.ForEachRow(rows, []any{&id, &rev}, func() error {
				if !departedIDs[id] {
					revisions[id] = rev
				}
				return nil
			})
			return err
		}, stateChangesSQL+` RETURNING service_id, revision`, pop, ids, states, reasons, actors, ats, string(departures), removes,
			sources, shapingMethods)
	}
	// PostgreSQL folds identical notifications of one transaction into
	// one, so a sweep that suspends a thousand services at a POP wakes its
	// hub once.
	w.queue(nil, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, NotifyChannel, pops)
}
