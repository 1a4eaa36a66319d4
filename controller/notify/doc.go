// Package notify delivers notices to subscribers by email: payment
// reminders before the delinquency date, suspension notices, restore
// notices, staff replies to support tickets (ticket_reply, queued
// with the reply by postgres.DB.ReplyTicket) and payment receipts
// (receipt, queued with a gateway payment as its account type's
// receipts_for says).
//
// # Queuing and sending
//
// Notices are not sent where they are decided. The delinquency sweep and
// the settlement after a payment queue them (postgres.DB.QueueNoticesTx) in
// the same transaction as the status changes they announce, each with the
// River job that sends it (controller/jobs; the sweep's go in with one
// COPY), so a notice and its job exist exactly when their cause was
// committed, and a reminder exists at most once per invoice and
// days-before. The notices table stays the record staff see (list, status,
// resend); nothing claims its rows. The job calls [Deliverer.Send], which
// makes one attempt:
//
//   - the notice is checked against the account's standing now
//     ([billing.NoticeStillTrue]); one no longer true becomes superseded and
//     is never sent;
//   - a notice that must go inside business hours and is due outside them
//     is deferred to the next window start in the account type's time zone
//     ([billing.NextSendTime]): the job snoozes until then; that is not an
//     attempt;
//   - otherwise it is rendered from its kind and data ([Templates]) and
//     sent ([Sender]); the text is rendered at send time from the data
//     captured when it was queued;
//   - a temporary failure (4xx, network, timeout) is retried by River after
//     [DelivererConfig.Backoff] ([Deliverer.RetryAfter]); a permanent one
//     ([ErrPermanent]: 5xx to MAIL, RCPT or DATA, a malformed address) or
//     the last of MaxAttempts marks the notice failed and cancels the job.
//     Staff can resend sent, failed or superseded notices
//     (postgres.DB.ResendNotice), which inserts a new job.
//
// Delivery is at least once: a notice sent whose success could not be
// recorded (database down at that moment) is sent again by the job's retry.
// River runs each job once at a time, and a notice has at most one job
// waiting, so replicas never send one notice at once.
//
// # Sending
//
// [SMTP] submits each message over a new connection to the configured
// server ([SMTPConfig]), with STARTTLS by default, implicit TLS or none,
// and AUTH PLAIN/LOGIN when a username is configured. Messages are proper
// MIME ([Message]): UTF-8 text in quoted-printable, attachments (invoice
// PDFs) in base64 under multipart/mixed, encoded headers, Date and
// Message-ID from the sender's domain, Auto-Submitted: auto-generated.
//
// # Templates
//
// Each kind has a subject and a body template (text/template) built in;
// files named <kind>.subject.tmpl and <kind>.body.tmpl in a directory
// replace them ([LoadTemplates]). [TemplateData] lists what templates see.
//
// # Secrets and privacy
//
// The SMTP password is read from a file and never logged or put in errors.
// Logs name the notice id, kind, account id and error, never the message
// text.
//
// # Metrics
//
// tollgate_notices_sent_total{kind}, tollgate_notices_failed_total{kind}
// (given up), tollgate_notice_send_errors_total (failed attempts),
// tollgate_notices_deferred_total (outside business hours).
package notify
