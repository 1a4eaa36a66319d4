// Package leases reads the DHCP server lease files an ISP points a POP's
// agent at — ISC dhcpd's dhcpd.leases (DHCPv4 "lease" blocks and DHCPv6
// "ia-na"/"ia-pd" blocks) and Kea's memfile CSV (kea-leases4.csv,
// kea-leases6.csv) — and matches the leases to the services the agent
// enforces, so the controller learns each subscriber's dynamic address.
//
// Both files are append-only logs: the last entry of an address is its
// state. [ParseISC] and [ParseKea] return that last state of every
// address; [Current] keeps the leases bound at a time; [Matcher] says which
// service a lease belongs to. Parse errors name the file's line. The
// parsers are fuzzed (they read files other software writes).
package leases
