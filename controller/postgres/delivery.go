package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The invoice_deliveries table is the user-visible record of invoice
// deliveries (issue 9): list, status, re-send. When a billing run finishes,
// QueueRunDeliveries queues one row per invoice and channel of the
// account's delivery preference in one statement and, in the same
// transaction, one River job per row (through [DeliveryJobs]); a re-send
// inserts a new job with the row it queues again. The job reads its
// delivery (DeliveryToSend) and records the outcome; River retries it and
// runs it once at a time, so nothing claims rows. The vendor's status
// webhooks move mail rows on to mailed or returned (ApplyLetterEvent).

// DeliveryJobs inserts the River jobs that deliver invoices (jobs.Runner
// implements it).
type DeliveryJobs interface {
	// InsertDeliveryJobsTx inserts in tx, in one statement, one job for
	// each delivery id. again says the deliveries were queued before (a
	// re-send): one whose job still waits gets no second one; new
	// deliveries (again false) have none, and theirs go in with one COPY.
	// An error means nothing was inserted: the caller's transaction must
	// roll back.
	InsertDeliveryJobsTx(ctx context.Context, tx pgx.Tx, deliveryIDs []int64, again bool) error
}

// UseDeliveryJobs makes every delivery queued from now on (a run's, a
// re-send, an invoice delivered on demand) insert the job that delivers it
// through j, in the same transaction. Without it deliveries are recorded
// but nothing delivers them (tests of the store). Call before the store is
// used.
func (db *DB) UseDeliveryJobs(j DeliveryJobs) { db.deliveryJobs = j }

// insertDeliveryJobs inserts the jobs of deliveries ids (again: see
// DeliveryJobs) in tx, if a [DeliveryJobs] is set.
func (db *DB) insertDeliveryJobs(ctx context.Context, tx pgx.Tx, ids []int64, again bool) error {
	if db.deliveryJobs == nil || len(ids) == 0 {
		return nil
	}
	if err := db.deliveryJobs.InsertDeliveryJobsTx(ctx, tx, ids, again); err != nil {
		return fmt.Errorf("inserting the jobs of %d deliveries: %w", len(ids), err)
	}
	return nil
}

// deliveryChannels is implemented by a [DeliveryJobs] that knows the
// channels invoices are delivered by (jobs.Runner).
type deliveryChannels interface {
	DeliveryChannels() []billing.DeliveryChannel
}

// queueInvoiceDeliveries queues, in tx, the delivery of invoices issued
// outside a billing run (adjustment invoices) by each account's
// preference and the channels the [DeliveryJobs] delivers by, due at now,
// with their jobs. Without a DeliveryJobs (or channels) nothing is queued.
func (db *DB) queueInvoiceDeliveries(ctx context.Context, tx pgx.Tx, invoiceIDs []int64, now time.Time) error {
	dc, ok := db.deliveryJobs.(deliveryChannels)
	if !ok || len(invoiceIDs) == 0 {
		return nil
	}
	channels := dc.DeliveryChannels()
	if len(channels) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `INSERT INTO invoice_deliveries (invoice_id, account_id, channel, idempotency_key,
			next_attempt_at, created_at, updated_at)
		SELECT i.id, i.account_id, c.channel, `+deliveryKey+`, $3, $3, $3
		FROM invoices i JOIN accounts a ON a.id = i.account_id JOIN account_types t ON t.id = a.account_type_id
		JOIN unnest($2::text[]) AS c(channel) ON `+effectiveDelivery+` IN (c.channel, 'both')
		WHERE i.id = ANY($1) AND i.status <> 'void'
		ORDER BY i.id, c.channel
		ON CONFLICT DO NOTHING RETURNING id`, invoiceIDs, channelNames(channels), now)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	return db.insertDeliveryJobs(ctx, tx, ids, false)
}

// effectiveDelivery is billing.Account.EffectiveDelivery in SQL, for
// accounts a joined with their account types t.
const effectiveDelivery = `coalesce(nullif(a.delivery, ''), nullif(t.settings->>'default_delivery', ''), 'email')`

const deliveryColumns = `d.id, d.invoice_id, i.number, d.account_id, coalesce(d.billing_run_id, 0), d.channel, d.status,
	d.to_address, d.attempts, d.next_attempt_at, d.last_error, d.vendor_letter_id, d.vendor_status, d.idempotency_key,
	d.resends, d.created_at, d.updated_at, d.sent_at, d.mailed_at, d.returned_at, coalesce(d.job_id, 0)`

// maxDeliveryError bounds the last_error stored with a delivery.
const maxDeliveryError = 1000

// PrintMailGateway names the print-and-mail vendor's events in
// webhook_events.
const PrintMailGateway = "print-mail"

func scanDelivery(row pgx.Row, extra ...any) (billing.InvoiceDelivery, error) {
	var d billing.InvoiceDelivery
	err := row.Scan(append([]any{&d.ID, &d.InvoiceID, &d.InvoiceNumber, &d.AccountID, &d.BillingRunID, &d.Channel, &d.Status,
		&d.To, &d.Attempts, &d.NextAttemptAt, &d.LastError, &d.VendorLetterID, &d.VendorStatus, &d.IdempotencyKey,
		&d.Resends, &d.CreatedAt, &d.UpdatedAt, &d.SentAt, &d.MailedAt, &d.ReturnedAt, &d.JobID}, extra...)...)
	return d, err
}

func collectDeliveries(rows pgx.Rows, err error) ([]billing.InvoiceDelivery, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.InvoiceDelivery, error) { return scanDelivery(r) })
}

func channelNames(channels []billing.DeliveryChannel) []string {
	out := make([]string, 0, len(channels))
	for _, c := range channels {
		out = append(out, string(c))
	}
	return out
}

// deliveryKey is the idempotency key of an invoice's first delivery by a
// channel ("tollgate-INV-0001234-mail").
const deliveryKey = `'tollgate-' || i.number || '-' || c.channel`

// QueueRunDeliveries queues the delivery of a finished billing run's
// invoices (voided ones left out) by channels, each invoice by the channels
// of its account's delivery preference (email, mail or both; the account
// type's default when the account has none), due at now — in one statement,
// with their jobs (one more), in one transaction, once per run: queued is
// false (and n 0) when the run was queued before or has not finished.
// ENOTFOUND if the run does not exist; the jobs' insert error (nothing is
// queued then).
func (db *DB) QueueRunDeliveries(ctx context.Context, runID int64, channels []billing.DeliveryChannel, now time.Time) (queued bool, n int, err error) {
	var runs int
	var ids []int64
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH run AS (
			INSERT INTO invoice_delivery_runs (run_id, channels, queued_at)
			SELECT id, $2, $3 FROM billing_runs WHERE id = $1 AND status <> 'running'
			ON CONFLICT DO NOTHING RETURNING run_id
		), ins AS (
			INSERT INTO invoice_deliveries (invoice_id, account_id, billing_run_id, channel, idempotency_key,
				next_attempt_at, created_at, updated_at)
			SELECT i.id, i.account_id, i.billing_run_id, c.channel, `+deliveryKey+`, $3, $3, $3
			FROM run JOIN invoices i ON i.billing_run_id = run.run_id
			JOIN accounts a ON a.id = i.account_id JOIN account_types t ON t.id = a.account_type_id
			JOIN unnest($2::text[]) AS c(channel) ON `+effectiveDelivery+` IN (c.channel, 'both')
			WHERE i.status <> 'void'
			ORDER BY i.id, c.channel
			ON CONFLICT DO NOTHING RETURNING id
		)
		SELECT (SELECT count(*) FROM run), coalesce((SELECT array_agg(id) FROM ins), '{}')`, runID, channelNames(channels), now).Scan(&runs, &ids)
		if err != nil {
			return err
		}
		return db.insertDeliveryJobs(ctx, tx, ids, false)
	})
	n = len(ids)
	if err != nil {
		return false, 0, err
	}
	if runs == 0 {
		var exists bool
		if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM billing_runs WHERE id = $1)`, runID).Scan(&exists); err != nil {
			return false, 0, err
		}
		if !exists {
			return false, 0, billing.Errorf(billing.ENOTFOUND, "billing run %d does not exist", runID)
		}
	}
	return runs == 1, n, nil
}

// UnqueuedRuns lists the billing runs that finished at or after since and
// whose invoices have not been queued for delivery (a controller stopped
// between a run's end and its queueing), oldest first.
func (db *DB) UnqueuedRuns(ctx context.Context, since time.Time) ([]int64, error) {
	rows, err := db.Pool.Query(ctx, `SELECT r.id FROM billing_runs r
		WHERE r.status <> 'running' AND r.finished_at >= $1
		AND NOT EXISTS (SELECT 1 FROM invoice_delivery_runs q WHERE q.run_id = r.id)
		ORDER BY r.id`, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// DeliveryToSend returns queued delivery id for its job jobID to work,
// and records jobID as the delivery's job. The caller records the outcome
// with MarkDeliverySent, MarkLetterSent or MarkDeliveryAttemptFailed.
// ENOTFOUND if no queued delivery id exists (it was sent, failed, or moved
// on by a webhook meanwhile).
func (db *DB) DeliveryToSend(ctx context.Context, id, jobID int64) (billing.InvoiceDelivery, error) {
	d, err := scanDelivery(db.Pool.QueryRow(ctx, `UPDATE invoice_deliveries d SET job_id = $2
		FROM invoices i WHERE d.id = $1 AND i.id = d.invoice_id AND d.status = 'queued'
		RETURNING `+deliveryColumns, id, jobID))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, billing.Errorf(billing.ENOTFOUND, "no queued delivery %d", id)
	}
	return d, err
}

// MarkDeliverySent records that the mail server accepted email delivery id
// (sent to to) at at, after attempts attempts. ENOTFOUND if it does not
// exist.
func (db *DB) MarkDeliverySent(ctx context.Context, id int64, attempts int, to string, at time.Time) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE invoice_deliveries SET status = 'sent', attempts = $2, to_address = $3,
			sent_at = $4, updated_at = $4, last_error = ''
		WHERE id = $1`, id, attempts, to, at)
	if err == nil && tag.RowsAffected() == 0 {
		return billing.Errorf(billing.ENOTFOUND, "delivery %d does not exist", id)
	}
	return err
}

// MarkLetterSent records that the vendor accepted mail delivery id (to the
// postal address to) as letter letterID at at, after attempts attempts: it
// becomes sent_to_vendor, unless a status webhook already moved it on.
// ENOTFOUND if it does not exist.
func (db *DB) MarkLetterSent(ctx context.Context, id int64, attempts int, to, letterID string, at time.Time) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE invoice_deliveries SET
			status = CASE WHEN status = 'queued' THEN 'sent_to_vendor' ELSE status END,
			attempts = $2, to_address = $3, vendor_letter_id = $4, sent_at = coalesce(sent_at, $5), updated_at = $5,
			last_error = ''
		WHERE id = $1`, id, attempts, to, letterID, at)
	if err == nil && tag.RowsAffected() == 0 {
		return billing.Errorf(billing.ENOTFOUND, "delivery %d does not exist", id)
	}
	return mapError(err)
}

// MarkDeliveryAttemptFailed records a failed attempt of queued delivery id
// at at: attempts made so far, to where, and why (truncated to 1000 bytes).
// With final the delivery becomes failed; otherwise it is due again at
// next. A delivery that is no longer queued (a webhook said the letter was
// mailed) is left alone. ENOTFOUND if it does not exist.
func (db *DB) MarkDeliveryAttemptFailed(ctx context.Context, id int64, attempts int, to string, at, next time.Time, errText string, final bool) error {
	status := billing.DeliveryQueued
	if final {
		status = billing.DeliveryFailed
	}
	var exists bool
	err := db.Pool.QueryRow(ctx, `WITH u AS (
			UPDATE invoice_deliveries SET attempts = $2, to_address = $3, next_attempt_at = $4, last_error = $5,
				status = $6, updated_at = $7
			WHERE id = $1 AND status = 'queued' RETURNING 1
		) SELECT EXISTS (SELECT 1 FROM invoice_deliveries WHERE id = $1)`,
		id, attempts, to, next, truncateUTF8(errText, maxDeliveryError), status, at).Scan(&exists)
	if err == nil && !exists {
		return billing.Errorf(billing.ENOTFOUND, "delivery %d does not exist", id)
	}
	return err
}

// Deliveries lists deliveries in id order. EINVALID for an unknown status
// or channel.
func (db *DB) Deliveries(ctx context.Context, f billing.DeliveryFilter) ([]billing.InvoiceDelivery, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, billing.Errorf(billing.EINVALID, "status %q is not queued, sent, sent_to_vendor, mailed, returned or failed", f.Status)
	}
	if f.Channel != "" && !f.Channel.Valid() {
		return nil, billing.Errorf(billing.EINVALID, "channel %q is not email or mail", f.Channel)
	}
	return collectDeliveries(db.Pool.Query(ctx, `SELECT `+deliveryColumns+`
		FROM invoice_deliveries d JOIN invoices i ON i.id = d.invoice_id
		WHERE ($1 = 0 OR d.billing_run_id = $1) AND ($2 = 0 OR d.invoice_id = $2) AND ($3 = 0 OR d.account_id = $3)
		AND ($4 = '' OR d.status = $4) AND ($5 = '' OR d.channel = $5) AND d.id > $6
		ORDER BY d.id LIMIT $7`, f.RunID, f.InvoiceID, f.AccountID, string(f.Status), string(f.Channel), f.AfterID, f.Limit))
}

// Delivery returns one delivery; ENOTFOUND if missing.
func (db *DB) Delivery(ctx context.Context, id int64) (billing.InvoiceDelivery, error) {
	d, err := scanDelivery(db.Pool.QueryRow(ctx, `SELECT `+deliveryColumns+`
		FROM invoice_deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, billing.Errorf(billing.ENOTFOUND, "delivery %d does not exist", id)
	}
	return d, err
}

// requeue is the SET list of a re-send on demand: queued now, attempts,
// error and vendor state cleared, and a new idempotency key (…-r1, …-r2),
// so the vendor prints a new letter rather than answering with the first.
const requeue = `status = 'queued', attempts = 0, next_attempt_at = $2, last_error = '', vendor_letter_id = '', job_id = NULL,
	vendor_status = '', sent_at = NULL, mailed_at = NULL, returned_at = NULL, resends = d.resends + 1, updated_at = $2,
	idempotency_key = regexp_replace(d.idempotency_key, '-r[0-9]+$', '') || '-r' || (d.resends + 1)`

// ResendDelivery queues a delivery that is not queued again, due at now
// (see requeue): an email is sent again, a letter printed and mailed again.
// A new job delivers it, inserted in the same transaction. A delivery that
// is still queued is returned unchanged: it is on its way. ENOTFOUND if it
// does not exist; the job's insert error (nothing changed then).
func (db *DB) ResendDelivery(ctx context.Context, id int64, now time.Time) (billing.InvoiceDelivery, error) {
	var d billing.InvoiceDelivery
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		d, err = scanDelivery(tx.QueryRow(ctx, `UPDATE invoice_deliveries d SET `+requeue+`
			FROM invoices i WHERE d.id = $1 AND i.id = d.invoice_id AND d.status <> 'queued' RETURNING `+deliveryColumns, id, now))
		if err != nil {
			return err
		}
		return db.insertDeliveryJobs(ctx, tx, []int64{id}, true)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return db.Delivery(ctx, id)
	}
	return d, err
}

// ResendRunDeliveries queues again, due at now, every delivery of billing
// run runID in status (failed when empty; not queued) and channel (any when
// empty), with a new job each in the same transaction, and returns how
// many. EINVALID for status queued or an unknown status or channel;
// ENOTFOUND if the run does not exist; the jobs' insert error (nothing
// changed then).
func (db *DB) ResendRunDeliveries(ctx context.Context, runID int64, status billing.DeliveryStatus, channel billing.DeliveryChannel, now time.Time) (int, error) {
	if status == "" {
		status = billing.DeliveryFailed
	}
	if !status.Valid() || status == billing.DeliveryQueued {
		return 0, billing.Errorf(billing.EINVALID, "status %q is not sent, sent_to_vendor, mailed, returned or failed", status)
	}
	if channel != "" && !channel.Valid() {
		return 0, billing.Errorf(billing.EINVALID, "channel %q is not email or mail", channel)
	}
	if _, err := db.BillingRun(ctx, runID); err != nil {
		return 0, err
	}
	var ids []int64
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE invoice_deliveries d SET `+requeue+`
			WHERE d.billing_run_id = $1 AND d.status = $3 AND ($4 = '' OR d.channel = $4) RETURNING d.id`,
			runID, now, string(status), string(channel))
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		return db.insertDeliveryJobs(ctx, tx, ids, true)
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}

// DeliverInvoice delivers one invoice (again), due at now, by channels
// (nil: those of its account's delivery preference that are in allowed, the
// channels delivery is configured for): a channel it was never delivered by
// gets a new delivery, one it was is queued again as ResendDelivery does.
// It returns the invoice's deliveries by those channels. ENOTFOUND if the
// invoice does not exist; EINVALID if it is void, a channel is unknown or
// not allowed, or none of its preference's is allowed.
func (db *DB) DeliverInvoice(ctx context.Context, invoiceID int64, channels, allowed []billing.DeliveryChannel, now time.Time) ([]billing.InvoiceDelivery, error) {
	for _, c := range channels {
		if !c.Valid() {
			return nil, billing.Errorf(billing.EINVALID, "channel %q is not email or mail", c)
		}
		if !slices.Contains(allowed, c) {
			return nil, billing.Errorf(billing.EINVALID, "invoices are not delivered by %s here: %s", c, notConfigured(c))
		}
	}
	var status, pref string
	err := db.Pool.QueryRow(ctx, `SELECT i.status, `+effectiveDelivery+`
		FROM invoices i JOIN accounts a ON a.id = i.account_id JOIN account_types t ON t.id = a.account_type_id
		WHERE i.id = $1`, invoiceID).Scan(&status, &pref)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, billing.Errorf(billing.ENOTFOUND, "invoice %d does not exist", invoiceID)
	}
	if err != nil {
		return nil, err
	}
	if status == string(billing.InvoiceVoid) {
		return nil, billing.Errorf(billing.EINVALID, "invoice %d is void; it is not delivered", invoiceID)
	}
	if len(channels) == 0 {
		for _, c := range billing.Delivery(pref).Channels() {
			if slices.Contains(allowed, c) {
				channels = append(channels, c)
			}
		}
		if len(channels) == 0 {
			c := billing.Delivery(pref).Channels()[0]
			return nil, billing.Errorf(billing.EINVALID, "invoice %d's account gets invoices by %s, and %s", invoiceID, pref, notConfigured(c))
		}
	}
	names := channelNames(channels)
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH again AS (
				UPDATE invoice_deliveries d SET `+requeue+`
				WHERE d.invoice_id = $1 AND d.channel = ANY($3) AND d.status <> 'queued' RETURNING d.id
			), fresh AS (
				INSERT INTO invoice_deliveries (invoice_id, account_id, billing_run_id, channel, idempotency_key,
					next_attempt_at, created_at, updated_at)
				SELECT i.id, i.account_id, i.billing_run_id, c.channel, `+deliveryKey+`, $2, $2, $2
				FROM invoices i, unnest($3::text[]) AS c(channel) WHERE i.id = $1
				ON CONFLICT DO NOTHING RETURNING id
			)
			SELECT id FROM again UNION ALL SELECT id FROM fresh`, invoiceID, now, names)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		return db.insertDeliveryJobs(ctx, tx, ids, true)
	})
	if err != nil {
		return nil, err
	}
	return collectDeliveries(db.Pool.Query(ctx, `SELECT `+deliveryColumns+`
		FROM invoice_deliveries d JOIN invoices i ON i.id = d.invoice_id
		WHERE d.invoice_id = $1 AND d.channel = ANY($2) ORDER BY d.id`, invoiceID, names))
}

// notConfigured says what turns channel c on.
func notConfigured(c billing.DeliveryChannel) string {
	if c == billing.ChannelMail {
		return "print-to-mail is not configured (delivery.print_mail)"
	}
	return "email is not configured (notices.smtp)"
}

// DeliveryCounts counts deliveries by channel and status: of billing run
// runID, or of every run and invoice when runID is 0.
func (db *DB) DeliveryCounts(ctx context.Context, runID int64) ([]billing.DeliveryCount, error) {
	rows, err := db.Pool.Query(ctx, `SELECT channel, status, count(*) FROM invoice_deliveries
		WHERE $1 = 0 OR billing_run_id = $1 GROUP BY channel, status ORDER BY channel, status`, runID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[billing.DeliveryCount])
}

// OpenDeliveryCounts counts the deliveries that need watching — queued,
// sent_to_vendor (waiting to be mailed) and failed — by channel and status,
// from a partial index (the metrics gauge reads it at every scrape).
func (db *DB) OpenDeliveryCounts(ctx context.Context) ([]billing.DeliveryCount, error) {
	rows, err := db.Pool.Query(ctx, `SELECT channel, status, count(*) FROM invoice_deliveries
		WHERE status IN ('queued', 'sent_to_vendor', 'failed') GROUP BY channel, status ORDER BY channel, status`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[billing.DeliveryCount])
}

// ApplyLetterEvent records a verified vendor status event and applies it to
// the mail delivery of its letter, in one transaction: the event id goes
// into webhook_events first, so a redelivered event changes nothing
// (duplicate is true). The delivery is the one whose vendor letter id is
// ev.LetterID, or — when the event comes before the create-letter answer
// was recorded — delivery ev.DeliveryID if it has no letter id yet and key
// is its idempotency key. Mailed moves queued and sent_to_vendor deliveries
// to mailed; returned moves any of those or mailed to returned; nothing
// moves back. found is false when no delivery matches (an event about a
// letter this database does not know, or one replaced by a re-send).
func (db *DB) ApplyLetterEvent(ctx context.Context, ev billing.LetterEvent, key string, now time.Time) (found, duplicate bool, err error) {
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_events (gateway, event_id, type, received_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, PrintMailGateway, ev.ID, ev.Type, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			duplicate = true
			return nil
		}
		tag, err = tx.Exec(ctx, `UPDATE invoice_deliveries SET
				status = CASE
					WHEN $3 = 'mailed' AND status IN ('queued', 'sent_to_vendor') THEN 'mailed'
					WHEN $3 = 'returned' AND status IN ('queued', 'sent_to_vendor', 'mailed') THEN 'returned'
					ELSE status END,
				mailed_at = CASE WHEN $3 = 'mailed' THEN coalesce(mailed_at, $4) ELSE mailed_at END,
				returned_at = CASE WHEN $3 = 'returned' THEN coalesce(returned_at, $4) ELSE returned_at END,
				vendor_letter_id = $1, vendor_status = $5, updated_at = $6
			WHERE channel = 'mail' AND (vendor_letter_id = $1
				OR (vendor_letter_id = '' AND id = $2 AND idempotency_key = $7))`,
			ev.LetterID, ev.DeliveryID, string(ev.Status), ev.At, ev.Type, now, key)
		found = err == nil && tag.RowsAffected() > 0
		return mapError(err)
	})
	return found, duplicate, err
}

// PrintedInvoiceIDs lists the invoices of billing run runID (voided ones
// left out) whose accounts get invoices by mail (delivery mail or both), in
// mailing order: by postal code, then name. ENOTFOUND if the run does not
// exist.
func (db *DB) PrintedInvoiceIDs(ctx context.Context, runID int64) ([]int64, error) {
	if _, err := db.BillingRun(ctx, runID); err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT i.id FROM invoices i
		JOIN accounts a ON a.id = i.account_id JOIN account_types t ON t.id = a.account_type_id
		WHERE i.billing_run_id = $1 AND i.status <> 'void' AND `+effectiveDelivery+` IN ('mail', 'both')
		ORDER BY coalesce(a.address->>'postal_code', ''), a.name, i.id`, runID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
