#!/usr/bin/env bash
# Starts a redis-service-sm data node. A node with an empty data directory first restores the
# newest backup it can find (restore.sh), so a replaced container never comes back empty while
# a backup exists; the controller then decides its role by data.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA_DIR=${DATA_DIR:-/redis/data}
mkdir -p "$DATA_DIR"
if [ -z "$(ls -A "$DATA_DIR")" ]; then
  "$HERE/restore.sh" || echo "start-redis: no backup restored; starting empty" >&2
fi
exec redis-server "$HERE/redis.conf" --dir "$DATA_DIR" "$@"
