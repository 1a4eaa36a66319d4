// Package radius holds the RADIUS protocol pieces Tollgate's agent uses,
// with no enforcement policy in them: what goes on the wire and what the
// NASes say, not what a suspension means. README.md in this directory has
// the details.
//
//   - [Client] ([NewClient]): CoA-Request and Disconnect-Request (RFC
//     5176) to one NAS over UDP. Each request carries a
//     Message-Authenticator computed here (RFC 2869 §5.14, RFC 3579 §3.2;
//     layeh.com/radius, which frames the packets, does not compute it); an
//     unanswered request is resent unchanged after a timeout; answers are
//     matched by identifier and checked against the request's
//     authenticator. A NAK is an [Outcome] with its Error-Cause
//     ([ErrorCauseName]).
//   - the vendor dictionaries ([Lookup], [Named], [AttrName]): the
//     FreeRADIUS names and wire identities of the MikroTik, Cisco, Juniper
//     ERX and standard attributes Tollgate sends and reads, as [Attr].
//   - speed rendering ([RateProfile]; rateprofile.go): a service
//     profile's rates as [MikrotikRateLimit] (RouterOS's rx/tx order: rx
//     is the subscriber's upload; read back by [ParseMikrotikRateLimit],
//     fuzzed), Cisco ISG service commands and QoS
//     policies ([CiscoServiceCommand], [CiscoQoSPolicies]), Juniper
//     [JuniperServiceActivate] with the rates as parameters, and
//     [FilterIDAttr]. Pure functions, no policy: which of them a NAS gets
//     is the driver's business.
//   - [Sessions] ([NewSessions]): the session table, keyed by NAS +
//     User-Name (or, for IPoE sessions without one, the
//     Framed-IP-Address) + Acct-Session-Id; bounded. Which accounting
//     attributes show a suspended session is the driver's business
//     ([Sessions.SetClassifier]).
//     It is made durable with [Sessions.Attach] through a [SessionStore],
//     which the agent's state file implements.
//   - [AccountingServer] ([ListenAccounting]): a UDP listener for
//     Accounting-Request Start, Interim-Update, Stop and
//     Accounting-On/Off, from the NAS or copied by the RADIUS server; it
//     checks the Request Authenticator (and Message-Authenticator when
//     present), records into the table (written, when durable), then
//     answers Accounting-Response.
//
// The enforcement driver, enforcement/radius, is built on these: vendor
// profiles (what to send to suspend and restore), the authorize endpoint
// and Observe live there.
//
// This package imports neither the agent nor bbolt (nor the controller):
// TestImportsNeitherAgentNorBbolt checks its dependencies.
package radius
