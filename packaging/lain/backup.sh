#!/usr/bin/env bash
# A full backup of one data node: a fresh RDB snapshot (BGSAVE, waited for) plus the AOF
# directory, as BACKUP_DIR/redis-<UTC time>.tar.gz. LAIN's backup_full runs it (lain.yaml).
#   REDIS_PORT=6379 DATA_DIR=/redis/data BACKUP_DIR=/redis/backup backup.sh
set -euo pipefail
PORT=${REDIS_PORT:-6379}
DATA_DIR=${DATA_DIR:-/redis/data}
BACKUP_DIR=${BACKUP_DIR:-/redis/backup}
cli() { redis-cli -p "$PORT" ${REDIS_PASSWORD:+--no-auth-warning -a "$REDIS_PASSWORD"} "$@"; }

before=$(cli LASTSAVE)
cli BGSAVE >/dev/null
for _ in $(seq 1 600); do
  [ "$(cli LASTSAVE)" != "$before" ] && break
  sleep 1
done
if [ "$(cli LASTSAVE)" = "$before" ]; then
  echo "backup: BGSAVE did not finish within 10 minutes" >&2
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
