# Tollgate service profiles (speed) on MikroTik RouterOS (6.43 and later, 7.x).
#
# A plan's speed reaches a MikroTik router one of two ways; pick one per
# subscriber (per binding), never both:
#
#  A. Bound to the agent's "routeros" driver (static or DHCP addresses, or
#     PPPoE with a fixed address): the driver keeps one simple queue per
#     service itself, through the API, named "tollgate-svc-<service id>" and
#     commented "tollgate:svc=<id> profile=<profile name>":
#
#       /queue simple add name=tollgate-svc-7 target=100.64.0.7 \
#           max-limit=20000000/100000000 burst-limit=30000000/150000000 \
#           burst-threshold=16000000/80000000 burst-time=8s/8s priority=5/5 \
#           comment="tollgate:svc=7 profile=fiber-100.v1"
#
#     Every pair is target-upload/target-download: that queue gives the
#     subscriber 100 Mbit/s down and 20 Mbit/s up. Nothing needs configuring
#     for it beyond the API user (group with read, write and api policies),
#     but three things on the router decide whether the queues bite:
#
#       1. FastTrack bypasses simple queues. RouterOS's default configuration
#          fasttracks established connections ("defconf: fasttrack"); with it,
#          most of a subscriber's traffic never meets their queue. Remove or
#          disable that rule on routers that shape subscribers (section 1).
#       2. Simple queues are matched top to bottom, first match wins. A queue
#          of your own that targets a whole subscriber network (an "uplink"
#          cap on 100.64.0.0/16) placed above the driver's would take their
#          traffic first: keep such queues below, or make them parents.
#       3. Never edit the driver's queues by hand: the agent's reconcile sets
#          them back to the plan's profile (that is the point). To give one
#          subscriber another speed, change their plan in Tollgate.
#
#  B. PPPoE (or hotspot) with RADIUS, bound to the agent's "radius" driver:
#     the router itself makes a dynamic simple queue for each session from
#     the Mikrotik-Rate-Limit attribute that the RADIUS server (the agent's
#     authorize endpoint through FreeRADIUS's rlm_rest) answers at login, and
#     changes it when the agent sends a CoA with a new rate (an upgrade, a
#     throttle, a restore). See deploy/radius/README.md for the RADIUS side;
#     the router side is section 2.
#
# Throttling (an account type that throttles instead of cutting off): with
# A, the driver sets the queue to the throttle profile (1M/1M, say) and puts
# the address in the "tollgate-throttled" address list, whose plain HTTP the
# walled garden's NAT rule sends to the redirect responder (walled-garden.rsc;
# nothing is dropped); with B, the CoA carries the throttle rate and the
# RADIUS profile's redirect.
#
# Use: edit the values below, upload the file and run
#   /import file-name=queues.rsc
# Sections can be run on their own; each is inside its own { } block.

# --- 1. Routers whose simple queues shape subscribers (way A) --------------
{
  # FastTrack would bypass the queues: disable the default fasttrack rule
  # (kept, so it can be enabled again). "accept established" stays.
  :foreach r in=[/ip firewall filter find action=fasttrack-connection] do={
    /ip firewall filter disable $r
  }
  :log info "tollgate queues: fasttrack disabled so that simple queues apply"
}

# --- 2. PPPoE with RADIUS (way B) ------------------------------------------
{
  # The RADIUS server the PPPoE sessions authenticate against (FreeRADIUS,
  # which calls the agent's authorize endpoint), and its secret.
  :local radiusAddress "192.0.2.20"
  :local radiusSecret "change-me"
  # The interface subscribers' PPPoE comes in on, the router's address on
  # the PPP side and the pool subscribers get addresses from (when RADIUS
  # sends no Framed-IP-Address).
  :local pppoeInterface "ether2"
  :local localAddress "100.64.0.1"
  :local pool "pppoe-pool"

  :if ([:len [/radius find address=$radiusAddress service~"ppp"]] = 0) do={
    /radius add address=$radiusAddress secret=$radiusSecret service=ppp timeout=3s comment="tollgate"
  }
  # Accept CoA and Disconnect-Request from the agent (RFC 5176, port 3799):
  # the agent changes a session's Mikrotik-Rate-Limit without a reconnect.
  /radius incoming set accept=yes port=3799
  # Sessions are authorised and accounted through RADIUS; interim updates
  # let the agent learn sessions and addresses.
  /ppp aaa set use-radius=yes accounting=yes interim-update=5m

  # The PPP profile every session starts from. Its rate-limit is only the
  # fallback for a session RADIUS gives no Mikrotik-Rate-Limit (a plan
  # without a profile): RADIUS's attribute wins. Leave it empty to give
  # such sessions no limit. only-one=yes: one session per user.
  :if ([:len [/ppp profile find name="tollgate"]] = 0) do={
    /ppp profile add name="tollgate" local-address=$localAddress remote-address=$pool \
        only-one=yes use-encryption=no change-tcp-mss=yes rate-limit="" \
        comment="tollgate: speed comes from RADIUS (Mikrotik-Rate-Limit)"
  }
  :if ([:len [/interface pppoe-server server find interface=$pppoeInterface]] = 0) do={
    /interface pppoe-server server add interface=$pppoeInterface service-name="isp" \
        default-profile="tollgate" authentication=pap,chap,mschap2 one-session-per-host=yes disabled=no
  }
  # Mikrotik-Rate-Limit as the agent renders it, for a 100M down / 20M up
  # plan with bursts (upload/download, the router's point of view: rx is
  # the subscriber's upload):
  #   20M/100M 30M/150M 16M/80M 8/8 5
  # The router turns it into a dynamic queue "<pppoe-user>" at the top of
  # /queue simple; the agent's routeros driver must not also queue these
  # subscribers (bind them to "radius", not "routeros").
  :log info "tollgate queues: PPPoE with RADIUS rate limits configured"
}
