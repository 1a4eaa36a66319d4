// Package console is the staff console: the web window billing staff
// work in all day, served by the controller under /staff/.
//
// Pages are server-rendered with html/template and work without
// JavaScript: every action is a form that posts and re-renders the page.
// htmx (vendored in internal/webassets, served from the binary) makes
// search-as-you-type and in-place updates where a browser runs it.
//
// The console decides nothing itself. Every read and every change goes
// through the admin API, called in-process as the signed-in person (see
// [Deps.API]): the API's roles refuse what the person may not do (a
// reader's console shows no mutating buttons, and the API refuses the
// request anyway), its Idempotency-Keys make a form posted twice act
// once (each form carries its own key), and its audit records name the
// person (user:<login>).
//
// Pages: the dashboard (runs, held suspensions, payments posted today,
// receivables, failed deliveries and notices, services not confirmed by
// their agents); billing runs (a preview — what would be invoiced and
// why — is the confirmation before starting one; a running run's
// progress refreshes itself through htmx, or a Refresh link); held
// suspensions (approve or cancel all or the ticked accounts, confirmed
// first); support tickets (queue, thread, reply, close); the failed
// deliveries and notices lists.
//
// Sign-in is package staff's: a password, then a TOTP or recovery code
// for users who have one (every admin), with per-user-and-address
// backoff; or single sign-on through the ISP's OpenID Connect provider.
// Sessions keep only the hash of their secret (controller/postgres);
// every form carries a CSRF token derived from the session's secret.
package console
