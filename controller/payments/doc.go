// Package payments is Tollgate's side of card and bank (ACH) payments: the
// [Gateway] interface that billing, autopay and the portal call, the built-in
// [Sandbox] gateway (a card processor's test mode, in memory or in a state
// file, in process or served over HTTP to a [SandboxClient]) and the
// [Stripe] adapter (stripe-go against the Stripe API, tested against
// stripe-mock).
//
// # Card numbers
//
// Tollgate's servers never take a card or account number (PCI DSS SAQ A).
// The browser shows the processor's own fields — Stripe's Payment Element,
// or the sandbox's iframe from its own origin ([Sandbox.ElementsHandler],
// the one place a number is typed, posted from the browser to that origin
// only) — which give the page a payment method id; the server creates and
// confirms intents with that id (intent.go, [IntentGateway]). What Tollgate
// stores about a method, a [PaymentMethod], holds only the gateway's id,
// the brand, the last four digits and the expiry. Ids that look like card
// numbers are refused before anything is sent anywhere, and error messages
// and log lines never hold a number. [CardInput] exists only inside the
// sandbox's browser origin. The CLI, the demo and tests use Stripe's test
// method ids ([TestPaymentMethods]), which the sandbox accepts as Stripe's
// test mode does.
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
//
// # The ledger first, the gateway second
//
// Every call that moves money at a gateway is bracketed by the ledger, so
// that after any single failure (a crash, a lost answer, a timeout) the
// ledger and the gateway can be brought to agree without staff, and never
// disagree silently:
//
//  1. Before the call, one transaction records the intent: a pending refund
//     (reserving its amount on the payment, under the payment's lock, after
//     validation — nothing the journal would refuse is ever sent) or a
//     pending charge attempt, each with the idempotency key the gateway is
//     called with.
//  2. The call carries that key and Tollgate's id as metadata
//     ([MetadataRefundID] "tollgate_refund_id", [MetadataAttemptID]
//     "tollgate_attempt_id").
//  3. The answer completes the record (journal, payment) or releases it. A
//     refusal (EINVALID, ENOTFOUND, ECONFLICT) moved no money. Transport or
//     server trouble leaves it pending.
//  4. A River job (controller/jobs, "gateway_recovery", every minute)
//     settles what is still pending after 2 minutes. A refund is looked up
//     with [Gateway.ListRefunds] by its tollgate_refund_id (Stripe cannot
//     look a refund up by idempotency key); a charge attempt is sent again
//     with its key, which makes the gateway replay its first answer. Keys
//     are never replayed once 23 hours old (Stripe keeps them about 24);
//     such a record is flagged for staff (needs_attention; `tollgatectl
//     payment refunds --needs-attention`) and never re-sent.
//
// Audit of the paths that call a gateway (issue 14):
//
//   - Refunds (POST /payments/{id}/refund): used to call the gateway first,
//     unlocked, and write the journal after — concurrent refunds and a NUL
//     memo left money refunded with no journal. Now steps 1–4.
//   - Staff charges, portal payments and autopay (charge.Service.Charge):
//     used to call the gateway first and record the attempt after; a crash
//     in between lost a taken payment, and a timeout was recorded as
//     "error" (the portal said "you were not charged"; autopay's next
//     attempt used a new key and could charge twice). Now steps 1–4; an
//     invoice with a pending autopay attempt gets no new one.
//   - Payment-method removal after a portal charge with a card used once:
//     removal is local only (the gateway keeps the token), and recovery
//     re-sends a pending attempt with the method on record even if removed,
//     so removal cannot strand a charge.
//   - On-session payments (the portal, staff with the payer on the phone)
//     go through a PaymentIntent (charge.Service.PayOnSession): the attempt
//     is written pending, the intent created with its key and metadata
//     tollgate_attempt_id, its id written on the attempt before it is
//     confirmed, then the answer (or, after 3-D Secure, the intent
//     retrieved at the return URL, or by recovery) finishes the attempt.
//     Recovery never re-sends such an attempt: it retrieves the intent.
//   - Saving a method (SetupIntent) moves no money; one whose answer is
//     lost is never stored and is harmless at the gateway.
//   - Chargebacks (webhook charge.dispute.created) reverse the payment;
//     while a refund of it is pending the reversal is refused (409) and the
//     event forgotten, so the gateway's redelivery reverses it once the
//     refund is settled. Any webhook whose action fails is forgotten the
//     same way (it used to be remembered and its redelivery ignored).
//   - ACH debits the gateway settles later (Stripe: processing) used to be
//     recorded as failed attempts although the money arrived later; they
//     are now processing attempts, finished by their charge.succeeded or
//     charge.failed webhook (the payment is posted then).
//
// # Asynchronous payments (issue 19)
//
// [NewsOf] reads what an event says about a charge in billing's words
// (payment_intent.processing, .succeeded, .payment_failed; charge.failed —
// an ACH return after success, its failure code "R01" the reason;
// charge.dispute.created and .closed; charge.refunded with its refunds'
// tollgate_refund_id); billing.PlanGatewayEvent decides what that does from
// the state the charge is in, so deliveries in any order act once, and the
// store applies the plan in one transaction. A charge is found by its id
// (the PaymentIntent) or by the attempt named in its tollgate_attempt_id
// metadata. For a lost webhook, [IntentRetriever] (Stripe: GET
// /v1/payment_intents/{id}) lets the gateway recovery job ask about a
// payment processing for more than 5 minutes ([NewsOfIntent], [IntentNews]).
package payments
