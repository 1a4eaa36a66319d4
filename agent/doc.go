// Package agent is the POP agent: it follows its POP's desired state from the
// controller's Enforcement stream, applies every change through the
// enforcement driver named by each service's binding, reads the device back,
// and acknowledges what it applied.
//
// The agent's memory is its state file ([Store], bbolt): per service, the
// desired state and binding last received and the result of the last apply,
// and the controller revision applied. Each message from the controller is
// applied and stored in one transaction, the revision last, before it is
// acknowledged.
//
// The agent fails static: if the controller is unreachable, or after a
// restart without it, it keeps what it has applied and changes nothing on the
// devices (it only retries services whose last apply failed) until the
// stream returns. It then resumes from its stored revision, so it gets the
// deltas it missed rather than a snapshot; and a snapshot, when the
// controller must send one, is applied as a diff against what is stored, so
// reconnecting never churns the network.
//
// Every ReconcileInterval (default 5 minutes) a full reconcile reads every
// applied service back from its device and repairs drift — an address-list
// entry removed by hand, a port brought up by hand — and reports the
// read-backs to the controller as observed state ([Agent.Reconcile]).
// Then drivers that are an [OrphanRemover] (routeros) remove what they
// hold on their devices for services the agent does not know — a queue
// left by a crash, the entries of a service removed while the agent was
// away — once the agent has applied a snapshot from the controller.
//
// A driver that reports a state as pending ([enforcement.PendingReporter]:
// a RADIUS suspension of a service with no session, which the authorize
// endpoint walls at the next login) gets OUTCOME_PENDING with its reason
// instead of OUTCOME_APPLIED: neither failed (not retried) nor confirmed;
// the reconcile that finds it in place reports it applied. A driver that
// answers for the desired state from its own memory ([Preloader]: the
// radius driver's authorize endpoint) is told the stored desired state when
// it is registered, before it answers anyone. The state file also keeps the
// RADIUS session table ([Store.SaveSessions]): the top-level radius package
// persists it through its SessionStore interface, which [Store] implements,
// so that radius imports neither this package nor bbolt.
//
// Service profiles (speed) and throttling: the agent announces the
// "service-profiles" feature in its Watch request, so the controller sends
// it DESIRED_STATE_THROTTLED. A service's profile reaches its driver when
// the driver is an [enforcement.Shaper] (Restore applies the plan's,
// Throttle the throttle profile); a profile change alone is a change, its
// speed is read back ([enforcement.Shaper.ObserveProfile]) and reported as
// observed_profile, the state file keeps the profile applied, and the full
// reconcile repairs a speed edited by hand. A driver that is not a Shaper
// ignores profiles and suspends a throttled service (fail safe), with a
// warning. See profile.go.
//
// The agent also runs the POP's redirect responder ([Responder], served by
// cmd/tollgate-agent): the router dst-nats suspended subscribers' plain HTTP
// to it, and it answers a subscriber it finds by source address with a 302
// to the customer portal carrying a short-lived token that names their
// service, signed with the POP's key. Throttled subscribers are answered
// like suspended ones (the router sends their plain HTTP here too). The controller sends the portal URL
// and the key first on every stream; the agent keeps them in its state
// file, so the responder goes on redirecting while the controller is away
// and after a restart without it.
//
// Pointed at the POP's DHCP server lease file (Config.Leases), and told the
// RADIUS session table ([Agent.LearnFromRADIUS]), the agent learns which
// address each of its services holds (package leases matches leases to
// services) and reports the bindings, per source, in
// ReportRequest.learned_addresses when they change and on every new stream
// (learn.go); the controller puts them in the binding of a service without
// an address of its own.
package agent
