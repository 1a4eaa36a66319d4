// Package staff is the identity of the people who run Tollgate: staff
// users with a role (reader, billing, admin), their argon2id password
// hashes, TOTP second factor and recovery codes, sign-in backoff, console
// sessions and personal API tokens.
//
// Everything here is a pure decision — the password policy, the PHC
// encoding of a password hash and its verification, the backoff delay
// after failed sign-ins, TOTP verification with a ±1 step window that
// refuses a step already used, session expiry, the format of recovery
// codes and personal tokens — so it is tested with tables and no database.
// The store (controller/postgres) keeps users, failures, sessions and
// tokens and applies these decisions; secrets are kept only as hashes
// (sessions, recovery codes, personal tokens) or as argon2id hashes
// (passwords).
//
// Backoff, not lockout: repeated failures for one user from one address
// slow that pair down (see Backoff), so nobody can lock an admin out by
// guessing wrong from elsewhere; an admin can clear the failures (unlock).
//
// Single sign-on: the role rules of an OpenID Connect configuration
// (SSORule: by claim value, Google Workspace hosted domain, verified
// e-mail domain or address; the highest matching role wins, no match is
// refused) are decided here by MapSSORole, and SSOLogin names a person
// signing in for the first time. controller/sso runs the protocol and
// produces an SSOIdentity; the store links it to a staff user.
package staff
