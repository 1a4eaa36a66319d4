package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The notices table is the user-visible record of the notices to
// subscribers (list, status, resend). Each queued notice is sent by a River
// job (jobs.Runner, through [NoticeJobs]) inserted in the transaction that
// queues the notice (db.QueueNoticesTx, the sweep, a settlement), so a
// notice and its job commit or roll back together; River retries, backs off
// and keeps one job per notice, and nothing here claims rows. The job reads
// its notice (NoticeToSend) and records the outcome (MarkNoticeSent,
// MarkNoticeSuperseded, RescheduleNotice, MarkNoticeAttemptFailed).

// NoticeJobs inserts the River jobs that send notices (jobs.Runner
// implements it).
type NoticeJobs interface {
	// InsertNoticeJobsTx inserts in tx, in one statement, one job for each
	// notice id. again says the notices were queued before (a resend): a
	// notice whose job still waits gets no second one; new notices
	// (again false) have none, and theirs go in with one COPY. The jobs
	// become visible when tx commits. An error means nothing was inserted:
	// the caller's transaction must roll back.
	InsertNoticeJobsTx(ctx context.Context, tx pgx.Tx, noticeIDs []int64, again bool) error
}

// UseNoticeJobs makes every notice queued from now on (by the sweep, a
// settlement, an approval, a resend) insert the job that sends it through
// j, in the same transaction. Without it notices are recorded but nothing
// sends them (tests of the store). Call before the store is used.
func (db *DB) UseNoticeJobs(j NoticeJobs) { db.noticeJobs = j }

// insertNoticeJobs inserts the jobs of the notices ids (again: see
// NoticeJobs) in tx, if a [NoticeJobs] is set.
func (db *DB) insertNoticeJobs(ctx context.Context, tx pgx.Tx, ids []int64, again bool) error {
	if db.noticeJobs == nil || len(ids) == 0 {
		return nil
	}
	if err := db.noticeJobs.InsertNoticeJobsTx(ctx, tx, ids, again); err != nil {
		return fmt.Errorf("inserting the jobs of %d notices: %w", len(ids), err)
	}
	return nil
}

// AdoptQueuedWithoutJobs inserts, in one transaction, a job (again: River's
// uniqueness skips a row whose job still waits) for every queued notice and
// delivery whose job has not run yet: rows queued before notices and
// deliveries were River jobs, or whose jobs were lost. It returns how many
// rows it looked at. Errors: the database's or the jobs' insert error
// (nothing inserted then).
func (db *DB) AdoptQueuedWithoutJobs(ctx context.Context) (notices, deliveries int, err error) {
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		ids := func(sql string) ([]int64, error) {
			rows, err := tx.Query(ctx, sql)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, pgx.RowTo[int64])
		}
		ns, err := ids(`SELECT id FROM notices WHERE status = 'queued' AND job_id IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		ds, err := ids(`SELECT id FROM invoice_deliveries WHERE status = 'queued' AND job_id IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		notices, deliveries = len(ns), len(ds)
		if err := db.insertNoticeJobs(ctx, tx, ns, true); err != nil {
			return err
		}
		return db.insertDeliveryJobs(ctx, tx, ds, true)
	})
	return notices, deliveries, err
}

// reserveNoticeIDs takes n ids from the notices' identity, in one round
// trip, so a notice's job can be inserted with the notice (the job names
// its notice by id).
func reserveNoticeIDs(ctx context.Context, tx pgx.Tx, n int) ([]int64, error) {
	if n == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('notices', 'id')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

const noticeColumns = `n.id, n.account_id, n.kind, coalesce(n.invoice_id, 0), n.days_before, n.to_address, n.data,
	n.business_hours, n.status, n.attempts, n.next_attempt_at, n.last_error, n.created_at, n.sent_at, n.superseded_reason,
	coalesce(n.job_id, 0)`

// maxNoticeError bounds the last_error stored with a notice.
const maxNoticeError = 1000

func scanNotice(row pgx.Row, extra ...any) (billing.Notice, error) {
	var n billing.Notice
	var data []byte
	dest := append([]any{&n.ID, &n.AccountID, &n.Kind, &n.InvoiceID, &n.DaysBefore, &n.To, &data, &n.BusinessHours,
		&n.Status, &n.Attempts, &n.NextAttemptAt, &n.LastError, &n.CreatedAt, &n.SentAt, &n.SupersededReason, &n.JobID}, extra...)
	if err := row.Scan(dest...); err != nil {
		return n, err
	}
	if err := json.Unmarshal(data, &n.Data); err != nil {
		return n, fmt.Errorf("notice %d: data: %w", n.ID, err)
	}
	if len(n.Data.Why) == 0 && len(n.Data.Reasons) > 0 {
		n.Data.Why = billing.StaffWhy(n.Data.Reasons) // stored without them: see storedNoticeData
	}
	return n, nil
}

// storedNoticeData is d as the notices table keeps it: with reasons, their
// staff words (Why) are left out and rendered again when the notice is
// read (scanNotice). A sweep queues tens of thousands of notices: the
// words were two fifths of each one's JSON.
func storedNoticeData(d billing.NoticeData) billing.NoticeData {
	if len(d.Reasons) > 0 {
		d.Why = nil
	}
	return d
}

// QueueNoticeTx queues one notice in tx, due at now, with the job that
// sends it. A reminder for an invoice and days_before that is already in
// the table (in any status) is not queued again: queued is false then.
// Errors: EINVALID from [billing.Notice.Validate]; a foreign key error if
// the account or invoice does not exist; the job's insert error.
func (db *DB) QueueNoticeTx(ctx context.Context, tx pgx.Tx, n billing.Notice, now time.Time) (queued bool, err error) {
	k, err := db.QueueNoticesTx(ctx, tx, []billing.Notice{n}, now)
	return k == 1, err
}

// QueueNoticesTx queues many notices in tx in one round trip, all due at
// now, with one job each (inserted in one more), and returns how many it
// queued: reminders already in the table (or repeated in ns) are skipped.
// Errors: EINVALID naming the first invalid notice (nothing is queued
// then); a foreign key error if an account or invoice does not exist; the
// jobs' insert error.
func (db *DB) QueueNoticesTx(ctx context.Context, tx pgx.Tx, ns []billing.Notice, now time.Time) (int, error) {
	ids, err := reserveNoticeIDs(ctx, tx, len(ns))
	if err != nil {
		return 0, err
	}
	inserts, err := noticeInserts(ns, ids, now)
	if err != nil || len(inserts) == 0 {
		return 0, err
	}
	var b pgx.Batch
	for _, in := range inserts {
		b.Queue(in.sql, in.args...)
	}
	br := tx.SendBatch(ctx, &b)
	n := 0
	for range inserts {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, mapError(err)
		}
		n += int(tag.RowsAffected())
	}
	if err := br.Close(); err != nil {
		return 0, mapError(err)
	}
	return n, db.insertNoticeJobs(ctx, tx, ids, false)
}

// insertNoticesSQL inserts notices from arrays. unnest streams them (sent
// in binary) through one INSERT.
const insertNoticesSQL = `INSERT INTO notices (id, account_id, kind, invoice_id, days_before, to_address, data,
		business_hours, next_attempt_at, created_at) OVERRIDING SYSTEM VALUE
	SELECT id, a, k, nullif(i, 0), d, t, j::jsonb, h, $8, $8
	FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::integer[], $5::text[], $6::text[], $7::boolean[], $9::bigint[]) AS u(a, k, i, d, t, j, h, id)`

// noticeInsert is one statement of noticeInserts.
type noticeInsert struct {
	sql  string
	args []any
}

// noticeInserts validates ns and returns the statements that queue them
// with the ids reserved for them (ids[i] is ns[i]'s): reminders with ON
// CONFLICT DO NOTHING, which skips those that exist (including duplicates
// within ns; the job of a skipped one finds no notice and does nothing),
// the other notices, which cannot conflict, without (a speculative
// insertion per row costs time).
func noticeInserts(ns []billing.Notice, ids []int64, now time.Time) ([]noticeInsert, error) {
	if len(ids) != len(ns) {
		return nil, fmt.Errorf("%d notice ids for %d notices", len(ids), len(ns))
	}
	// Sized first: a sweep's tens of thousands of notices, grown by
	// appending, were a tenth of its Go time in copying.
	nReminders := 0
	for i, n := range ns {
		if err := n.Validate(); err != nil {
			return nil, billing.Errorf(billing.EINVALID, "notice %d of %d: %s", i+1, len(ns), billing.ErrorMessage(err))
		}
		if n.Kind == billing.NoticeReminder {
			nReminders++
		}
	}
	reminders, reminderIDs := make([]billing.Notice, 0, nReminders), make([]int64, 0, nReminders)
	others, otherIDs := make([]billing.Notice, 0, len(ns)-nReminders), make([]int64, 0, len(ns)-nReminders)
	for i, n := range ns {
		if n.Kind == billing.NoticeReminder {
			reminders, reminderIDs = append(reminders, n), append(reminderIDs, ids[i])
		} else {
			others, otherIDs = append(others, n), append(otherIDs, ids[i])
		}
	}
	var out []noticeInsert
	for _, part := range []struct {
		ns  []billing.Notice
		ids []int64
		sql string
	}{{reminders, reminderIDs, insertNoticesSQL + ` ON CONFLICT DO NOTHING`}, {others, otherIDs, insertNoticesSQL}} {
		if len(part.ns) == 0 {
			continue
		}
		args, err := noticeArgs(part.ns, part.ids, now)
		if err != nil {
			return nil, err
		}
		out = append(out, noticeInsert{part.sql, args})
	}
	return out, nil
}

// noticeArgs returns insertNoticesSQL's arguments for ns, with ids.
func noticeArgs(ns []billing.Notice, ids []int64, now time.Time) ([]any, error) {
	var (
		accounts = make([]int64, len(ns))
		kinds    = make([]string, len(ns))
		invoices = make([]int64, len(ns))
		days     = make([]int32, len(ns))
		to       = make([]string, len(ns))
		data     = make([]string, len(ns))
		hours    = make([]bool, len(ns))
	)
	for i, n := range ns {
		b, err := json.Marshal(storedNoticeData(n.Data))
		if err != nil {
			return nil, err
		}
		accounts[i], kinds[i], invoices[i], days[i] = n.AccountID, string(n.Kind), n.InvoiceID, int32(n.DaysBefore)
		to[i], data[i], hours[i] = n.To, string(b), n.BusinessHours
	}
	return []any{accounts, kinds, invoices, days, to, data, hours, now, ids}, nil
}

// NoticeToSend returns queued notice id for its job jobID to send, and
// records jobID as the notice's job, with the account type's time zone and
// business hours (9-17 when the type has none), the account's locale (its
// own, else its type's; "" for neither) and the account's current standing
// (Current, without Today), read in the same statement, for
// [billing.NoticeStillTrue]. The caller records the outcome with
// MarkNoticeSent, MarkNoticeSuperseded, RescheduleNotice or
// MarkNoticeAttemptFailed. ENOTFOUND if no queued notice id exists (it was
// sent, failed or superseded meanwhile, or a duplicate reminder was never
// stored).
func (db *DB) NoticeToSend(ctx context.Context, id, jobID int64) (billing.Notice, error) {
	var zone string
	var hours billing.BusinessHours
	var locale string
	var cur billing.NoticeStanding
	n, err := scanNotice(db.Pool.QueryRow(ctx, `WITH n AS (
			UPDATE notices SET job_id = $2 WHERE id = $1 AND status = 'queued' RETURNING *
		)
		SELECT `+noticeColumns+`, t.time_zone,
			coalesce((t.settings->'business_hours'->>'start')::integer, 0) AS start_hour,
			coalesce((t.settings->'business_hours'->>'end')::integer, 0) AS end_hour,
			coalesce(nullif(a.locale, ''), t.settings->>'locale', '') AS locale,
			a.status AS account_status,
			coalesce((SELECT i.total - i.paid FROM invoices i WHERE i.id = n.invoice_id AND i.status = 'open'), 0)::bigint AS invoice_remaining,
			coalesce((SELECT m.kind FROM notices m WHERE m.account_id = n.account_id AND m.id > n.id
				AND m.kind IN ('suspended', 'restored') AND m.status <> 'superseded' ORDER BY m.id DESC LIMIT 1), '') AS later
		FROM n JOIN accounts a ON a.id = n.account_id JOIN account_types t ON t.id = a.account_type_id`, id, jobID),
		&zone, &hours.Start, &hours.End, &locale, &cur.Status, &cur.InvoiceRemaining, &cur.Later)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, billing.Errorf(billing.ENOTFOUND, "no queued notice %d", id)
	}
	n.TimeZone, n.Hours, n.Locale, n.Current = zone, hours.Effective(), billing.Locale(locale), cur
	return n, err
}

// MarkNoticeSent records that the mail server accepted notice id at at
// (counting the attempt). ENOTFOUND if it does not exist.
func (db *DB) MarkNoticeSent(ctx context.Context, id int64, at time.Time) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE notices SET status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = ''
		WHERE id = $1`, id, at)
	if err == nil && tag.RowsAffected() == 0 {
		return billing.Errorf(billing.ENOTFOUND, "notice %d does not exist", id)
	}
	return err
}

// MarkNoticeSuperseded records that queued notice id was no longer true
// when it was to be sent (why, truncated to 1000 bytes): it becomes
// superseded and is never sent. ENOTFOUND if no queued notice id exists.
func (db *DB) MarkNoticeSuperseded(ctx context.Context, id int64, why string) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE notices SET status = 'superseded', superseded_reason = $2
		WHERE id = $1 AND status = 'queued'`, id, truncateUTF8(why, maxNoticeError))
	if err == nil && tag.RowsAffected() == 0 {
		return billing.Errorf(billing.ENOTFOUND, "no queued notice %d", id)
	}
	return err
}

// RescheduleNotice moves a queued notice's next attempt to next without
// counting an attempt (it was outside business hours). ENOTFOUND if no
// queued notice id exists.
func (db *DB) RescheduleNotice(ctx context.Context, id int64, next time.Time) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE notices SET next_attempt_at = $2 WHERE id = $1 AND status = 'queued'`, id, next)
	if err == nil && tag.RowsAffected() == 0 {
		return billing.Errorf(billing.ENOTFOUND, "no queued notice %d", id)
	}
	return err
}

// MarkNoticeAttemptFailed records a failed send of notice id: attempts is
// the number of attempts made so far, errText why the last one failed
// (truncated to 1000 bytes). With final the notice becomes failed and is not
// tried again; otherwise it stays queued and is due again at next.
// ENOTFOUND if it does not exist.
func (db *DB) MarkNoticeAttemptFailed(ctx context.Context, id int64, attempts int, next time.Time, errText string, final bool) error {
	status := billing.NoticeQueued
	if final {
		status = billing.NoticeFailed
	}
	tag, err := db.Pool.Exec(ctx, `UPDATE notices SET attempts = $2, next_attempt_at = $3, last_error = $4, status = $5
		WHERE id = $1`, id, attempts, next, truncateUTF8(errText, maxNoticeError), status)
	if err == nil && tag.RowsAffected() == 0 {
		return billing.Errorf(billing.ENOTFOUND, "notice %d does not exist", id)
	}
	return err
}

// Notices lists notices in id order (without the delivery-only time zone
// and hours). EINVALID for an unknown status or kind.
func (db *DB) Notices(ctx context.Context, f billing.NoticeFilter) ([]billing.Notice, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	switch f.Status {
	case "", billing.NoticeQueued, billing.NoticeSent, billing.NoticeFailed, billing.NoticeSuperseded:
	default:
		return nil, billing.Errorf(billing.EINVALID, "status %q is not queued, sent, failed or superseded", f.Status)
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return nil, billing.Errorf(billing.EINVALID, "kind %q is not reminder, suspended, restored or ticket_reply", f.Kind)
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+noticeColumns+` FROM notices n
		WHERE ($1 = 0 OR n.account_id = $1) AND ($2 = '' OR n.status = $2) AND ($3 = '' OR n.kind = $3) AND n.id > $4
		ORDER BY n.id LIMIT $5`, f.AccountID, f.Status, string(f.Kind), f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Notice, error) { return scanNotice(r) })
}

// Notice returns one notice; ENOTFOUND if missing.
func (db *DB) Notice(ctx context.Context, id int64) (billing.Notice, error) {
	n, err := scanNotice(db.Pool.QueryRow(ctx, `SELECT `+noticeColumns+` FROM notices n WHERE n.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return n, billing.Errorf(billing.ENOTFOUND, "notice %d does not exist", id)
	}
	return n, err
}

// ResendNotice queues a sent, failed or superseded notice again (a
// superseded one is checked again when it is sent), due at now, with its
// attempts, error and sent time cleared (business hours still apply if the
// notice has them), and inserts a new job to send it, in one transaction.
// A notice that is still queued is returned unchanged: its job is on its
// way. ENOTFOUND if it does not exist; the job's insert error (nothing
// changed then).
func (db *DB) ResendNotice(ctx context.Context, id int64, now time.Time) (billing.Notice, error) {
	var n billing.Notice
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		n, err = scanNotice(tx.QueryRow(ctx, `UPDATE notices n SET status = 'queued', attempts = 0, next_attempt_at = $2,
				last_error = '', sent_at = NULL, superseded_reason = '', job_id = NULL
			WHERE n.id = $1 AND n.status <> 'queued' RETURNING `+noticeColumns, id, now))
		if err != nil {
			return err
		}
		return db.insertNoticeJobs(ctx, tx, []int64{id}, true)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return db.Notice(ctx, id)
	}
	return n, err
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
