#!/usr/bin/env bash
# The group's secrets, for the start scripts: read from LAIN secret files (one line each), never
# put on a command line (where `ps` shows it). Sourced by the start-*.sh scripts.
#
#   REDIS_PASSWORD_FILE    (default /lain/app/secrets/redis.password), required: the `default`
#                          user's password on every node (the controller's and backup's), and
#                          the sentinels' own unless SENTINEL_PASSWORD_FILE is there.
#   Optional, each a least-privilege ACL user (docs/security.md, "LAIN"); without the file,
#   that part uses the group's password as before:
#   PROXY_PASSWORD_FILE    (proxy.password): user rsmproxy, the proxy's backend connections
#   REPL_PASSWORD_FILE     (repl.password): user rsmrepl, replication (masteruser)
#   MONITOR_PASSWORD_FILE  (monitor.password): user rsmsentinel, the sentinels' to the nodes
#   SENTINEL_PASSWORD_FILE (sentinel.password): the sentinels' own requirepass
#
# Sets REDIS_PASSWORD (unless the caller does not need it: SECRET_OPTIONAL_GROUP=1) and, for
# each optional file present, PROXY_PASSWORD, REPL_PASSWORD, MONITOR_PASSWORD,
# SENTINEL_PASSWORD; exits with a message when a file is empty or holds a character a Redis
# config line cannot carry unquoted.
SECRETS_DIR=${SECRETS_DIR:-/lain/app/secrets}
REDIS_PASSWORD_FILE=${REDIS_PASSWORD_FILE:-$SECRETS_DIR/redis.password}
PROXY_PASSWORD_FILE=${PROXY_PASSWORD_FILE:-$SECRETS_DIR/proxy.password}
REPL_PASSWORD_FILE=${REPL_PASSWORD_FILE:-$SECRETS_DIR/repl.password}
MONITOR_PASSWORD_FILE=${MONITOR_PASSWORD_FILE:-$SECRETS_DIR/monitor.password}
SENTINEL_PASSWORD_FILE=${SENTINEL_PASSWORD_FILE:-$SECRETS_DIR/sentinel.password}

# read_secret VAR FILE: VAR gets the file's first line, checked.
read_secret() {
  local value
  value=$(head -n 1 "$2" | tr -d '\r\n')
  if ! [[ "$value" =~ ^[A-Za-z0-9._~+/=-]{16,}$ ]]; then
    echo "$0: the password in $2 must be 16 or more of A-Z a-z 0-9 . _ ~ + / = -" >&2
    exit 1
  fi
  printf -v "$1" '%s' "$value"
  export "${1?}"
}

if [ -s "$REDIS_PASSWORD_FILE" ]; then
  read_secret REDIS_PASSWORD "$REDIS_PASSWORD_FILE"
elif [ "${SECRET_OPTIONAL_GROUP:-}" != 1 ]; then
  echo "$0: $REDIS_PASSWORD_FILE is missing or empty: add the group's password as a LAIN" \
       "secret file (one line, e.g. from openssl rand -hex 32)" >&2
  exit 1
fi
[ -e "$PROXY_PASSWORD_FILE" ] && read_secret PROXY_PASSWORD "$PROXY_PASSWORD_FILE"
[ -e "$REPL_PASSWORD_FILE" ] && read_secret REPL_PASSWORD "$REPL_PASSWORD_FILE"
[ -e "$MONITOR_PASSWORD_FILE" ] && read_secret MONITOR_PASSWORD "$MONITOR_PASSWORD_FILE"
[ -e "$SENTINEL_PASSWORD_FILE" ] && read_secret SENTINEL_PASSWORD "$SENTINEL_PASSWORD_FILE"
true
