// Package notify delivers notices to subscribers by email: payment
// reminders before the delinquency date, suspension notices and restore
// notices.
//
// # The outbox
//
// Notices are not sent where they are decided. The delinquency sweep
// queues them (postgres.QueueNoticesTx) in the same transaction as the
// status changes they announce, so a notice exists exactly when its cause
// was committed, and a reminder exists at most once per invoice and
// days-before. A [Deliverer] in each controller replica then works through
// the outbox ([Deliverer.RunOnce]):
//
//   - it claims due notices from the [Store] for a lease
//     (billing.NoticeLease), so replicas never send one notice twice and a
//     crashed replica's notices come back when the lease ends;
//   - a notice that must go inside business hours and is due outside them
//     is rescheduled to the next window start in the account type's time
//     zone ([billing.NextSendTime]); that is not an attempt;
//   - otherwise it is rendered from its kind and data ([Templates]) and
//     sent ([Sender]); the text is rendered at send time from the data
//     captured when it was queued;
//   - a temporary failure (4xx, network, timeout) is retried after
//     [DelivererConfig.Backoff]; a permanent one ([ErrPermanent]: 5xx to
//     MAIL, RCPT or DATA, a malformed address) or the last of MaxAttempts
//     marks the notice failed. Staff can resend sent or failed notices
//     (postgres.DB.ResendNotice).
//
// Delivery is at least once: a notice sent whose success could not be
// recorded (database down at that moment) is sent again after its lease.
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
