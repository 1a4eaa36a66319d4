// Package portal is the customer portal and captive landing: server-rendered
// HTML that works without JavaScript, for subscribers on phones as much as
// on desktops.
//
// A subscriber arrives in one of two ways. A suspended subscriber's browser
// is sent by the router to the POP agent's redirect responder, which
// answers with a redirect to /c/{token}; the token (package captive) names
// the service and is signed with the POP's key, and the portal trades it
// for a session at once. Anyone else signs in with their account number
// and a one-time code sent to the account's email address.
//
// Signed in, a subscriber sees their account's status (and, when
// suspended, the plain-language reasons the delinquency sweep recorded),
// balance, invoices (HTML and PDF) and payments; pays the past-due amount,
// the balance or another amount with a card on file or a new one; manages
// cards and autopay; and opens support tickets and reads staff replies.
// After a payment that meets the account type's reactivation rule, the
// payment page says "Service restored" only once the POP's agent has
// applied the restore and read the device back — it follows the services'
// confirmation with server-sent events, or with a meta refresh when
// JavaScript is off.
//
// The portal also serves the RFC 8908 captive-portal API at
// /captive-portal/api, answering for the service bound to the client's
// address.
//
// Security: sessions are random cookie secrets of which the database keeps
// only a hash (Secure, HttpOnly, SameSite=Lax, scoped to the portal's
// path); every form carries a CSRF token bound to a per-browser cookie and
// to the session, and cross-site posts are refused; sign-in codes are
// limited per account and per client address, hashed with a server secret,
// expire, and die after a few wrong tries; a captive token is refused if
// it lives longer than captive.MaxLifetime (+ captive.ClockSkew), works
// once (used token ids are kept in PostgreSQL until they expire, shared by
// replicas) and signs in only while its service is suspended; one pay form
// sent many times charges once (its key is claimed before anything is
// charged); and every page that takes an id answers 404 for ids of other
// accounts. Card and bank numbers never reach the portal: they are typed
// into the payment processor's fields (Stripe's Payment Element, or the
// sandbox's iframe from its own origin), which give the page a method id,
// the only thing posted here; the Content-Security-Policy allows exactly
// those fields' origins (element.go), and a card whose bank asks for 3-D
// Secure comes back to /pay/return or /methods/return, where the intent is
// retrieved from the gateway.
//
// Storage is reached through small ports (ports.go: sessions, sign-in
// codes, captive tokens, the account view, payment methods, the pay form's
// keys, tickets), each method's doc stating the coded errors it returns;
// [Deps].Store is the one store behind them all ([Ports]).
package portal
