// Package push serves the Enforcement gRPC service to agents: it relays each
// POP's desired state as a snapshot, then deltas in revision order, then
// heartbeats, and records the acknowledgements agents report back.
//
// The stream only relays what the enforcement feed (the outbox in
// PostgreSQL) holds; it never decides anything. A [Hub] turns PostgreSQL
// LISTEN/NOTIFY into per-POP wake-ups so that every controller replica's
// streams learn of a committed change at once.
//
// With [WithRedirect], each stream opens with the POP's redirect settings
// (portal URL and token-signing key) for the agent's redirect responder.
package push
