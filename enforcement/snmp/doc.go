// Package snmp is the enforcement driver for services cut off by shutting
// their port on a switch, OLT or DSLAM over SNMP: per service a device
// (Binding.Device, a name from the agent config) and an interface
// (Binding.IfIndex, the IF-MIB ifIndex).
//
//   - Suspend sets IF-MIB::ifAdminStatus.<ifIndex> to down(2).
//   - Restore sets it to up(1).
//   - Observe GETs it from the device: up(1) is active, down(2) suspended;
//     anything else (testing(3), another value or type, noSuchInstance) is
//     an error naming what the device answered.
//
// Both SETs are idempotent on the device. SNMP v2c (a read-write community)
// and v3 (USM, authPriv: SHA-256, SHA or SHA-512 with AES or AES-256) are
// supported, through github.com/gosnmp/gosnmp over UDP.
//
// A gosnmp client is not safe for concurrent use, so the driver keeps a small
// pool per device: at most DeviceConfig.Concurrency requests are in flight to
// one device, each on its own socket; other calls wait (or give up when their
// context ends). A context's cancellation aborts a request that is waiting
// for its response at once.
//
// Errors are [*Error] values naming the operation, service, device and
// ifIndex. They wrap a [*StatusError] when the device answered with an
// SNMP error-status (noAccess, notWritable, noCreation...),
// [ErrNoSuchInterface] when the device has no such ifIndex, [ErrNoResponse]
// when it did not answer, [ErrUnknownDevice] for a binding naming a device
// that is not configured, and the context's error when the call's context
// ended. Secrets (community, USM passwords) come from files or environment
// variables and are never logged or put into errors.
//
// Wiring, in the agent's main:
//
//	drv, err := snmp.New(cfg.SNMP, log) // cfg.SNMP snmp.Config `yaml:"snmp"`
//	if err != nil { ... }
//	defer drv.Close()
//	drivers[snmp.Method] = drv
//
// The tests run the driver against net-snmp's snmpd in a network namespace
// (package snmptest), where a SET really brings a veth down and up.
package snmp
