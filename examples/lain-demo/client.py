#!/usr/bin/env python3
"""The redis-demo client: SET, GET and INCR through the rsm proxy.

In LAIN the portal is redis.<appname>.lain:8889 (REDIS_HOST / REDIS_PORT override it); locally
`run-local.sh` points it at `rsm up`. One round prints what it did and exits 0, or prints why it
failed and exits 1. With --loop it repeats every second, as a long-running app would.
"""
import argparse
import os
import sys
import time

import redis


def default_host():
    app = os.environ.get("LAIN_APPNAME", "redis-demo")
    return os.environ.get("REDIS_HOST", "redis.%s.lain" % app)


def one_round(client, key):
    client.set(key, "hello from redis-demo")
    value = client.get(key)
    if value != b"hello from redis-demo":
        raise RuntimeError("GET %s returned %r" % (key, value))
    before = int(client.get(key + ":counter") or 0)
    after = client.incr(key + ":counter")
    if after != before + 1:
        raise RuntimeError("INCR went from %d to %d" % (before, after))
    return after


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=default_host())
    parser.add_argument("--port", type=int, default=int(os.environ.get("REDIS_PORT", "8889")))
    parser.add_argument("--password", default=os.environ.get("REDIS_PASSWORD"))
    parser.add_argument("--key", default="redis-demo")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--loop", action="store_true", help="repeat every second until killed")
    args = parser.parse_args()

    client = redis.Redis(host=args.host, port=args.port, password=args.password,
                         socket_timeout=5, socket_connect_timeout=5)
    done = 0
    while args.loop or done < args.rounds:
        try:
            counter = one_round(client, args.key)
        except (redis.RedisError, RuntimeError) as e:
            print("redis-demo: %s:%d: %s" % (args.host, args.port, e), file=sys.stderr)
            if not args.loop:
                return 1
        else:
            print("redis-demo: SET/GET ok, counter=%d" % counter, flush=True)
        done += 1
        if args.loop:
            time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
