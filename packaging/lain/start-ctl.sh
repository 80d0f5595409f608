#!/usr/bin/env bash
# Starts `rsm ctl` with the group's secrets (LAIN secret files; see secret.sh), by file, never
# on the command line: the nodes' `default` user (redis.password), the sentinels' own password
# (sentinel.password, else the group's), and, with monitor.password, the sentinels' ACL user
# on the nodes (rsmsentinel: their auth-user/auth-pass). Arguments go to rsm ctl.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=secret.sh
. "$HERE/secret.sh"
args=(--password-file "$REDIS_PASSWORD_FILE")
if [ -n "${SENTINEL_PASSWORD:-}" ]; then
  args+=(--sentinel-password-file "$SENTINEL_PASSWORD_FILE")
else
  args+=(--sentinel-password-file "$REDIS_PASSWORD_FILE")
fi
[ -z "${MONITOR_PASSWORD:-}" ] ||
  args+=(--monitor-username rsmsentinel --monitor-password-file "$MONITOR_PASSWORD_FILE")
unset REDIS_PASSWORD PROXY_PASSWORD REPL_PASSWORD MONITOR_PASSWORD SENTINEL_PASSWORD
exec "${RSM:-rsm}" ctl "${args[@]}" "$@"
