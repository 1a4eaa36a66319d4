package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AccountTypeOverrideCounts counts the open (not closed) accounts of an
// account type and, for each setting some of them override, how many do
// ([billing.AccountOverrides]); one query, reading only the accounts with
// overrides besides the count (accounts_overrides_idx).
//
// Errors: ENOTFOUND for an unknown account type.
func (db *DB) AccountTypeOverrideCounts(ctx context.Context, typeID int64) (total int64, overriding map[string]int64, err error) {
	overriding = map[string]int64{}
	var exists bool
	err = db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account_types WHERE id = $1),
			(SELECT count(*) FROM accounts WHERE account_type_id = $1 AND status <> 'closed'),
			coalesce((SELECT jsonb_object_agg(k, n) FROM (
				SELECT k, count(*) AS n FROM accounts a, jsonb_object_keys(a.overrides) k
				WHERE a.account_type_id = $1 AND a.overrides IS NOT NULL AND a.status <> 'closed' GROUP BY k) s), '{}')`,
		typeID).Scan(&exists, &total, &overriding)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !exists) {
		return 0, nil, billing.Errorf(billing.ENOTFOUND, "account type %d does not exist", typeID)
	}
	return total, overriding, err
}
