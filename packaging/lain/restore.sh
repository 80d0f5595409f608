#!/usr/bin/env bash
# Restores the newest backup (redis-*.tar.gz, from RECOVER_DIR first, then BACKUP_DIR) into an
# EMPTY data directory; it never overwrites data. Run by start-redis.sh before redis starts.
#   DATA_DIR=/redis/data RECOVER_DIR=/redis/recover BACKUP_DIR=/redis/backup restore.sh
set -euo pipefail
DATA_DIR=${DATA_DIR:-/redis/data}
mkdir -p "$DATA_DIR"
if [ -n "$(ls -A "$DATA_DIR")" ]; then
  echo "restore: $DATA_DIR is not empty; nothing restored" >&2
  exit 1
fi
newest=
for dir in "${RECOVER_DIR:-/redis/recover}" "${BACKUP_DIR:-/redis/backup}"; do
  [ -d "$dir" ] || continue
  newest=$(find "$dir" -maxdepth 1 -name 'redis-*.tar.gz' -type f | sort | tail -1)
  [ -n "$newest" ] && break
done
if [ -z "$newest" ]; then
  echo "restore: no backup found" >&2
  exit 1
fi
tar -xzf "$newest" -C "$DATA_DIR"
echo "restore: $newest restored into $DATA_DIR"
