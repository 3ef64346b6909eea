# Shared by tests/run and tests/bench: the Python venv with moto, cfn-lint and the SAM CLI, and a
# moto server on a free 127.0.0.1 port, stopped by PID when the calling script exits.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A venv for requirements file $2, linked at $1: made once per version of that file in
# ~/.cache/kikao and shared by every clone on the machine, so a clean clone (CI's) does not
# download and install the same packages again. A real directory at $1 (made before this cache)
# is kept and reinstalled when the file changes.
cached_venv() {
  local link=$1 req=$2
  local want="${XDG_CACHE_HOME:-$HOME/.cache}/kikao/venv-$(sha256sum "$req" | cut -c1-16)"
  if [ -d "$link" ] && [ ! -L "$link" ]; then
    [ -x "$link/bin/python" ] || python3 -m venv "$link"
    if ! cmp -s "$req" "$link/.requirements" 2>/dev/null; then
      "$link/bin/pip" install --quiet --disable-pip-version-check -r "$req"
      cp "$req" "$link/.requirements"
    fi
    return
  fi
  if ! cmp -s "$req" "$want/.requirements" 2>/dev/null; then
    rm -rf "$want"
    mkdir -p "$(dirname "$want")"
    python3 -m venv "$want"
    "$want/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$want/.requirements"
  fi
  ln -sfn "$want" "$link"
}

# .venv: moto, cfn-lint and the SAM CLI (tests/requirements.txt)
ensure_venv() {
  venv=.venv
  cached_venv "$venv" tests/requirements.txt
}

# starts moto (one request at a time, see tests/moto_server.py) and exports the AWS_* variables
start_moto() {
  moto_port=$(free_port)
  moto_log=$(mktemp)
  "$venv/bin/python" tests/moto_server.py 127.0.0.1 "$moto_port" >"$moto_log" 2>&1 &
  moto_pid=$!
  trap stop_moto EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null || { echo "moto did not start:"; cat "$moto_log"; exit 1; }
  echo "moto (pid $moto_pid) on port $moto_port"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
}

stop_moto() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$moto_log"; }

# Every binary and test target, built with the workspace's one feature set. Building a subset
# (`-p local`, the functions) resolves features for that subset alone and compiles the shared
# crates (the AWS SDK, tokio, hyper) again: a CI run did so three times before this. Each script
# that needs a binary calls it; after the first it is a no-op.
build_workspace() { cargo build -q --workspace --bins --tests --locked; }

# installs Debian packages that are missing (as root, as on CI and the dev machines here)
apt_ensure() {
  local need=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}
