// Package radius is the RADIUS enforcement driver: it suspends, restores
// and throttles subscriber sessions on a NAS and sets their plan's speed
// with RFC 5176 dynamic authorization (CoA-Request, Disconnect-Request),
// learns which sessions exist from RADIUS accounting, and gives a
// reconnecting subscriber their state and speed through an authorize
// endpoint the ISP's FreeRADIUS calls with rlm_rest. README.md in this directory has the details, the
// FreeRADIUS configuration and what Observe can and cannot see.
//
// The protocol pieces (the packet client with retries and
// Message-Authenticator, the vendor dictionaries, the accounting listener
// and the session table) are the top-level package radius
// (github.com/tollgate-isp/tollgate/radius, imported here as radiusproto);
// this package decides what to send to whom. Pieces, which [Open]
// assembles from the agent's `radius:` config:
//
//   - the session table ([radiusproto.Sessions]) and the accounting
//     listener ([radiusproto.ListenAccounting]) that feeds it, from the
//     protocol package; the driver tells the table which accounting
//     attributes show a suspended session (its NAS's vendor profile), and
//     the agent's state file keeps it ([radiusproto.SessionStore]).
//   - [Driver] ([NewDriver]): the [enforcement.Driver] and
//     [enforcement.Shaper]. Per NAS an access profile (mikrotik-address-list,
//     mikrotik-rate-limit, cisco-avpair, juniper-erx, filter-id,
//     disconnect) says what suspends and restores, and a vendor (mikrotik,
//     cisco, juniper, generic; speed.go) which attributes carry a service
//     profile's speed and a throttled session's redirect; requests carry
//     NAS-IP-Address, User-Name, Acct-Session-Id, Framed-IP-Address,
//     Event-Timestamp and a Message-Authenticator; they are resent after a
//     timeout, a NAK with Error-Cause 503 (session not found) means the
//     session is gone and there is nothing to do, any other NAK is an error
//     naming its Error-Cause ([NAKError]).
//   - the authorize endpoint ([NewAuthorizeHandler]): answers rlm_rest with
//     the suspended profile's reply attributes for suspended subscribers,
//     the throttle speed and redirect for throttled ones and the plan's
//     speed for active ones (by User-Name, Framed-IP-Address or
//     Calling-Station-Id), from the driver's own record, which changes
//     before any request is sent. It
//     lives here, not in the protocol package, because its answer is the
//     driver's decision: which services are suspended (the record Suspend,
//     Restore and Preload change) and which reply each NAS's vendor profile
//     gives; Observe reads the very same decision. The protocol package
//     knows no services, targets or profiles.
//
// Observe and ObserveProfile cannot read a NAS (RADIUS has no way to ask a
// NAS what it applied). They report the state and speed the NAS last
// acknowledged for each of the service's sessions, or that the authorize
// endpoint answered at the session's login, or that the NAS's accounting
// showed, combined with what the authorize endpoint answers for it now; a
// session restarted with none of these has an unknown speed (read back
// nil, so the reconcile sends it again); a suspension or throttle of a
// service without sessions is pending ([Driver.Pending]) until it logs in.
package radius
