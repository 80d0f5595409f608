#!/usr/bin/env bash
# Runs the redis-demo client against a local `rsm up`: starts the service on a free port,
# waits until it is ready, runs the client (3 rounds: SET, GET, INCR), stops the service.
#   examples/lain-demo/run-local.sh [RSM_BINARY]
# Exit 0 when the client passed and the service stopped cleanly. Part of the test suite.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RSM=${1:-${RSM:-$HERE/../../build/release/rsm}}
# Debian's interpreter, which has python3-redis (a pyenv or venv python3 may not).
PYTHON=${PYTHON:-/usr/bin/python3}

mkdir -p "${TMPDIR:-/tmp}"
work=$(mktemp -d)
up_pid=
cleanup() {
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
    kill -INT "$up_pid" 2>/dev/null || true
    wait "$up_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$RSM" up --port "$port" --dir "$work/stack" --log-level warn >"$work/up.out" 2>"$work/up.err" &
up_pid=$!

for _ in $(seq 1 600); do
  grep -q "the service is ready" "$work/up.out" && break
  if ! kill -0 "$up_pid" 2>/dev/null; then
    echo "run-local: rsm up exited early:" >&2
    cat "$work/up.err" >&2
    exit 1
  fi
  sleep 0.1
done
if ! grep -q "the service is ready" "$work/up.out"; then
  echo "run-local: rsm up was not ready within 60 s:" >&2
  cat "$work/up.out" "$work/up.err" >&2
  exit 1
fi

"$PYTHON" "$HERE/client.py" --host 127.0.0.1 --port "$port" --rounds 3

kill -INT "$up_pid"
status=0
wait "$up_pid" || status=$?
up_pid=
if [ "$status" != 0 ]; then
  echo "run-local: rsm up exited with $status after Ctrl-C:" >&2
  cat "$work/up.err" >&2
  exit 1
fi
echo "run-local: the demo client passed against rsm up on port $port"
