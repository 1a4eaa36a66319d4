// Package captive holds what the agents' redirect responders and the
// customer portal share to land a suspended subscriber on their own account
// page without typing anything: short-lived signed tokens that name a
// service, the per-POP signing keys they are made with, and the RFC 8908
// captive-portal API document.
//
// The controller keeps one or more master secrets (the first is current;
// the others are still accepted, for rotation). Each POP gets its own key
// derived from the current master ([DeriveKey]) and sent to its agent over
// the mutual-TLS enforcement stream, so an agent can only mint tokens for
// services of its own POP, and the portal checks that the service named in
// a token belongs to the POP whose key signed it.
//
// A token is "<payload>.<mac>", both base64url without padding. The
// payload is the key id, the POP, the service id, the expiry (Unix seconds)
// and a random nonce; the MAC is HMAC-SHA256 over the payload with the
// POP's key. Tokens are meant for one redirect: the portal trades a valid
// token for a session at once and drops it from the address bar. A token
// lives at most [MaxLifetime]: [Verify] refuses one whose expiry lies more
// than MaxLifetime + [ClockSkew] ahead of the verifier's clock, so the
// rule holds for every agent's tokens without a format change. The portal
// accepts each token once (it keeps the used [Claims.ID]s until they
// expire).
package captive
