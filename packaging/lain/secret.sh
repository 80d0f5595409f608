#!/usr/bin/env bash
# The group's password, for the start scripts: read from the LAIN secret file (one line), never
# put on a command line (where `ps` shows it). Sourced by start-redis.sh and start-sentinel.sh.
#   REDIS_PASSWORD_FILE (default /lain/app/secrets/redis.password)
# Sets REDIS_PASSWORD, or exits with a message when the file is missing, empty or holds a
# character a Redis config line cannot carry unquoted.
REDIS_PASSWORD_FILE=${REDIS_PASSWORD_FILE:-/lain/app/secrets/redis.password}
if [ ! -s "$REDIS_PASSWORD_FILE" ]; then
  echo "$0: $REDIS_PASSWORD_FILE is missing or empty: add the group's password as a LAIN" \
       "secret file (one line, e.g. from openssl rand -hex 32)" >&2
  exit 1
fi
REDIS_PASSWORD=$(head -n 1 "$REDIS_PASSWORD_FILE" | tr -d '\r\n')
if ! [[ "$REDIS_PASSWORD" =~ ^[A-Za-z0-9._~+/=-]{16,}$ ]]; then
  echo "$0: the password in $REDIS_PASSWORD_FILE must be 16 or more of A-Z a-z 0-9 . _ ~ + / = -" >&2
  exit 1
fi
export REDIS_PASSWORD
