// Package radius is the RADIUS enforcement driver: it suspends and
// restores subscriber sessions on a NAS with RFC 5176 dynamic
// authorization (CoA-Request, Disconnect-Request), learns which sessions
// exist from RADIUS accounting, and keeps a suspended subscriber suspended
// when they reconnect through an authorize endpoint the ISP's FreeRADIUS
// calls with rlm_rest. README.md in this directory has the details, the
// FreeRADIUS configuration and what Observe can and cannot see.
//
// Pieces, which [Open] assembles from the agent's `radius:` config:
//
//   - [radiusproto.Sessions]: the session table, keyed by NAS + User-Name (or, for
//     IPoE sessions without one, the Framed-IP-Address) + Acct-Session-Id;
//     bounded; kept in the agent's state file ([radiusproto.Sessions.Attach]).
//   - [radiusproto.AccountingServer] ([ListenAccounting]): a UDP listener for
//     Accounting-Request Start, Interim-Update, Stop and
//     Accounting-On/Off, from the NAS or copied by the RADIUS server; it
//     checks the Request Authenticator (and Message-Authenticator when
//     present), records, then answers Accounting-Response.
//   - [Driver] ([NewDriver]): the [enforcement.Driver]. Per NAS a vendor
//     profile (mikrotik-address-list, mikrotik-rate-limit, cisco-avpair,
//     juniper-erx, filter-id, disconnect) says what to send; requests carry
//     NAS-IP-Address, User-Name, Acct-Session-Id, Framed-IP-Address,
//     Event-Timestamp and a Message-Authenticator computed here; they are
//     resent after a timeout, a NAK with Error-Cause 503 (session not found)
//     means the session is gone and there is nothing to do, any other NAK
//     is an error naming its Error-Cause.
//   - the authorize endpoint ([NewAuthorizeHandler]): answers rlm_rest with
//     the suspended profile's reply attributes for suspended subscribers
//     (by User-Name, Framed-IP-Address or Calling-Station-Id), from the
//     driver's own record, which changes before any request is sent.
//
// Observe cannot read a NAS (RADIUS has no way to ask a NAS what it
// applied). It reports the state the NAS last acknowledged for each of the
// service's sessions, or that the NAS's accounting showed, combined with
// what the authorize endpoint answers for it; a suspension of a service
// without sessions is pending ([Driver.Pending]) until it logs in.
package radius
