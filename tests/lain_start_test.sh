#!/usr/bin/env bash
# The LAIN start scripts on real servers (with an rsm binary as the argument, the controller
# and proxy scripts too): the group's password comes from the secret file into
# configs of mode 0600 (never onto a command line), a node needs it (requirepass), a replica
# syncs with it (masterauth), a sentinel needs it too, a restart renews it, and without the
# secret file neither starts.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lain_test_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lain_test_lib.sh"
fail() { echo "lain start test: $*" >&2; exit 1; }

await() { # await PORT EXPECTED [password]
  for _ in $(seq 1 200); do
    [ "$(REDISCLI_AUTH=${3:-} redis-cli -p "$1" PING 2>/dev/null)" = "$2" ] && return 0
    sleep 0.05
  done
  fail "nothing on $1 answers $2"
}
mode_of() { stat -c %a "$1"; }

password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$password" >"$work/redis.password"
export REDIS_PASSWORD_FILE=$work/redis.password BACKUP_DIR=$work/no-backup RECOVER_DIR=$work/no-recover
# The LAIN redis.conf without its dir (/redis/data, which the script's --dir replaces in LAIN
# too, but Redis checks the included line first).
grep -v '^dir ' "$LAIN/redis.conf" >"$work/redis.conf"
export REDIS_CONF=$work/redis.conf

# A master and a replica.
p1=$(free_port)
DATA_DIR=$work/r1/data "$LAIN/start-redis.sh" --port "$p1" --bind 127.0.0.1 \
  --logfile "$work/r1.log" &
pids+=($!)
await "$p1" "NOAUTH Authentication required." ""
await "$p1" PONG "$password"
[ "$(mode_of "$work/r1/redis-run.conf")" = 600 ] || fail "redis-run.conf is $(mode_of "$work/r1/redis-run.conf")"
if tr '\0' ' ' <"/proc/${pids[0]}/cmdline" | grep -q "$password"; then fail "the password is on a command line"; fi
p2=$(free_port)
DATA_DIR=$work/r2/data "$LAIN/start-redis.sh" --port "$p2" --bind 127.0.0.1 \
  --logfile "$work/r2.log" &
pids+=($!)
await "$p2" PONG "$password"
REDISCLI_AUTH=$password redis-cli -p "$p1" SET k v >/dev/null
REDISCLI_AUTH=$password redis-cli -p "$p2" REPLICAOF 127.0.0.1 "$p1" >/dev/null
synced=""
for _ in $(seq 1 200); do
  if REDISCLI_AUTH=$password redis-cli -p "$p2" INFO replication | grep -q "master_link_status:up"; then
    synced=yes
    break
  fi
  sleep 0.05
done
[ -n "$synced" ] || fail "the replica did not sync with masterauth"
[ "$(REDISCLI_AUTH=$password redis-cli -p "$p2" GET k)" = v ] || fail "the replica lacks k"

# A sentinel: its own password too, renewed (not repeated) at a restart. (Its writable copy
# made beforehand, world-readable and without the LAIN dir /redis: the script makes it 0600.)
mkdir -p "$work/s1"
grep -v '^dir ' "$LAIN/sentinel.conf" >"$work/s1/sentinel.conf"
chmod 644 "$work/s1/sentinel.conf"
s1=$(free_port)
SENTINEL_CONF=$work/s1/sentinel.conf "$LAIN/start-sentinel.sh" --port "$s1" --bind 127.0.0.1 \
  --logfile "$work/s1.log" &
pids+=($!)
await "$s1" "NOAUTH Authentication required." ""
await "$s1" PONG "$password"
[ "$(mode_of "$work/s1/sentinel.conf")" = 600 ] || fail "sentinel.conf is $(mode_of "$work/s1/sentinel.conf")"
kill "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true
SENTINEL_CONF=$work/s1/sentinel.conf "$LAIN/start-sentinel.sh" --port "$s1" --bind 127.0.0.1 \
  --logfile "$work/s1.log" &
pids+=($!)
await "$s1" PONG "$password"
[ "$(grep -c '^requirepass ' "$work/s1/sentinel.conf")" = 1 ] || fail "requirepass repeated in sentinel.conf"

# Least privilege (the LAIN files as shipped): the proxy's, the replication's and the
# sentinels' own ACL users and the sentinels' own password, each from its secret file; the
# controller bootstraps the group through start-ctl.sh, a failover runs with those users, and
# the proxy (start-proxy.sh) serves as rsmproxy, which may not run what it does not need.
rsm=${1:-}
if [ -n "$rsm" ]; then
  lp=$work/lp
  mkdir -p "$lp"
  for f in proxy repl monitor sentinel; do
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$lp/$f.password"
  done
  cp "$work/redis.password" "$lp/redis.password"
  run_secrets=(SECRETS_DIR="$lp" REDIS_PASSWORD_FILE="$lp/redis.password")
  q1=$(free_port)
  q2=$(free_port)
  for p in "$q1" "$q2"; do
    env "${run_secrets[@]}" DATA_DIR="$work/lp-$p/data" "$LAIN/start-redis.sh" --port "$p" \
      --bind 127.0.0.1 --logfile "$work/lp-$p.log" &
    pids+=($!)
    await "$p" PONG "$password"
  done
  mkdir -p "$work/ls"
  grep -v '^dir ' "$LAIN/sentinel.conf" >"$work/ls/sentinel.conf"
  ls1=$(free_port)
  env "${run_secrets[@]}" SENTINEL_CONF="$work/ls/sentinel.conf" "$LAIN/start-sentinel.sh" \
    --port "$ls1" --bind 127.0.0.1 --logfile "$work/ls.log" &
  pids+=($!)
  spw=$(cat "$lp/sentinel.password")
  await "$ls1" PONG "$spw"
  [ "$(REDISCLI_AUTH=$password redis-cli -p "$ls1" PING 2>&1)" != PONG ] ||
    fail "the sentinel took the group's password, not its own"
  # The controller, once per pass, until the sentinel monitors a master with a replica.
  monitored=""
  for _ in $(seq 1 8); do
    env "${run_secrets[@]}" RSM="$rsm" "$LAIN/start-ctl.sh" --once --redis "127.0.0.1:$q1,127.0.0.1:$q2" \
      --sentinels "127.0.0.1:$ls1" --master-name lp --down-after 2s --failover-timeout 10s \
      --http-listen "" >>"$work/ctl.log" 2>&1 || true
    if REDISCLI_AUTH=$spw redis-cli -p "$ls1" SENTINEL MASTER lp 2>/dev/null | grep -qx 'num-slaves' &&
       [ "$(REDISCLI_AUTH=$spw redis-cli -p "$ls1" SENTINEL MASTER lp | sed -n '/^num-slaves$/{n;p}')" = 1 ]; then
      monitored=yes
      break
    fi
    sleep 0.5
  done
  [ -n "$monitored" ] || fail "the controller did not set up the group: $(cat "$work/ctl.log")"
  replica=""
  for _ in $(seq 1 200); do
    for p in "$q1" "$q2"; do
      if REDISCLI_AUTH=$password redis-cli -p "$p" INFO replication | grep -q "master_link_status:up"; then
        replica=$p
      fi
    done
    [ -n "$replica" ] && break
    sleep 0.05
  done
  [ -n "$replica" ] || fail "no replica synced as rsmrepl: $(cat "$work"/lp-*.log | grep -i -e auth -e "master" | tail -5)"
  grep -q "auth-user lp rsmsentinel" "$work/ls/sentinel.conf" || fail "the sentinel does not reach the nodes as rsmsentinel"
  # The proxy as rsmproxy, found through the sentinel with its own password.
  pp=$(free_port)
  env SECRETS_DIR="$lp" REDIS_PASSWORD_FILE="$lp/none" RSM="$rsm" "$LAIN/start-proxy.sh" \
    --listen "127.0.0.1:$pp" --sentinels "127.0.0.1:$ls1" --master-name lp >"$work/proxy.log" 2>&1 &
  pids+=($!)
  await "$pp" PONG ""
  if tr '\0' ' ' <"/proc/${pids[-1]}/cmdline" | grep -q -e "$password" -e "$(cat "$lp/proxy.password")"; then
    fail "a password is on the proxy's command line"
  fi
  [ "$(redis-cli -p "$pp" SET lp:k v)" = OK ] || fail "the proxy cannot write as rsmproxy"
  redis-cli -p "$pp" FLUSHALL 2>&1 | grep -q NOPERM || fail "rsmproxy may FLUSHALL"
  redis-cli -p "$pp" KEYS '*' 2>&1 | grep -q NOPERM || fail "rsmproxy may KEYS"
  # A failover with those users: the replica is promoted, the proxy follows.
  REDISCLI_AUTH=$spw redis-cli -p "$ls1" SENTINEL FAILOVER lp >/dev/null
  promoted=""
  for _ in $(seq 1 300); do
    if REDISCLI_AUTH=$password redis-cli -p "$replica" ROLE 2>/dev/null | head -1 | grep -qx master &&
       [ "$(redis-cli -p "$pp" SET lp:after 1 2>/dev/null)" = OK ]; then
      promoted=yes
      break
    fi
    sleep 0.1
  done
  [ -n "$promoted" ] || fail "no failover with the least-privilege users"
  [ "$(REDISCLI_AUTH=$password redis-cli -p "$replica" GET lp:after)" = 1 ] || fail "the write is not on the new master"
  for f in "$lp"/*.password; do
    if grep -qF "$(cat "$f")" "$work/proxy.log" "$work/ctl.log"; then fail "$(basename "$f") in a log"; fi
  done
fi

# Without the secret file, neither starts, and says why.
if REDIS_PASSWORD_FILE=$work/missing DATA_DIR=$work/r3/data "$LAIN/start-redis.sh" 2>"$work/err"; then
  fail "start-redis.sh started without a password"
fi
grep -q "LAIN" "$work/err" || fail "no reason given: $(cat "$work/err")"
if REDIS_PASSWORD_FILE=$work/missing SENTINEL_CONF=$work/s2/sentinel.conf "$LAIN/start-sentinel.sh" 2>/dev/null; then
  fail "start-sentinel.sh started without a password"
fi

# backup.sh takes the password from the secret file, not from its command line.
REDIS_PORT=$p1 DATA_DIR=$work/r1/data BACKUP_DIR=$work/backup "$LAIN/backup.sh" >/dev/null
ls "$work/backup"/redis-*.tar.gz >/dev/null || fail "no backup written"
echo "lain start test: ok"
