package postgres

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// recordLearned stores the addresses an agent's report says its services
// hold (learned_addresses), in one transaction: the POP's addresses
// learned from a complete source are replaced, others added, and those
// whose lease ended (expires_at at or before the report's ReceivedAt, the
// controller's clock at receipt) are dropped, reported or not. A service
// at the POP whose binding's learned addresses (learnedUsedSQL: of a
// family it has no address of, held by no other service in a pool)
// changed gets its current desired state again at the POP's next
// revision, through the one outbox writer: the binding the agent receives
// carries them (bindingAddressesSQL). Learned addresses of services not
// at the report's POP are ignored.
func (db *DB) recordLearned(ctx context.Context, r billing.AgentReport) error {
	if len(r.Learned) == 0 && len(r.LearnedComplete) == 0 {
		// Nothing reported: only leases that ended since.
		var expired bool
		if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM learned_addresses WHERE pop_id = $1 AND expires_at <= $2)`,
			r.POP, r.ReceivedAt).Scan(&expired); err != nil || !expired {
			return err
		}
	}
	n := len(r.Learned)
	ids, addrs, sources, expires := make([]int64, n), make([]netip.Prefix, n), make([]string, n), make([]*time.Time, n)
	for i, l := range r.Learned {
		ids[i], addrs[i], sources[i] = l.ServiceID, l.Address, l.Source
		if !l.ExpiresAt.IsZero() {
			expires[i] = &l.ExpiresAt
		}
	}
	return db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		before, err := learnedAt(ctx, tx, r.POP)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM learned_addresses WHERE pop_id = $1 AND source = ANY($2)`, r.POP, nonNil(r.LearnedComplete)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO learned_addresses (service_id, address, pop_id, source, learned_at, expires_at)
			SELECT DISTINCT ON (u.id, u.addr) u.id, u.addr, $1, u.src, $6, u.exp
			FROM unnest($2::bigint[], $3::cidr[], $4::text[], $5::timestamptz[]) AS u(id, addr, src, exp)
			JOIN services s ON s.id = u.id AND s.pop_id = $1
			ON CONFLICT (service_id, address) DO UPDATE SET pop_id = EXCLUDED.pop_id, source = EXCLUDED.source,
				learned_at = EXCLUDED.learned_at, expires_at = EXCLUDED.expires_at`,
			r.POP, ids, addrs, sources, expires, r.ReceivedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM learned_addresses WHERE pop_id = $1 AND expires_at <= $2`, r.POP, r.ReceivedAt); err != nil {
			return err
		}
		after, err := learnedAt(ctx, tx, r.POP)
		if err != nil {
			return err
		}
		var changed []int64
		for id, a := range after {
			if !slices.Equal(a, before[id]) {
				changed = append(changed, id)
			}
		}
		for id := range before {
			if _, ok := after[id]; !ok {
				changed = append(changed, id)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		slices.Sort(changed)
		rows, err := tx.Query(ctx, `SELECT id, desired_state, state_reason, coalesce(account_id, 0) FROM services
			WHERE id = ANY($1) AND pop_id = $2 AND NOT removed ORDER BY id FOR UPDATE`, changed, r.POP)
		if err != nil {
			return err
		}
		var cs []stateChange
		var c stateChange
		if _, err := pgx.ForEachRow(rows, []any{&c.service, &c.state, &c.reason, &c.account}, func() error {
			c.pop, c.actor, c.at = r.POP, "agent:"+r.AgentID, r.ReceivedAt
			cs = append(cs, c)
			return nil
		}); err != nil || len(cs) == 0 {
			return err
		}
		return changeStates(tx, cs, false)
	})
}

// learnedAt reads the learned addresses on the bindings of a POP's
// services (learnedUsedSQL), by service, in order.
func learnedAt(ctx context.Context, tx pgx.Tx, pop string) (map[int64][]netip.Prefix, error) {
	rows, err := tx.Query(ctx, `SELECT l.service_id, l.address FROM learned_addresses l JOIN services s ON s.id = l.service_id
		WHERE l.pop_id = $1 AND `+learnedUsedSQL("s.addresses")+` ORDER BY l.service_id, l.address`, pop)
	if err != nil {
		return nil, err
	}
	out := map[int64][]netip.Prefix{}
	var id int64
	var a netip.Prefix
	_, err = pgx.ForEachRow(rows, []any{&id, &a}, func() error {
		out[id] = append(out[id], a)
		return nil
	})
	return out, err
}
