// Package delivery delivers invoices to subscribers by their delivery
// preference (billing.Account.EffectiveDelivery: email, mail or both):
// email through the notices' SMTP server with the invoice PDF attached, and
// paper mail through a print-and-mail vendor; and it builds the
// printed-invoice batch of a billing run for ISPs that print in-house.
//
// # Queuing and delivering
//
// Deliveries are not made where they are decided. When a billing run
// finishes, the jobs runner queues one row per invoice and channel
// (postgres.DB.QueueRunDeliveries, one statement, once per run) in the
// invoice_deliveries table, with one River job per row in the same
// transaction (controller/jobs; one COPY). The table stays the record staff
// see (list, status, re-send); nothing claims its rows. Each job calls
// [Worker.Deliver], which makes one attempt at its delivery:
//
//   - the invoice is loaded and rendered ([Source]; production uses
//     [DocumentSource]: postgres.DB.InvoiceRecords,
//     documents.NewInvoiceDocuments and documents.RenderInvoicePDF);
//   - email: the invoice email ([Templates]: subject and body) with the PDF
//     attached as INV-….pdf, through a notify.Sender; the delivery becomes
//     sent;
//   - mail: the address is verified (US addresses; [Vendor.VerifyUS]), then
//     the vendor is asked to print and mail the PDF ([Vendor.CreateLetter])
//     with the delivery's idempotency key; the delivery becomes
//     sent_to_vendor with the vendor's letter id. The vendor's status
//     webhooks ([Service.HandleWebhook]) move it to mailed, or returned;
//   - a temporary failure (network, timeout, 5xx, 429, 4xx SMTP replies) is
//     retried by River after [Config.Backoff] ([Worker.RetryAfter]); a
//     permanent one ([ErrPermanent], notify.ErrPermanent: an undeliverable
//     or incomplete address, no email address, the vendor refusing the
//     request for good, a 5xx SMTP reply) or the last of MaxAttempts marks
//     the delivery failed and cancels the job. Staff re-send failed (or
//     any) deliveries through the API, which inserts a new job; a re-sent
//     letter takes a new idempotency key.
//
// Email is at least once: an email sent whose success could not be
// recorded is sent again by the job's retry. Letters are exactly once at the
// vendor: every retry of a delivery carries the same idempotency key, so a
// retry after a lost answer gets the letter created the first time.
//
// # The vendor: what is modelled on Lob
//
// [PrintMail] speaks a subset of Lob's print-and-mail API (api.lob.com/v1):
//
//   - authentication: HTTP Basic, the API key as user name, no password;
//   - POST /v1/us_verifications (JSON: primary_line, secondary_line, city,
//     state, zip_code) answering deliverability (deliverable,
//     deliverable_unnecessary_unit, deliverable_incorrect_unit,
//     deliverable_missing_unit, undeliverable);
//   - POST /v1/letters as multipart/form-data: description; to[…] and
//     from[…] inline addresses (name, company, address_line1,
//     address_line2, address_city, address_state, address_zip,
//     address_country); file (the PDF upload); color; double_sided;
//     address_placement (insert_blank_page by default: the invoice's own
//     layout is never printed over); mail_type; use_type (operational);
//     return_envelope with perforated_page (the remittance slip's page);
//     metadata[…] (the invoice number, delivery id and idempotency key,
//     which come back in webhook events); the Idempotency-Key header;
//   - error answers {"error": {"message", "status_code", "code"}};
//   - webhooks: the event object (id evt_…, event_type.id such as
//     letter.mailed, letter.in_transit, letter.delivered,
//     letter.returned_to_sender, body = the letter, reference_id,
//     date_created) signed with Lob-Signature, the hex HMAC-SHA256 of
//     Lob-Signature-Timestamp + "." + body under the webhook secret
//     ([webhooksig.VerifyLob], shared with the payment gateway's webhook;
//     the timestamp is read as Unix milliseconds or seconds, within a
//     5-minute tolerance).
//
// Not modelled: saved addresses and templates (adr_…, tmpl_…), HTML
// letters and merge variables, international verification, cancellation,
// scheduled send dates, custom envelopes, listing letters. Lob keeps
// idempotency keys for a limited time (24 hours at the time of writing), so
// a letter whose answer was lost and whose retry comes later than that could
// be printed twice; the default backoff retries within that window.
// internal/printmailsim is a local fake of the same wire format for tests
// and the demo.
//
// # Printed batches
//
// [Service.PrintedInvoices] merges the invoices of a billing run whose
// accounts get invoices by mail (mail or both) into one PDF in mailing order
// — postal code, then name — for ISPs that print and stuff envelopes
// themselves (GET /api/v1/billing-runs/{id}/printed-invoices.pdf).
//
// # Metrics
//
// See [Metrics]: sent, failed and attempt-error counters by channel,
// letter events by status, and the tollgate_delivery_items{channel,status}
// gauge of queued, sent_to_vendor and failed deliveries.
package delivery
