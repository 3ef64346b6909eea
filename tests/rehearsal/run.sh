#!/usr/bin/env bash
# The Lambda rehearsal (see run.py): builds every function binary under functions/ for this
# machine (debug, which the test build has mostly compiled already; the release arm64 artifacts
# are measured in tests/bench), then runs them as Lambda would against moto. Called from tests/run after start_moto (tests/lib.sh) has exported
# AWS_ENDPOINT_URL and the other AWS_* variables, with the venv in .venv. Ends with
# "rehearsal: N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${AWS_ENDPOINT_URL:?start moto first (start_moto in tests/lib.sh)}"
venv=${venv:-.venv}

# the target directory, then "-p <crate>" for each function crate with a binary
read -r target crates < <(cargo metadata --format-version 1 --no-deps --locked | "$venv/bin/python" -c '
import json, os, sys
m = json.load(sys.stdin)
functions = os.path.join(m["workspace_root"], "functions") + os.sep
bins = sorted(p["name"] for p in m["packages"] if p["manifest_path"].startswith(functions)
              and any("bin" in t["kind"] for t in p["targets"]))
print(m["target_directory"], " ".join("-p " + b for b in bins))')
# shellcheck disable=SC2086  # one word per argument
cargo build --locked $crates
exec "$venv/bin/python" tests/rehearsal/run.py --bin-dir "$target/debug" --template infra/template.yaml
