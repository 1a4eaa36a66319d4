package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// UnconfirmedServices counts, for every POP, the services whose current
// desired state its agent has not confirmed yet: no applied result at the
// service's revision, or an observed state that differs from the desired one
// (the opposite of [billing.Service.Confirmed]). Those whose result for the
// current revision is pending (a RADIUS suspension with no active session,
// applied at the next login) are counted apart, as Pending. Every POP is
// listed, with zeros when all its services are confirmed. One scan of
// services; the push metrics run it at each scrape.
func (db *DB) UnconfirmedServices(ctx context.Context) (map[string]billing.UnconfirmedCount, error) {
	rows, err := db.Pool.Query(ctx, `SELECT p.id,
			count(s.id) FILTER (WHERE (s.confirmed_revision < s.revision OR s.observed_state <> s.desired_state)
				AND NOT (s.pending_reason <> '' AND s.pending_revision >= s.revision)),
			count(s.id) FILTER (WHERE (s.confirmed_revision < s.revision OR s.observed_state <> s.desired_state)
				AND s.pending_reason <> '' AND s.pending_revision >= s.revision)
		FROM pops p LEFT JOIN services s ON s.pop_id = p.id
		GROUP BY p.id`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]billing.UnconfirmedCount)
	var pop string
	var c billing.UnconfirmedCount
	_, err = pgx.ForEachRow(rows, []any{&pop, &c.Unconfirmed, &c.Pending}, func() error {
		out[pop] = c
		return nil
	})
	return out, err
}
