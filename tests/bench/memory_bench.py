#!/usr/bin/python3
"""Memory under slow readers: rsm proxy against direct Redis, twemproxy and HAProxy.

The same stack as proxy_bench.py (one redis-server, and in front of it rsm proxy, twemproxy and
HAProxy). For each target, two clients that stop reading, each with a small receive buffer:

  pipelining   sends GET of a 1 KiB value 200,000 times (200 MB of replies) without reading;
  subscriber   subscribes, then never reads while a publisher on Redis sends 100,000
               messages of 1 KiB (twemproxy has no pub/sub).

For 8 s it samples the target's RSS (/proc/PID/status) and Redis's used_memory (INFO memory),
and prints the peak growth of each — where the backlog went — and whether the slow client was
disconnected. Redis's own limits: none for normal clients, 32 MB for pub/sub.

  tests/bench/memory_bench.py [--rsm build/release/rsm] [--rounds 3] [--write docs/benchmarks.md] [--data DIR]

Bounded: fixed request counts, 8 s per run; everything it starts is stopped.
"""
import argparse
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

from bench_common import spread, write_between_markers
from proxy_bench import Stack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from redis_group import command, encode, wait_until  # noqa: E402

VALUE = "x" * 1024
RUN_SECONDS = 8.0


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def used_memory_mib(port):
    info = command(port, "INFO", "memory")
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1]) / (1024 * 1024)
    return 0.0


def slow_socket(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    return s


def closed_by_peer(s):
    """True if the peer closed the connection (EOF or reset) — without consuming much."""
    s.setblocking(False)
    try:
        while True:
            data = s.recv(1 << 20)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def measure(stack, target, pid, scenario):
    port, redis_port = stack.targets[target][0], stack.redis_port
    base_rss = rss_mib(pid) if pid else 0.0
    base_mem = used_memory_mib(redis_port)
    client = slow_socket(port)
    stop = threading.Event()

    def pipelining():
        batch = encode(["GET", "mem:value"]) * 1000
        client.settimeout(RUN_SECONDS)
        try:
            for _ in range(200):
                if stop.is_set():
                    return
                client.sendall(batch)
        except OSError:
            pass

    def publisher():
        batch = b"".join(encode(["PUBLISH", "mem", VALUE]) for _ in range(1000))
        with socket.create_connection(("127.0.0.1", redis_port)) as p:
            f = p.makefile("rb")
            for _ in range(100):
                if stop.is_set():
                    return
                p.sendall(batch)
                for _ in range(1000):
                    f.readline()

    if scenario == "pipelining":
        worker = threading.Thread(target=pipelining, daemon=True)
    else:
        client.sendall(encode(["SUBSCRIBE", "mem"]))
        # The subscription is in place at Redis (its confirmation stays unread).
        assert wait_until(lambda: command(redis_port, "PUBSUB", "NUMSUB", "mem")[1] == ":1", 5), \
            f"{target}: the subscription did not reach Redis"

        worker = threading.Thread(target=publisher, daemon=True)
    worker.start()
    peak_rss, peak_mem = base_rss, base_mem
    until = time.time() + RUN_SECONDS
    while time.time() < until:
        if pid:
            peak_rss = max(peak_rss, rss_mib(pid))
        peak_mem = max(peak_mem, used_memory_mib(redis_port))
        time.sleep(0.05)
    stop.set()
    closed = closed_by_peer(client)
    client.close()
    worker.join(10)
    # Let Redis and the proxy drop what they held before the next run.
    time.sleep(1.0)
    return peak_rss - base_rss, peak_mem - base_mem, closed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rsm", default="build/release/rsm")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--write", metavar="FILE", help="also put the table into FILE, between its memory-bench markers")
    ap.add_argument("--data", metavar="DIR", help="also write memory-bench.tsv (for tests/bench/plots.gp) into DIR")
    args = ap.parse_args()
    results = {}  # (target, scenario) -> [(proxy MiB, redis MiB, closed)]
    names = []
    for rnd in range(args.rounds):
        # A fresh stack each round: memory a process once grew to stays in its RSS.
        tmp = tempfile.mkdtemp(prefix="rsm-membench-")
        stack = Stack(os.path.abspath(args.rsm), tmp)
        try:
            names = list(stack.targets)
            command(stack.redis_port, "SET", "mem:value", VALUE)
            order = list(stack.targets)
            random.shuffle(order)
            for name in order:
                pid = stack.targets[name][1]
                for scenario in ("pipelining", "subscriber"):
                    if scenario == "subscriber" and name == "twemproxy":
                        continue  # no pub/sub in twemproxy
                    r = measure(stack, name, pid, scenario)
                    results.setdefault((name, scenario), []).append(r)
                    print(f"round {rnd + 1}: {name} {scenario}: {r}", file=sys.stderr)
        finally:
            stack.stop()
            shutil.rmtree(tmp, ignore_errors=True)
    has_proxy = {n: n != "redis (direct)" for n in names}

    def cell(name, scenario):
        rs = results.get((name, scenario))
        if rs is None:
            return "– | – | no pub/sub"
        proxy = spread([r[0] for r in rs], lambda v: f"{v:.1f}") if has_proxy[name] else "–"
        closed = sum(1 for r in rs if r[2])
        return f"{proxy} | {spread([r[1] for r in rs], lambda v: f'{v:.1f}')} | closed in {closed} of {len(rs)}"

    lines = [f"A client that never reads (receive buffer 4 KiB); 8 s per run; {args.rounds} rounds, each on a fresh "
             "stack, targets in shuffled order; median (min–max) of the peak growth in MiB of the target's RSS and "
             "of Redis's used_memory.", "",
             "| target | pipelining: proxy RSS | Redis memory | slow client | subscriber: proxy RSS | Redis memory | slow client |",
             "|---|---|---|---|---|---|---|"]
    for name in names:
        lines.append(f"| {name} | {cell(name, 'pipelining')} | {cell(name, 'subscriber')} |")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_between_markers(args.write, "memory-bench", text)
    if args.data:
        with open(os.path.join(args.data, "memory-bench.tsv"), "w") as f:
            f.write("# target\tpipelining proxy MiB\tpipelining redis MiB\tsubscriber proxy MiB\tsubscriber redis MiB\n")
            for name in names:
                def v(scenario, i):
                    rs = results.get((name, scenario))
                    if rs is None or (i == 0 and not has_proxy[name]):
                        return "NaN"
                    return f"{statistics.median(r[i] for r in rs):.1f}"
                f.write(f'"{name}"\t{v("pipelining", 0)}\t{v("pipelining", 1)}\t{v("subscriber", 0)}\t{v("subscriber", 1)}\n')


if __name__ == "__main__":
    main()
