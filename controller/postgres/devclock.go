package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// DevClockOffset returns the stored dev clock's offset from the real time;
// ok is false when none is stored. It returns the database's error, if any.
func (db *DB) DevClockOffset(ctx context.Context) (offset time.Duration, ok bool, err error) {
	var us int64
	err = db.Pool.QueryRow(ctx, `SELECT offset_us FROM dev_clock`).Scan(&us)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return time.Duration(us) * time.Microsecond, true, nil
}

// SaveDevClockOffset stores the dev clock's offset from the real time (now
// is the dev clock's time, recorded for operators). It returns the
// database's error, if any.
func (db *DB) SaveDevClockOffset(ctx context.Context, offset time.Duration, now time.Time) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO dev_clock (singleton, offset_us, updated_at) VALUES (true, $1, $2)
		ON CONFLICT (singleton) DO UPDATE SET offset_us = EXCLUDED.offset_us, updated_at = EXCLUDED.updated_at`,
		offset.Microseconds(), now)
	return err
}
