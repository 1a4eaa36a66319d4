// Package printmailsim is a fake print-and-mail vendor for tests and the
// demo: an HTTP server that speaks the Lob-style wire format Tollgate's
// delivery client uses, keeps the letters it "prints", and posts signed
// status webhooks back.
//
//	sim := printmailsim.Start(t, printmailsim.Options{APIKey: "test_key",
//		WebhookURL: controllerURL + "/api/v1/webhooks/print-mail", WebhookSecret: "whsec"})
//	... deliver ...
//	sim.MailAll(ctx)               // letter.mailed for every letter, signed
//	sim.Creations()                // letters created per Idempotency-Key
//
// # Wire format (modelled on Lob's API)
//
//   - POST /v1/letters: multipart/form-data (or JSON) with description,
//     to[…] and from[…] address fields (name, company, address_line1,
//     address_line2, address_city, address_state, address_zip,
//     address_country), file (a PDF upload), color, double_sided,
//     address_placement, mail_type, use_type, return_envelope,
//     perforated_page and metadata[…]. The Idempotency-Key header (or
//     idempotency_key query parameter) makes a retry answer with the letter
//     created first. Answers the letter object (id "ltr_…", object
//     "letter", to, from, metadata, url, carrier, expected_delivery_date,
//     date_created, send_date, …).
//   - GET /v1/letters and GET /v1/letters/{id}.
//   - POST /v1/us_verifications: primary_line, secondary_line, city, state,
//     zip_code; answers deliverability (deliverable or undeliverable).
//   - Authentication: HTTP Basic with the API key as the user name.
//   - Errors: {"error": {"message", "status_code", "code"}}.
//   - Webhooks: POST of the event object ({"id": "evt_…", "object":
//     "event", "event_type": {"id": "letter.mailed", "resource":
//     "letters"}, "reference_id", "body": <letter>, "date_created"}) with
//     Lob-Signature (hex HMAC-SHA256 of timestamp + "." + body) and
//     Lob-Signature-Timestamp (Unix milliseconds).
//
// # Failures on demand
//
// [Sim.SetMode] makes it answer 503 ([Unavailable]), hang until the client
// gives up ([Hang]), or create the letter and then answer 502
// ([AcceptThenFail]: the client never learns it succeeded); [Sim.Refuse]
// closes the listener so connections are refused, [Sim.Resume] listens on
// the same address again.
package printmailsim
