# Tollgate walled garden for MikroTik RouterOS (6.43 and later, 7.x).
#
# Suspended subscribers are the addresses in the address list that the
# tollgate agent's routeros driver keeps (default "tollgate-suspended").
# For them, this script installs, at the top of their chains:
#
#   /ip firewall nat     dstnat: TCP port 80 -> the agent's redirect
#                        responder, which answers 302 to the portal
#   /ip firewall filter  forward: accept DNS (UDP and TCP 53), accept the
#                        redirect responder, accept the walled-garden list
#                        (portal, payment processor), drop everything else
#
# Throttled subscribers (an account type that throttles instead of cutting
# off) are the addresses in the driver's throttle list (default
# "tollgate-throttled"). They keep their connection at the throttle
# profile's speed (their simple queue, which the driver keeps: see
# queues.rsc), and only their plain HTTP is sent to the redirect responder,
# so a browser lands on the payment portal; nothing of theirs is dropped:
#
#   /ip firewall nat     dstnat: TCP port 80 from the throttle list -> the
#                        redirect responder (no filter rules)
#
# It is what the driver installs itself with
#   walled_garden: {bootstrap: true, redirect: "192.0.2.10:8080"}
# in a router's entry of the agent config; use one or the other. Rules are
# recognised by their comments ("tollgate:walled-garden ..."): a rule that
# exists already is left alone, so running the script twice changes
# nothing. To change a rule, remove it (and the rules after it) and run the
# script again. HTTPS cannot be redirected without certificate errors: it
# is dropped, and browsers fall back to their captive-portal checks over
# HTTP, which the dst-nat rule catches.
#
# Use: edit the six values below, upload the file and run
#   /import file-name=walled-garden.rsc
# or paste it into a terminal. Everything is inside one { } block so that
# the local variables hold for the whole script.
{
  # Address list of suspended subscribers (the driver's address_list).
  :local suspended "tollgate-suspended"
  # Address list of throttled subscribers (the driver's throttle_list).
  :local throttled "tollgate-throttled"
  # Address list of destinations they may still reach (walled_garden.list).
  :local garden "tollgate-walled-garden"
  # The agent's redirect responder (walled_garden.redirect).
  :local responder "192.0.2.10"
  :local responderPort "8080"
  # Portal and payment processor: names or addresses (walled_garden.allow).
  :local allow {"portal.isp.example"; "198.51.100.20"}

  :foreach a in=$allow do={
    :if ([:len [/ip firewall address-list find list=$garden address=$a]] = 0) do={
      /ip firewall address-list add list=$garden address=$a comment="tollgate:walled-garden"
    }
  }

  # NAT: two rules, first in the table: suspended subscribers' HTTP, then
  # throttled subscribers' HTTP (added first, so it ends up second).
  :if ([:len [/ip firewall nat find comment="tollgate:walled-garden redirect http throttled"]] = 0) do={
    :if ([:len [/ip firewall nat find]] > 0) do={
      /ip firewall nat add chain=dstnat src-address-list=$throttled protocol=tcp dst-port=80 action=dst-nat to-addresses=$responder to-ports=$responderPort comment="tollgate:walled-garden redirect http throttled" place-before=[:pick [/ip firewall nat find] 0]
    } else={
      /ip firewall nat add chain=dstnat src-address-list=$throttled protocol=tcp dst-port=80 action=dst-nat to-addresses=$responder to-ports=$responderPort comment="tollgate:walled-garden redirect http throttled"
    }
  }
  :if ([:len [/ip firewall nat find comment="tollgate:walled-garden redirect http"]] = 0) do={
    :if ([:len [/ip firewall nat find]] > 0) do={
      /ip firewall nat add chain=dstnat src-address-list=$suspended protocol=tcp dst-port=80 action=dst-nat to-addresses=$responder to-ports=$responderPort comment="tollgate:walled-garden redirect http" place-before=[:pick [/ip firewall nat find] 0]
    } else={
      /ip firewall nat add chain=dstnat src-address-list=$suspended protocol=tcp dst-port=80 action=dst-nat to-addresses=$responder to-ports=$responderPort comment="tollgate:walled-garden redirect http"
    }
  }

  # Filter: added last to first, each at the top, so that they end up in
  # this order above every existing rule (a fasttrack or "accept
  # established" rule must not let suspended subscribers' traffic through):
  #   accept dns udp, accept dns tcp, accept responder, accept garden, drop
  :foreach name in={"drop"; "accept garden"; "accept responder"; "accept dns tcp"; "accept dns udp"} do={
    :local c ("tollgate:walled-garden " . $name)
    :if ([:len [/ip firewall filter find comment=$c]] = 0) do={
      :local top ""
      :if ([:len [/ip firewall filter find]] > 0) do={ :set top [:pick [/ip firewall filter find] 0] }
      :if ($name = "drop") do={
        :if ($top = "") do={ /ip firewall filter add chain=forward src-address-list=$suspended action=drop comment=$c } else={ /ip firewall filter add chain=forward src-address-list=$suspended action=drop comment=$c place-before=$top }
      }
      :if ($name = "accept garden") do={
        :if ($top = "") do={ /ip firewall filter add chain=forward src-address-list=$suspended dst-address-list=$garden action=accept comment=$c } else={ /ip firewall filter add chain=forward src-address-list=$suspended dst-address-list=$garden action=accept comment=$c place-before=$top }
      }
      :if ($name = "accept responder") do={
        :if ($top = "") do={ /ip firewall filter add chain=forward src-address-list=$suspended dst-address=$responder protocol=tcp dst-port=$responderPort action=accept comment=$c } else={ /ip firewall filter add chain=forward src-address-list=$suspended dst-address=$responder protocol=tcp dst-port=$responderPort action=accept comment=$c place-before=$top }
      }
      :if ($name = "accept dns tcp") do={
        :if ($top = "") do={ /ip firewall filter add chain=forward src-address-list=$suspended protocol=tcp dst-port=53 action=accept comment=$c } else={ /ip firewall filter add chain=forward src-address-list=$suspended protocol=tcp dst-port=53 action=accept comment=$c place-before=$top }
      }
      :if ($name = "accept dns udp") do={
        :if ($top = "") do={ /ip firewall filter add chain=forward src-address-list=$suspended protocol=udp dst-port=53 action=accept comment=$c } else={ /ip firewall filter add chain=forward src-address-list=$suspended protocol=udp dst-port=53 action=accept comment=$c place-before=$top }
      }
    }
  }
  :log info "tollgate walled garden: rules in place"
}
