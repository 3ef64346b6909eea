#!/usr/bin/env bash
# The Lambda rehearsal (see run.py): builds every function binary under functions/ for this
# machine (debug, with the workspace's features as the tests are, so the shared crates compile
# once; the deployed build differs only in kikao-aws's `dev` helpers, which no function calls;
# the release arm64 artifacts are built and measured in tests/bench), then runs them as Lambda
# would against moto. Called from tests/run after start_moto (tests/lib.sh) has exported
# AWS_ENDPOINT_URL and the other AWS_* variables, with the venv in .venv. Ends with
# "rehearsal: N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${AWS_ENDPOINT_URL:?start moto first (start_moto in tests/lib.sh)}"
venv=${venv:-.venv}

. tests/lib.sh
target=$(cargo metadata --format-version 1 --no-deps --locked | "$venv/bin/python" -c '
import json, sys
print(json.load(sys.stdin)["target_directory"])')
build_workspace
exec "$venv/bin/python" tests/rehearsal/run.py --bin-dir "$target/debug" --template infra/template.yaml
