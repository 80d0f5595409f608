#!/usr/bin/env bash
# Starts a redis-service-sm data node. A node with an empty data directory first restores the
# newest backup it can find (restore.sh), so a replaced container never comes back empty while
# a backup exists; the controller then decides its role by data.
#
# The password (secret.sh: the LAIN secret file) goes into a config of the node's own, mode
# 0600, that includes redis.conf: requirepass, and masterauth for when it is a replica.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA_DIR=${DATA_DIR:-/redis/data}
RUN_CONF=${RUN_CONF:-$(dirname "$DATA_DIR")/redis-run.conf}
REDIS_CONF=${REDIS_CONF:-$HERE/redis.conf}
# shellcheck source-path=SCRIPTDIR source=secret.sh
. "$HERE/secret.sh"
mkdir -p "$DATA_DIR"
(
  umask 077
  printf 'include %s\nrequirepass %s\nmasterauth %s\n' "$REDIS_CONF" "$REDIS_PASSWORD" \
    "$REDIS_PASSWORD" >"$RUN_CONF.new"
  mv -f "$RUN_CONF.new" "$RUN_CONF"
)
if [ -z "$(ls -A "$DATA_DIR")" ]; then
  "$HERE/restore.sh" || echo "start-redis: no backup restored; starting empty" >&2
fi
exec redis-server "$RUN_CONF" --dir "$DATA_DIR" "$@"
