#!/usr/bin/env bash
# Fuzzes the dev server against its own OpenAPI document (GET /api/openapi.json) with
# schemathesis: every phase (schema examples, coverage, random fuzzing, stateful sequences
# following the document's links), once with a client's token and once with a
# psychologist's, then the account erasure alone as a client made for it. It fails on any 5xx, any response that does not match the document (status,
# content type, headers, body schema), any schema-violating request that is accepted, a
# created booking that cannot be read back, an operation that answers without a token, an
# undocumented method that is not 405, a token found in the server's log, or fewer than
# KIKAO_FUZZ_MIN requests in all.
#
# Usage: tests/fuzz/run.sh [--aws] [max examples per operation, default 30]. With --aws the
# dev server runs on the AWS adapters against the moto at AWS_ENDPOINT_URL (tests/run starts
# one), with a table and bucket of its own. Seed: KIKAO_FUZZ_SEED.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

backend=()
if [ "${1:-}" = "--aws" ]; then
  shift
  case "${AWS_ENDPOINT_URL:-}" in
    http://127.0.0.1:*) ;;
    *) echo "--aws fuzzes against a local moto: set AWS_ENDPOINT_URL (tests/run does)"; exit 1 ;;
  esac
  backend=(--aws)
  suffix=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:10])')
  export KIKAO_TABLE="fuzz-$suffix" KIKAO_PROOF_BUCKET="fuzz-$suffix"
fi
examples=${1:-30}
seed=${KIKAO_FUZZ_SEED:-20261124}
min=${KIKAO_FUZZ_MIN:-1000}
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,ensure_resource_availability,ignored_auth,unsupported_method

fuzz_venv=.venv-fuzz
cached_venv "$fuzz_venv" tests/fuzz/requirements.txt

build_workspace
work=$(mktemp -d)
port=$(free_port)
api="http://127.0.0.1:$port"
target/debug/local --port "$port" --data-dir "$work/data" "${backend[@]}" >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 300); do curl -sf "$api/api/openapi.json" >/dev/null && break; sleep 0.1; done

token() {
  curl -sf -X POST "$api/dev/login" -d "{\"user_id\":\"$1\"}" |
    "$fuzz_venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# `DELETE /api/me` erases the caller: fuzzed with the run's client, the first valid confirmation
# would leave the rest of the run refused. The two runs leave it out; a third fuzzes only it, as
# a client made for the purpose (`POST /dev/users`).
throwaway=$(curl -sf -X POST "$api/dev/users" -d '{"name":"Fuzz Throwaway","role":"client"}' |
  "$fuzz_venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["id"])')

total=0
tokens=()
for user in client-wanjiru psy-amani "$throwaway"; do
  t=$(token "$user")
  tokens+=("$t")
  # (one operation has no links to follow: no stateful phase)
  if [ "$user" = "$throwaway" ]; then only=(--include-operation-id erase_me --phases examples,coverage,fuzzing); else only=(--exclude-operation-id erase_me); fi
  echo "--- schemathesis as $user (seed $seed, $examples examples per operation)"
  set +e
  KIKAO_API="$api" KIKAO_TOKEN="$t" SCHEMATHESIS_HOOKS=hooks PYTHONPATH=tests/fuzz \
    "$fuzz_venv/bin/schemathesis" run "$api/api/openapi.json" --url "$api" "${only[@]}" \
    -H "Authorization: Bearer $t" --checks "$checks" -n "$examples" --seed "$seed" \
    --workers 2 --report har --report-har-path "$work/$user.har" --no-color >"$work/$user.out" 2>&1
  status=$?
  set -e
  sed -n '/^=* SUMMARY/,$p' "$work/$user.out"
  if [ "$status" -ne 0 ]; then
    sed -n '/^=* FAILURES/,/^=* WARNINGS/p' "$work/$user.out"
    echo "schemathesis found failures as $user"
    exit 1
  fi
  n=$("$fuzz_venv/bin/python" - "$work/$user.har" <<'PY'
import collections, json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
by_status = collections.Counter(e["response"]["status"] for e in entries)
print(" ".join(f"{s}:{n}" for s, n in sorted(by_status.items())), file=sys.stderr)
print(len(entries))
PY
)
  echo "requests as $user: $n (by status above)"
  total=$((total + n))
done

for t in "${tokens[@]}"; do
  if grep -qF -e "${t##*.}" "$work/server.log"; then echo "a token's signature is in the server log"; exit 1; fi
done
echo "fuzz: $total requests, no failures (${backend[*]:-embedded})"
[ "$total" -ge "$min" ] || { echo "fewer than $min requests"; exit 1; }
