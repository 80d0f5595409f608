#!/usr/bin/env bash
# A full backup of one data node: a fresh RDB snapshot (BGSAVE, waited for) plus the AOF
# directory, as BACKUP_DIR/redis-<UTC time>.tar.gz. LAIN's backup_full runs it (lain.yaml).
#   REDIS_PORT=6379 DATA_DIR=/redis/data BACKUP_DIR=/redis/backup backup.sh
set -euo pipefail
PORT=${REDIS_PORT:-6379}
DATA_DIR=${DATA_DIR:-/redis/data}
BACKUP_DIR=${BACKUP_DIR:-/redis/backup}
# The password: REDIS_PASSWORD, or the LAIN secret file (secret.sh) when there is one; given
# to redis-cli in its environment (REDISCLI_AUTH), never on its command line.
if [ -z "${REDIS_PASSWORD:-}" ] && [ -s "${REDIS_PASSWORD_FILE:-/lain/app/secrets/redis.password}" ]; then
  # shellcheck source-path=SCRIPTDIR source=secret.sh
  . "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/secret.sh"
fi
cli() {
  if [ -n "${REDIS_PASSWORD:-}" ]; then
    REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -p "$PORT" "$@"
  else
    redis-cli -p "$PORT" "$@"
  fi
}

# rdb_saves counts finished saves (LASTSAVE has a one-second resolution: a save finished in the
# same second as the previous one would look like no save at all).
info() { cli INFO persistence | tr -d '\r' | sed -n "s/^$1://p"; }
saves() { # rdb_saves (Redis 7); before it, LASTSAVE, made safe by a second's wait below
  local n
  n=$(info rdb_saves)
  if [ -n "$n" ]; then echo "$n"; else cli LASTSAVE; fi
}
[ -n "$(info rdb_saves)" ] || sleep 1
before=$(saves)
cli BGSAVE >/dev/null
for _ in $(seq 1 6000); do
  [ "$(saves)" != "$before" ] && [ "$(info rdb_bgsave_in_progress)" = 0 ] && break
  sleep 0.1
done
if [ "$(saves)" = "$before" ]; then
  echo "backup: BGSAVE did not finish within 10 minutes" >&2
  exit 1
fi
if [ "$(info rdb_last_bgsave_status)" != ok ]; then
  echo "backup: BGSAVE failed; see the redis log" >&2
  exit 1
fi
mkdir -p "$BACKUP_DIR"
name="redis-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
files=()
for f in dump.rdb appendonlydir appendonly.aof; do
  [ -e "$DATA_DIR/$f" ] && files+=("$f")
done
[ ${#files[@]} -gt 0 ] || { echo "backup: nothing to back up in $DATA_DIR" >&2; exit 1; }
tar -czf "$BACKUP_DIR/$name.part" -C "$DATA_DIR" "${files[@]}"
mv "$BACKUP_DIR/$name.part" "$BACKUP_DIR/$name"
echo "backup: $BACKUP_DIR/$name"
