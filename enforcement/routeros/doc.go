// Package routeros is the enforcement driver for MikroTik RouterOS
// routers: a suspended service's addresses go into a firewall address list
// (default "tollgate-suspended") through the RouterOS API (plain, port
// 8728, or API-SSL, 8729), where the router's own rules (see
// deploy/routeros/walled-garden.rsc, or WalledGardenConfig) redirect or
// drop their traffic.
//
// The driver owns the entries whose comment starts with its prefix
// (default "tollgate:"; it writes "tollgate:svc=<service id> reason=…")
// and never changes or removes any other entry. Suspend adds (an address
// already listed counts as done), Restore removes the driver's entries for
// the service's addresses, Observe reads the router (never a cache), and
// Reconcile makes a whole router's list right with one print and
// pipelined adds and removes. ReconcileOrphans (the agent's
// OrphanRemover, RemoveOrphans) removes the driver's queues and list
// entries of services the agent does not know, and nothing else.
//
// Each router has its own connection, command window, rate limit and
// timeout: a router that is slow, drops connections or is down holds up
// only the calls that need it, and its changes are made when it is back
// (calls retry on a new connection until their context ends). See
// README.md for the configuration and the wiring.
package routeros
