package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// This file is the store's half of the deterministic simulation (the
// core's is controller/billing/sim_test.go): each seed drives a random
// sequence of business events through the real store on PostgreSQL,
// killing some operations' transactions at a chosen statement, and checks
// the money invariants in SQL after every step. A failing seed is printed
// with its event log and replays with TOLLGATE_SIM_SEED.

// storeSimSeeds and storeSimSteps size a run.
const (
	storeSimSeeds = 50
	storeSimSteps = 35
)

// killer cancels an operation's context when the operation is about to
// send its Nth statement (BEGIN and COMMIT included): the kill is a
// statement index, so a seed replays the same kill.
type killer struct {
	mu     sync.Mutex
	armed  bool
	left   int
	cancel context.CancelFunc
	killed bool
}

func (k *killer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.armed {
		if k.left == 0 {
			k.cancel()
			k.armed, k.killed = false, true
		} else {
			k.left--
		}
	}
	return ctx
}

func (k *killer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// arm makes the operation run with ctx die at its statement n (n < 0:
// never) and returns ctx and a function reporting whether it was killed.
func (k *killer) arm(n int) (context.Context, func() bool) {
	ctx, cancel := context.WithCancel(context.Background())
	k.mu.Lock()
	k.armed, k.left, k.cancel, k.killed = n >= 0, n, cancel, false
	k.mu.Unlock()
	return ctx, func() bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.armed = false
		cancel()
		return k.killed
	}
}

type storeSim struct {
	r        *rand.Rand
	db       *postgres.DB
	kill     *killer
	typ      billing.AccountType
	accounts []billing.Account
	services []int64
	plans    []int64
	today    billing.Date
	now      time.Time
	log      []string
	seed     uint64
}

func (s *storeSim) logf(format string, args ...any) {
	s.log = append(s.log, s.today.String()+" "+fmt.Sprintf(format, args...))
}

// storeSimDB opens a DB on a fresh database whose pool runs every
// statement through the returned killer.
func storeSimDB(t *testing.T) (*postgres.DB, *killer) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	k := &killer{}
	cfg.ConnConfig.Tracer = k
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &postgres.DB{Pool: pool}, k
}

// newStoreSim sets up one seed's account type, plan and accounts (each
// with one service) on db.
func newStoreSim(ctx context.Context, db *postgres.DB, k *killer, seed uint64) (*storeSim, error) {
	r := rand.New(rand.NewPCG(seed, 0x5707e))
	s := &storeSim{r: r, db: db, kill: k, seed: seed}
	s.today = billing.NewDate(2026, time.January, 1).AddDays(r.IntN(700))
	s.now = time.Date(s.today.Year, s.today.Month, s.today.Day, 10, 0, 0, 0, chicago)
	t := billing.AccountType{Name: fmt.Sprintf("sim-%d", seed), BillingMode: billing.BillingFixedDay, BillingDay: 1 + r.IntN(28),
		InvoiceLeadDays: r.IntN(6), DueDays: 7 + r.IntN(8), GraceDays: r.IntN(6), TimeZone: "America/Chicago",
		MinDelinquentBalance: []int64{0, 100}[r.IntN(2)], AutoSuspend: r.IntN(10) != 0,
		ReconnectionFee:  []int64{0, 2500}[r.IntN(2)],
		ReactivationRule: []billing.ReactivationRule{billing.ReactivatePastDue, billing.ReactivateFullBalance}[r.IntN(2)],
		LateFee: []billing.LateFee{{Kind: billing.LateFeeNone}, {Kind: billing.LateFeeFlat, Amount: 500, AfterDays: r.IntN(5)},
			{Kind: billing.LateFeePercent, Percent: "1.5"}}[r.IntN(3)]}
	if r.IntN(2) == 0 {
		t.DelinquencyWeekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
		t.HolidayCalendars = []string{"US"}
	}
	if r.IntN(3) == 0 {
		t.ReminderDaysBefore = []int{3, 1}
	}
	t.Lifecycle = billing.LifecyclePolicy{
		PlanChangeTiming: []billing.PlanChangeTiming{billing.PlanChangeAsRequested, billing.PlanChangeUpgradesNow}[r.IntN(2)],
		ChangeInvoicing:  []billing.ChangeInvoicing{billing.InvoiceOnNext, billing.InvoiceImmediately}[r.IntN(2)],
		PauseHoldFee:     []int64{0, 300}[r.IntN(2)], SuspendWhilePaused: r.IntN(2) == 0,
		OnCancel: []billing.OnCancel{billing.CancelKeepSuspended, billing.CancelRemove}[r.IntN(2)]}
	var err error
	if s.typ, err = db.CreateAccountType(ctx, t, s.now); err != nil {
		return nil, fmt.Errorf("account type %+v: %w", t, err)
	}
	var plan billing.Plan
	for i := range 3 {
		p, err := db.CreatePlan(ctx, billing.Plan{Name: fmt.Sprintf("sim-%d-%d", seed, i), Price: 1000 + r.Int64N(9000), Currency: "USD", Interval: billing.IntervalMonthly}, s.now)
		if err != nil {
			return nil, err
		}
		s.plans = append(s.plans, p.ID)
		if i == 0 {
			plan = p
		}
	}
	for i := range 1 + r.IntN(3) {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sim", Email: "sim@example.net", AccountTypeID: s.typ.ID,
			Currency: "USD", ExternalID: fmt.Sprintf("sim-%d-%d", seed, i)}, s.now)
		if err != nil {
			return nil, err
		}
		aid, pid := a.ID, plan.ID
		svc, err := db.CreateService(ctx, billing.NewService{POP: "pop-sim", Binding: billing.Binding{Method: "log"},
			AccountID: &aid, PlanID: &pid, StartDate: s.today.AddDays(r.IntN(5))}, "sim", s.now)
		if err != nil {
			return nil, err
		}
		s.services = append(s.services, svc.ID)
		s.accounts = append(s.accounts, a)
	}
	s.logf("type %+v; %d accounts from %d", s.typ, len(s.accounts), s.accounts[0].ID)
	return s, nil
}

func (s *storeSim) accountIDs() []int64 {
	ids := make([]int64, len(s.accounts))
	for i, a := range s.accounts {
		ids[i] = a.ID
	}
	return ids
}

func (s *storeSim) account() billing.Account { return s.accounts[s.r.IntN(len(s.accounts))] }

// pick is a random id the query (with $1 the seed's account ids) returns;
// 0 if none.
func (s *storeSim) pick(ctx context.Context, sql string) (int64, error) {
	rows, err := s.db.Pool.Query(ctx, sql, s.accountIDs())
	if err != nil {
		return 0, err
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(got) == 0 {
		return 0, err
	}
	return got[s.r.IntN(len(got))], nil
}

// step runs one random event, killed at a random statement in about a
// third of the steps. A killed event may fail with any error; one not
// killed only with a business error (EINVALID, ECONFLICT, ENOTFOUND).
func (s *storeSim) step() error {
	bg := context.Background()
	killAt := -1
	if s.r.IntN(3) == 0 {
		killAt = s.r.IntN(12)
	}
	var name string
	var op func(ctx context.Context) error
	switch n := s.r.IntN(115); {
	case n >= 100:
		name, op = s.lifecycleOp(n - 100)
		if op == nil {
			return nil
		}
	case n < 25:
		d := 3 + s.r.IntN(12)
		s.today = s.today.AddDays(d)
		s.now = time.Date(s.today.Year, s.today.Month, s.today.Day, 10, 0, 0, 0, chicago)
		s.logf("-- day advances %d", d)
		_, err := s.db.ApplyDueEnforcement(bg, s.now)
		return err
	case n < 33:
		name = "billing run"
		op = func(ctx context.Context) error {
			var run billing.BillingRun
			err := pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
				var err error
				run, _, err = postgres.CreateBillingRunTx(ctx, tx, s.typ.ID, s.today, billing.TriggerOnDemand, "sim", 2, s.now)
				return err
			})
			for b := 0; err == nil && b < run.TotalBatches; b++ {
				_, err = s.db.RunBillingBatch(ctx, run.ID, b, s.now)
			}
			return err
		}
	case n < 47:
		name = "sweep"
		op = func(ctx context.Context) error {
			_, err := s.db.Sweep(ctx, billing.SweepRequest{AccountTypeID: s.typ.ID, Trigger: billing.SweepManual, Actor: "sim",
				Guard: billing.SuspensionGuard{Disabled: true}}, s.now)
			return err
		}
	case n < 56:
		a, amt := s.account(), 1+s.r.Int64N(6000)
		method := []billing.PaymentMethod{billing.PayCheck, billing.PayCash, billing.PayWire, billing.PayCard}[s.r.IntN(4)]
		name = fmt.Sprintf("payment of %d by %s to account %d", amt, method, a.ID)
		op = func(ctx context.Context) error {
			_, err := s.db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: method, Amount: amt, Reference: "1001"}, "sim", s.now)
			return err
		}
	case n < 67:
		lines := []billing.BatchLine{}
		for range 2 + s.r.IntN(3) {
			lines = append(lines, billing.BatchLine{Account: s.account().Number, Method: billing.PayCheck, Amount: 1 + s.r.Int64N(6000), Reference: "77"})
		}
		name = fmt.Sprintf("batch of %v", lines)
		op = func(ctx context.Context) error {
			b, err := s.db.CreateBatch(ctx, billing.NewBatch{DepositDate: s.today, DepositAccount: "bank", Memo: "sim"}, "sim", s.now)
			if err == nil {
				_, err = s.db.AddBatchLines(ctx, b.ID, lines)
			}
			if err == nil {
				_, err = s.db.PostBatch(ctx, b.ID, "sim", s.now)
			}
			return err
		}
	case n < 74:
		id, err := s.pick(bg, `SELECT id FROM payments WHERE account_id = ANY($1) AND status = 'posted' AND refunded = 0 ORDER BY id`)
		if err != nil || id == 0 {
			return err
		}
		fee := []int64{0, 1500}[s.r.IntN(2)]
		name = fmt.Sprintf("reversal of payment %d (fee %d)", id, fee)
		op = func(ctx context.Context) error {
			_, err := s.db.ReversePayment(ctx, id, billing.Reversal{Reason: billing.ReverseNSF, Fee: fee}, "sim", s.now)
			return err
		}
	case n < 78:
		id, err := s.pick(bg, `SELECT id FROM payments WHERE account_id = ANY($1) AND status = 'posted' AND method IN ('check', 'cash', 'wire')
			AND allocated + refunded + refund_reserved < amount ORDER BY id`)
		if err != nil || id == 0 {
			return err
		}
		amt := 1 + s.r.Int64N(3000)
		name = fmt.Sprintf("refund of %d of payment %d", amt, id)
		op = func(ctx context.Context) error {
			_, err := s.db.RefundPayment(ctx, id, amt, "sim", "sim", s.now)
			return err
		}
	case n < 84:
		a, amt := s.account(), 1+s.r.Int64N(3000)
		name = fmt.Sprintf("credit of %d to account %d", amt, a.ID)
		op = func(ctx context.Context) error {
			_, err := s.db.PostCredit(ctx, a.ID, amt, "sim credit", s.today, "user:sim", s.now)
			return err
		}
	case n < 90:
		name = "late fees"
		op = func(ctx context.Context) error {
			_, err := s.db.ChargeLateFees(ctx, s.typ.ID, s.today, s.now)
			return err
		}
	case n < 95:
		a, until := s.account(), s.today.AddDays(s.r.IntN(10))
		name = fmt.Sprintf("promise to pay by %s on account %d", until, a.ID)
		op = func(ctx context.Context) error {
			_, err := s.db.SetPromise(ctx, a.ID, until, "sim", "sim", s.now)
			return err
		}
	default:
		a, exempt := s.account(), s.r.IntN(2) == 0
		name = fmt.Sprintf("account %d exempt=%v", a.ID, exempt)
		op = func(ctx context.Context) error {
			_, err := s.db.SetExempt(ctx, a.ID, exempt, "sim", "sim", s.now)
			return err
		}
	}
	ctx, killed := s.kill.arm(killAt)
	err := op(ctx)
	wasKilled := killed()
	switch {
	case wasKilled:
		s.logf("%s — killed at statement %d: %v", name, killAt, err)
	case err != nil:
		s.logf("%s: %v", name, err)
		if c := billing.ErrorCode(err); c != billing.EINVALID && c != billing.ECONFLICT && c != billing.ENOTFOUND {
			return fmt.Errorf("%s failed without being killed: %w", name, err)
		}
	default:
		s.logf("%s", name)
	}
	if strings.HasPrefix(name, "sweep") && err == nil {
		// Every status agrees with the type's rules today: a second
		// sweep (a dry run) finds nothing to change.
		res, err := s.db.Sweep(bg, billing.SweepRequest{AccountTypeID: s.typ.ID, Trigger: billing.SweepManual, Actor: "sim", DryRun: true,
			Guard: billing.SuspensionGuard{Disabled: true}}, s.now)
		if err != nil {
			return err
		}
		if res.StatusChanges != 0 || res.Suspended != 0 || res.Restored != 0 {
			return fmt.Errorf("right after a sweep, a dry run would still change %d statuses, suspend %d and restore %d accounts",
				res.StatusChanges, res.Suspended, res.Restored)
		}
	}
	return nil
}

// lifecycleOp is a random lifecycle operation on one of the seed's
// services (or payments): a plan or quantity change, a cancel, a pause,
// a reallocation; nil when there is nothing to do.
func (s *storeSim) lifecycleOp(k int) (string, func(ctx context.Context) error) {
	i := s.r.IntN(len(s.services))
	id := s.services[i]
	lc := billing.LifecycleContext{Now: s.now, Actor: "sim"}
	switch {
	case k < 6:
		req := billing.ServiceChangeRequest{Context: lc}
		if k < 4 {
			req.NewPlan.ID = s.plans[s.r.IntN(len(s.plans))]
		} else {
			req.NewQuantity = 1 + s.r.Int64N(3)
		}
		switch s.r.IntN(3) {
		case 0:
			req.EffectiveDate = s.today.AddDays(s.r.IntN(40))
		case 1:
			req.AtNextPeriod = true
		}
		return fmt.Sprintf("change of service %d to plan %d × %d from %s (next period %v)", id, req.NewPlan.ID, req.NewQuantity, req.EffectiveDate, req.AtNextPeriod),
			func(ctx context.Context) error {
				_, err := s.db.ChangeService(ctx, id, 0, req, false)
				return err
			}
	case k < 8:
		req := billing.CancelRequest{Context: lc}
		switch s.r.IntN(3) {
		case 0:
			req.Date = s.today.AddDays(s.r.IntN(40))
		case 1:
			req.EndOfPeriod = true
		}
		return fmt.Sprintf("cancel of service %d from %s (end of period %v)", id, req.Date, req.EndOfPeriod), func(ctx context.Context) error {
			_, err := s.db.CancelService(ctx, id, 0, req, false)
			return err
		}
	case k < 11:
		from := s.today.AddDays(s.r.IntN(10))
		to := from.AddDays(1 + s.r.IntN(40))
		return fmt.Sprintf("pause of service %d from %s to %s", id, from, to), func(ctx context.Context) error {
			_, err := s.db.PauseService(ctx, id, 0, billing.PauseRequest{Context: lc, From: from, To: to}, false)
			return err
		}
	default:
		var pay, from, to, most int64
		err := s.db.Pool.QueryRow(context.Background(), `SELECT a.payment_id, a.invoice_id, i.id, least(a.amount, i.total - i.paid)
			FROM payment_allocations a
			JOIN payments p ON p.id = a.payment_id JOIN invoices i ON i.account_id = p.account_id AND i.id <> a.invoice_id
			WHERE p.account_id = ANY($1) AND p.status = 'posted' AND i.status = 'open' AND i.paid < i.total AND a.amount > 0
			ORDER BY a.payment_id, a.invoice_id, i.id OFFSET $2 LIMIT 1`, s.accountIDs(), s.r.IntN(4)).Scan(&pay, &from, &to, &most)
		if err != nil {
			return "", nil
		}
		amt := 1 + s.r.Int64N(most)
		r := billing.Reallocation{From: strconv.FormatInt(from, 10), To: strconv.FormatInt(to, 10), Amount: amt}
		return fmt.Sprintf("reallocation %+v of payment %d", r, pay), func(ctx context.Context) error {
			_, err := s.db.ReallocatePayment(ctx, pay, r, "sim", s.now)
			return err
		}
	}
}

// storeInvariantsSQL lists the first broken invariant of each kind, if
// any, among the accounts $1.
const storeInvariantsSQL = `
	(SELECT 'journal transaction ' || tx_id || ' sums to ' || sum(amount) FROM journal_entries WHERE account_id = ANY($1) GROUP BY tx_id HAVING sum(amount) <> 0 LIMIT 1)
	UNION ALL
	(SELECT 'journal transaction ' || t.id || ' has no entries' FROM journal_transactions t
	 WHERE t.account_id = ANY($1) AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.tx_id = t.id) LIMIT 1)
	UNION ALL
	(SELECT 'payment ' || p.id || ': allocated ' || p.allocated || ', refunded ' || p.refunded || ', reserved ' || p.refund_reserved ||
		' of ' || p.amount || ' (' || p.status || '), its allocations sum to ' || coalesce(a.sum, 0)
	 FROM payments p LEFT JOIN (SELECT payment_id, sum(amount) FROM payment_allocations GROUP BY payment_id) a ON a.payment_id = p.id
	 WHERE p.account_id = ANY($1) AND (p.allocated <> coalesce(a.sum, 0) OR p.allocated + p.refunded + p.refund_reserved > p.amount
		OR (p.status = 'reversed' AND p.allocated <> 0)) LIMIT 1)
	UNION ALL
	(SELECT 'invoice ' || i.number || ' (' || i.status || '): paid ' || i.paid || ' of ' || i.total || ', its allocations sum to ' || coalesce(a.sum, 0)
	 FROM invoices i LEFT JOIN (SELECT invoice_id, sum(amount) FROM (
			SELECT invoice_id, amount FROM payment_allocations
			UNION ALL SELECT invoice_id, amount FROM credit_note_allocations
			UNION ALL SELECT credit_note_id, -amount FROM credit_note_allocations) x GROUP BY invoice_id) a ON a.invoice_id = i.id
	 WHERE i.account_id = ANY($1) AND (i.paid <> coalesce(a.sum, 0) OR i.paid > greatest(i.total, 0) OR i.paid < least(i.total, 0)
		OR (i.total <> 0 AND (i.status = 'paid') <> (i.paid = i.total AND i.status <> 'void'))) LIMIT 1)
	UNION ALL
	(SELECT 'account ' || a.account_id || ' invoiced twice for days of ' || a.period_start || '..' || a.period_end || ': ' || a.number || ' and ' || b.number
	 FROM invoices a JOIN invoices b ON a.account_id = b.account_id AND a.id < b.id AND a.status <> 'void' AND b.status <> 'void'
		AND a.kind = 'regular' AND b.kind = 'regular'
		AND a.period_start < b.period_end AND b.period_start < a.period_end WHERE a.account_id = ANY($1) LIMIT 1)
	UNION ALL
	(SELECT 'account ' || a.id || ': its ' || k.kind || ' entries on accounts_receivable sum to ' || coalesce(k.ledger, 0) ||
		', its records say ' || coalesce(k.records, 0)
	 FROM accounts a CROSS JOIN LATERAL (VALUES
		('invoice_issued', (SELECT sum(e.amount) FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id
			WHERE t.account_id = a.id AND t.kind = 'invoice_issued' AND e.ledger = 'accounts_receivable'),
			(SELECT sum(total) FROM invoices WHERE account_id = a.id)),
		('payment_posted', (SELECT -sum(e.amount) FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id
			WHERE t.account_id = a.id AND t.kind = 'payment_posted' AND e.ledger = 'accounts_receivable'),
			(SELECT sum(amount) FROM payments WHERE account_id = a.id)),
		('payment_reversed', (SELECT sum(e.amount) FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id
			WHERE t.account_id = a.id AND t.kind = 'payment_reversed' AND e.ledger = 'accounts_receivable'),
			(SELECT sum(amount) FROM payments WHERE account_id = a.id AND status = 'reversed')),
		('refund', (SELECT sum(e.amount) FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id
			WHERE t.account_id = a.id AND t.kind = 'refund' AND e.ledger = 'accounts_receivable'),
			(SELECT sum(refunded) FROM payments WHERE account_id = a.id))
	 ) k(kind, ledger, records)
	 WHERE a.id = ANY($1) AND coalesce(k.ledger, 0) <> coalesce(k.records, 0) LIMIT 1)
	UNION ALL
	(SELECT 'account ' || a.id || ' is ' || a.status || ' but its service ' || s.id || ' is ' || s.desired_state
	 FROM accounts a JOIN services s ON s.account_id = a.id
	 WHERE a.id = ANY($1) AND a.status <> 'closed' AND s.held = '' AND NOT s.removed AND (a.status = 'suspended') <> (s.desired_state = 'suspended') LIMIT 1)
	UNION ALL
	(SELECT 'service ' || s.id || ', held ' || s.held || ', is ' || s.desired_state || ': the sweep and settlements leave a held service alone'
	 FROM services s JOIN accounts a ON a.id = s.account_id JOIN account_types t ON t.id = a.account_type_id
	 WHERE s.account_id = ANY($1) AND NOT s.removed AND s.desired_state <> 'suspended'
		AND (s.held = 'cancelled' OR s.held = 'paused' AND coalesce((t.settings -> 'lifecycle' ->> 'suspend_while_paused')::boolean, false)) LIMIT 1)
	UNION ALL
	(SELECT 'service ' || a.service_id || ' invoiced twice for days ' || b.from_date || '..' || least(a.to_date, b.to_date)
	 FROM service_billed_spans a JOIN service_billed_spans b ON a.service_id = b.service_id AND a.from_date < b.from_date AND b.from_date < a.to_date
	 JOIN services s ON s.id = a.service_id WHERE s.account_id = ANY($1) LIMIT 1)
	UNION ALL
	(SELECT 'service ' || s.id || ' invoiced for ' || b.from_date || '..' || b.to_date || ', after its end ' || s.end_date || ' (cancelled)'
	 FROM services s JOIN service_billed_spans b ON b.service_id = s.id
	 WHERE s.account_id = ANY($1) AND s.end_date IS NOT NULL AND b.to_date > s.end_date LIMIT 1)
	UNION ALL
	(SELECT 'service ' || s.id || ' charged the plan for paused days ' || greatest(b.from_date, p.from_date) || '..' || least(b.to_date, p.to_date)
	 FROM services s JOIN LATERAL (SELECT s.pause_from AS from_date, s.pause_to AS to_date WHERE s.pause_from IS NOT NULL
		UNION ALL SELECT from_date, to_date FROM service_pauses WHERE service_id = s.id) p ON true
	 JOIN service_billed_spans b ON b.service_id = s.id
	 WHERE s.account_id = ANY($1) AND NOT b.hold AND b.from_date < p.to_date AND p.from_date < b.to_date LIMIT 1)
	UNION ALL
	(SELECT 'payment ' || coalesce(a.payment_id, e.payment_id) || ' on invoice ' || coalesce(a.invoice_id, e.invoice_id) || ': allocation ' ||
		coalesce(a.amount, 0) || ', its allocation events sum to ' || coalesce(e.sum, 0)
	 FROM (SELECT * FROM payment_allocations WHERE payment_id IN (SELECT id FROM payments WHERE account_id = ANY($1))) a
	 FULL JOIN (SELECT payment_id, invoice_id, sum(amount) FROM allocation_events
		WHERE payment_id IN (SELECT id FROM payments WHERE account_id = ANY($1)) GROUP BY payment_id, invoice_id) e
		ON a.payment_id = e.payment_id AND a.invoice_id = e.invoice_id
	 WHERE coalesce(a.amount, 0) <> coalesce(e.sum, 0) LIMIT 1)
	UNION ALL
	(SELECT 'account ' || account_id || ' suspended by ' || cause || ': only a sweep or an approval suspends'
	 FROM account_status_changes WHERE account_id = ANY($1) AND to_status = 'suspended' AND from_status <> 'suspended'
		AND cause NOT IN ('sweep', 'approval') LIMIT 1)
	UNION ALL
	(SELECT 'account ' || account_id || ' status change ' || id || ' from ' || from_status || ', but it was ' || prev
	 FROM (SELECT *, lag(to_status) OVER (PARTITION BY account_id ORDER BY id) AS prev FROM account_status_changes WHERE account_id = ANY($1)) c
	 WHERE prev IS NOT NULL AND prev <> from_status LIMIT 1)
	UNION ALL
	(SELECT 'account ' || a.id || ' is ' || a.status || ', its last status change says ' || c.to_status
	 FROM accounts a JOIN LATERAL (SELECT to_status FROM account_status_changes WHERE account_id = a.id ORDER BY id DESC LIMIT 1) c ON true
	 WHERE a.id = ANY($1) AND c.to_status <> a.status LIMIT 1)`

// restoresSQL reads, for the restores among status changes after $1,
// what the reactivation rule weighs at $2 (the day) — minus the
// reconnection fee the restore itself charged at $3 — and the account's
// credit (credits and unallocated payments), which pays the oldest
// invoices first.
const restoresSQL = `SELECT c.id, c.account_id, c.cause, a.exempt, coalesce(a.promise_until >= $2::date, false),
		(SELECT coalesce(sum(amount), 0) FROM journal_entries WHERE account_id = a.id AND ledger = 'accounts_receivable')
		- (SELECT coalesce(sum(e.amount), 0) FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id
			WHERE t.account_id = a.id AND t.kind = 'fee' AND t.invoice_id IS NULL AND t.memo LIKE '%reconnection%'
			AND t.posted_at = $3 AND e.ledger = 'accounts_receivable'),
		(SELECT coalesce(sum(total - paid), 0) FROM invoices WHERE account_id = a.id AND status = 'open'
			AND (due_date < $2::date OR delinquency_date <= $2::date)),
		(SELECT coalesce(-sum(e.amount), 0) FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id
			WHERE t.account_id = a.id AND t.kind = 'credit' AND e.ledger = 'accounts_receivable')
		+ (SELECT coalesce(sum(amount - refunded - refund_reserved - allocated), 0) FROM payments WHERE account_id = a.id AND status = 'posted')
	FROM account_status_changes c JOIN accounts a ON a.id = c.account_id
	WHERE c.id > $1 AND c.from_status = 'suspended' AND c.to_status <> 'suspended' ORDER BY c.id`

// check checks the invariants; lastChange is the last status change
// already checked, and is advanced.
func (s *storeSim) check(lastChange *int64) error {
	ctx := context.Background()
	rows, err := s.db.Pool.Query(ctx, storeInvariantsSQL, s.accountIDs())
	if err != nil {
		return err
	}
	broken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(broken) > 0 {
		return errors.New(strings.Join(broken, "; "))
	}
	for _, a := range s.accounts {
		bal, err := s.db.Balance(ctx, a.ID)
		if err != nil {
			return err
		}
		var entries int64
		if err := s.db.Pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM journal_entries WHERE account_id = $1 AND ledger = 'accounts_receivable'`, a.ID).Scan(&entries); err != nil {
			return err
		}
		if bal != entries {
			return fmt.Errorf("account %d balance %d, its receivable entries sum to %d", a.ID, bal, entries)
		}
	}
	rows, err = s.db.Pool.Query(ctx, restoresSQL, *lastChange, s.today.String(), s.now)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, account, balance, pastDue, credit int64
		var cause string
		var exempt, promised bool
		if err := rows.Scan(&id, &account, &cause, &exempt, &promised, &balance, &pastDue, &credit); err != nil {
			return err
		}
		met := min(max(pastDue-credit, 0), max(balance, 0)) < max(1, s.typ.MinDelinquentBalance)
		if s.typ.ReactivationRule == billing.ReactivateFullBalance {
			met = balance <= 0
		}
		if !met && !exempt && !promised {
			return fmt.Errorf("account %d restored (status change %d, %s) with balance %d, past due %d: the %s reactivation rule is not met",
				account, id, cause, balance, pastDue, s.typ.ReactivationRule)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return s.db.Pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM account_status_changes`).Scan(lastChange)
}

// TestStoreSimulation drives storeSimSeeds random sequences of business
// events through the store on PostgreSQL, killing about a third of them at
// a random statement, and checks the money invariants in SQL after every
// step. Replay a failing seed with
// TOLLGATE_SIM_SEED=<seed> go test -run '^TestStoreSimulation$' ./controller/postgres/
func TestStoreSimulation(t *testing.T) {
	t.Parallel()
	db, k := storeSimDB(t)
	seeds := make([]uint64, storeSimSeeds)
	base := uint64(time.Now().UnixNano())
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	if v := os.Getenv("TOLLGATE_SIM_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("TOLLGATE_SIM_SEED=%q is not an unsigned integer", v)
		}
		seeds = []uint64{seed}
	}
	var lastChange int64
	killed := 0
	for i, seed := range seeds {
		if i%10 == 0 {
			t.Logf("%s: seed %d of %d", time.Now().Format("15:04:05.000"), i, len(seeds))
		}
		s, err := newStoreSim(context.Background(), db, k, seed)
		if err != nil {
			t.Fatalf("seed %d: setting up: %v", seed, err)
		}
		for step := range storeSimSteps {
			err := s.step()
			if err == nil {
				err = s.check(&lastChange)
			}
			if err != nil {
				t.Fatalf("seed %d, step %d: %v\nevent log:\n  %s\nreplay with TOLLGATE_SIM_SEED=%d go test -run '^TestStoreSimulation$' ./controller/postgres/",
					seed, step, err, strings.Join(s.log, "\n  "), seed)
			}
		}
		for _, l := range s.log {
			if strings.Contains(l, "— killed") {
				killed++
			}
		}
	}
	var suspensions, restores int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE to_status = 'suspended' AND from_status <> 'suspended'),
		count(*) FILTER (WHERE from_status = 'suspended' AND to_status <> 'suspended') FROM account_status_changes`).Scan(&suspensions, &restores); err != nil {
		t.Fatal(err)
	}
	var lifecycle, moved int
	if err := db.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM audit_log WHERE entity = 'service'),
		(SELECT count(*) FROM allocation_events WHERE kind = 'reallocated')`).Scan(&lifecycle, &moved); err != nil {
		t.Fatal(err)
	}
	if len(seeds) == storeSimSeeds && (killed == 0 || suspensions == 0 || restores == 0 || lifecycle < storeSimSeeds/2) {
		t.Fatalf("%d seeds killed %d transactions, suspended %d and restored %d accounts, changed %d services: the generator no longer exercises the rules",
			len(seeds), killed, suspensions, restores, lifecycle)
	}
	t.Logf("%d seeds of %d events passed: %d operations killed, %d suspensions, %d restores, %d service lifecycle changes, %d reallocation events (first seed %d)",
		len(seeds), storeSimSteps, killed, suspensions, restores, lifecycle, moved, seeds[0])
}

// TestStoreSimulationInvariantsBite breaks what the store wrote, one rule
// at a time, behind its back, and asserts the SQL invariants name the
// break: a payment allocated twice, an invoice issued twice for a period, a
// suspension without a sweep behind it, a service invoiced after its end, a
// held (cancelled) service given back.
func TestStoreSimulationInvariantsBite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, k := storeSimDB(t)
	for _, tc := range []struct {
		name, sql, want string
	}{
		{"double allocation", `INSERT INTO payment_allocations (payment_id, invoice_id, amount)
			SELECT p.id, i.id, p.amount FROM payments p, invoices i WHERE p.account_id = $1 AND i.account_id = $1
			ON CONFLICT (payment_id, invoice_id) DO UPDATE SET amount = payment_allocations.amount * 2`, "its allocations sum to"},
		{"invoice twice", `INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, created_at)
			SELECT nextval('invoices_id_seq'), number || '-again', account_id, period_start + 1, period_end, issue_date, due_date, delinquency_date, currency, subtotal, tax, total, created_at
			FROM invoices WHERE account_id = $1`, "invoiced twice"},
		{"suspension without cause", `INSERT INTO account_status_changes (account_id, from_status, to_status, cause, at)
			SELECT id, status, 'suspended', 'payment', now() FROM accounts WHERE id = $1`, "only a sweep or an approval suspends"},
		{"invoiced after the end", `UPDATE services SET end_date = start_date + 1 WHERE account_id = $1`, "after its end"},
		{"held service restored", `UPDATE services SET held = 'cancelled', desired_state = 'active' WHERE account_id = $1`, "leave a held service alone"},
	} {
		s, err := newStoreSim(ctx, db, k, uint64(len(tc.name)))
		if err != nil {
			t.Fatal(err)
		}
		a := s.accounts[0]
		// An invoice and a payment to break.
		s.today = s.today.AddDays(40)
		s.now = s.now.AddDate(0, 0, 40)
		runBilling(t, db, s.typ.ID, s.today, 100)
		if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 100}, "sim", s.now); err != nil {
			t.Fatal(err)
		}
		var last int64
		if err := s.check(&last); err != nil {
			t.Fatalf("%s: before the break: %v", tc.name, err)
		}
		if _, err := db.Pool.Exec(ctx, tc.sql, a.ID); err != nil {
			t.Fatalf("%s: breaking: %v", tc.name, err)
		}
		if err := s.check(&last); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: invariants say %v, want %q", tc.name, err, tc.want)
		}
	}
}
