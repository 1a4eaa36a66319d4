#!/usr/bin/env bash
# Installs what Tollgate's tests and demo need on Debian/Ubuntu, from the
# distribution's packages. Idempotent and quiet when everything is present.
# Called by `make test`, `make demo` and `make bench`.
set -euo pipefail

# command-or-path -> Debian package that provides it
declare -A need=(
  [pg]=postgresql              # initdb/postgres for the throwaway test clusters
  [protoc]=protobuf-compiler   # `make proto` and the stale-generated-code check
  [curl]=curl                  # `make demo` talks to /readyz
  [pdftotext]=poppler-utils    # controller/documents tests read back the PDFs they render
  [freeradius]=freeradius      # the radius driver's CoA/Disconnect peer and authorize caller
  [radclient]=freeradius-utils # sends RADIUS accounting to the agent in tests
  [rlm_rest]=freeradius-rest   # FreeRADIUS calls the agent's authorize endpoint (rlm_rest)
  [snmpd]=snmpd                # the snmp driver's peer, run in a network namespace
  [snmpset]=snmp               # snmpget/snmpset: tests change ports "by hand"
  [ip]=iproute2                # network namespaces and veth pairs for the snmp tests
  [chromium]=chromium          # the portal's end-to-end test drives headless Chromium (chromedp)
  [promtool]=prometheus        # `go test ./deploy` checks the alert rules and runs their unit tests
  [npm]=npm                    # `make lint` runs @redocly/cli on the OpenAPI document; scripts/vendor-web.sh
  [node]=nodejs                # (both from internal/webassets/npm's lockfile)
  [stress-ng]=stress-ng        # `BENCH_LOAD=1 make bench`: the CPU-bound load beside the benchmarks
)

missing=()
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
have_pg || missing+=("${need[pg]}")
command -v protoc >/dev/null 2>&1 || missing+=("${need[protoc]}")
command -v curl >/dev/null 2>&1 || missing+=("${need[curl]}")
command -v pdftotext >/dev/null 2>&1 || missing+=("${need[pdftotext]}")
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have freeradius || missing+=("${need[freeradius]}")
have radclient || missing+=("${need[radclient]}")
ls /usr/lib/freeradius/rlm_rest.so >/dev/null 2>&1 || missing+=("${need[rlm_rest]}")
have snmpd || missing+=("${need[snmpd]}")
have snmpset || missing+=("${need[snmpset]}")
have ip || missing+=("${need[ip]}")
have chromium || missing+=("${need[chromium]}")
have promtool || missing+=("${need[promtool]}")
have node || missing+=("${need[node]}")
have npm || missing+=("${need[npm]}")
have stress-ng || missing+=("${need[stress-ng]}")

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]} from the distribution's packages" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Only promtool is wanted from the prometheus package, not the Prometheus
# server it would start on :9090: policy-rc.d (exit 101) tells the package
# scripts not to start services while it is installed, and the server's unit
# is disabled afterwards. An existing policy-rc.d is left alone.
policy=""
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# scripts/setup.sh: no service starts while packages install\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 0755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
echo "setup: done" >&2
