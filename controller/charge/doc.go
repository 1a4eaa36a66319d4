// Package charge collects money through a payment gateway: it puts payment
// methods on file as gateway tokens, charges them (for staff, the portal and
// autopay), records every attempt, and posts the payment when the gateway
// says it succeeded — the card number itself only ever passes through to
// the gateway. Its [Metrics] count the gateway's answers (declines and
// errors by code) and, told by the store, every payment posted by method
// and amount.
package charge
