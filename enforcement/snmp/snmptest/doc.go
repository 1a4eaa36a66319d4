// Package snmptest runs net-snmp's snmpd for tests, as root, in a throwaway
// network namespace of its own, with veth pairs in it as subscriber ports:
// the snmp driver's SETs of ifAdminStatus really bring those links down and
// up, which tests check with `ip link`.
//
// The namespace is joined to the host namespace by a veth pair with a /30 of
// 10.128.0.0/9 (the host end .1, the namespace end .2, where snmpd listens),
// so that the driver under test runs in the test process as usual. Names
// (namespace, host veth) derive from the process id and a counter and the
// /30 is chosen free of every address and route of the host under a lock
// file, so tests in parallel packages do not collide. Everything is removed
// when the test ends; leftovers of test processes that died are removed by
// the next Start.
//
// Start fails the test (it never skips it) when snmpd cannot run: not root,
// snmpd or iproute2 missing (scripts/setup.sh installs them).
package snmptest
