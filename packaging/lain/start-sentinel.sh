#!/usr/bin/env bash
# Starts a redis-service-sm sentinel with a writable copy of sentinel.conf (Sentinel rewrites
# its file with what it learns; the copy survives restarts in the persistent /redis).
#
# The sentinels' own password (secret.sh: sentinel.password, else the group's redis.password):
# requirepass for clients (rsm --sentinel-password-file), sentinel-pass for the other sentinels.
# What they reach the nodes with (auth-user/auth-pass) the controller sets. The copy is
# mode 0600, and those two lines are renewed at every start (a changed secret takes effect).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=${SENTINEL_CONF:-/redis/sentinel.conf}
# shellcheck source-path=SCRIPTDIR source=secret.sh
SECRET_OPTIONAL_GROUP=1 . "$HERE/secret.sh"
PASSWORD=${SENTINEL_PASSWORD:-${REDIS_PASSWORD:-}}
if [ -z "$PASSWORD" ]; then
  echo "$0: neither $SENTINEL_PASSWORD_FILE nor $REDIS_PASSWORD_FILE is there: add the" \
       "sentinels' password as a LAIN secret file (one line, e.g. from openssl rand -hex 32)" >&2
  exit 1
fi
mkdir -p "$(dirname "$CONF")"
umask 077
[ -s "$CONF" ] || cp "$HERE/sentinel.conf" "$CONF"
chmod 600 "$CONF"
grep -v -e '^requirepass ' -e '^sentinel sentinel-pass ' "$CONF" >"$CONF.new" || true
printf 'requirepass %s\nsentinel sentinel-pass %s\n' "$PASSWORD" "$PASSWORD" >>"$CONF.new"
mv -f "$CONF.new" "$CONF"
unset PASSWORD REDIS_PASSWORD PROXY_PASSWORD REPL_PASSWORD MONITOR_PASSWORD SENTINEL_PASSWORD
exec redis-sentinel "$CONF" "$@"
