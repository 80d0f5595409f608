#!/usr/bin/env bash
# What the LAIN script tests share (sourced): LAIN (packaging/lain), a work directory and the
# background processes started into `pids`, all removed on exit, and free_port.
# shellcheck disable=SC2034  # used by the scripts that source this
LAIN=$(cd "$(dirname "${BASH_SOURCE[0]}")/../packaging/lain" && pwd)
mkdir -p "${TMPDIR:-/tmp}"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
