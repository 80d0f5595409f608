#!/usr/bin/env bash
# Starts a redis-service-sm sentinel with a writable copy of sentinel.conf (Sentinel rewrites
# its file with what it learns; the copy survives restarts in the persistent /redis).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=${SENTINEL_CONF:-/redis/sentinel.conf}
mkdir -p "$(dirname "$CONF")"
[ -s "$CONF" ] || cp "$HERE/sentinel.conf" "$CONF"
exec redis-sentinel "$CONF" "$@"
