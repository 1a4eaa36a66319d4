#!/usr/bin/env bash
# Writes the demo's 200 accounts as an import CSV to stdout: 150 residential
# and 50 commercial, a few with two services, all starting on START (YYYY-MM-DD).
# Services use the log driver (it records what it would enforce). Account
# 150's service is bound to 127.0.0.1 for the portal part of the demo.
#   scripts/demo-accounts.sh 2026-12-01 > accounts.csv
set -euo pipefail
start=${1:?usage: demo-accounts.sh START_DATE}
first=(Ana Ben Chloe Dev Elena Farid Grace Hiro Ines Jamal Kira Luis Maya Nora Omar Priya Quinn Rosa Sam Tara)
last=(Nguyen Smith Garcia Patel Kim Okafor Rossi Novak Cohen Silva Haddad Murphy Tanaka Larsen Dubois)
streets=("Elm St" "Oak Ave" "Prairie Rd" "Cedar Ln" "Main St" "Lake Dr" "Mill Rd" "Pecan St")
echo "external_id,name,email,phone,address_line1,city,region,postal_code,country,account_type,currency,tax_jurisdiction,delivery,service_name,pop,plan,start_date,method,addresses"
for i in $(seq 1 200); do
  f=${first[$(( i % ${#first[@]} ))]}; l=${last[$(( (i * 7) % ${#last[@]} ))]}
  street=${streets[$(( i % ${#streets[@]} ))]}
  if [ "$i" -le 150 ]; then
    type=residential; plan="Fiber 100"; name="$f $l"; email="$(echo "$f.$l" | tr 'A-Z' 'a-z')$i@example.net"; pop=north-tower-1
  else
    type=commercial; plan="Business 500"; name="$l & $f Supply Co."; email="billing$i@$(echo "$l" | tr 'A-Z' 'a-z')-supply.example"; pop=downtown-pop
  fi
  ip="100.64.$(( i / 250 )).$(( i % 250 + 2 ))"
  # Account 150 never pays; its service is bound to 127.0.0.1 so that a
  # browser on the demo's machine is that suspended subscriber.
  [ "$i" -eq 150 ] && ip=127.0.0.1
  line="legacy-$i,\"$name\",$email,+1-512-555-$(printf '%04d' "$i"),\"$(( 100 + i )) $street\",Austin,TX,787$(printf '%02d' $(( i % 100 ))),US,$type,USD,US-TX,"
  echo "$line,Internet,$pop,$plan,$start,log,$ip"
  if [ $(( i % 20 )) -eq 0 ]; then
    echo "$line,Static IP block,$pop,Static IP,$start,log,100.65.$(( i / 20 )).0/29"
  fi
done
