#!/usr/bin/env bash
# make demo: an ephemeral PostgreSQL, the controller and two agents as real
# processes, a mail sink and a print-and-mail sink; billing, payments,
# delinquency with its suspensions and restores, a service move, plan change
# and cancellation with their invoice lines, the customer portal (a
# suspended subscriber lands on it and another pays in it) and invoice
# delivery, and a clerk signing in to the staff console, each printed as it
# happens. DEMO_KEEP=1 leaves everything
# running, with a portal URL a person can open and pay in.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.bin
HTTP_PORT=${DEMO_HTTP_PORT:-18080}
GRPC_PORT=${DEMO_GRPC_PORT:-19090}
AGENT_METRICS_PORT=${DEMO_AGENT_METRICS_PORT:-19100}
AGENT2_METRICS_PORT=${DEMO_AGENT2_METRICS_PORT:-19101}
SMTP_PORT=${DEMO_SMTP_PORT:-12525}
PRINTMAIL_PORT=${DEMO_PRINTMAIL_PORT:-14010}
REDIRECT_PORT=${DEMO_REDIRECT_PORT:-18081}
POP=demo-pop-1
# The demo's world starts on a fixed date, whenever it runs, so its dates
# (a delinquency date on a weekend, moved to Monday) are always the same.
CLOCK_START=2027-11-15T12:00:00Z

go build -o "$BIN/tollgate-devdb" ./internal/tools/devdb
go build -o "$BIN/tollgate-smtpsink" ./internal/tools/smtpsink
go build -o "$BIN/tollgate-printmailsim" ./internal/tools/printmailsim
go build -o "$BIN/" ./cmd/...

run=$(mktemp -d -t tollgate-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo: $*" >&2; for f in "$run"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }
for port in "$HTTP_PORT" "$GRPC_PORT" "$AGENT_METRICS_PORT" "$AGENT2_METRICS_PORT" "$SMTP_PORT" "$PRINTMAIL_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is in use; set DEMO_HTTP_PORT, DEMO_GRPC_PORT, DEMO_AGENT_METRICS_PORT, DEMO_AGENT2_METRICS_PORT, DEMO_SMTP_PORT or DEMO_PRINTMAIL_PORT"
  fi
done

say "Starting a throwaway PostgreSQL"
"$BIN/tollgate-devdb" -url-file "$run/db.url" >/dev/null 2>"$run/devdb.log" &
pids+=($!)
for _ in $(seq 1 300); do [ -s "$run/db.url" ] && break; sleep 0.1; done
[ -s "$run/db.url" ] || fail "PostgreSQL did not start"
DB_URL=$(cat "$run/db.url")
echo "database: $DB_URL"

say "Starting a local mail sink (a real SMTP server that keeps what it receives in $run/mail)"
"$BIN/tollgate-smtpsink" -listen "127.0.0.1:$SMTP_PORT" -dir "$run/mail" >"$run/mail.log" 2>&1 &
pids+=($!)

say "Starting a local print-and-mail sink (a fake Lob-style vendor: keeps the letters it \"prints\" in $run/letters, says when they are mailed)"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$run/print-mail.key"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$run/print-mail-webhook.secret"
# Account 177's letter comes back to the sender; account 188's address does
# not pass verification.
"$BIN/tollgate-printmailsim" -listen "127.0.0.1:$PRINTMAIL_PORT" -dir "$run/letters" -api-key-file "$run/print-mail.key" \
  -webhook-url "http://127.0.0.1:$HTTP_PORT/api/v1/webhooks/print-mail" -webhook-secret-file "$run/print-mail-webhook.secret" \
  -mail-after 1s -return-postal-codes 78777 -undeliverable-postal-codes 78788 >"$run/letters.log" 2>&1 &
pids+=($!)

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo -n "$TOKEN" > "$run/admin.token"
cat > "$run/controller.yaml" <<YAML
database_url: "$DB_URL"
http: {listen: "127.0.0.1:$HTTP_PORT"}
grpc: {listen: "127.0.0.1:$GRPC_PORT", insecure_plaintext: true, heartbeat_interval: 2s}
dev: {clock_api: true, clock_start: "$CLOCK_START"}   # the demo moves time forward through the API
notices:
  smtp: {addr: "127.0.0.1:$SMTP_PORT", from: "Prairie Fiber Billing <billing@prairiefiber.example>", tls: none}
company: {name: "Prairie Fiber Co-op", address: ["100 Main St", "Austin, TX 78701"]}
delivery:   # invoices: email through notices.smtp, mail through the print-and-mail sink
  print_mail:
    base_url: "http://127.0.0.1:$PRINTMAIL_PORT"
    api_key_file: "$run/print-mail.key"
    webhook_secret_file: "$run/print-mail-webhook.secret"
    from: {company: "Prairie Fiber Co-op", line1: "100 Main St", city: Austin, region: TX, postal_code: "78701"}
    return_envelope: true
console:    # the staff console
  public_url: "http://127.0.0.1:$HTTP_PORT/staff"
portal:     # the customer portal; notices link to it
  public_url: "http://127.0.0.1:$HTTP_PORT/portal"
  support: "call 512-555-0100, Monday to Friday 8am to 6pm"
api:
  tokens:
    - {name: demo-admin, role: admin, token_file: "$run/admin.token"}
YAML

say "Starting the controller (migrates the database on start)"
"$BIN/tollgate-controller" --config "$run/controller.yaml" 2>"$run/controller.log" &
pids+=($!)
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 || fail "controller not ready"
echo "controller: http://127.0.0.1:$HTTP_PORT (admin API, /metrics), gRPC 127.0.0.1:$GRPC_PORT"

# Staff: a billing clerk who signs in with a password, and an admin, who
# also needs a TOTP code (the secret is printed for an authenticator app).
CLERK_PASSWORD="demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ADMIN_PASSWORD="demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "http://127.0.0.1:$HTTP_PORT/api/v1/staff" \
  -d "{\"login\":\"clerk\",\"name\":\"Casey Clerk\",\"role\":\"billing\",\"password\":\"$CLERK_PASSWORD\"}" >/dev/null || fail "could not add the staff user clerk"
ADMIN_TOTP=$(curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "http://127.0.0.1:$HTTP_PORT/api/v1/staff" \
  -d "{\"login\":\"admin\",\"name\":\"Alex Admin\",\"role\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | sed -n 's/.*"secret":"\([A-Z2-7]*\)".*/\1/p')
[ -n "$ADMIN_TOTP" ] || fail "could not add the staff user admin"
console="http://127.0.0.1:$HTTP_PORT/staff"
jar="$run/console.cookies"
csrf=$(curl -sS -c "$jar" -b "$jar" "$console/signin" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -sS -c "$jar" -b "$jar" -o /dev/null "$console/signin" --data-urlencode "csrf=$csrf" --data-urlencode "login=clerk" \
  --data-urlencode "password=$CLERK_PASSWORD" --data-urlencode "next=/staff/"
curl -sS -b "$jar" "$console/" | grep -q 'Casey Clerk · billing' || fail "the clerk could not sign in to the staff console"
echo "staff console: $console/  (clerk / $CLERK_PASSWORD; admin / $ADMIN_PASSWORD with TOTP secret $ADMIN_TOTP)"

say "Starting an agent for POP $POP (log driver: it records what it would enforce)"
TOLLGATE_CONTROLLER_INSECURE_PLAINTEXT=true "$BIN/tollgate-agent" --pop "$POP" \
  --controller "127.0.0.1:$GRPC_PORT" --metrics-listen "127.0.0.1:$AGENT_METRICS_PORT" \
  --state-file "$run/agent-state.db" --init-state 2>"$run/agent.log" &
pids+=($!)

export TOLLGATE_SERVER="http://127.0.0.1:$HTTP_PORT" TOLLGATE_TOKEN_FILE="$run/admin.token"
ctl() { echo "\$ tollgatectl $*" >&2; "$BIN/tollgatectl" "$@"; }

say "Billing staff create a subscriber service"
"$BIN/tollgatectl" service create --pop "$POP" --name "Jane Doe, 12 Elm St" --method log --address 100.64.10.20 -o json > "$run/service.json"
ID=$(sed -n 's/^  "id": \([0-9]*\),$/\1/p' "$run/service.json")
[ -n "$ID" ] || fail "could not read the new service's id"
ctl service show "$ID"

say "Suspend it (invoice past due) and wait for the agent to confirm"
ctl service suspend "$ID" --reason "invoice INV-1001 past due; grace period ended" --wait 10s

say "Restore it (payment received) and wait for the agent to confirm"
ctl service restore "$ID" --reason "payment received" --wait 10s

say "What the agent applied (from its structured log)"
grep '"msg":"log driver applied"' "$run/agent.log" \
  | sed -E 's/.*"time":"([^"]*)".*"op":"([^"]*)","service_id":"([^"]*)".*"reason":"([^"]*)".*/  \1  \2 service \3  (\4)/'
grep -q '"op":"suspend","service_id":"'"$ID"'"' "$run/agent.log" || fail "the agent did not apply the suspension"
grep -q '"op":"restore","service_id":"'"$ID"'".*"reason":"payment received"' "$run/agent.log" || fail "the agent did not apply the restoration"

say "Billing: two account types with their own rules"
ctl account-type create --file deploy/demo/residential.yaml -o json > "$run/residential.json"
ctl account-type create --file deploy/demo/commercial.yaml -o json > "$run/commercial.json"
ctl account-type list
ctl plan create --name "Fiber 100" --price 49.99 --currency USD --interval monthly --taxable >/dev/null
ctl plan create --name "Business 500" --price 199.00 --currency USD --interval monthly --taxable >/dev/null
ctl plan create --name "Static IP" --price 15.00 --currency USD --interval monthly --taxable >/dev/null
ctl tax-rate set --jurisdiction US-TX --name "Texas sales tax" --rate 0.0625 >/dev/null
ctl plan list

# Services start on the 1st of next month; the controller's clock starts on
# $CLOCK_START.
next_month=2027-12-01
say "Import 200 accounts from a spreadsheet export (services start $next_month)"
bash scripts/demo-accounts.sh "$next_month" > "$run/accounts.csv"
ctl import accounts "$run/accounts.csv"

say "Preview (writes nothing): what billing would invoice by the eve of the period, and why"
eve=$(date -u -d "$next_month -1 day" +%Y-%m-%d)
echo "\$ tollgatectl billing-run preview --date $eve" >&2
"$BIN/tollgatectl" billing-run preview --date "$eve" | sed -n '1,8p' # sed reads it all: no SIGPIPE under pipefail

say "Ten residential subscribers put a card on file and turn autopay on; one more uses a card that will be declined"
for n in $(seq 1 11); do
  # Stripe's test method ids: no card number goes anywhere (the sandbox
  # saves them through a SetupIntent, as Stripe's test mode does).
  method=pm_card_visa; [ "$n" -eq 11 ] && method=pm_card_chargeCustomerFail
  "$BIN/tollgatectl" payment-method add "$n" --test-method "$method" --default >/dev/null
  "$BIN/tollgatectl" autopay on "$n" >/dev/null
done
ctl payment-method list 11

say "A month passes on the simulated clock; billing runs and autopay fire on their own"
echo "\$ tollgatectl dev advance 30d   (runs that invoiced nothing are left out here)" >&2
"$BIN/tollgatectl" dev advance 30d | awk 'NR <= 4 || $7 > 0'

say "Invoices issued"
"$BIN/tollgatectl" invoice list -o json > "$run/invoices.json"
count=$(grep -c '"number": "INV-' "$run/invoices.json" || true)
"$BIN/tollgatectl" invoice list | sed -n '1,12p'
echo "  ... $count invoices in all"
[ "$count" -ge 200 ] || fail "expected at least 200 invoices, got $count"
first=$(sed -n 's/^    "id": \([0-9]*\),$/\1/p' "$run/invoices.json" | head -1)
ctl invoice show "$first"

say "Autopay charged the cards on the due date; the declined card was retried on schedule and flagged"
ctl payment list --account 1
ctl payment-method attempts 11
ctl payment-method list 11

say "Commercial customers paid by check: a lockbox file becomes a deposit batch, validated and posted as one unit"
deposit_date=2027-12-14
{
  echo "account,method,amount,reference,payer"
  for n in $(seq 151 170); do printf 'A-%06d,check,211.44,%d,"Customer %d"\n' "$n" $((5000 + n)) "$n"; done
} > "$run/lockbox.csv"
ctl batch import "$run/lockbox.csv" --date "$deposit_date" --deposit-account "First Bank 000123456789" --post
batch_id=$("$BIN/tollgatectl" batch list -o json | sed -n 's/^    "id": \([0-9]*\),$/\1/p' | head -1)
[ -n "$batch_id" ] || fail "could not find the posted batch"
ctl deposit-slip "$batch_id" --file "$run/deposit-slip.pdf"
slip="$PWD/demo-deposit-slip.pdf"
cp "$run/deposit-slip.pdf" "$slip"
echo "deposit slip PDF: $slip"

say "Starting an agent for POP north-tower-1, where the residential subscribers are"
TOLLGATE_CONTROLLER_INSECURE_PLAINTEXT=true "$BIN/tollgate-agent" --pop north-tower-1 \
  --controller "127.0.0.1:$GRPC_PORT" --metrics-listen "127.0.0.1:$AGENT2_METRICS_PORT" \
  --redirect-listen "127.0.0.1:$REDIRECT_PORT" \
  --state-file "$run/agent-north-state.db" --init-state 2>"$run/agent-north.log" &
pids+=($!)

say "Most residential subscribers pay by check; eleven do not (account 11's card was declined; 141-150 never pay)"
{
  echo "account,method,amount,reference,payer"
  # 53.11 is Fiber 100 with tax; every 20th account also has a Static IP (69.05).
  for n in $(seq 12 140); do
    amount=53.11; [ $((n % 20)) -eq 0 ] && amount=69.05
    printf 'A-%06d,check,%s,%d,"Subscriber %d"\n' "$n" "$amount" $((7000 + n)) "$n"
  done
} > "$run/residential-checks.csv"
"$BIN/tollgatectl" batch import "$run/residential-checks.csv" --date 2027-12-15 --deposit-account "First Bank 000123456789" --post | tail -2

say "Residential invoices were due Fri Dec 10; with 8 days' grace the delinquency date Sat Dec 18 moves to Mon Dec 20"
ctl account standing 145

say "Days pass: reminders go out 3 and 1 days before, inside business hours; the weekend's sweeps suspend nobody"
for day in 16 17 18 19; do
  "$BIN/tollgatectl" dev advance 24h >/dev/null
  printf '  %s: %s suspended services at north-tower-1\n' "$(date -u -d "2027-12-$day" '+%a %b %d')" \
    "$("$BIN/tollgatectl" service list --pop north-tower-1 --state suspended -o json | grep -c '"id"' || true)"
done
reminders=$(grep '\.eml  to ' "$run/mail.log" | grep -vc ' invoice INV-' || true)
echo "  reminders received by the mail sink: $reminders"; grep '\.eml  to ' "$run/mail.log" | grep -v ' invoice INV-' | sed -n '1,3p'
[ "$reminders" -ge 11 ] || fail "expected reminders in the mail sink, got $reminders"

say "Monday Dec 20: the 06:00 sweep suspends the eleven; the agent enforces it"
"$BIN/tollgatectl" dev advance 24h >/dev/null
suspended=$("$BIN/tollgatectl" service list --pop north-tower-1 --state suspended -o json | grep -c '"id"' || true)
echo "  suspended services at north-tower-1: $suspended"
[ "$suspended" -eq 11 ] || fail "expected the eleven non-payers' services suspended, got $suspended"
ctl account standing 145
for _ in $(seq 1 100); do grep -q '"op":"suspend"' "$run/agent-north.log" && break; sleep 0.1; done
grep -c '"op":"suspend"' "$run/agent-north.log" | sed 's/^/  the north-tower-1 agent applied suspensions: /'

say "The subscriber of account 145 pays; service is restored in the payment's own transaction"
svc=$("$BIN/tollgatectl" account standing 145 -o json | sed -n 's/^      "id": \([0-9]*\),$/\1/p' | head -1)
ctl payment add 145 --method cash --amount 53.11 --memo "paid at the office"
ctl account standing 145
for _ in $(seq 1 100); do grep -q '"op":"restore","service_id":"'"$svc"'"' "$run/agent-north.log" && break; sleep 0.1; done
grep -q '"op":"restore","service_id":"'"$svc"'"' "$run/agent-north.log" || fail "the agent did not restore account 145's service"
echo "  the agent restored service $svc"
ctl account history 145

say "Account 146's subscriber moves house, still suspended: the service moves from north-tower-1 to $POP in one transaction"
moved=$("$BIN/tollgatectl" account standing 146 -o json | sed -n 's/^      "id": \([0-9]*\),$/\1/p' | head -1)
[ -n "$moved" ] || fail "could not read account 146's service"
ctl service move "$moved" --pop "$POP" --address 100.64.10.146 --reason "moved to 4 Oak St" --wait 10s
for _ in $(seq 1 100); do grep -q '"op":"restore","service_id":"'"$moved"'"' "$run/agent-north.log" && break; sleep 0.1; done
grep -q '"op":"restore","service_id":"'"$moved"'"' "$run/agent-north.log" || fail "the north-tower-1 agent did not release the moved service"
grep -q '"op":"suspend","service_id":"'"$moved"'"' "$run/agent.log" || fail "the $POP agent did not suspend the moved service"
echo "  north-tower-1's agent released service $moved; $POP's agent suspended it at its new address"

# ---------------------------------------------------------------------------
# Customer portal (issue 8). Account 150's service is bound to 127.0.0.1, so
# a browser on this machine is that suspended subscriber: the router would
# send its web traffic to the agent's redirect responder, and so can we.
say "Account 150 is suspended; its subscriber opens any web page and lands on the portal, signed in"
jar="$run/portal.cookies"
landing=$(curl -sS -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$REDIRECT_PORT/")
case "$landing" in "http://127.0.0.1:$HTTP_PORT/portal/c/"*) ;; *) fail "the redirect responder answered '$landing', not a portal link" ;; esac
echo "  http://127.0.0.1:$REDIRECT_PORT/ -> 302 ${landing:0:70}..."
page=$(curl -sS -c "$jar" -b "$jar" -L "$landing")
echo "$page" | grep -q 'Service suspended' || fail "the portal did not show account 150 as suspended"
echo "  portal URL for this suspended subscriber: http://127.0.0.1:$REDIRECT_PORT/  (with DEMO_KEEP=1, open it in a browser here and pay)"
echo "$page" | grep -o '<ul class="why">.*</ul>' | sed 's/<li>/\n  why: /g; s/<[^>]*>//g; s/&#39;/'"'"'/g' | sed -n '2,4p'

say "Account 149's subscriber signs in with a code sent by email and pays with a test card"
jar="$run/portal-149.cookies"
portal="http://127.0.0.1:$HTTP_PORT/portal"
csrf_of() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1; }
csrf=$(curl -sS -c "$jar" -b "$jar" "$portal/" | csrf_of)
curl -sS -c "$jar" -b "$jar" -o /dev/null "$portal/signin" --data-urlencode "csrf=$csrf" --data-urlencode "account=A-000149"
code=""
for _ in $(seq 1 100); do
  code=$(for f in $(grep -l 'sign-in code' "$run"/mail/*.eml 2>/dev/null || true); do tr -d '\r' < "$f"; done | grep -E '^ {4}[0-9]{6} *$' | tr -d ' ' | tail -1 || true)
  [ -n "$code" ] && break; sleep 0.1
done
[ -n "$code" ] || fail "no sign-in code reached the mail sink"
echo "  the mail sink received the code $code for A-000149"
csrf=$(curl -sS -c "$jar" -b "$jar" "$portal/signin/code?account=A-000149" | csrf_of)
curl -sS -c "$jar" -b "$jar" -o "$run/account149.html" -L "$portal/signin/code" --data-urlencode "csrf=$csrf" \
  --data-urlencode "account=A-000149" --data-urlencode "code=$code"
grep -q 'Service suspended' "$run/account149.html" || fail "signed in as A-000149, the portal did not show the suspension"
form=$(curl -sS -c "$jar" -b "$jar" "$portal/pay")
csrf=$(echo "$form" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
key=$(echo "$form" | sed -n 's/.*name="key" value="\([^"]*\)".*/\1/p' | head -1)
[ -n "$csrf" ] && [ -n "$key" ] || fail "no payment form in the portal"
# A browser would type the card into the sandbox processor's iframe, which
# gives the page a payment-method id; curl posts the test id in its place.
# The portal never receives a card number.
paid=$(curl -sS -c "$jar" -b "$jar" -L -o "$run/paid.html" -w '%{url_effective}' "$portal/pay" \
  --data-urlencode "csrf=$csrf" --data-urlencode "key=$key" --data-urlencode "choice=balance" --data-urlencode "method=new" \
  --data-urlencode "payment_method=pm_card_visa")
grep -q 'received' "$run/paid.html" || fail "the portal payment did not go through"
for _ in $(seq 1 100); do
  curl -sS -b "$jar" "$paid" -o "$run/paid.html"; grep -q 'data-state="restored"' "$run/paid.html" && break; sleep 0.1
done
grep -q 'data-state="restored"' "$run/paid.html" || fail "the payment page never said restored"
sed -n 's/.*<p class="alert notice" role="status">\([^<]*\)<.*/  \1/p' "$run/paid.html"
sed -n 's/.*data-state="restored"[^>]*>\([^<]*\)<.*/  \1/p' "$run/paid.html"

# ---------------------------------------------------------------------------
# Invoice delivery (issue 9): every invoice went out as its billing run
# finished — emailed with the PDF attached to the mail sink, mailed through
# the print-and-mail sink — and a run's mail invoices make one printed batch.
say "Invoices went out as their billing runs finished: emailed with the PDF attached, mailed through the print-and-mail vendor"
for _ in $(seq 1 150); do
  "$BIN/tollgatectl" delivery list -o json > "$run/deliveries.json"
  if ! grep -q '"status": "\(queued\|sent_to_vendor\)"' "$run/deliveries.json" && grep -q '"status": "returned"' "$run/deliveries.json"; then
    break
  fi
  sleep 0.2
done
ctl delivery summary
emailed=$(grep -c ' invoice INV-' "$run/mail.log" || true)
letters=$(find "$run/letters" -name 'ltr_*.pdf' | wc -l)
echo "  invoice emails received by the mail sink: $emailed, each with its PDF attached, e.g."
grep ' invoice INV-' "$run/mail.log" | sed -n '1,2p' | sed 's/^/    /'
echo "  letters printed by the print-and-mail sink: $letters (their PDFs in $run/letters)"
[ "$emailed" -ge 200 ] || fail "expected at least 200 invoice emails in the mail sink, got $emailed"
[ "$letters" -ge 49 ] || fail "expected the commercial invoices as letters, got $letters"

say "Failures are visible: account 188's address failed verification; account 177's letter came back"
ctl delivery list --status failed
ctl delivery list --status returned
grep -q '"status": "returned"' "$run/deliveries.json" || fail "the returned letter was not reported"

say "Re-send on demand: invoice $first is emailed again"
ctl delivery send "$first" --channel email
for _ in $(seq 1 100); do
  "$BIN/tollgatectl" delivery list --invoice "$first" -o json | grep -q '"status": "queued"' || break
  sleep 0.1
done
ctl delivery list --invoice "$first"

say "Printing in-house instead: one PDF of the commercial run's mail invoices, by postal code then name"
"$BIN/tollgatectl" delivery list --channel mail -o json > "$run/mail-deliveries.json"
comm_run=$(sed -n 's/^    "billing_run_id": \([0-9]*\),$/\1/p' "$run/mail-deliveries.json" | head -1)
[ -n "$comm_run" ] || fail "could not find the commercial billing run"
ctl delivery printed-batch "$comm_run" --file "$run/printed-batch.pdf"

"$BIN/tollgatectl" delivery list --channel mail --status mailed -o json > "$run/mailed.json"
letter=$(sed -n 's/^    "vendor_letter_id": "\(ltr_[0-9a-f]*\)",$/\1/p' "$run/mailed.json" | head -1)
number=$(sed -n 's/^    "invoice_number": "\(INV-[0-9]*\)",$/\1/p' "$run/mailed.json" | head -1)
{ [ -n "$letter" ] && [ -f "$run/letters/$letter.pdf" ]; } || fail "could not find a mailed letter's PDF"
mkdir -p demo-run
sample_pdf="$PWD/demo-run/invoice-$number.pdf"
cp "$run/letters/$letter.pdf" "$sample_pdf"
pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$sample_pdf" "${sample_pdf%.pdf}"
[ -s "${sample_pdf%.pdf}.png" ] || fail "pdftoppm did not render $sample_pdf"
echo "  sample invoice PDF (as mailed, letter $letter): $sample_pdf"
echo "  its first page, rendered:                      ${sample_pdf%.pdf}.png"

# ---------------------------------------------------------------------------
# Service lifecycle (issue 16): beside the move above, a plan change and a
# cancellation mid-period, and the next invoice they land on. Last, because
# it moves the clock to the next period's billing run.
say "Account 20 upgrades to Fiber 300 from today: a prorated credit for the rest of Fiber 100's period, a charge for Fiber 300's"
ctl plan create --name "Fiber 300" --price 79.99 --currency USD --interval monthly --taxable -o json > "$run/fiber300.json"
fiber300=$(sed -n 's/^  "id": \([0-9]*\),$/\1/p' "$run/fiber300.json")
[ -n "$fiber300" ] || fail "could not read the new plan's id"
services_of() { "$BIN/tollgatectl" account standing "$1" -o json | sed -n 's/^      "id": \([0-9]*\),$/\1/p' | sort -n; }
upgraded=$(services_of 20 | head -1)
[ -n "$upgraded" ] || fail "could not read account 20's internet service"
ctl service change "$upgraded" --plan "$fiber300" --reason "customer asked for more speed"

say "Account 40 cancels its Static IP block from today: the days already invoiced after today are credited on the next invoice"
cancelled=$(services_of 40 | sed -n 2p)
[ -n "$cancelled" ] || fail "could not read account 40's Static IP service"
ctl service cancel "$cancelled" --reason "no longer needs a static IP"
ctl service history "$cancelled"

say "A week passes; January's billing run puts both changes on the next invoice"
"$BIN/tollgatectl" dev advance 8d | sed -n 1p
for acct in 20 40; do
  inv=$("$BIN/tollgatectl" invoice list --account "$acct" -o json | sed -n 's/^    "id": \([0-9]*\),$/\1/p' | sort -n | tail -1)
  [ -n "$inv" ] || fail "no invoice for account $acct"
  ctl invoice show "$inv" | tee "$run/next-invoice-$acct.txt"
done
grep -q 'Fiber 100 → Fiber 300' "$run/next-invoice-20.txt" || fail "account 20's next invoice lacks the plan change"
grep -q 'Static IP cancelled from' "$run/next-invoice-40.txt" || fail "account 40's next invoice lacks the cancellation's credit"
grep -q 'Static IP' "$run/next-invoice-40.txt" && ! grep -q '^recurring.*Static IP' "$run/next-invoice-40.txt" || fail "account 40's cancelled Static IP was billed again"

if [ "${DEMO_KEEP:-}" = "1" ]; then
  say "DEMO_KEEP=1: everything stays up until Ctrl-C"
  cat <<TXT
  staff console  $console/   sign in as clerk / $CLERK_PASSWORD (billing), or as admin / $ADMIN_PASSWORD
                 with a code from an authenticator app given the TOTP secret $ADMIN_TOTP
  admin API      http://127.0.0.1:$HTTP_PORT/api/v1/services   (token in $run/admin.token)
  API docs       http://127.0.0.1:$HTTP_PORT/api/v1/docs
  OpenAPI        http://127.0.0.1:$HTTP_PORT/api/v1/openapi.json
  metrics        http://127.0.0.1:$HTTP_PORT/metrics   agent: http://127.0.0.1:$AGENT_METRICS_PORT/metrics
  logs           $run/{controller,agent,agent-north,devdb,mail}.log   mail: $run/mail/*.eml
  try            TOLLGATE_SERVER=$TOLLGATE_SERVER TOLLGATE_TOKEN_FILE=$run/admin.token $BIN/tollgatectl service list
  portal         http://127.0.0.1:$REDIRECT_PORT/   <- open it in a browser on this machine: you are the suspended
                 subscriber of account 150 (service bound to 127.0.0.1); the agent redirects you to the portal,
                 signed in. Pay with test card 4242 4242 4242 4242 (any future expiry, any CVC), typed into
                 the sandbox processor's fields (an iframe from http://127.0.0.1:8091, its own origin), and
                 watch the page say "Service restored" once the agent confirms. Declined: 4000 0000 0000 0002;
                 3-D Secure: 4000 0027 6000 3184 (the sandbox bank's page asks you to approve).
                 Sign-in by code: http://127.0.0.1:$HTTP_PORT/portal/ (codes arrive in $run/mail/*.eml)
TXT
  wait
fi
say "Demo finished: suspension and restoration enforced and confirmed; $count invoices issued; autopay and a check deposit posted; slip at $slip; $reminders reminders mailed; $suspended services suspended after the weekend, one restored by a cash payment and one by a card payment in the portal, one moved to another POP while suspended; one plan change and one cancellation on the next invoice"
