#!/usr/bin/env bash
# Starts a redis-service-sm sentinel with a writable copy of sentinel.conf (Sentinel rewrites
# its file with what it learns; the copy survives restarts in the persistent /redis).
#
# The password (secret.sh: the LAIN secret file) is the sentinels' own too: requirepass for
# clients (rsm --sentinel-password-file), sentinel-pass for the other sentinels. The copy is
# mode 0600, and those two lines are renewed at every start (a changed secret takes effect).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=${SENTINEL_CONF:-/redis/sentinel.conf}
# shellcheck source-path=SCRIPTDIR source=secret.sh
. "$HERE/secret.sh"
mkdir -p "$(dirname "$CONF")"
umask 077
[ -s "$CONF" ] || cp "$HERE/sentinel.conf" "$CONF"
chmod 600 "$CONF"
grep -v -e '^requirepass ' -e '^sentinel sentinel-pass ' "$CONF" >"$CONF.new" || true
printf 'requirepass %s\nsentinel sentinel-pass %s\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD" >>"$CONF.new"
mv -f "$CONF.new" "$CONF"
exec redis-sentinel "$CONF" "$@"
