#!/usr/bin/env bash
# README's first command, for real: starts `local` (built by cargo) on a free 127.0.0.1 port with
# a fresh data folder, drives a booking from request to confirmed with curl and two dev tokens,
# checks the demo data, free times and the static site, and stops the server by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=target/debug/local
. tests/lib.sh
build_workspace
data=$(mktemp -d)
port=$(free_port)
"$bin" --port "$port" --data-dir "$data" >"$data/server.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/dev/users" >/dev/null && break; sleep 0.1; done

fail() { echo "smoke: FAILED: $*"; echo "--- server log"; tail -20 "$data/server.log"; exit 1; }
json() { python3 -c "import sys,json; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }
token() { curl -sf -X POST "$base/dev/login" -d "{\"user_id\":\"$1\"}" | json 'd["token"]'; }
call() { # method path token [body]
  curl -s -X "$1" "$base$2" -H "Authorization: Bearer $3" -H 'content-type: application/json' ${4:+-d "$4"}; }

passed=0; failed=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then passed=$((passed+1)); else failed=$((failed+1)); echo "smoke: $1: expected '$2', got '$3'"; fi; }

curl -sf "$base/" | grep -q "Sign in as a demo user" || fail "the sign-in page is not served at /"
client=$(token client-fatuma); psy=$(token psy-baraka)
statuses=$(for u in psy-amani psy-baraka; do call GET '/api/sessions?limit=100' "$(token $u)"; echo; done \
  | python3 -c 'import sys,json; print(len({s["status"] for l in sys.stdin if l.strip() for s in json.loads(l)["sessions"]}))')
check "demo data in every status" 8 "$statuses"
check "no token is 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/sessions")"
check "a favicon, not a 404" "200 image/x-icon" "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$base/favicon.ico")"

type_id=$(call GET /api/psychologists "$client" | json '[p for p in d["psychologists"] if p["id"]=="psy-baraka"][0]["session_types"][0]["id"]')
# a time Dr. Baraka is free, as the picker would offer it: the last of the next fortnight
slots=$(call GET "/api/psychologists/psy-baraka/availability?session_type_id=$type_id" "$client")
check "free times in Nairobi" Africa/Nairobi "$(echo "$slots" | json 'd["time_zone"]')"
start=$(echo "$slots" | json 'd["slots"][-1]["starts_at"]')
check "outside the hours is refused" outside_availability "$(call POST /api/sessions "$client" \
  "{\"psychologist_id\":\"psy-baraka\",\"session_type_id\":\"$type_id\",\"starts_at\":\"${start%%T*}T00:00:00+03:00\"}" | json 'd["error"]["code"]')"
id=$(call POST /api/sessions "$client" "{\"psychologist_id\":\"psy-baraka\",\"session_type_id\":\"$type_id\",\"starts_at\":\"$start\"}" | json 'd["id"]')
check "approve" approved "$(call PUT "/api/sessions/$id/approve" "$psy" | json 'd["status"]')"
check "pay" payment_submitted "$(call POST "/api/sessions/$id/submit-payment" "$client" '{"transaction_code":"SMOKE12345"}' | json 'd["status"]')"
check "verify" confirmed "$(call PUT "/api/sessions/$id/verify-payment" "$psy" | json 'd["status"]')"
check "client sees the link" True "$(call GET "/api/sessions/$id" "$client" | json 'd["meeting_link"].startswith("https://")')"
etag=$(curl -s -D - -o /dev/null "$base/api/sessions" -H "Authorization: Bearer $psy" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
check "unchanged poll" 304 "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/sessions" -H "Authorization: Bearer $psy" -H "If-None-Match: $etag")"
sleep 2.5
check "notifications logged" True "$(curl -sf "$base/dev/notifications" | json 'any("SMOKE12345" in n["message"].get("body","") for n in d["notifications"])')"

echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
