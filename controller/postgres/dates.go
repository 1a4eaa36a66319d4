package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// dateDest scans a PostgreSQL date (or NULL, as the zero Date) into a
// billing.Date.
type dateDest struct{ d *billing.Date }

func (c dateDest) ScanDate(v pgtype.Date) error {
	if !v.Valid {
		*c.d = billing.Date{}
		return nil
	}
	*c.d = billing.DateOf(v.Time)
	return nil
}

func scanDate(d *billing.Date) pgtype.DateScanner { return dateDest{d} }

// pgDate converts a billing.Date into a pgtype.Date (zero: NULL).
func pgDate(d billing.Date) pgtype.Date {
	if d.IsZero() {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC), Valid: true}
}
