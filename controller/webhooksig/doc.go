// Package webhooksig verifies the signatures that webhook senders put on
// their deliveries, for every webhook the controller receives: the payment
// gateway's (Stripe's scheme, used by the sandbox too) and the print-and-mail
// vendor's (Lob's scheme).
//
// Both schemes are the same check written in different headers: the
// signature is the hex HMAC-SHA256, keyed with the endpoint's signing secret,
// of the signed timestamp exactly as sent, a ".", and the raw request body;
// the timestamp must be within a tolerance of now in either direction
// ([DefaultTolerance], 300 s), so a captured delivery cannot be replayed
// later. During a secret rotation several secrets are configured and a
// signature made with any of them is accepted. Every signature is compared
// with every secret in constant time, and the signature is checked before
// the timestamp, so a forged delivery learns nothing about the clock.
//
// The per-vendor header formats are parsed into a [Signed] by [ParseStripe]
// (Stripe-Signature: t=<Unix seconds>,v1=<hex>[,v1=<hex>…]) and [ParseLob]
// (Lob-Signature: <hex>, Lob-Signature-Timestamp: <Unix milliseconds or
// seconds>); [Verify] checks a Signed against the body. [VerifyStripe] and
// [VerifyLob] do both; [SignStripe] and [SignLob] produce what the vendors
// send, for tests, simulators and the demo.
//
// # Errors
//
// Every failure is an [Error] (a pointer) whose Kind is one of the sentinels
// [ErrMissing], [ErrMalformed], [ErrMismatch], [ErrTimestamp] (the delivery
// is rejected: [billing.EUNAUTHORIZED]) or [ErrNoSecret] (no secret is
// configured, the receiving side's fault: [billing.EINTERNAL]); match them
// with errors.Is, read the code and the message for people with
// [billing.ErrorCode] and [billing.ErrorMessage]. The admin API maps them to
// HTTP in one place: a rejected delivery answers 400, an endpoint without a
// secret 404.
package webhooksig
