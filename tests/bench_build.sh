#!/usr/bin/env bash
# The deploy build, measured (README, Deploying and Performance): `sam build` of all every arm64
# functions from nothing and again after a one-line change in the status rules, then the
# release-profile trade on one function (link-time optimisation off and fat: build time
# from nothing, after the same kind of change, and zipped size).
#
# It works on a copy of the working tree (tracked and untracked files, no target/, no
# .aws-sam/) in a temporary folder, so nothing here is touched and nothing is cached: "from
# nothing" means every crate is compiled (crates already downloaded). Writes lines of
# `label<TAB>value<TAB>unit` to $1 for the harness, and leaves the copy's `.aws-sam/build` at $2 for the
# artifact sizes. Takes about half an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
times=$1
artifacts=$2
: >"$times"

PATH=$PWD/.venv/bin:$PATH
export PATH
command -v cargo-lambda >/dev/null || { echo "cargo-lambda is missing: .venv/bin/pip install cargo-lambda==1.9.2" >&2; exit 1; }
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy=$work/kikao
mkdir "$copy"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$copy"
rules=shared/core/src/domain/lifecycle.rs

# one line of the rules, changed for real: the payment window, hours $1 -> $2
change_rule() {
  grep -q "payment_window: Duration::hours($1)," "$copy/$rules" || { echo "bench_build: $rules no longer has the line it edits" >&2; exit 1; }
  sed -i "s/payment_window: Duration::hours($1),/payment_window: Duration::hours($2),/" "$copy/$rules"
}

# runs a command with its output going to a log: `quiet LOG command...`
quiet() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 || { echo "bench_build: $* failed; its log: $log" >&2; tail -20 "$log" >&2; return 1; }
}

seconds() { # label, command...
  local label=$1 start end
  shift
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  awk -v l="$label" -v a="$start" -v b="$end" 'BEGIN { printf "%s\t%.1f\ts\n", l, b - a }' >>"$times"
  tail -1 "$times"
}

(
  cd "$copy"
  export CARGO_TARGET_DIR=$copy/target
  echo "==> sam build from nothing (every function)"
  seconds "sam build, from nothing" quiet "$work/sam-1.log" sam build
  change_rule 24 25
  echo "==> sam build after a one-line change in $rules"
  seconds "sam build, after a one-line change in the rules" quiet "$work/sam-2.log" sam build
)
rm -rf "$artifacts"
mkdir -p "$(dirname "$artifacts")"
cp -r "$copy/.aws-sam/build" "$artifacts"

# The trade, on one function: the profile in Cargo.toml with link-time optimisation overridden.
for lto in off fat; do
  (
    cd "$copy"
    export CARGO_TARGET_DIR=$work/target-$lto CARGO_PROFILE_RELEASE_LTO=$lto
    build() { cargo lambda build --release --arm64 --locked -p list-sessions >>"$work/lto-$lto.log" 2>&1; }
    echo "==> list-sessions with lto = $lto"
    seconds "lto $lto: list-sessions from nothing" build
    change_rule 25 26
    seconds "lto $lto: list-sessions after a one-line change" build
    change_rule 26 25
    zip -q -9j "$work/lto-$lto.zip" "$CARGO_TARGET_DIR/lambda/list-sessions/bootstrap"
    awk -v l="lto $lto: list-sessions zipped" -v b="$(stat -c %s "$work/lto-$lto.zip")" 'BEGIN { printf "%s\t%.2f\tMB\n", l, b / 1e6 }' >>"$times"
  )
done
