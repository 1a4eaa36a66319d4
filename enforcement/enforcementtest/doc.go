// Package enforcementtest is the conformance suite every enforcement driver
// must pass against its real peer (a RouterOS API simulator, FreeRADIUS,
// snmpd): one table of behaviours, so that the agent can treat all drivers
// alike.
//
//	func TestConformance(t *testing.T) {
//		enforcementtest.Run(t, driver, peer)
//	}
//
// Drivers that enforce speed ([enforcement.Shaper]) run [RunShaper] as
// well; a peer whose device needs vendor names in a profile (a Cisco ISG's
// services, a generic NAS's Filter-Id filters) implements [VendorNamer].
package enforcementtest
