package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// standingsSQL reads the [billing.Standing] of the accounts of type $1 that
// owe on an invoice due on or before $2 or are not current ($4, if not
// NULL, restricts them to those ids): one row per account, its owed
// invoices aggregated in no order (loadStandings sorts them): the arrays
// of one aggregation follow its input rows together, so they stay aligned,
// and an ORDER BY in each would sort every account's invoices four times.
// Reminders count when sent before $3. Only accounts with ids from $5 to
// $6 are read (readStandings splits the work by them). Each row ends with
// the account's email address, name, overrides and the total of its gateway
// payments still processing (pending_payments; read for the whole part at
// once from payment_attempts_processing_account_idx, not probed per
// account); its credit (what creditSQL reads
// for one account) is read for the whole part at once, from the rows
// journal_transactions_credit_idx, payments_credit_idx and
// invoices_credit_notes_idx hold (usually a few), and used only for an
// account with owed invoices, the one thing credit pays: index probes per
// owed account cost a sixth of the read.
// (A separate by-id query that let the planner probe indexes for tens of
// thousands of ids measured seven times slower than this one's hash joins
// over a million accounts. For a sweep's re-read of the accounts it
// changes, this one with sequential scans off takes half the time of its
// scan of every invoice: see readStandings.)
const standingsSQL = `WITH owed AS (
		SELECT i.account_id,
			array_agg(i.id) AS ids, array_agg(i.number) AS numbers, array_agg(i.due_date) AS dues,
			array_agg(i.total - i.paid) AS remaining
		FROM invoices i JOIN accounts a ON a.id = i.account_id
		WHERE a.account_type_id = $1 AND i.status = 'open' AND i.paid < i.total AND i.due_date <= $2
			AND ($4::bigint[] IS NULL OR i.account_id = ANY($4)) AND i.account_id BETWEEN $5 AND $6
		GROUP BY i.account_id
	), credit AS (
		SELECT x.account_id, sum(x.amount)::bigint AS amount FROM (
			SELECT t.account_id, -e.amount AS amount FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id
			WHERE t.kind IN ('credit', 'write_off') AND e.ledger = 'accounts_receivable'
				AND ($4::bigint[] IS NULL OR t.account_id = ANY($4)) AND t.account_id BETWEEN $5 AND $6
			UNION ALL
			SELECT p.account_id, p.amount - p.refunded - p.refund_reserved - p.allocated FROM payments p
			WHERE p.status = 'posted' AND p.allocated < p.amount - p.refunded
				AND ($4::bigint[] IS NULL OR p.account_id = ANY($4)) AND p.account_id BETWEEN $5 AND $6
			UNION ALL
			SELECT i.account_id, i.paid - i.total FROM invoices i
			WHERE i.status = 'open' AND i.total < 0
				AND ($4::bigint[] IS NULL OR i.account_id = ANY($4)) AND i.account_id BETWEEN $5 AND $6
		) x GROUP BY x.account_id
	), pending AS (
		SELECT pa.account_id, sum(pa.amount)::bigint AS amount FROM payment_attempts pa
		WHERE pa.status = 'processing' AND ($4::bigint[] IS NULL OR pa.account_id = ANY($4)) AND pa.account_id BETWEEN $5 AND $6
		GROUP BY pa.account_id
	)
	SELECT a.id, a.number, a.currency, a.status, a.exempt, a.exempt_reason, a.promise_until,
		coalesce(o.ids, '{}'), coalesce(o.numbers, '{}'), coalesce(o.dues, '{}'), coalesce(o.remaining, '{}'),
		coalesce((SELECT sum(j.amount) FROM journal_entries j
			WHERE j.account_id = a.id AND j.ledger = 'accounts_receivable'), 0)::bigint,
		CASE WHEN o.ids IS NULL THEN 0 ELSE coalesce(cr.amount, 0) END,
		o.ids IS NOT NULL AND EXISTS (SELECT 1 FROM notices n WHERE n.kind = 'reminder' AND n.invoice_id = ANY(o.ids)
			AND n.status = 'sent' AND n.sent_at < $3),
		a.status = 'delinquent' AND EXISTS (SELECT 1 FROM suspension_batch_items b WHERE b.account_id = a.id AND b.status = 'pending'),
		a.email, a.name, a.overrides, coalesce(pe.amount, 0)
	FROM accounts a LEFT JOIN owed o ON o.account_id = a.id LEFT JOIN credit cr ON cr.account_id = a.id
		LEFT JOIN pending pe ON pe.account_id = a.id
	WHERE a.account_type_id = $1 AND ($4::bigint[] IS NULL OR a.id = ANY($4)) AND a.id BETWEEN $5 AND $6
		AND (o.account_id IS NOT NULL OR a.status IN ('past_due', 'delinquent', 'suspended'))
	ORDER BY a.id`

// creditSQL is account a's credit that no invoice's allocations hold
// ([billing.Standing.Credit]): its credits and write-offs, the
// unallocated parts of its posted payments and what its open invoices
// with a negative total have left to give (credit notes: more credited
// than charged; what one has applied to invoices is their paid total, so
// it is counted once) (through
// journal_transactions_credit_idx, payments_credit_idx and
// invoices_open_idx: for most accounts three index probes that find
// nothing or a few rows). For one account
// (settleStandingSQL); standingsSQL's credit CTE reads the same for many.
const creditSQL = `(coalesce((SELECT -sum(e.amount) FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id
			WHERE t.account_id = a.id AND t.kind IN ('credit', 'write_off') AND e.ledger = 'accounts_receivable'), 0)
		+ coalesce((SELECT sum(p.amount - p.refunded - p.refund_reserved - p.allocated) FROM payments p
			WHERE p.account_id = a.id AND p.status = 'posted' AND p.allocated < p.amount - p.refunded), 0)
		+ coalesce((SELECT sum(i.paid - i.total) FROM invoices i WHERE i.account_id = a.id AND i.status = 'open' AND i.total < 0), 0))::bigint`

// loadStandings runs standingsSQL over all the accounts (ids, if not nil)
// and calls fn for each account.
func loadStandings(ctx context.Context, q querier, typeID int64, horizon billing.Date, ids []int64, sentBefore time.Time, fn func(billing.Standing) error) error {
	return loadStandingsIn(ctx, q, typeID, horizon, ids, math.MinInt64, math.MaxInt64, sentBefore,
		func(s billing.Standing, _ billing.Contact) error { return fn(s) })
}

// loadStandingsIn runs standingsSQL over the accounts with ids from lo to
// hi (and in ids, if not nil) and calls fn for each account, with its
// contact.
func loadStandingsIn(ctx context.Context, q querier, typeID int64, horizon billing.Date, ids []int64, lo, hi int64, sentBefore time.Time, fn func(billing.Standing, billing.Contact) error) error {
	var idArg any
	if ids != nil {
		idArg = ids
	}
	rows, err := q.Query(ctx, standingsSQL, typeID, pgDate(horizon), sentBefore, idArg, lo, hi)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s billing.Standing
		var promise *time.Time
		var invIDs, remaining []int64
		var numbers []string
		var dues []time.Time
		var c billing.Contact
		var overrides []byte
		if err := rows.Scan(&s.AccountID, &s.Number, &s.Currency, &s.Status, &s.Exempt, &s.ExemptReason, &promise,
			&invIDs, &numbers, &dues, &remaining, &s.Balance, &s.Credit, &s.Reminded, &s.Held, &c.Email, &c.Name, &overrides, &s.Pending); err != nil {
			return err
		}
		if overrides != nil {
			var err error
			if s.Overrides, err = scanOverrides(overrides); err != nil {
				return fmt.Errorf("account %d overrides: %w", s.AccountID, err)
			}
		}
		if promise != nil {
			s.PromiseUntil = billing.DateOf(*promise)
		}
		s.Invoices = make([]billing.OwedInvoice, len(invIDs))
		for i := range invIDs {
			s.Invoices[i] = billing.OwedInvoice{ID: invIDs[i], Number: numbers[i], DueDate: billing.DateOf(dues[i]), Remaining: remaining[i]}
		}
		sortOwed(s.Invoices)
		if err := fn(s, c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sortOwed puts owed invoices oldest due first (by id among equals).
func sortOwed(invs []billing.OwedInvoice) {
	if len(invs) > 1 {
		slices.SortFunc(invs, func(a, b billing.OwedInvoice) int {
			return cmp.Or(a.DueDate.Compare(b.DueDate), cmp.Compare(a.ID, b.ID))
		})
	}
}

// sweepReaders is how many connections read standings at once for a
// sweep: the reads are most of a sweep's time, and a query runs on one
// core.
const sweepReaders = 4

// readStandings runs standingsSQL (see loadStandingsIn) over the accounts
// of type typeID, or those of ids (sorted) if not nil, split into parts by
// id, each part in a read-only transaction of its own on a connection of
// its own, concurrently: at most readers at a time, and one part when
// readers is below two. The connections are conns (one per reader) if not
// nil, else the pool's. fn is called for each account with its part's
// number, parts in id order, from one goroutine per part. It returns how
// many parts there were.
func (db *DB) readStandings(ctx context.Context, typeID int64, horizon billing.Date, ids []int64, sentBefore time.Time, readers int,
	conns []*pgxpool.Conn, fn func(part int, s billing.Standing, c billing.Contact) error) (int, error) {
	type span struct {
		ids    []int64
		lo, hi int64
	}
	var spans []span
	switch {
	case ids != nil:
		if len(ids) == 0 {
			return 0, nil
		}
		n := max(readers, 1)
		for i := range n {
			part := ids[i*len(ids)/n : (i+1)*len(ids)/n]
			if len(part) > 0 {
				spans = append(spans, span{part, part[0], part[len(part)-1]})
			}
		}
	default:
		var lo, hi *int64
		if err := db.Pool.QueryRow(ctx, `SELECT min(id), max(id) FROM accounts WHERE account_type_id = $1`, typeID).Scan(&lo, &hi); err != nil || lo == nil {
			return 0, err
		}
		n := int64(max(readers, 1))
		width := (*hi - *lo + n) / n
		for from := *lo; from <= *hi; from += width {
			spans = append(spans, span{nil, from, min(from+width-1, *hi)})
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i, sp := range spans {
		wg.Go(func() {
			inTx := func(fn func(pgx.Tx) error) error { return db.inTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn) }
			if conns != nil {
				inTx = func(fn func(pgx.Tx) error) error {
					return pgx.BeginTxFunc(ctx, conns[i], pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn)
				}
			}
			err := inTx(func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, sweepSettings); err != nil {
					return err
				}
				if sp.ids != nil {
					// A few accounts in many: left to itself the planner
					// scans all the invoices for them (twice the time of
					// the index lookups).
					if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
						return err
					}
				}
				return loadStandingsIn(ctx, tx, typeID, horizon, sp.ids, sp.lo, sp.hi, sentBefore,
					func(s billing.Standing, c billing.Contact) error { return fn(i, s, c) })
			})
			if err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return len(spans), context.Cause(ctx)
}

// sweepSettings are the sweep's transactions' settings: JIT compiling the
// aggregates costs more than it saves, sorts and hashes of hundreds of
// thousands of rows spill to disk within the default work_mem, and the
// sweep reads in parts at once itself (see readStandings): parallel
// workers on top of that only compete for the same cores.
const sweepSettings = `SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true),
	set_config('max_parallel_workers_per_gather', '0', true)`

// typeOverrides reads the distinct overrides of the accounts of type
// typeID (through accounts_overrides_idx: nothing to read for a type none
// of whose accounts override anything).
func typeOverrides(ctx context.Context, q querier, typeID int64) ([]billing.AccountOverrides, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT overrides FROM accounts WHERE account_type_id = $1 AND overrides IS NOT NULL`, typeID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AccountOverrides, error) {
		var raw []byte
		if err := r.Scan(&raw); err != nil {
			return billing.AccountOverrides{}, err
		}
		return scanOverrides(raw)
	})
}

// typeRule loads an account type with its date rule and time zone.
func typeRule(ctx context.Context, q querier, typeID int64) (billing.AccountType, billing.DateRule, *time.Location, error) {
	t, err := scanAccountType(q.QueryRow(ctx, `SELECT `+accountTypeColumns+` FROM account_types WHERE id = $1`, typeID))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, billing.DateRule{}, nil, billing.Errorf(billing.ENOTFOUND, "account type %d does not exist", typeID)
	}
	if err != nil {
		return t, billing.DateRule{}, nil, err
	}
	rule, loc, err := ruleOf(t)
	return t, rule, loc, err
}

// ruleOf returns an account type's date rule and time zone.
func ruleOf(t billing.AccountType) (billing.DateRule, *time.Location, error) {
	rule, err := billing.NewDateRule(t)
	if err != nil {
		return rule, nil, err
	}
	loc, err := time.LoadLocation(t.TimeZone)
	return rule, loc, err
}

// Sweep runs the delinquency sweep of one account type at now: every account
// that owes on a past-due invoice or is not current is assessed
// ([billing.SweepVerdict]); the sweep's plan ([billing.PlanSweep]: status
// changes, suspensions through the enforcement outbox or held by the
// blast-radius guard, restores, fees and notices) is written in one
// transaction, each change with its reason and an audit row.
//
// A scheduled sweep runs once per local date of the type: a second one
// returns AlreadyRan. A dry run computes the same and changes nothing.
// Errors: ENOTFOUND for an unknown account type; EINVALID for a bad guard.
func (db *DB) Sweep(ctx context.Context, req billing.SweepRequest, now time.Time) (billing.SweepResult, error) {
	if err := req.Guard.Validate(); err != nil {
		return billing.SweepResult{}, err
	}
	t, rule, loc, err := typeRule(ctx, db.Pool, req.AccountTypeID)
	if err != nil {
		return billing.SweepResult{}, err
	}
	if req.Trigger == "" {
		req.Trigger = billing.SweepManual
	}
	today := billing.DateIn(now, loc)
	res := billing.SweepResult{AccountTypeID: t.ID, Trigger: req.Trigger, LocalDate: today, DryRun: req.DryRun, StartedAt: now, Suspensions: []billing.PlannedSuspension{}}
	overrides, err := typeOverrides(ctx, db.Pool, t.ID)
	if err != nil {
		return billing.SweepResult{}, err
	}
	horizon := today.AddDays(billing.ReminderLeadOf(t, overrides))
	if req.Trigger == billing.SweepScheduled && !req.DryRun {
		var ran bool
		if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM delinquency_sweeps
			WHERE account_type_id = $1 AND local_date = $2 AND trigger = 'schedule')`, t.ID, pgDate(today)).Scan(&ran); err != nil || ran {
			res.AlreadyRan = ran
			return res, err
		}
	}

	// Phase 1, without locks: who needs a change. Read in parts at once
	// (each part's accounts come in id order, so the parts' lists joined
	// are sorted).
	readers := min(sweepReaders, int(db.Pool.Config().MaxConns))
	todos, examined := make([][]int64, readers), make([]int, readers)
	_, err = db.readStandings(ctx, t.ID, horizon, nil, now, readers, nil, func(part int, s billing.Standing, _ billing.Contact) error {
		examined[part]++
		if billing.SweepNeedsWrite(t, rule, today, s) {
			todos[part] = append(todos[part], s.AccountID)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	var todo []int64
	for i := range todos {
		res.Examined += examined[i]
		todo = append(todo, todos[i]...)
	}

	// Phase 2: lock those accounts, read them again (payments may have
	// landed since) and write.
	errDryRun := errors.New("dry run")
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if req.Trigger == billing.SweepScheduled && !req.DryRun {
			err := tx.QueryRow(ctx, `INSERT INTO delinquency_sweeps (account_type_id, trigger, actor, local_date, started_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id`, t.ID, req.Trigger, req.Actor, pgDate(today), now).Scan(&res.ID)
			if errors.Is(err, pgx.ErrNoRows) {
				res.AlreadyRan = true
				return nil
			}
			if err != nil {
				return err
			}
		} else if err := tx.QueryRow(ctx, `INSERT INTO delinquency_sweeps (account_type_id, trigger, actor, local_date, started_at)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, t.ID, req.Trigger, req.Actor, pgDate(today), now).Scan(&res.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sweepSettings); err != nil {
			return err
		}
		var work []billing.Verdict
		if len(todo) > 0 {
			// The re-read's connections are taken before the locks: taken
			// after, they could all be held by payments waiting for those
			// locks.
			conns := db.acquireReaders(ctx)
			defer func() {
				for _, c := range conns {
					c.Release()
				}
			}()
			if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`, todo); err != nil {
				return err
			}
			var err error
			if work, err = db.reread(ctx, tx, t, rule, today, horizon, todo, now, conns); err != nil {
				return err
			}
		}
		if err := db.applySweep(ctx, tx, t, today, req, &res, work, now); err != nil {
			return err
		}
		res.FinishedAt = now
		if _, err := tx.Exec(ctx, `UPDATE delinquency_sweeps SET finished_at = $2, examined = $3, status_changes = $4, suspended = $5,
				held = $6, restored = $7, reminders = $8, held_batch_id = $9 WHERE id = $1`,
			res.ID, now, res.Examined, res.StatusChanges, res.Suspended, res.Held, res.Restored, res.Reminders, nullID(res.HeldBatchID)); err != nil {
			return err
		}
		if req.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		res.ID, res.HeldBatchID = 0, 0
		err = nil
	}
	return res, err
}

// acquireReaders takes connections for reread: sweepReaders, leaving the
// transaction's own; none if the pool cannot spare two. (Waiting for them
// is safe while the transaction holds no account's lock.)
func (db *DB) acquireReaders(ctx context.Context) []*pgxpool.Conn {
	var conns []*pgxpool.Conn
	for range min(sweepReaders, int(db.Pool.Config().MaxConns)-1) {
		c, err := db.Pool.Acquire(ctx)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	if len(conns) < 2 {
		for _, c := range conns {
			c.Release()
		}
		return nil
	}
	return conns
}

// reread reads the standings of the todo accounts again once tx holds
// their locks, assesses them and returns those that need a change, in id
// order. It reads in parts on conns
// (from acquireReaders, taken before the locks) at once: a read that starts
// after the locks are granted sees what the transaction would, since what
// changes a standing commits with the account's lock. Without conns it
// reads in tx.
func (db *DB) reread(ctx context.Context, tx pgx.Tx, t billing.AccountType, rule billing.DateRule, today, horizon billing.Date, todo []int64,
	now time.Time, conns []*pgxpool.Conn) ([]billing.Verdict, error) {
	readers := len(conns)
	works := make([][]billing.Verdict, max(readers, 1))
	for i := range works {
		works[i] = make([]billing.Verdict, 0, len(todo)/len(works)+1)
	}
	keep := func(part int, s billing.Standing, c billing.Contact) error {
		if v := billing.SweepVerdict(t, rule, today, s, c); v.NeedsWrite() {
			works[part] = append(works[part], v)
		}
		return nil
	}
	if readers < 1 {
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return nil, err
		}
		err := loadStandingsIn(ctx, tx, t.ID, horizon, todo, math.MinInt64, math.MaxInt64, now,
			func(s billing.Standing, c billing.Contact) error { return keep(0, s, c) })
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = on`); err != nil {
			return nil, err
		}
	} else if _, err := db.readStandings(ctx, t.ID, horizon, todo, now, readers, conns, keep); err != nil {
		return nil, err
	}
	work := make([]billing.Verdict, 0, len(todo))
	for i := range works {
		work = append(work, works[i]...)
	}
	return work, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// applySweep computes the sweep's plan from the verdicts of the accounts
// that need a write (in id order) and the services and POP loads they
// involve, all read in tx, and applies it in tx. It decides nothing
// itself ([billing.PlanSweep] does).
func (db *DB) applySweep(ctx context.Context, tx pgx.Tx, t billing.AccountType, today billing.Date, req billing.SweepRequest, res *billing.SweepResult,
	work []billing.Verdict, now time.Time) error {
	actor := cmp.Or(req.Actor, billing.SweepActor)
	var suspend, restore []int64
	for _, v := range work {
		if v.Suspends() {
			suspend = append(suspend, v.Standing.AccountID)
		}
		if v.Restores() {
			restore = append(restore, v.Standing.AccountID)
		}
	}
	in := billing.SweepInput{Type: t, Today: today, Now: now, Guard: req.Guard, Verdicts: work}
	var err error
	if in.SuspendServices, err = coreServices(ctx, tx, suspend, t.SuspendState()); err != nil {
		return err
	}
	if in.KeptOn, err = keptOnServices(ctx, tx, suspend); err != nil {
		return err
	}
	if in.Loads, err = popLoads(ctx, tx, in.GuardPOPs(), now); err != nil {
		return err
	}
	if in.RestoreServices, err = coreServices(ctx, tx, restore, billing.StateActive); err != nil {
		return err
	}
	plan := billing.PlanSweep(in)

	if err := applyServiceChanges(ctx, tx, plan.ServiceChanges, actor, now); err != nil {
		return err
	}
	if len(plan.HeldReasons) > 0 {
		if err := tx.QueryRow(ctx, `INSERT INTO suspension_batches (sweep_id, reasons, created_at) VALUES ($1, $2, $3) RETURNING id`,
			res.ID, plan.HeldReasons, now).Scan(&res.HeldBatchID); err != nil {
			return err
		}
		res.HeldReasons = plan.HeldReasons
		plan.HeldIn(res.HeldBatchID)
		var itemAccounts []int64
		var itemServices, itemPOPs, itemWhy []string
		for _, p := range plan.Suspensions {
			if p.Held {
				itemAccounts = append(itemAccounts, p.AccountID)
				itemServices = append(itemServices, pgIntArray(p.ServiceIDs))
				itemPOPs = append(itemPOPs, pgTextArray(p.POPs))
				itemWhy = append(itemWhy, strings.Join(p.Why, "\n"))
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO suspension_batch_items (batch_id, account_id, service_ids, pops, why)
			SELECT $1, a, s::bigint[], p::text[], string_to_array(w, E'\n') FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS u(a, s, p, w)`,
			res.HeldBatchID, itemAccounts, itemServices, itemPOPs, itemWhy); err != nil {
			return err
		}
	}
	res.SuspendedServices, res.Suspended, res.Held = plan.SuspendedServices, plan.Suspended, plan.Held
	res.Restored, res.Reminders, res.StatusChanges = plan.Restored, plan.Reminders, len(plan.StatusChanges)
	res.Suspensions = append(res.Suspensions, plan.Suspensions[:min(len(plan.Suspensions), 1000)]...)

	// The writes that need no answer, a few big statements.
	var w writeBatch
	if err := queueJournal(&w, plan.Fees, fmt.Sprintf("sweep:%d", res.ID)); err != nil {
		return err
	}
	queueStatuses(&w, plan.StatusChanges, plan.MootHolds, actor, res.ID, now)
	// The notices' rows (JSON) are made while the server writes the rest.
	type made struct {
		inserts []noticeInsert
		err     error
	}
	noticeIDs, err := reserveNoticeIDs(ctx, tx, len(plan.Notices))
	if err != nil {
		return err
	}
	notes := make(chan made, 1)
	go func() {
		inserts, err := noticeInserts(plan.Notices, noticeIDs, now)
		notes <- made{inserts, err}
	}()
	if err := w.exec(ctx, tx); err != nil {
		<-notes
		return err
	}
	m := <-notes
	if m.err != nil {
		return m.err
	}
	var nw writeBatch
	for _, in := range m.inserts {
		nw.queue(nil, in.sql, in.args...)
	}
	if err := nw.exec(ctx, tx); err != nil {
		return err
	}
	return db.insertNoticeJobs(ctx, tx, noticeIDs, false)
}

// coreServices locks and returns the services of accounts whose desired
// state is not state (see accountServices); none for no accounts.
func coreServices(ctx context.Context, tx pgx.Tx, accounts []int64, not billing.DesiredState) ([]billing.ServiceRef, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	svcs, err := accountServices(ctx, tx, accounts, not)
	return toCoreServices(svcs), err
}

// keptOnServices reads the services of accounts that a pause holds and
// keeps on (held paused, not suspended), with the day the pause ends: the
// sweep leaves them alone ([billing.SweepInput].KeptOn).
func keptOnServices(ctx context.Context, tx pgx.Tx, accounts []int64) ([]billing.HeldService, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, pop_id, account_id, pause_to FROM services
		WHERE account_id = ANY($1) AND held = 'paused' AND desired_state <> 'suspended' AND NOT removed AND pause_to IS NOT NULL
		ORDER BY id`, accounts)
	if err != nil {
		return nil, err
	}
	var out []billing.HeldService
	var h billing.HeldService
	_, err = pgx.ForEachRow(rows, []any{&h.Service.ID, &h.Service.POP, &h.Service.AccountID, scanDate(&h.Until)}, func() error {
		out = append(out, h)
		return nil
	})
	return out, err
}

// toCoreServices converts services for a plan's input.
func toCoreServices(svcs []serviceRef) []billing.ServiceRef {
	out := make([]billing.ServiceRef, len(svcs))
	for i, s := range svcs {
		out[i] = billing.ServiceRef{ID: s.id, POP: s.pop, AccountID: s.account}
	}
	return out
}

// applyServiceChanges applies a plan's service changes (of services locked
// by the caller) through setDesiredStates: each run of changes to the same
// state in one call, in the plan's order.
func applyServiceChanges(ctx context.Context, tx pgx.Tx, cs []billing.ServiceChange, actor string, at time.Time) error {
	for len(cs) > 0 {
		n := 1
		for n < len(cs) && cs[n].State == cs[0].State {
			n++
		}
		run := cs[:n]
		svcs := make([]serviceRef, n)
		reasons := make(map[int64]string, n)
		for i, c := range run {
			svcs[i] = serviceRef{id: c.Service.ID, pop: c.Service.POP, account: c.Service.AccountID}
			reasons[c.Service.ID] = c.Reason
		}
		if err := setDesiredStates(ctx, tx, svcs, run[0].State, func(s serviceRef) string { return reasons[s.id] }, actor, at); err != nil {
			return err
		}
		cs = cs[n:]
	}
	return nil
}

// queueNoticeRows queues ns (addressed) on w with the ids reserved for
// them; reminders already queued are skipped. The caller inserts their
// jobs (insertNoticeJobs).
func queueNoticeRows(w *writeBatch, ns []billing.Notice, ids []int64, now time.Time) error {
	if len(ns) == 0 {
		return nil
	}
	inserts, err := noticeInserts(ns, ids, now)
	if err != nil {
		return err
	}
	for _, in := range inserts {
		w.queue(nil, in.sql, in.args...)
	}
	return nil
}

// writeStatuses stores a plan's status changes with their audit rows and
// ends the moot held suspensions (see queueStatuses): one round trip
// however many accounts. It returns the database's error.
func writeStatuses(ctx context.Context, tx pgx.Tx, rows []billing.StatusChangePlan, moot []int64, actor string, sweepID int64, now time.Time) error {
	if len(rows) == 0 && len(moot) == 0 {
		return nil
	}
	var w writeBatch
	queueStatuses(&w, rows, moot, actor, sweepID, now)
	return w.run(ctx, tx, false)
}

// queueStatuses queues on w the statements that store a plan's status
// changes with their audit rows (sweepID, if not 0, is the sweep that
// made them), skip the pending held suspensions of the moot accounts, and
// decide the suspension batches left without pending items.
func queueStatuses(w *writeBatch, rows []billing.StatusChangePlan, moot []int64, actor string, sweepID int64, now time.Time) {
	if len(rows) == 0 && len(moot) == 0 {
		return
	}
	ids, payments := make([]int64, len(rows)), make([]int64, len(rows))
	from, to, why, causes := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		ids[i], payments[i], from[i], to[i] = r.AccountID, r.PaymentID, string(r.From), string(r.To)
		why[i], causes[i] = strings.Join(r.Why, "\n"), string(r.Cause)
	}
	// Tens of thousands of ids: index lookups beat hashing or merging the
	// whole accounts table (measured over 1,000,000 accounts). A few ids
	// get index lookups anyway.
	many := len(rows) > 100 || len(moot) > 100
	if many {
		w.queue(nil, `SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`)
	}
	if len(rows) > 0 {
		w.queue(rowsCheck(int64(len(rows)), "record status changes"), `WITH c AS (
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $9::bigint[]) AS c(id, from_status, to_status, why, cause, payment_id)
		), u AS (
			UPDATE accounts a SET status = c.to_status, status_why = string_to_array(c.why, E'\n'), status_changed_at = $7
			FROM c WHERE a.id = c.id
		)
		INSERT INTO account_status_changes (account_id, from_status, to_status, cause, actor, why, sweep_id, payment_id, at)
		SELECT c.id, c.from_status, c.to_status, c.cause, $6, string_to_array(c.why, E'\n'), $8, nullif(c.payment_id, 0), $7 FROM c`,
			ids, from, to, why, causes, actor, now, nullID(sweepID), payments)
	}
	if len(moot) > 0 {
		w.queue(nil, `UPDATE suspension_batch_items SET status = 'skipped', decided_at = $2, decided_by = $3
			WHERE account_id = ANY($1) AND status = 'pending'`, moot, now, actor)
	}
	w.queue(nil, `UPDATE suspension_batches b SET status = 'decided', decided_at = $1, decided_by = $2
		WHERE b.status = 'pending' AND NOT EXISTS (SELECT 1 FROM suspension_batch_items i WHERE i.batch_id = b.id AND i.status = 'pending')`, now, actor)
	if many {
		w.queue(nil, `SELECT set_config('enable_hashjoin', 'on', true), set_config('enable_mergejoin', 'on', true)`)
	}
}

// serviceRef is a service to change, with its POP and account.
type serviceRef struct {
	id      int64
	pop     string
	account int64
}

// accountServices locks and returns the services of accounts whose desired
// state is not state, ordered by POP and id. A change of tx waiting for
// commit (setDesiredStates) counts as made.
func accountServices(ctx context.Context, tx pgx.Tx, accounts []int64, not billing.DesiredState) ([]serviceRef, error) {
	q := newServicesQuery(tx, accounts, not)
	rows, err := tx.Query(ctx, accountServicesSQL, q.args()...)
	if err != nil {
		return nil, err
	}
	return q.collect(rows)
}

// accountServicesSQL locks the services of accounts $1 whose desired state
// is not $2 or that have a change waiting for commit ($3). A service with a
// lifecycle hold (paused and suspended for it, or cancelled) is left out:
// the sweep and settlements leave it alone, so a payment or an exemption
// never gives a cancelled service back.
const accountServicesSQL = `SELECT id, pop_id, account_id, desired_state FROM services
	WHERE account_id = ANY($1) AND held = '' AND (desired_state <> $2 OR id = ANY($3)) ORDER BY id FOR UPDATE`

// servicesQuery is accountServicesSQL for accounts in tx.
type servicesQuery struct {
	accounts []int64
	not      billing.DesiredState
	pending  map[int64]billing.DesiredState
	ids      []int64
}

func newServicesQuery(tx pgx.Tx, accounts []int64, not billing.DesiredState) servicesQuery {
	q := servicesQuery{accounts: accounts, not: not, pending: map[int64]billing.DesiredState{}, ids: []int64{}}
	for _, c := range pendingChanges(tx, accounts) {
		q.pending[c.service] = c.state
		q.ids = append(q.ids, c.service)
	}
	return q
}

func (q servicesQuery) args() []any { return []any{q.accounts, q.not, q.ids} }

// collect reads accountServicesSQL's rows: the services whose desired
// state, counting changes waiting for commit, is not q.not, ordered by POP
// and id.
func (q servicesQuery) collect(rows pgx.Rows) ([]serviceRef, error) {
	var out []serviceRef
	var r serviceRef
	var state billing.DesiredState
	_, err := pgx.ForEachRow(rows, []any{&r.id, &r.pop, &r.account, &state}, func() error {
		if p, ok := q.pending[r.id]; ok {
			state = p
		}
		if state != q.not {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b serviceRef) int { return cmp.Or(cmp.Compare(a.pop, b.pop), cmp.Compare(a.id, b.id)) })
	return out, nil
}

// setDesiredStates changes the desired state of services (locked by the
// caller, see accountServices) in tx, a transaction of inTx: the changes
// are written at commit by the outbox writer (see outbox.go), each POP's
// revision counter advanced once by the number of its services, in POP
// order. reason gives each service's reason. Any other tx: errNotOutboxTx.
func setDesiredStates(ctx context.Context, tx pgx.Tx, svcs []serviceRef, state billing.DesiredState, reason func(serviceRef) string, actor string, at time.Time) error {
	if len(svcs) == 0 {
		return nil
	}
	cs := make([]stateChange, len(svcs))
	for i, s := range svcs {
		cs[i] = stateChange{service: s.id, pop: s.pop, account: s.account, state: state, reason: reason(s), actor: actor, at: at}
	}
	return changeStates(tx, cs, false)
}

// pgIntArray and pgTextArray format array literals (for passing arrays of
// arrays through unnest).
func pgIntArray(v []int64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func pgTextArray(v []string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(x) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// popLoads reads, per POP, its active services and the median of its daily
// suspensions over the 30 days before now (from the enforcement history;
// days without any count as zero). A suspension is a record in a state that
// loses service (billing.DesiredState.LosesService: suspended or
// throttled, spelled out to match enforcement_changes_suspensions_idx);
// the active records a profile change fans out are not, so a plan's speed
// change never inflates the median nor is held.
func popLoads(ctx context.Context, tx pgx.Tx, pops []string, now time.Time) (map[string]billing.POPLoad, error) {
	out := map[string]billing.POPLoad{}
	if len(pops) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT p,
			(SELECT count(*) FROM services s WHERE s.pop_id = p AND s.desired_state = 'active'),
			coalesce((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(c.n, 0))
				FROM generate_series(1, 30) AS g(day)
				LEFT JOIN (SELECT floor(extract(epoch FROM $2::timestamptz - e.created_at) / 86400)::int + 1 AS day, count(*) AS n
					FROM enforcement_changes e
					WHERE e.pop_id = p AND e.desired_state IN ('suspended', 'throttled') AND NOT e.removed
						AND e.created_at > $2::timestamptz - interval '30 days' AND e.created_at <= $2
					GROUP BY 1) c ON c.day = g.day), 0)
		FROM unnest($1::text[]) AS p`, pops, now)
	if err != nil {
		return nil, err
	}
	var l billing.POPLoad
	_, err = pgx.ForEachRow(rows, []any{&l.POP, &l.Active, &l.Median}, func() error { out[l.POP] = l; return nil })
	return out, err
}

// queueJournal queues on w one statement that posts journal transactions of
// distinct accounts (the pipelined form of postTx), after validating them.
func queueJournal(w *writeBatch, jts []billing.JournalTx, actor string) error {
	if len(jts) == 0 {
		return nil
	}
	n := len(jts)
	kinds, accounts, currencies, memos := make([]string, n), make([]int64, n), make([]string, n), make([]string, n)
	invoices, effective, posted, actors := make([]*int64, n), make([]pgtype.Date, n), make([]time.Time, n), make([]string, n)
	var eAccounts, eAmounts []int64
	var eNos []int16
	var eLedgers []string
	seen := map[int64]bool{}
	for i, jt := range jts {
		if err := jt.Validate(); err != nil {
			return err
		}
		if seen[jt.AccountID] {
			return fmt.Errorf("queueJournal: two transactions of account %d", jt.AccountID)
		}
		seen[jt.AccountID] = true
		kinds[i], accounts[i], currencies[i], memos[i] = string(jt.Kind), jt.AccountID, string(jt.Currency), jt.Memo
		invoices[i], effective[i], posted[i], actors[i] = jt.InvoiceID, pgDate(jt.EffectiveDate), jt.PostedAt, cmp.Or(jt.Actor, actor)
		for k, e := range jt.Entries {
			eAccounts, eNos, eLedgers, eAmounts = append(eAccounts, jt.AccountID), append(eNos, int16(k+1)), append(eLedgers, e.Ledger), append(eAmounts, e.Amount)
		}
	}
	// One INSERT for all entries: the balance trigger checks per statement.
	w.queue(rowsCheck(int64(len(eAccounts)), "post journal entries"), `WITH t AS (
			INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at, actor)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::date[], $7::timestamptz[], $12::text[])
			RETURNING id, account_id
		)
		INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT t.id, e.no, e.account_id, e.ledger, e.amount
		FROM unnest($8::bigint[], $9::smallint[], $10::text[], $11::bigint[]) AS e(account_id, no, ledger, amount)
			JOIN t ON t.account_id = e.account_id`,
		kinds, accounts, invoices, currencies, memos, effective, posted, eAccounts, eNos, eLedgers, eAmounts, actors)
	return nil
}

// settleTypeSQL reads an account's email address, name and type (the
// columns of accountTypeColumns).
const settleTypeSQL = `SELECT a.email, a.name, t.id, t.name, t.settings, t.created_at
	FROM accounts a JOIN account_types t ON t.id = a.account_type_id WHERE a.id = $1`

// settleStandingSQL is standingsSQL for one account ($1), without the
// horizon, which needs the type: every open invoice with money owed, each
// with whether a reminder about it was sent before $2. (A plan of index
// lookups, the same for every account.)
const settleStandingSQL = `SELECT a.id, a.number, a.currency, a.status, a.exempt, a.exempt_reason, a.promise_until,
		coalesce(o.ids, '{}'), coalesce(o.numbers, '{}'), coalesce(o.dues, '{}'), coalesce(o.remaining, '{}'), coalesce(o.reminded, '{}'),
		coalesce((SELECT sum(j.amount) FROM journal_entries j
			WHERE j.account_id = a.id AND j.ledger = 'accounts_receivable'), 0)::bigint,
		CASE WHEN o.ids IS NULL THEN 0 ELSE ` + creditSQL + ` END,
		a.status = 'delinquent' AND EXISTS (SELECT 1 FROM suspension_batch_items b WHERE b.account_id = a.id AND b.status = 'pending'),
		a.overrides,
		coalesce((SELECT sum(pa.amount) FROM payment_attempts pa WHERE pa.account_id = a.id AND pa.status = 'processing'), 0)::bigint
	FROM accounts a LEFT JOIN LATERAL (
		SELECT array_agg(i.id ORDER BY i.due_date, i.id) AS ids,
			array_agg(i.number ORDER BY i.due_date, i.id) AS numbers,
			array_agg(i.due_date ORDER BY i.due_date, i.id) AS dues,
			array_agg(i.total - i.paid ORDER BY i.due_date, i.id) AS remaining,
			array_agg(EXISTS (SELECT 1 FROM notices n WHERE n.kind = 'reminder' AND n.invoice_id = i.id
				AND n.status = 'sent' AND n.sent_at < $2) ORDER BY i.due_date, i.id) AS reminded
		FROM invoices i WHERE i.account_id = a.id AND i.status = 'open' AND i.paid < i.total
	) o ON true
	WHERE a.id = $1`

// settleTx plans and applies the settlement of one account after money
// moved (a payment, a credit, a reversal, a promise or an exemption; see
// [billing.PlanSettlement]) inside the transaction that moved it, which
// holds the account's row lock. actor is recorded with what it changes.
// It returns the database's error, or the plan's validation error
// (EINVALID) for a fee or notice the store cannot write.
//
// It takes two round trips: the reads (the account's type, its standing
// and its services that are not active, locked) pipelined in one, then the
// writes in another. Restored services' desired states are written at
// commit (see outbox.go).
func (db *DB) settleTx(ctx context.Context, tx pgx.Tx, accountID int64, cause billing.SettleCause, actor string, now time.Time) error {
	sq := newServicesQuery(tx, []int64{accountID}, billing.StateActive)
	var rb pgx.Batch
	rb.Queue(genericPlans)
	rb.Queue(settleTypeSQL, accountID)
	rb.Queue(settleStandingSQL, accountID, now)
	rb.Queue(accountServicesSQL, sq.args()...)
	rb.Queue(defaultPlans)
	br := tx.SendBatch(ctx, &rb)
	in := billing.SettleInput{Now: now, Cause: cause}
	var svcs []serviceRef
	var promise *time.Time
	var invIDs, remaining []int64
	var numbers []string
	var dues []time.Time
	var overrides []byte
	err := func() (err error) {
		if _, err := br.Exec(); err != nil {
			return err
		}
		if in.Type, err = scanAccountType(prefixedRow{br.QueryRow(), []any{&in.Contact.Email, &in.Contact.Name}}); err != nil {
			return err
		}
		s := &in.Standing
		if err := br.QueryRow().Scan(&s.AccountID, &s.Number, &s.Currency, &s.Status, &s.Exempt, &s.ExemptReason, &promise,
			&invIDs, &numbers, &dues, &remaining, &in.Reminded, &s.Balance, &s.Credit, &s.Held, &overrides, &s.Pending); err != nil {
			return err
		}
		if s.Overrides, err = scanOverrides(overrides); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		svcs, err = sq.collect(rows)
		return err
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	rule, loc, err := ruleOf(in.Type)
	if err != nil {
		return err
	}
	in.Rule, in.Today, in.Services = rule, billing.DateIn(now, loc), toCoreServices(svcs)
	if promise != nil {
		in.Standing.PromiseUntil = billing.DateOf(*promise)
	}
	in.Standing.Invoices = make([]billing.OwedInvoice, len(invIDs))
	for i := range invIDs {
		in.Standing.Invoices[i] = billing.OwedInvoice{ID: invIDs[i], Number: numbers[i], DueDate: billing.DateOf(dues[i]), Remaining: remaining[i]}
	}
	plan := billing.PlanSettlement(in)
	if plan.Empty() {
		return nil
	}
	if err := applyServiceChanges(ctx, tx, plan.ServiceChanges, actor, now); err != nil {
		return err
	}
	var w writeBatch
	var noticeIDs []int64
	w.queue(nil, genericPlans)
	if err := queueJournal(&w, plan.Fees, actor); err != nil {
		return err
	}
	if noticeIDs, err = reserveNoticeIDs(ctx, tx, len(plan.Notices)); err != nil {
		return err
	}
	if err := queueNoticeRows(&w, plan.Notices, noticeIDs, now); err != nil {
		return err
	}
	var statuses []billing.StatusChangePlan
	if plan.Status != nil {
		statuses = append(statuses, *plan.Status)
	}
	queueStatuses(&w, statuses, plan.MootHolds, actor, 0, now)
	w.queue(nil, defaultPlans)
	if err := w.run(ctx, tx, false); err != nil {
		return err
	}
	return db.insertNoticeJobs(ctx, tx, noticeIDs, false)
}

// genericPlans and defaultPlans frame a settlement's statements: each is a
// few index lookups whatever its parameters, and left to itself PostgreSQL
// plans several of them afresh on every call (their custom plans look
// cheaper than the generic one), which costs more than running them. The
// caller's statements after it plan as the session says.
const (
	genericPlans = `SET LOCAL plan_cache_mode = force_generic_plan`
	defaultPlans = `SET LOCAL plan_cache_mode = DEFAULT`
)

// prefixedRow scans its first columns into extra, the rest into Scan's
// destinations.
type prefixedRow struct {
	pgx.Row
	extra []any
}

func (r prefixedRow) Scan(dest ...any) error {
	return r.Row.Scan(append(r.extra[:len(r.extra):len(r.extra)], dest...)...)
}
