package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// UnconfirmedServices counts, for every POP, the services whose current
// desired state its agent has not confirmed yet: no applied result at the
// service's revision, or an observed state that differs from the desired one
// (the opposite of [billing.Service.Confirmed]). Every POP is listed, with 0
// when all its services are confirmed. One scan of services; the push
// metrics run it at each scrape.
func (db *DB) UnconfirmedServices(ctx context.Context) (map[string]int64, error) {
	rows, err := db.Pool.Query(ctx, `SELECT p.id, count(s.id) FILTER (
			WHERE s.confirmed_revision < s.revision OR s.observed_state <> s.desired_state)
		FROM pops p LEFT JOIN services s ON s.pop_id = p.id
		GROUP BY p.id`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64)
	var pop string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&pop, &n}, func() error {
		out[pop] = n
		return nil
	})
	return out, err
}
