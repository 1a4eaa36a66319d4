// Package enforcementtest is the conformance suite every enforcement driver
// must pass against its real peer (a RouterOS API simulator, FreeRADIUS,
// snmpd): one table of behaviours, so that the agent can treat all drivers
// alike.
//
//	func TestConformance(t *testing.T) {
//		enforcementtest.Run(t, driver, peer)
//	}
package enforcementtest
