package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// IP address management: address pools (address_pools) and the addresses
// bound to services (address_assignments). Every write of a service's
// binding goes through syncAddresses in the same transaction: the
// addresses it no longer holds are released into their pool's quarantine,
// new ones are bound, and one bound to another service is refused with
// ECONFLICT naming that service. An allocation ("allocate": "auto" or a
// pool's name) locks the POP's pools (FOR UPDATE, in id order), reads the
// blocks taken in them and lets billing.PoolSpace.NextFree choose; the
// pool's row lock serialises concurrent allocations from one pool, and
// the exclusion constraint address_assignments_bound_once keeps any
// address from being bound twice whatever path wrote it.

var _ billing.AddressPoolStore = (*DB)(nil)

const poolColumns = `id, pop_id, name, prefix, delegation_length, coalesce(host(gateway), ''), excluded,
	(extract(epoch FROM quarantine) / 3600)::int, created_at`

func scanPool(row pgx.Row) (billing.AddressPool, error) {
	var p billing.AddressPool
	var prefix netip.Prefix
	var hours int
	err := row.Scan(&p.ID, &p.POP, &p.Name, &prefix, &p.DelegationLength, &p.Gateway, &p.Excluded, &hours, &p.CreatedAt)
	p.Prefix, p.QuarantineHours = prefix.String(), &hours
	return p, err
}

// CreateAddressPool implements [billing.AddressPoolStore].
func (db *DB) CreateAddressPool(ctx context.Context, p billing.AddressPool, at time.Time) (billing.AddressPool, error) {
	if err := p.Validate(); err != nil {
		return billing.AddressPool{}, err
	}
	var out billing.AddressPool
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO pops (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, p.POP, at); err != nil {
			return err
		}
		var other string
		var otherPrefix netip.Prefix
		err := tx.QueryRow(ctx, `SELECT name, prefix FROM address_pools WHERE prefix && $1::cidr`, p.Prefix).Scan(&other, &otherPrefix)
		if err == nil {
			return billing.Errorf(billing.ECONFLICT, "prefix %s overlaps pool %s (%s)", p.Prefix, other, otherPrefix)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var gateway *string
		if p.Gateway != "" {
			gateway = &p.Gateway
		}
		out, err = scanPool(tx.QueryRow(ctx, `INSERT INTO address_pools (pop_id, name, prefix, delegation_length, gateway, excluded, quarantine, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, make_interval(hours => $7), $8) RETURNING `+poolColumns,
			p.POP, p.Name, p.Prefix, p.DelegationLength, gateway, nonNil(p.Excluded), *p.QuarantineHours, at))
		if err != nil {
			return poolError(err, p)
		}
		// The addresses services hold in the new pool's range become
		// static assignments (an address two services hold keeps the
		// first; it is taken either way).
		if _, err := tx.Exec(ctx, `INSERT INTO address_assignments (address, service_id, assigned_at, origin)
			SELECT DISTINCT ON (a.addr) a.addr, s.id, $2, 'static'
			FROM services s, LATERAL (SELECT CASE WHEN x::inet = network(x::inet)::inet THEN network(x::inet)
					ELSE set_masklen(x::inet, CASE family(x::inet) WHEN 4 THEN 32 ELSE 128 END)::cidr END AS addr
				FROM unnest(s.addresses) x) a
			WHERE NOT s.removed AND a.addr && $1::cidr
			ORDER BY a.addr, s.id
			ON CONFLICT DO NOTHING`, p.Prefix, at); err != nil {
			return err
		}
		return fillUsage(ctx, tx, []*billing.AddressPool{&out}, at)
	})
	return out, err
}

// poolError names the pool's name or prefix for a constraint the insert
// ran into (a concurrent create won the race).
func poolError(err error, p billing.AddressPool) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.ConstraintName {
		case "address_pools_name_key":
			return billing.Errorf(billing.ECONFLICT, "name: a pool named %q exists", p.Name)
		case "address_pools_no_overlap":
			return billing.Errorf(billing.ECONFLICT, "prefix %s overlaps another pool", p.Prefix)
		}
	}
	return mapError(err)
}

// AddressPools implements [billing.AddressPoolStore].
func (db *DB) AddressPools(ctx context.Context, pop string, now time.Time) ([]billing.AddressPool, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+poolColumns+` FROM address_pools WHERE $1 = '' OR pop_id = $1 ORDER BY id`, pop)
	if err != nil {
		return nil, err
	}
	pools, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AddressPool, error) { return scanPool(r) })
	if err != nil {
		return nil, err
	}
	ptrs := make([]*billing.AddressPool, len(pools))
	for i := range pools {
		ptrs[i] = &pools[i]
	}
	return pools, fillUsage(ctx, db.Pool, ptrs, now)
}

// AddressPool implements [billing.AddressPoolStore].
func (db *DB) AddressPool(ctx context.Context, id int64, now time.Time) (billing.AddressPool, error) {
	p, err := scanPool(db.Pool.QueryRow(ctx, `SELECT `+poolColumns+` FROM address_pools WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, billing.Errorf(billing.ENOTFOUND, "address pool %d does not exist", id)
	}
	if err != nil {
		return p, err
	}
	return p, fillUsage(ctx, db.Pool, []*billing.AddressPool{&p}, now)
}

// DeleteAddressPool implements [billing.AddressPoolStore]. Released
// assignments stay as history.
func (db *DB) DeleteAddressPool(ctx context.Context, id int64) (billing.AddressPool, error) {
	var p billing.AddressPool
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		p, err = scanPool(tx.QueryRow(ctx, `SELECT `+poolColumns+` FROM address_pools WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "address pool %d does not exist", id)
		}
		if err != nil {
			return err
		}
		var n int64
		var first *int64
		if err := tx.QueryRow(ctx, `SELECT count(*), min(service_id) FROM address_assignments
			WHERE released_at IS NULL AND origin = 'allocated' AND address <<= $1::cidr`, p.Prefix).Scan(&n, &first); err != nil {
			return err
		}
		if n > 0 {
			return billing.Errorf(billing.ECONFLICT, "pool %s still has %d address(es) allocated to services (service %d first): move or cancel them first", p.Name, n, *first)
		}
		_, err = tx.Exec(ctx, `DELETE FROM address_pools WHERE id = $1`, id)
		return err
	})
	return p, err
}

// UpdateAddressPool implements [billing.AddressPoolStore]: the pool is
// locked (as an allocation locks it), so no allocation takes an address
// between the check of the new gateway and exclusions and the update.
// The audit log keeps the pool's fields before and after (entity
// "address_pool"). An edit that changes nothing writes nothing.
func (db *DB) UpdateAddressPool(ctx context.Context, id int64, e billing.AddressPoolEdit, actor string, at time.Time) (billing.AddressPool, error) {
	var out billing.AddressPool
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		p, err := scanPool(tx.QueryRow(ctx, `SELECT `+poolColumns+` FROM address_pools WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "address pool %d does not exist", id)
		}
		if err != nil {
			return err
		}
		edited, added, changed, err := e.Apply(p)
		if err != nil || !changed {
			out = p
			if err == nil {
				err = fillUsage(ctx, tx, []*billing.AddressPool{&out}, at)
			}
			return err
		}
		if len(added) > 0 {
			rows, err := tx.Query(ctx, `SELECT a.address, a.service_id, coalesce(s.name, '') FROM address_assignments a
				JOIN services s ON s.id = a.service_id WHERE a.released_at IS NULL AND a.address && $1::cidr ORDER BY a.address`, p.Prefix)
			if err != nil {
				return err
			}
			var bound []billing.BoundBlock
			var b billing.BoundBlock
			if _, err := pgx.ForEachRow(rows, []any{&b.Block, &b.ServiceID, &b.ServiceName}, func() error {
				bound = append(bound, b)
				return nil
			}); err != nil {
				return err
			}
			if err := billing.ReservedConflict(added, bound); err != nil {
				return err
			}
		}
		var gateway *string
		if edited.Gateway != "" {
			gateway = &edited.Gateway
		}
		out, err = scanPool(tx.QueryRow(ctx, `UPDATE address_pools SET name = $2, gateway = $3, excluded = $4, quarantine = make_interval(hours => $5)
			WHERE id = $1 RETURNING `+poolColumns, id, edited.Name, gateway, nonNil(edited.Excluded), *edited.QuarantineHours))
		if err != nil {
			return poolError(err, edited)
		}
		fields := func(p billing.AddressPool) map[string]any {
			return map[string]any{"name": p.Name, "gateway": p.Gateway, "excluded": nonNil(p.Excluded), "quarantine_hours": *p.QuarantineHours}
		}
		if err := insertAudit(ctx, tx, billing.LifecycleAudit{Actor: actor, At: at, Entity: "address_pool", EntityID: id,
			Before: fields(p), After: fields(out)}, "pool_update"); err != nil {
			return err
		}
		return fillUsage(ctx, tx, []*billing.AddressPool{&out}, at)
	})
	return out, err
}

// PoolUsage is one pool's usage, for the metrics.
type PoolUsage struct {
	POP, Name string
	Usage     billing.PoolUsage
}

// AddressPoolUsage reads every pool's usage at now (for /metrics).
func (db *DB) AddressPoolUsage(ctx context.Context, now time.Time) ([]PoolUsage, error) {
	pools, err := db.AddressPools(ctx, "", now)
	if err != nil {
		return nil, err
	}
	out := make([]PoolUsage, len(pools))
	for i, p := range pools {
		out[i] = PoolUsage{POP: p.POP, Name: p.Name, Usage: *p.Usage}
	}
	return out, nil
}

// fillUsage counts each pool's bound and quarantined blocks at now.
func fillUsage(ctx context.Context, q querier, pools []*billing.AddressPool, now time.Time) error {
	for _, p := range pools {
		space, err := p.Space()
		if err != nil {
			return err
		}
		var bound, quarantined int64
		if err := q.QueryRow(ctx, `SELECT count(*) FILTER (WHERE released_at IS NULL), count(*) FILTER (WHERE released_at IS NOT NULL)
			FROM address_assignments WHERE address <<= $1::cidr AND (released_at IS NULL OR reuse_after > $2)`,
			p.Prefix, now).Scan(&bound, &quarantined); err != nil {
			return err
		}
		u := space.Usage(bound, quarantined)
		p.Usage = &u
	}
	return nil
}

// allocateAddresses takes, for a service at pop, one free block from the
// pool named by allocate, or ("auto") from the first pool of each address
// family at the POP that has one free. The POP's pools stay locked until
// the transaction ends. Errors: EINVALID for an unknown pool, a pool of
// another POP, no pool at the POP; ECONFLICT for a full pool.
func allocateAddresses(ctx context.Context, tx pgx.Tx, pop, allocate string, at time.Time) ([]string, error) {
	allocate = strings.TrimSpace(allocate)
	rows, err := tx.Query(ctx, `SELECT `+poolColumns+` FROM address_pools WHERE pop_id = $1 ORDER BY id FOR UPDATE`, pop)
	if err != nil {
		return nil, err
	}
	pools, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AddressPool, error) { return scanPool(r) })
	if err != nil {
		return nil, err
	}
	if allocate != billing.AllocateAuto {
		i := slices.IndexFunc(pools, func(p billing.AddressPool) bool { return p.Name == allocate })
		if i < 0 {
			return nil, billing.Errorf(billing.EINVALID, "allocate: POP %s has no address pool named %q (\"auto\" takes one from each of its pools' address families)", pop, allocate)
		}
		pools = pools[i : i+1]
	} else if len(pools) == 0 {
		return nil, billing.Errorf(billing.EINVALID, "allocate: POP %s has no address pool", pop)
	}
	var out []string
	done := map[bool]bool{} // by IPv4-ness, for auto
	var full []string
	for _, p := range pools {
		space, err := p.Space()
		if err != nil {
			return nil, err
		}
		v4 := space.Prefix.Addr().Is4()
		if done[v4] {
			continue
		}
		// Taken: bound or in quarantine, or in a DHCP lease or RADIUS
		// session an agent reported.
		rows, err := tx.Query(ctx, `SELECT address FROM address_assignments WHERE address && $1::cidr
			AND (released_at IS NULL OR reuse_after > $2)
			UNION ALL SELECT address FROM learned_addresses WHERE address && $1::cidr`, p.Prefix, at)
		if err != nil {
			return nil, err
		}
		taken, err := pgx.CollectRows(rows, pgx.RowTo[netip.Prefix])
		if err != nil {
			return nil, err
		}
		block, ok := space.NextFree(taken)
		if !ok {
			full = append(full, p.Name)
			continue
		}
		done[v4] = true
		out = append(out, bindingAddress(block))
	}
	if len(out) == 0 {
		return nil, billing.Errorf(billing.ECONFLICT, "allocate: address pool %s is full (addresses in quarantine count until it ends)", strings.Join(full, ", "))
	}
	return out, nil
}

// bindingAddress writes a block as a binding holds it: one address
// without its length, a prefix with it.
func bindingAddress(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// assignedPrefix is the block a binding's address holds: a prefix as a
// whole, an address (also one written with a mask, 10.0.0.5/24) alone.
func assignedPrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, billing.Errorf(billing.EINVALID, "address %q is neither an IP address nor a prefix", s)
	}
	if p.Masked() != p {
		return netip.PrefixFrom(p.Addr(), p.Addr().BitLen()), nil
	}
	return p, nil
}

// syncAddresses makes the service's bound addresses those of addresses
// that fall in a pool:
// the ones it no longer holds are released (into the quarantine of the
// pool they are in, if any), new ones are bound (allocated: those the
// transaction just took from a pool). Another service's bound address
// that overlaps one is refused: ECONFLICT naming it. fresh: the service
// was created in this transaction (it has nothing to release).
func syncAddresses(ctx context.Context, tx pgx.Tx, serviceID int64, addresses, allocated []string, at time.Time, fresh bool) error {
	want := make([]netip.Prefix, 0, len(addresses))
	origins := make([]string, 0, len(addresses))
	for _, a := range addresses {
		p, err := assignedPrefix(a)
		if err != nil {
			return err
		}
		if slices.Contains(want, p) { // written twice (100.64.1.20 and 100.64.1.20/32)
			continue
		}
		origin := "static"
		if slices.Contains(allocated, a) {
			origin = "allocated"
		}
		want, origins = append(want, p), append(origins, origin)
	}
	if !fresh {
		released, err := releaseAddressesOf(ctx, tx, serviceID, want, at)
		if err != nil {
			return err
		}
		// A learned address the service held may go on its learner's
		// binding again.
		if err := reviseLearners(ctx, tx, serviceID, released, at); err != nil {
			return err
		}
	}
	if len(want) == 0 {
		return nil
	}
	// Lock the pools the addresses fall in, so a concurrent allocation
	// cannot take them between the check and the insert. Addresses in no
	// pool are not tracked.
	rows, err := tx.Query(ctx, `SELECT id FROM address_pools WHERE prefix && ANY($1::cidr[]) ORDER BY id FOR UPDATE`, want)
	if err != nil {
		return err
	}
	if pools, err := pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil || len(pools) == 0 {
		return err
	}
	var addr, bound netip.Prefix
	var other int64
	var name string
	err = tx.QueryRow(ctx, `SELECT w, a.address, a.service_id, s.name FROM unnest($2::cidr[]) w
		JOIN address_assignments a ON a.address && w AND a.released_at IS NULL AND a.service_id <> $1
		JOIN services s ON s.id = a.service_id LIMIT 1`, serviceID, want).Scan(&addr, &bound, &other, &name)
	if err == nil {
		return billing.AddressConflictError(bindingAddress(addr), bindingAddress(bound), other, name)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO address_assignments (address, service_id, assigned_at, origin)
		SELECT w, $1, $3, o FROM unnest($2::cidr[], $4::text[]) AS n(w, o)
		WHERE EXISTS (SELECT 1 FROM address_pools p WHERE p.prefix && w) AND NOT EXISTS (SELECT 1 FROM address_assignments a WHERE a.service_id = $1 AND a.address = w AND a.released_at IS NULL)`,
		serviceID, want, at, origins)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.ConstraintName == "address_assignments_bound_once" {
		return billing.Errorf(billing.ECONFLICT, "addresses %s: one overlaps an address bound to another service (or another of this binding's)", strings.Join(addresses, ", "))
	}
	if err != nil {
		return err
	}
	// A service that learned one of them loses it from its binding (a
	// conflict, learnedUsedSQL).
	return reviseLearners(ctx, tx, serviceID, want, at)
}

// reviseLearners gives every other service that learned an address
// overlapping one of blocks (the addresses holder just bound or released
// in a pool) its current desired state again at its POP's next revision,
// so its agent receives its binding with the conflict's learned address
// left off or put back (bindingAddressesSQL). A service whose change tx
// already holds is left as it is (its binding is read at commit).
func reviseLearners(ctx context.Context, tx pgx.Tx, holder int64, blocks []netip.Prefix, at time.Time) error {
	if len(blocks) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT s.id, s.pop_id, coalesce(s.account_id, 0), s.desired_state, s.state_reason FROM services s
		WHERE s.id <> $1 AND NOT s.removed AND s.id IN (SELECT l.service_id FROM learned_addresses l WHERE l.address && ANY($2::cidr[]))
		ORDER BY s.id FOR UPDATE`, holder, blocks)
	if err != nil {
		return err
	}
	var cs []stateChange
	var c stateChange
	if _, err := pgx.ForEachRow(rows, []any{&c.service, &c.pop, &c.account, &c.state, &c.reason}, func() error {
		if _, pending := pendingChange(tx, c.service); !pending {
			c.actor, c.at = fmt.Sprintf("ipam:service-%d", holder), at
			cs = append(cs, c)
		}
		return nil
	}); err != nil || len(cs) == 0 {
		return err
	}
	return changeStates(tx, cs, false)
}

// releaseAddresses releases the service's bound addresses not in keep
// (all of them for nil), each into its pool's quarantine (none outside a
// pool), and gives the services that learned them a new revision
// (reviseLearners).
func releaseAddresses(ctx context.Context, tx pgx.Tx, serviceID int64, keep []netip.Prefix, at time.Time) error {
	released, err := releaseAddressesOf(ctx, tx, serviceID, keep, at)
	if err != nil {
		return err
	}
	return reviseLearners(ctx, tx, serviceID, released, at)
}

// releaseAddressesOf releases the service's bound addresses not in keep
// and returns them.
func releaseAddressesOf(ctx context.Context, tx pgx.Tx, serviceID int64, keep []netip.Prefix, at time.Time) ([]netip.Prefix, error) {
	rows, err := tx.Query(ctx, `UPDATE address_assignments a SET released_at = $3::timestamptz,
			reuse_after = $3::timestamptz + coalesce((SELECT p.quarantine FROM address_pools p WHERE p.prefix >>= a.address), '0')
		WHERE a.service_id = $1 AND a.released_at IS NULL AND NOT (a.address = ANY($2::cidr[])) RETURNING a.address`, serviceID, nonNilPrefixes(keep), at)
	if err != nil {
		return nil, fmt.Errorf("release addresses of service %d: %w", serviceID, err)
	}
	released, err := pgx.CollectRows(rows, pgx.RowTo[netip.Prefix])
	if err != nil {
		return nil, fmt.Errorf("release addresses of service %d: %w", serviceID, err)
	}
	return released, nil
}

func nonNilPrefixes(p []netip.Prefix) []netip.Prefix {
	if p == nil {
		return []netip.Prefix{}
	}
	return p
}
