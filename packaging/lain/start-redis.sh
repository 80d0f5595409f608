#!/usr/bin/env bash
# Starts a redis-service-sm data node. A node with an empty data directory first restores the
# newest backup it can find (restore.sh), so a replaced container never comes back empty while
# a backup exists; the controller then decides its role by data.
#
# The passwords (secret.sh: the LAIN secret files) go into a config of the node's own, mode
# 0600, that includes redis.conf: requirepass (the `default` user's), and for when it is a
# replica masterauth (the group's, or with repl.password the replication user's, masteruser);
# with proxy.password, repl.password, monitor.password the least-privilege ACL users of the
# proxy, the replication and the sentinels (docs/security.md, "LAIN").
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
  {
    printf 'include %s\nrequirepass %s\n' "$REDIS_CONF" "$REDIS_PASSWORD"
    if [ -n "${REPL_PASSWORD:-}" ]; then
      printf 'user rsmrepl on >%s +psync +replconf +ping\n' "$REPL_PASSWORD"
      printf 'masteruser rsmrepl\nmasterauth %s\n' "$REPL_PASSWORD"
    else
      printf 'masterauth %s\n' "$REDIS_PASSWORD"
    fi
    # The proxy: every data command, nothing of @admin or @dangerous but the ROLE and INFO it
    # verifies the master with.
    [ -z "${PROXY_PASSWORD:-}" ] ||
      printf 'user rsmproxy on >%s ~* &* +@all -@admin -@dangerous +role +info\n' "$PROXY_PASSWORD"
    # The sentinels: what Sentinel runs on the nodes it monitors (Redis's Sentinel docs).
    [ -z "${MONITOR_PASSWORD:-}" ] ||
      printf 'user rsmsentinel on >%s &* +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill\n' \
        "$MONITOR_PASSWORD"
  } >"$RUN_CONF.new"
  mv -f "$RUN_CONF.new" "$RUN_CONF"
)
if [ -z "$(ls -A "$DATA_DIR")" ]; then
  "$HERE/restore.sh" || echo "start-redis: no backup restored; starting empty" >&2
fi
unset REDIS_PASSWORD PROXY_PASSWORD REPL_PASSWORD MONITOR_PASSWORD SENTINEL_PASSWORD
exec redis-server "$RUN_CONF" --dir "$DATA_DIR" "$@"
