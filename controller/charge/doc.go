// Package charge collects money through a payment gateway: it puts payment
// methods on file as gateway tokens, charges them (for staff, the portal and
// autopay), records every attempt, and posts the payment when the gateway
// says it succeeded. It never sees a card number: the processor's fields in
// the browser turn a card into a method id, and on-session payments and
// saved methods go through the gateway's intents (intent.go). Its [Metrics]
// count the gateway's answers (declines and errors by code) and, told by the
// store, every payment posted by method and amount.
package charge
