// Package push serves the Enforcement gRPC service to agents: it relays each
// POP's desired state as a snapshot, then deltas in revision order, then
// heartbeats, and records the acknowledgements agents report back.
//
// The stream only relays what the enforcement feed (the outbox in
// PostgreSQL) holds; it never decides anything. A [Hub] turns PostgreSQL
// LISTEN/NOTIFY into per-POP wake-ups so that every controller replica's
// streams learn of a committed change at once.
//
// Every record carries the service's speed profile. What a stream sends
// depends only on what its agent announced in WatchRequest.features: an
// agent with [FeatureServiceProfiles] receives a throttled service as
// THROTTLED, any other agent as SUSPENDED (it cuts off, as it always did);
// the records themselves are the same for every agent.
//
// With [WithRedirect], each stream opens with the POP's redirect settings
// (portal URL and token-signing key) for the agent's redirect responder.
package push
