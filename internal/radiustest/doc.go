// Package radiustest runs real FreeRADIUS 3 (installed by scripts/setup.sh)
// for tests and benchmarks: as a stand-in NAS receiving CoA-Request and
// Disconnect-Request on a `listen { type = coa }` virtual server, and as
// the ISP's RADIUS server calling the agent's authorize endpoint through
// rlm_rest. It also drives radclient. A peer that cannot start fails the
// test with the reason and FreeRADIUS's own log; it never skips.
package radiustest
