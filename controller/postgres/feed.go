package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

var _ billing.EnforcementFeed = (*DB)(nil)

// WithFeedPool gives the enforcement feed (Snapshot, ChangesSince,
// RecordReport: the push server's reads and the agents' reports) a pool of
// its own of maxConns connections to the same database, closed by Close.
// Without it they share the pool with the API, and under a burst of
// payments an agent's deltas and reports wait for connections behind the
// payments that produce them. Call it once, before the push server starts.
func (db *DB) WithFeedPool(ctx context.Context, maxConns int32) error {
	if db.feed != nil {
		return errors.New("the feed already has its own pool")
	}
	if maxConns < 1 {
		return fmt.Errorf("feed pool: %d connections", maxConns)
	}
	cfg := db.Pool.Config()
	cfg.MaxConns, cfg.MinConns = maxConns, 0
	// The feed's statements look rows up by POP and revision or service:
	// their generic plans are their custom ones, without planning each
	// time (ChangesSince's planning cost more than its run).
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("feed pool: %w", err)
	}
	db.feed = pool
	return nil
}

// feedPool is the feed's pool: its own (WithFeedPool) or the DB's.
func (db *DB) feedPool() *pgxpool.Pool {
	if db.feed != nil {
		return db.feed
	}
	return db.Pool
}

// learnedUsedSQL is the condition under which learned address l (a row of
// learned_addresses) goes on its service's binding, whose own addresses
// are the text[] expression addresses: the service has no address of its
// own of l's family (static IPv4 and a learned IPv6 prefix make a dual
// stack binding; a static address of a family wins over a learned one),
// and no other service holds an address overlapping l bound in a pool (a
// conflict: the learned address is left off and shown on the service,
// Service's LearnedConflicts). Expired leases are not in the table:
// recordLearned drops them by the controller's clock whenever the POP's
// agent reports (the feed has no clock of its own).
func learnedUsedSQL(addresses string) string {
	return `NOT EXISTS (SELECT 1 FROM unnest(` + addresses + `) own WHERE family(own::inet) = family(l.address))
		AND NOT EXISTS (SELECT 1 FROM address_assignments b WHERE b.released_at IS NULL AND b.service_id <> l.service_id AND b.address && l.address)`
}

// learnedText writes learned address l.address as a binding holds it: an
// address without its length, a prefix with it.
const learnedText = `CASE WHEN masklen(l.address) = CASE family(l.address) WHEN 4 THEN 32 ELSE 128 END THEN host(l.address) ELSE l.address::text END`

// bindingAddressesSQL is the addresses a binding sends its agent: the
// service's own (the column addresses), then the addresses its POP's agent
// learned it holds that learnedUsedSQL lets on (learned_addresses, written
// by RecordReport, which also writes the service a new revision when they
// change), an address without its length, a prefix with it.
func bindingAddressesSQL(addresses, serviceID string) string {
	return addresses + ` || coalesce((SELECT array_agg(` + learnedText + ` ORDER BY l.address) FROM learned_addresses l
		WHERE l.service_id = ` + serviceID + ` AND ` + learnedUsedSQL(addresses) + `), '{}')`
}

// Snapshot implements [billing.EnforcementFeed]. It reads in one
// repeatable-read transaction so the services match the revision.
func (db *DB) Snapshot(ctx context.Context, pop string) (int64, []billing.EnforcementChange, error) {
	var rev int64
	var out []billing.EnforcementChange
	err := pgx.BeginTxFunc(ctx, db.feedPool(), pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT revision FROM pops WHERE id = $1`, pop).Scan(&rev)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT revision, id, desired_state, state_reason,
				method, `+bindingAddressesSQL("s.addresses", "s.id")+`, radius_username, device, if_index, profile
			FROM services s WHERE pop_id = $1 AND NOT removed ORDER BY id`, pop)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (billing.EnforcementChange, error) {
			var c billing.EnforcementChange
			err := row.Scan(&c.Revision, &c.ServiceID, &c.DesiredState, &c.Reason,
				&c.Binding.Method, &c.Binding.Addresses, &c.Binding.RADIUSUsername, &c.Binding.Device, &c.Binding.IfIndex, &c.Profile)
			return c, err
		})
		return err
	})
	return rev, out, err
}

// changesSinceSQL reads POP $1's revision and compacted revision with, in
// the same statement (so the same snapshot), up to $3 changes after
// revision $2 unless $2 is behind the compacted history: one row with NULL
// change columns when there are none.
var changesSinceSQL = `SELECT p.revision, p.compacted_revision, e.revision, e.service_id, e.desired_state, e.reason,
		e.method, ` + bindingAddressesSQL("e.addresses", "e.service_id") + `, e.radius_username, e.device, e.if_index, e.removed, e.created_at, e.profile
	FROM pops p LEFT JOIN LATERAL (
		SELECT * FROM enforcement_changes e
		WHERE e.pop_id = p.id AND e.revision > $2 AND $2 >= p.compacted_revision
		ORDER BY e.revision LIMIT $3
	) e ON true
	WHERE p.id = $1`

// ChangesSince implements [billing.EnforcementFeed]. It is one statement,
// without a transaction: one round trip on a connection of the feed's
// pool (see WithFeedPool).
func (db *DB) ChangesSince(ctx context.Context, pop string, since int64, limit int) ([]billing.EnforcementChange, int64, bool, error) {
	rows, err := db.feedPool().Query(ctx, changesSinceSQL, pop, since, limit)
	if err != nil {
		return nil, 0, false, err
	}
	var latest, compacted int64
	var out []billing.EnforcementChange
	var (
		rev, service          *int64
		state, reason, method *string
		user, device          *string
		addresses             []string
		ifIndex               *int32
		removed               *bool
		at                    *time.Time
		profile               *billing.EdgeProfile
	)
	_, err = pgx.ForEachRow(rows, []any{&latest, &compacted, &rev, &service, &state, &reason, &method, &addresses, &user, &device,
		&ifIndex, &removed, &at, &profile}, func() error {
		if rev == nil {
			return nil
		}
		// Each row's profile is its own: pgx decodes JSON into the struct
		// a non-nil pointer points to, keeping fields the row omits.
		p := profile
		profile = nil
		out = append(out, billing.EnforcementChange{Revision: *rev, ServiceID: *service, DesiredState: billing.DesiredState(*state),
			Reason: *reason, Binding: billing.Binding{Method: *method, Addresses: slices.Clone(addresses), RADIUSUsername: *user, Device: *device,
				IfIndex: *ifIndex}, Profile: p, Removed: *removed, CommittedAt: *at})
		return nil
	})
	if err != nil {
		return nil, 0, false, err
	}
	needSnapshot := since > latest || since < compacted
	return out, latest, needSnapshot, nil
}

// RecordReport implements [billing.EnforcementFeed]. Its two statements go
// in one pipelined batch (one round trip), which PostgreSQL runs as one
// implicit transaction.
func (db *DB) RecordReport(ctx context.Context, r billing.AgentReport) error {
	var b pgx.Batch
	b.Queue(`INSERT INTO agents (pop_id, agent_id, version, applied_revision, connected_at, last_report_at)
		SELECT $1, $2, $3, $4, $5, $5 WHERE EXISTS (SELECT 1 FROM pops WHERE id = $1)
		ON CONFLICT (pop_id, agent_id) DO UPDATE SET version = EXCLUDED.version,
			applied_revision = GREATEST(agents.applied_revision, EXCLUDED.applied_revision),
			last_report_at = EXCLUDED.last_report_at`,
		r.POP, r.AgentID, r.Version, r.AppliedRevision, r.ReceivedAt)
	if n := len(r.Results); n > 0 {
		ids, revs := make([]int64, n), make([]int64, n)
		applied := make([]bool, n)
		errs, observed, pending, profiles := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		at := make([]time.Time, n)
		for i, res := range r.Results {
			ids[i], revs[i], applied[i], errs[i], pending[i] = res.ServiceID, res.Revision, res.Applied, res.Error, res.Pending
			observed[i], profiles[i] = string(res.ObservedState), res.ObservedProfile
			at[i] = res.ObservedAt
			if res.ObservedAt.IsZero() {
				at[i] = r.ReceivedAt
			}
		}
		// A result only confirms the service when it applied the revision
		// the service is at now (or a later one) and read back the desired
		// state; older results still update the error and observed state. A
		// pending result (applied, not yet reaching the subscriber) neither
		// confirms nor fails: it records its reason for its revision. An
		// agent without the service-profiles feature ($9 false) was sent a
		// throttled service as suspended: its suspended read-back is what it
		// was asked for, and is recorded as the throttled state it stands
		// for. observed_profile is what a shaping agent read back.
		b.Queue(`UPDATE services s SET
				confirmed_revision = CASE WHEN u.applied THEN GREATEST(s.confirmed_revision, u.rev) ELSE s.confirmed_revision END,
				observed_state = CASE WHEN NOT $9 AND u.observed = 'suspended' AND s.desired_state = 'throttled' THEN 'throttled'
					WHEN u.observed IN ('active', 'suspended', 'throttled') THEN u.observed ELSE s.observed_state END,
				observed_profile = CASE WHEN u.observed <> '' THEN u.profile ELSE s.observed_profile END,
				last_confirmed_at = CASE WHEN u.applied AND u.rev >= s.revision AND (u.observed = s.desired_state
						OR (NOT $9 AND u.observed = 'suspended' AND s.desired_state = 'throttled'))
					THEN u.at ELSE s.last_confirmed_at END,
				last_error = CASE WHEN u.applied OR u.pending <> '' THEN '' ELSE u.err END,
				pending_reason = u.pending,
				pending_revision = u.rev,
				last_result_at = u.at
			FROM unnest($2::bigint[], $3::bigint[], $4::boolean[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $10::text[])
				AS u(id, rev, applied, err, observed, at, pending, profile)
			WHERE s.id = u.id AND s.pop_id = $1`,
			r.POP, ids, revs, applied, errs, observed, at, pending, r.Shapes, profiles)
	}
	if err := db.feedPool().SendBatch(ctx, &b).Close(); err != nil {
		return err
	}
	return db.recordLearned(ctx, r)
}

// CompactEnforcementHistory forgets, POP by POP, the enforcement changes
// decided before cutoff, and records the highest forgotten revision as the
// POP's compacted revision: an agent that asks for changes since an older
// revision gets a snapshot instead (services hold every service's current
// desired state, so nothing is lost but history). It returns how many
// changes it removed.
func (db *DB) CompactEnforcementHistory(ctx context.Context, cutoff time.Time) (int64, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id FROM pops ORDER BY id`)
	if err != nil {
		return 0, err
	}
	pops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	var removed int64
	for _, pop := range pops {
		err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
			var upTo *int64
			if err := tx.QueryRow(ctx, `SELECT max(revision) FROM enforcement_changes WHERE pop_id = $1 AND created_at < $2`, pop, cutoff).Scan(&upTo); err != nil || upTo == nil {
				return err
			}
			// The POP row's lock orders this against writers taking revisions.
			if _, err := tx.Exec(ctx, `UPDATE pops SET compacted_revision = GREATEST(compacted_revision, $2) WHERE id = $1`, pop, *upTo); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `DELETE FROM enforcement_changes WHERE pop_id = $1 AND revision <= $2`, pop, *upTo)
			removed += tag.RowsAffected()
			return err
		})
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}
