#!/usr/bin/env bash
# The LAIN data scripts on a real redis-server: backup.sh takes a full backup of a node with
# data, restore.sh brings it back into an empty data directory (and refuses a non-empty one),
# and a redis-server started on the restored directory has every key.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lain_test_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lain_test_lib.sh"

start_redis() { # start_redis PORT DIR
  (cd "$2" && exec redis-server --port "$1" --bind 127.0.0.1 --dir "$2" --appendonly yes \
     --logfile "$2/../redis-$1.log") &
  pids+=($!)
  for _ in $(seq 1 200); do
    [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  echo "redis-server on $1 did not start" >&2
  return 1
}

mkdir -p "$work/a" "$work/b" "$work/backup"
port=$(free_port)
start_redis "$port" "$work/a"
for i in $(seq 1 100); do redis-cli -p "$port" SET "key:$i" "value $i" >/dev/null; done

REDIS_PORT=$port DATA_DIR=$work/a BACKUP_DIR=$work/backup bash "$LAIN/backup.sh"
ls "$work"/backup/redis-*.tar.gz >/dev/null

# A non-empty directory is never overwritten.
if DATA_DIR=$work/a BACKUP_DIR=$work/backup RECOVER_DIR=$work/none bash "$LAIN/restore.sh" 2>/dev/null; then
  echo "restore.sh restored into a non-empty directory" >&2
  exit 1
fi
DATA_DIR=$work/b BACKUP_DIR=$work/backup RECOVER_DIR=$work/none bash "$LAIN/restore.sh"

port2=$(free_port)
start_redis "$port2" "$work/b"
[ "$(redis-cli -p "$port2" DBSIZE)" = 100 ] || { echo "restored node has $(redis-cli -p "$port2" DBSIZE) keys" >&2; exit 1; }
[ "$(redis-cli -p "$port2" GET key:42)" = "value 42" ]
echo "lain backup/restore: 100 keys backed up and restored"
