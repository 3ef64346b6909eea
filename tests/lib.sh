# Shared by tests/run and tests/bench: the Python venv with moto, cfn-lint and the SAM CLI, and a
# moto server on a free 127.0.0.1 port, stopped by PID when the calling script exits.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# .venv from tests/requirements.txt, reinstalled only when that file changes
ensure_venv() {
  venv=.venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! cmp -s tests/requirements.txt "$venv/.requirements" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt "$venv/.requirements"
  fi
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

# installs Debian packages that are missing (as root, as on CI and the dev machines here)
apt_ensure() {
  local need=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}
