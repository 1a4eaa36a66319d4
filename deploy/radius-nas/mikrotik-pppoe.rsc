# Tollgate service profiles on a MikroTik PPPoE (or hotspot) server through RADIUS.
# vendor: mikrotik. Example only: adapt addresses, names and interfaces.
#
# The agent sends (CoA-Request) and the authorize endpoint answers (Access-Accept):
#   Mikrotik-Rate-Limit = "20M/100M 30M/150M 20M/100M 8/8 5"
#     rx-rate/tx-rate rx-burst/tx-burst rx-threshold/tx-threshold rx-time/tx-time priority,
#     "rx" being the router's receive side: the subscriber's UPLOAD comes first.
#   Mikrotik-Address-List = "tollgate-throttled"   (throttled subscribers only)
#
# RouterOS turns Mikrotik-Rate-Limit into the session's dynamic simple queue
# (<pppoe-user>), and a CoA carrying a new value changes that queue in place:
# an upgrade, a downgrade or a throttle reaches the subscriber without
# re-dialling.

# 1. RADIUS for PPP: the ISP's FreeRADIUS (which calls the agent's authorize
#    endpoint) authenticates; accounting goes to it (and to the agent, or the
#    ISP's FreeRADIUS replicates it, see deploy/radius/README.md).
/radius add address=10.1.2.2 secret="change-me" service=ppp src-address=10.0.0.1 timeout=3s
/ppp aaa set use-radius=yes accounting=yes interim-update=5m

# 2. CoA and Disconnect-Request from the agent, on UDP 3799.
/radius incoming set accept=yes port=3799

# 3. The PPPoE profile. Leave rate-limit empty: the speed comes from RADIUS
#    (Mikrotik-Rate-Limit). Whatever you set here is what a subscriber gets
#    when Tollgate sends no speed (a plan without a profile, or after the
#    driver removed one by disconnecting the session).
/ppp profile add name=tollgate local-address=100.64.0.1 remote-address=pppoe-pool \
    only-one=yes change-tcp-mss=yes use-encryption=no rate-limit="" \
    comment="tollgate: speed from RADIUS (Mikrotik-Rate-Limit)"
/interface pppoe-server server add service-name=isp interface=ether2-access \
    default-profile=tollgate authentication=pap,chap,mschap2 disabled=no

# 4. Throttled subscribers keep browsing at the throttle speed; their plain
#    HTTP goes to the portal (HTTPS cannot be redirected without a
#    certificate warning: let it through, the portal is reached by HTTP).
#    Mikrotik-Address-List puts the session's address on this list for as
#    long as the session lives; restoring either disconnects the session
#    (default: it comes back without the list, at the plan's speed) or, with
#    active_address_list set in the agent's config, moves it to that list.
/ip firewall nat add chain=dstnat src-address-list=tollgate-throttled protocol=tcp dst-port=80 \
    action=dst-nat to-addresses=10.1.2.10 to-ports=80 \
    comment="tollgate: throttled subscribers' plain HTTP to the portal"
# Throttled is not suspended: put this before any rule that drops the
# tollgate-suspended list, so that DNS and HTTPS keep working (slowly).
/ip firewall filter add chain=forward src-address-list=tollgate-throttled action=accept \
    comment="tollgate: throttled subscribers keep their (slow) access"

# Suspended subscribers (access profile mikrotik-address-list): see
# deploy/routeros/walled-garden.rsc for the tollgate-suspended list's rules.

# Check a session's speed as the router holds it (what the agent cannot
# read: its read-back is what the router acknowledged):
#   /queue simple print where name~"<pppoe-"
#   /ppp active print detail where name="alice"
