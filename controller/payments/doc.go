// Package payments is Tollgate's side of card and bank (ACH) payments: the
// [Gateway] interface that billing, autopay and the portal call, the built-in
// [Sandbox] gateway (a card processor's test mode, in memory) and the
// [Stripe] adapter (stripe-go against the Stripe API, tested against
// stripe-mock).
//
// # Card numbers
//
// A card number is never stored or logged by this package. [CardInput] lives
// in memory for the one [Gateway.Tokenize] call; what comes back, a
// [PaymentMethod], holds only the gateway's token, the brand, the last four
// digits and the expiry — that is all Tollgate may keep. Error messages and
// log lines name what was wrong ("card number is not valid"), never the
// number. Validation failures are reported before anything is sent anywhere.
//
// PCI note: a server that handles card numbers at all is in the full PCI DSS
// scope. Tokenize exists because staff enter cards taken over the phone and
// because the sandbox and the demo need it; the production portal should
// collect cards in the browser with the processor's own fields (Stripe.js /
// Elements) and hand Tollgate only the resulting payment method id, which
// [Gateway.Charge] accepts like any other token.
//
// # Money and errors
//
// Amounts are int64 minor units in a [billing.Currency]. Errors that are the
// caller's fault carry a [billing.Code] (EINVALID, ENOTFOUND, ECONFLICT,
// EUNAUTHORIZED), so the API layer maps them in one place; a declined charge
// is not an error but a [Charge] with [ChargeFailed] and a FailureCode;
// transport or processor trouble is a plain error (EINTERNAL to callers),
// safe to retry with the same idempotency key.
//
// # Webhooks
//
// Both gateways use Stripe's signing scheme (Stripe-Signature: t=…,v1=…,
// HMAC-SHA256 over "t.rawBody", several secrets during rotation, 300 s
// tolerance), checked by [webhooksig.VerifyStripe] for both — the same
// package the print-and-mail webhook uses.
// Deduplicating deliveries by event id is the store's job, not this package's.
package payments
