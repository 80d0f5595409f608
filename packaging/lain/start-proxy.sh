#!/usr/bin/env bash
# Starts the portal's `rsm proxy` with the secrets this container has (LAIN secret files; see
# secret.sh), by file, never on the command line: the proxy's own ACL user rsmproxy with
# proxy.password, else the group's redis.password; the sentinels' sentinel.password, else the
# group's. A portal given only proxy.password and sentinel.password never holds the group's
# password. Arguments go to rsm proxy.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=secret.sh
SECRET_OPTIONAL_GROUP=1 . "$HERE/secret.sh"
args=()
if [ -n "${PROXY_PASSWORD:-}" ]; then
  args+=(--username rsmproxy --password-file "$PROXY_PASSWORD_FILE")
elif [ -n "${REDIS_PASSWORD:-}" ]; then
  args+=(--password-file "$REDIS_PASSWORD_FILE")
else
  echo "$0: neither $PROXY_PASSWORD_FILE nor $REDIS_PASSWORD_FILE is there" >&2
  exit 1
fi
if [ -n "${SENTINEL_PASSWORD:-}" ]; then
  args+=(--sentinel-password-file "$SENTINEL_PASSWORD_FILE")
elif [ -n "${REDIS_PASSWORD:-}" ]; then
  args+=(--sentinel-password-file "$REDIS_PASSWORD_FILE")
fi
unset REDIS_PASSWORD PROXY_PASSWORD REPL_PASSWORD MONITOR_PASSWORD SENTINEL_PASSWORD
exec "${RSM:-rsm}" proxy "${args[@]}" "$@"
